/* fuzz_csv.c: libFuzzer target for the CSV parser (make fuzz-data). Any input must
 * give DSC_OK with a consistent dataset or an error, never a crash or a leak. */
#include "data/data.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    /* the first byte picks the options: the target column (last, or a name that may be
       absent), the separator, the missing-value rule, a feature count, given labels */
    static const char *const labels[] = {"b", "a", "setosa"};
    static const char seps[] = {',', ';', '\t', ','};
    dsc_load_options o = dsc_load_options_default();
    unsigned k = size ? data[0] : 0;
    o.target = k & 1 ? "y" : NULL;
    o.sep = seps[(k >> 1) & 3];
    o.missing = (dsc_missing)((k >> 3) % 3);
    o.features = k & 0x20 ? 2 : 0;
    o.labels = k & 0x40 ? labels : NULL;
    o.nlabels = k & 0x40 ? 3 : 0;
    o.no_target = (k & 0x80) && !(k & 0x20);
    int textual = !(k & 0x80) || (k & 0x20); /* as dsc_dataset_load, or as dsc_dataset_load_csv */
    dsc_dataset *ds = NULL;
    if (dsc__csv_parse(&ds, (const char *)data, size, "fuzz", &o, textual) == DSC_OK) {
        size_t n = dsc_dataset_rows(ds) * dsc_dataset_cols(ds);
        volatile double sum = 0;
        for (size_t i = 0; i < n; i++) sum += dsc_dataset_x(ds)[i];
        for (size_t i = 0; i < dsc_dataset_rows(ds); i++) sum += dsc_dataset_y(ds)[i];
        (void)sum; /* read every value (ASan checks the bounds) */
        if (dsc_dataset_rows(ds) == 0 || !dsc_dataset_target_name(ds)) __builtin_trap();
        for (size_t i = 0; dsc_dataset_label_count(ds) && i < dsc_dataset_rows(ds); i++)
            if (!dsc_dataset_label(ds, (size_t)dsc_dataset_y(ds)[i])) __builtin_trap();
        dsc_dataset_destroy(ds);
    }
    return 0;
}
