/* fuzz_idx.c: libFuzzer target for the IDX parser and its gzip path (make fuzz-data);
 * inflation is capped low so a decompression bomb ends in an error, not an OOM. */
#include "data/data.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    dsc__idx a;
    if (dsc__idx_parse(&a, data, size, "fuzz", (size_t)1 << 24) == DSC_OK) {
        volatile double sum = 0;
        for (size_t i = 0; i < a.count; i++) sum += a.values[i];
        (void)sum; /* read every value (ASan checks the bounds) */
        free(a.values);
    }
    return 0;
}
