/* fuzz_npy.c: libFuzzer target for the .npy parser (make fuzz-data). */
#include "data/data.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    dsc__npy a;
    if (dsc__npy_parse(&a, data, size, "fuzz") == DSC_OK) {
        if (a.count != a.shape[0] * a.shape[1]) __builtin_trap();
        volatile double sum = 0;
        for (size_t i = 0; i < a.count; i++) sum += a.values[i];
        (void)sum; /* read every value (ASan checks the bounds) */
        free(a.values);
    }
    return 0;
}
