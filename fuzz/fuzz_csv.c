/* fuzz_csv.c: libFuzzer target for the CSV parser (make fuzz-data). Any input must
 * give DSC_OK with a consistent dataset or an error, never a crash or a leak. */
#include "data/data.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    /* the first byte picks the target column: last, or a name that may be absent */
    const char *target = size && data[0] & 1 ? "y" : NULL;
    dsc_dataset *ds = NULL;
    if (dsc__csv_parse(&ds, (const char *)data, size, "fuzz", target) == DSC_OK) {
        size_t n = dsc_dataset_rows(ds) * dsc_dataset_cols(ds);
        volatile double sum = 0;
        for (size_t i = 0; i < n; i++) sum += dsc_dataset_x(ds)[i];
        (void)sum; /* read every value (ASan checks the bounds) */
        if (dsc_dataset_rows(ds) == 0 || !dsc_dataset_target_name(ds)) __builtin_trap();
        dsc_dataset_destroy(ds);
    }
    return 0;
}
