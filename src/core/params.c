/* params.c: dtypes and parameter helpers. */
#include "internal.h"

size_t dsc_dtype_size(dsc_dtype dt)
{
    switch (dt) {
    case DSC_F32: return sizeof(float);
    case DSC_F64: return sizeof(double);
    }
    return 0;
}

const char *dsc_dtype_name(dsc_dtype dt)
{
    switch (dt) {
    case DSC_F32: return "f32";
    case DSC_F64: return "f64";
    }
    return NULL;
}

void dsc_params_no_decay_1d(dsc_param *params, size_t count)
{
    if (!params) return;
    for (size_t i = 0; i < count; i++)
        if (params[i].ndim <= 1) params[i].flags |= DSC_NO_DECAY;
}
