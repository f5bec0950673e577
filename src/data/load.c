/* load.c: dsc_dataset_load, one entry point for every format, chosen by the file's
 * name, with the options the formats share. */
#include "data.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DSC__NPZ_MAX_BYTES ((size_t)4 << 30) /* refuse to inflate a member past 4 GiB */

dsc_load_options dsc_load_options_default(void)
{
    dsc_load_options o;
    memset(&o, 0, sizeof o);
    o.missing = DSC_MISSING_ERROR;
    o.dtype = DSC_F64;
    o.x_key = "x";
    o.y_key = "y";
    return o;
}

static int ends_with(const char *s, const char *tail)
{
    size_t n = strlen(s), t = strlen(tail);
    return n >= t && !strcmp(s + n - t, tail);
}

dsc_data_format dsc_data_format_of(const char *path)
{
    if (!path) return DSC_DATA_CSV;
    if (ends_with(path, ".npy")) return DSC_DATA_NPY;
    if (ends_with(path, ".npz")) return DSC_DATA_NPZ;
    if (ends_with(path, ".idx") || ends_with(path, "-ubyte") || ends_with(path, ".gz")) return DSC_DATA_IDX;
    return DSC_DATA_CSV;
}

static dsc_status load_csv(dsc_dataset **out, const char *path, const dsc_load_options *opt, int labels)
{
    dsc_load_options o = *opt;
    if (!o.sep) o.sep = ends_with(path, ".tsv") ? '\t' : ',';
    if (o.sep != ',' && o.sep != ';' && o.sep != '\t' && o.sep != '|')
        return dsc__fail(DSC_ERR_ARG, "csv: the separator must be ',', ';', '|' or a tab, got '%c'", o.sep);
    if (o.targets)
        return dsc__fail(DSC_ERR_ARG, "csv: %s: a targets file is for .npy and IDX data; a CSV names its target column",
                         path);
    if (o.missing != DSC_MISSING_ERROR && o.missing != DSC_MISSING_DROP && o.missing != DSC_MISSING_MEAN)
        return dsc__fail(DSC_ERR_ARG, "csv: unknown missing-value rule %d", (int)o.missing);
    unsigned char *buf;
    size_t len;
    dsc_status st = dsc__read_whole_file("csv", path, &buf, &len);
    if (st != DSC_OK) return st;
    st = dsc__csv_parse(out, (const char *)buf, len, path, &o, labels);
    free(buf);
    return st;
}

dsc_status dsc_dataset_load_csv(dsc_dataset **out, const char *path, const char *target)
{
    if (!out) return dsc__fail(DSC_ERR_ARG, "csv: out must not be NULL");
    dsc_load_options o = dsc_load_options_default();
    o.target = target;
    o.sep = ',';
    return load_csv(out, path, &o, 0);
}

static dsc_status load_npz(dsc_dataset **out, const char *path, const dsc_load_options *opt)
{
    const char *xk = opt->x_key ? opt->x_key : "x", *yk = opt->y_key ? opt->y_key : "y";
    unsigned char *buf;
    size_t len;
    dsc_status st = dsc__read_whole_file("npz", path, &buf, &len);
    if (st != DSC_OK) return st;
    /* a model's data may come without targets: then the archive lacks y_key */
    if (opt->no_target || (opt->features && !dsc__npz_has(buf, len, path, yk))) yk = NULL;
    dsc__npy x, y;
    st = dsc__npz_parse(&x, &y, buf, len, path, xk, yk, DSC__NPZ_MAX_BYTES, opt->dtype == DSC_F32);
    free(buf);
    if (st != DSC_OK) return st;
    char xname[512], yname[512];
    snprintf(xname, sizeof xname, "%s[%s]", path, xk);
    snprintf(yname, sizeof yname, "%s[%s]", path, yk ? yk : "");
    return dsc__npy_dataset(out, &x, yk ? &y : NULL, xname, yname);
}

dsc_status dsc_dataset_load(dsc_dataset **out, const char *path, const dsc_load_options *opt)
{
    dsc_load_options defaults = dsc_load_options_default();
    if (!out || !path) return dsc__fail(DSC_ERR_ARG, "dataset_load: out and path must not be NULL");
    if (!opt) opt = &defaults;
    const char *targets = opt->no_target ? NULL : opt->targets;
    switch (dsc_data_format_of(path)) {
    case DSC_DATA_NPY: return dsc__load_npy_as(out, path, targets, opt->dtype == DSC_F32);
    case DSC_DATA_IDX: return dsc__load_idx_as(out, path, targets, opt->dtype == DSC_F32);
    case DSC_DATA_NPZ: return load_npz(out, path, opt);
    case DSC_DATA_CSV: break;
    }
    return load_csv(out, path, opt, 1);
}
