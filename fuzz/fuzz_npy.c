/* fuzz_npy.c: libFuzzer target for the .npy parser (make fuzz-data): the in-memory
 * parser, and the file loader (which reads the header and then the data into place)
 * against it: both accept the same inputs, with the same values, or both refuse. */
#define _GNU_SOURCE /* memfd_create */
#include "data/data.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

/* The file every input is written to in turn: in memory (a memfd) where Linux has
 * them, opened again through /proc by name, so that the loader's own open, fstat and
 * reads run on it without a disk's cost per input. */
static char path[64];

static int write_input(const unsigned char *data, size_t size)
{
    static int fd = -1;
    if (fd < 0) {
        if ((fd = memfd_create("fuzz_npy", MFD_CLOEXEC)) < 0) return -1;
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    }
    if (ftruncate(fd, 0)) return -1;
    for (size_t done = 0; done < size;) {
        ssize_t n = pwrite(fd, data + done, size - done, (off_t)done);
        if (n <= 0) return -1;
        done += (size_t)n;
    }
    return 0;
}

static const void *values(const dsc_dataset *d)
{
    return dsc_dataset_x32(d) ? (const void *)dsc_dataset_x32(d) : (const void *)dsc_dataset_x(d);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    dsc__npy a;
    int f32 = size > 0 && data[size - 1] & 1; /* float32 values when exact */
    dsc_dataset *mem = NULL, *file = NULL;
    dsc_status st = dsc__npy_parse_as(&a, data, size, "fuzz", f32);
    if (st == DSC_OK) {
        if (a.count != a.shape[0] * a.shape[1]) __builtin_trap();
        volatile double sum = 0;
        for (size_t i = 0; i < a.count; i++) sum += a.fvalues ? a.fvalues[i] : a.values[i];
        (void)sum; /* read every value (ASan checks the bounds) */
        st = dsc__npy_dataset(&mem, &a, NULL, "fuzz", NULL); /* frees the values */
    }
    if (write_input(data, size)) __builtin_trap();
    dsc_status fst = dsc__load_npy_as(&file, path, NULL, f32);
    if (st != fst) __builtin_trap();
    if (st == DSC_OK) {
        size_t n = dsc_dataset_rows(mem) * dsc_dataset_cols(mem);
        size_t bytes = n * (dsc_dataset_x32(mem) ? sizeof(float) : sizeof(double));
        if (dsc_dataset_rows(file) != dsc_dataset_rows(mem) || dsc_dataset_cols(file) != dsc_dataset_cols(mem) ||
            !dsc_dataset_x32(file) != !dsc_dataset_x32(mem) || memcmp(values(mem), values(file), bytes))
            __builtin_trap();
    }
    dsc_dataset_destroy(mem);
    dsc_dataset_destroy(file);
    return 0;
}
