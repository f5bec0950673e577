/* fuzz_npy.c: libFuzzer target for the .npy parser (make fuzz-data). */
#include "data/data.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    dsc__npy a;
    int f32 = size > 0 && data[size - 1] & 1; /* float32 values when exact */
    if (dsc__npy_parse_as(&a, data, size, "fuzz", f32) == DSC_OK) {
        if (a.count != a.shape[0] * a.shape[1]) __builtin_trap();
        volatile double sum = 0;
        for (size_t i = 0; i < a.count; i++) sum += a.fvalues ? a.fvalues[i] : a.values[i];
        (void)sum; /* read every value (ASan checks the bounds) */
        free(a.values);
        free(a.fvalues);
    }
    return 0;
}
