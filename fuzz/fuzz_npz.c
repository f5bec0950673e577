/* fuzz_npz.c: libFuzzer target for the .npz (zip) reader (make fuzz-data). Any input
 * must give DSC_OK with consistent arrays or an error, never a crash, a leak or an
 * allocation beyond the bound. */
#include "data/data.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    dsc__npy x, y;
    int f32 = size > 0 && data[size - 1] & 1; /* float32 features when exact */
    if (dsc__npz_parse(&x, &y, data, size, "fuzz", "x", "y", (size_t)1 << 24, f32) == DSC_OK) {
        if (x.count != x.shape[0] * x.shape[1] || y.count != y.shape[0] * y.shape[1]) __builtin_trap();
        volatile double sum = 0;
        for (size_t i = 0; i < x.count; i++) sum += x.fvalues ? x.fvalues[i] : x.values[i];
        for (size_t i = 0; i < y.count; i++) sum += y.values[i];
        (void)sum; /* read every value (ASan checks the bounds) */
        free(x.values);
        free(x.fvalues);
        free(y.values);
    }
    (void)dsc__npz_has(data, size, "fuzz", "y");
    return 0;
}
