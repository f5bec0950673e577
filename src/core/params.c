/* params.c: dtypes and parameter helpers. */
#include "internal.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

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

dsc_status dsc__param_check(const dsc_param *p, size_t i)
{
    const char *nm = p->name ? p->name : "(unnamed)";
    if (p->n == 0) return dsc__fail(DSC_ERR_ARG, "param %zu '%s': element count is 0", i, nm);
    if (!dsc_dtype_size(p->dtype))
        return dsc__fail(DSC_ERR_ARG, "param %zu '%s': invalid dtype %d", i, nm, (int)p->dtype);
    if (p->name && (!p->name[0] || strlen(p->name) > 200))
        return dsc__fail(DSC_ERR_ARG, "param %zu: name must have 1 to 200 characters", i);
    if (p->ndim < 0 || p->ndim > DSC_MAX_DIMS)
        return dsc__fail(DSC_ERR_ARG, "param %zu '%s': ndim must be in [0, %d], got %d", i, nm,
                         DSC_MAX_DIMS, p->ndim);
    if (p->ndim > 0) {
        size_t prod = 1;
        for (int d = 0; d < p->ndim; d++) {
            if (p->shape[d] && prod > SIZE_MAX / p->shape[d])
                return dsc__fail(DSC_ERR_ARG, "param %zu '%s': shape overflows", i, nm);
            prod *= p->shape[d];
        }
        if (prod != p->n)
            return dsc__fail(DSC_ERR_MISMATCH, "param %zu '%s': shape holds %zu elements, n is %zu", i,
                             nm, prod, p->n);
    }
    return DSC_OK;
}

dsc_status dsc__param_copy(dsc_param *dst, const dsc_param *params, size_t i)
{
    char fallback[32];
    const char *nm = params[i].name;
    if (!nm) { snprintf(fallback, sizeof fallback, "p%zu", i); nm = fallback; }
    dst[i] = params[i];
    dst[i].name = dsc__strdup(nm);
    if (!dst[i].name) return dsc__fail(DSC_ERR_NOMEM, "out of memory");
    if (dst[i].ndim == 0) { dst[i].ndim = 1; dst[i].shape[0] = dst[i].n; }
    for (size_t j = 0; j < i; j++)
        if (!strcmp(dst[j].name, nm))
            return dsc__fail(DSC_ERR_ARG, "params %zu and %zu share the name '%s'", j, i, nm);
    return DSC_OK;
}
