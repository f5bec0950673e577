/* fuzz_idx.c: libFuzzer target for the IDX parser and its gzip path (make fuzz-data);
 * inflation is capped low so a decompression bomb ends in an error, not an OOM. */
#include "data/data.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    dsc__idx a;
    int f32 = size > 0 && data[size - 1] & 1; /* float32 values when exact */
    if (dsc__idx_parse_as(&a, data, size, "fuzz", (size_t)1 << 24, f32) == DSC_OK) {
        volatile double sum = 0;
        for (size_t i = 0; i < a.count; i++) sum += a.fvalues ? a.fvalues[i] : a.values[i];
        (void)sum; /* read every value (ASan checks the bounds) */
        free(a.values);
        free(a.fvalues);
    }
    dsc__idx h; /* the header alone, as the loader compares counts before inflating */
    (void)dsc__idx_header(&h, data, size, "fuzz");
    return 0;
}
