/*
 * checkpoint.c: checkpoints of a data-parallel run as ordinary descent checkpoints
 * (descent_checkpoint.h). Rank 0 gathers the complete state into a single-process
 * optimizer over the context's own buffers and saves it; a load goes the other way.
 * The file cannot tell how many ranks wrote it, so any run resumes it.
 */
#include "dist.h"

#include "descent_checkpoint.h"

/* Rank 0's single-process optimizer over the run's buffers (its parameters are the
 * run's: gathering and scattering them copies nothing). */
static dsc_status make_full(dsc_dist *d, dsc_optim **full)
{
    *full = NULL;
    if (d->rank != 0) return DSC_OK;
    return dsc_optim_create(full, &d->hp, d->params, d->count);
}

dsc_status dsc_dist_checkpoint_gather(dsc_dist *d, dsc_status (*save)(const dsc_optim *full, void *ctx), void *ctx)
{
    if (!d || !save) return dsc__fail(DSC_ERR_ARG, "dsc_dist_checkpoint_gather: NULL argument");
    dsc_optim *full;
    dsc_status st = dsc__dist_agree(d, make_full(d, &full));
    if (!st) st = dsc_dist_gather_state(d, full);
    if (!st && d->rank == 0) st = save(full, ctx);
    dsc_optim_destroy(full);
    return dsc__dist_agree(d, st);
}

typedef struct file_save {
    const char *path;
    const dsc_checkpoint_save_options *o;
} file_save;

static dsc_status save_file(const dsc_optim *full, void *ctx)
{
    const file_save *f = ctx;
    return dsc_checkpoint_save(full, f->path, f->o);
}

dsc_status dsc_dist_checkpoint_save(dsc_dist *d, const char *path, const dsc_checkpoint_save_options *o)
{
    if (!d) return dsc__fail(DSC_ERR_ARG, "dsc_dist_checkpoint_save: NULL context");
    if (d->cfg.zero && d->cfg.shard_checkpoints) return dsc__dist_save_sharded(d, path, o, NULL, NULL);
    file_save f = {path, o};
    return dsc_dist_checkpoint_gather(d, save_file, &f);
}

dsc_status dsc_dist_checkpoint_save_sidecar(dsc_dist *d, const char *path, const dsc_checkpoint_save_options *o,
                                            dsc_status (*write)(const char *file, void *ctx), void *ctx)
{
    if (!d || !path || !write) return dsc__fail(DSC_ERR_ARG, "dsc_dist_checkpoint_save_sidecar: NULL argument");
    /* the same on every rank (dsc_dist_create checked the configurations agree) */
    if (!d->cfg.zero || !d->cfg.shard_checkpoints)
        return dsc__fail(DSC_ERR_ARG, "dsc_dist_checkpoint_save_sidecar: the run must have zero and shard_checkpoints");
    return dsc__dist_save_sharded(d, path, o, write, ctx);
}

dsc_status dsc_dist_checkpoint_load(dsc_dist *d, const char *path)
{
    if (!d) return dsc__fail(DSC_ERR_ARG, "dsc_dist_checkpoint_load: NULL context");
    int is_index = 0;
    dsc_status st = dsc__dist_load_index(d, path, &is_index); /* a sharded checkpoint (shards.c) */
    if (st || is_index) return st;
    dsc_optim *full;
    st = make_full(d, &full);
    /* a failed load leaves full, and so the run's parameters, untouched */
    if (!st && d->rank == 0) st = dsc_checkpoint_load(full, path, NULL);
    st = dsc__dist_agree(d, st);
    if (!st) st = dsc_dist_scatter_state(d, full);
    dsc_optim_destroy(full);
    return st;
}
