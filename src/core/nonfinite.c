/*
 * nonfinite.c: the non-finite gradient policy (nonfinite=skip|error and
 * max_consecutive_skips), one decision shared by the optimizer's step and the
 * sharded step of src/dist, so that both count and fail alike; and the optimizer's
 * use of it (its step, its accumulation window).
 */
#include "optimizer.h"

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

dsc_status dsc__optim_handle_nonfinite(dsc_optim *o)
{
    if (o->controls.nonfinite != DSC_NONFINITE_ERROR) o->last_skipped = 1;
    return dsc__nonfinite_policy(&o->controls, o->steps, &o->skipped, &o->consecutive);
}
