/* memory.c: aligned, zeroed allocation for optimizer state (SIMD loads, no false
 * sharing between threads working on neighbouring tensors). */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

#define DSC__ALIGN 64

void *dsc__alloc(size_t bytes)
{
    void *p = dsc__alloc_uninit(bytes);
    if (p) memset(p, 0, bytes ? (bytes + DSC__ALIGN - 1) / DSC__ALIGN * DSC__ALIGN : DSC__ALIGN);
    return p;
}

void *dsc__alloc_uninit(size_t bytes)
{
    size_t rounded = (bytes + DSC__ALIGN - 1) / DSC__ALIGN * DSC__ALIGN;
    if (rounded < bytes) return NULL; /* overflow */
    if (rounded == 0) rounded = DSC__ALIGN;
    return aligned_alloc(DSC__ALIGN, rounded);
}

void dsc__free(void *p) { free(p); }

char *dsc__strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}
