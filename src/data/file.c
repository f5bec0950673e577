/* file.c: reading a whole file into memory for the parsers. */
#include "data.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

dsc_status dsc__read_file(const char *who, const char *path, unsigned char **buf, size_t *len)
{
    if (!path) return dsc__fail(DSC_ERR_ARG, "%s: path must not be NULL", who);
    FILE *f = fopen(path, "rb");
    if (!f) return dsc__fail(DSC_ERR_IO, "%s: cannot open %s: %s", who, path, strerror(errno));
    size_t cap = 1 << 16, n = 0;
    unsigned char *b = malloc(cap + 1);
    while (b) {
        n += fread(b + n, 1, cap - n, f);
        if (n < cap) break;
        unsigned char *nb = cap < SIZE_MAX / 4 ? realloc(b, cap * 2 + 1) : NULL;
        if (!nb) {
            free(b);
            b = NULL;
            break;
        }
        b = nb;
        cap *= 2;
    }
    int err = ferror(f);
    fclose(f);
    if (!b) return dsc__fail(DSC_ERR_NOMEM, "%s: out of memory reading %s", who, path);
    if (err) {
        free(b);
        return dsc__fail(DSC_ERR_IO, "%s: error reading %s", who, path);
    }
    b[n] = 0;
    *buf = b;
    *len = n;
    return DSC_OK;
}
