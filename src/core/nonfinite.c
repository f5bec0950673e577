/*
 * nonfinite.c: the non-finite gradient policy (nonfinite=skip|error and
 * max_consecutive_skips), one decision shared by the optimizer's step and the
 * sharded step of src/dist, so that both count and fail alike.
 */
#include "internal.h"

dsc_status dsc__nonfinite_policy(const dsc_hparams *ctl, int64_t steps, int64_t *skipped, int64_t *consecutive)
{
    const char *who = dsc_kind_name(ctl->kind);
    if (ctl->nonfinite == DSC_NONFINITE_ERROR)
        return dsc__fail(DSC_ERR_NONFINITE, "%s: non-finite gradient at step %lld; nothing was changed", who,
                         (long long)steps + 1);
    ++*skipped;
    ++*consecutive;
    if (ctl->max_consecutive_skips > 0 && *consecutive >= ctl->max_consecutive_skips)
        return dsc__fail(DSC_ERR_NONFINITE, "%s: %lld consecutive steps skipped for non-finite gradients", who,
                         (long long)*consecutive);
    return DSC_OK;
}
