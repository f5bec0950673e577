/*
 * zero.c: sharded optimizer state (ZeRO stage 1). Rank r owns the elements
 * [bounds[r], bounds[r+1]) of the contiguous run; its optimizer is an ordinary core
 * optimizer over views of that slice (one per tensor piece, named like the tensor),
 * which works for every element-wise update rule. Parameters stay whole on every
 * rank; the views' gradients are the reduce-scattered slice.
 *
 * What is not element-wise is done here over the whole model: the gradient norm for
 * clipping and the non-finite check take one all-reduce of per-tensor partials, so
 * every rank clips by the same coefficient and skips (or fails) together.
 */
#include "dist.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Per bucket and rank: the bucket's overlap with the rank's shard, and where it
 * starts inside the bucket (the counts and displacements of the collectives). */
static void bucket_layout(dsc_dist *d)
{
    size_t N = (size_t)d->size;
    for (size_t b = 0; b < d->nbuckets; b++) {
        size_t b0, b1;
        dsc__dist_bucket(d, b, &b0, &b1);
        for (size_t r = 0; r < N; r++) {
            size_t s = b0 > d->bounds[r] ? b0 : d->bounds[r];
            size_t e = b1 < d->bounds[r + 1] ? b1 : d->bounds[r + 1];
            d->counts[b * N + r] = e > s ? (int)(e - s) : 0;
            d->displs[b * N + r] = e > s ? (int)(s - b0) : 0;
        }
    }
}

/* One view per tensor piece inside [lo, hi), keeping the tensor's name, group and flags. */
static void make_views(dsc_dist *d, char (*names)[32])
{
    for (size_t i = 0; i < d->count; i++) {
        size_t t0 = d->offsets[i], t1 = d->offsets[i + 1];
        size_t s = t0 > d->lo ? t0 : d->lo, e = t1 < d->hi ? t1 : d->hi;
        if (e <= s) continue;
        dsc__piece *pc = &d->pieces[d->npieces];
        dsc_param *v = &d->views[d->npieces];
        *pc = (dsc__piece){.tensor = i, .offset = s - t0, .len = e - s};
        const dsc_param *p = &d->params[i];
        snprintf(names[d->npieces], sizeof names[0], "p%zu", i);
        *v = (dsc_param){.name = p->name ? p->name : names[d->npieces],
                         .data = d->pbase + s * d->esize,
                         .grad = d->shard_grad + (s - d->lo) * d->esize,
                         .n = e - s,
                         .dtype = d->dtype,
                         .flags = p->flags,
                         .group = p->group};
        d->npieces++;
    }
}

/* The shard's hyperparameters: clipping and the non-finite policy move to the
 * context (they need the global gradient); everything element-wise stays. */
static dsc_hparams shard_hparams(const dsc_hparams *hp)
{
    dsc_hparams h = *hp;
    h.clip_norm = 0;
    h.clip_per_tensor = 0;
    h.nonfinite = DSC_NONFINITE_IGNORE;
    h.max_consecutive_skips = 0;
    return h;
}

dsc_status dsc__zero_setup(dsc_dist *d)
{
    const dsc__ops *ops = dsc__ops_for(d->hp.kind);
    if (ops->whole_tensor || ops->tensor_state)
        return dsc__fail(DSC_ERR_UNSUPPORTED, "dist: %s needs whole tensors (per-tensor norms or matrix "
                         "products), which zero splits across ranks; use plain data-parallel (zero=0)",
                         dsc_kind_name(d->hp.kind));
    if (d->hp.accumulate > 1)
        return dsc__fail(DSC_ERR_UNSUPPORTED, "dist: zero steps every call; accumulate the micro-batches' "
                         "gradients before dsc_dist_step (accumulate must be 1, got %lld)",
                         (long long)d->hp.accumulate);
    size_t N = (size_t)d->size;
    d->bounds = malloc((N + 1) * sizeof *d->bounds);
    d->counts = malloc(d->nbuckets * N * sizeof *d->counts);
    d->displs = malloc(d->nbuckets * N * sizeof *d->displs);
    d->pieces = malloc(d->count * sizeof *d->pieces);
    d->views = malloc(d->count * sizeof *d->views);
    d->stats = malloc((2 * d->count + 1) * sizeof *d->stats);
    char (*names)[32] = malloc(d->count * sizeof *names);
    if (!d->bounds || !d->counts || !d->displs || !d->pieces || !d->views || !d->stats || !names) {
        free(names);
        return dsc__fail(DSC_ERR_NOMEM, "dist: out of memory for the shard layout");
    }
    for (size_t r = 0; r < N; r++) {
        size_t hi;
        dsc_dist_split(d->n, (int)r, d->size, &d->bounds[r], &hi);
    }
    d->bounds[N] = d->n;
    d->lo = d->bounds[d->rank];
    d->hi = d->bounds[d->rank + 1];
    bucket_layout(d);
    dsc_status st = DSC_OK;
    d->shard_grad = dsc__alloc((d->hi - d->lo) * d->esize);
    if (!d->shard_grad) st = dsc__fail(DSC_ERR_NOMEM, "dist: out of memory for the gradient shard");
    if (!st) make_views(d, names);
    dsc_hparams h = shard_hparams(&d->hp);
    if (!st && d->npieces) st = dsc_optim_create(&d->opt, &h, d->views, d->npieces);
    free(names);
    return st;
}

void dsc__zero_free(dsc_dist *d)
{
    free(d->bounds);
    free(d->counts);
    free(d->displs);
    free(d->pieces);
    free(d->views);
    free(d->stats);
    dsc__free(d->shard_grad);
}

/* ---------------------------------------------------------------- global gradient statistics */

/* The stats of one step, after the all-reduce: per tensor its partial sum |g|^p (max
 * for p = inf) over the whole model, then per tensor a NaN flag, then one flag for a
 * non-finite gradient. The flags travel apart from the partials because MPI_MAX need
 * not carry a NaN through; a NaN flag makes the tensor's partial NaN again, as the
 * core's partial would be. */
static dsc_status global_stats(dsc_dist *d, double p)
{
    size_t C = d->count;
    double *part = d->stats, *nanflag = d->stats + C;
    memset(d->stats, 0, (2 * C + 1) * sizeof *d->stats);
    for (size_t j = 0; j < d->npieces; j++) {
        const dsc_param *v = &d->views[j];
        double s = dsc__grad_partial(d->dtype, v->grad, v->n, p);
        size_t i = d->pieces[j].tensor;
        part[i] = dsc__norm_combine(part[i], s, p);
        /* a partial that is not finite may still come from finite values (squares overflow) */
        if (!isfinite(s) && !d->stats[2 * C]) d->stats[2 * C] = !dsc__grad_finite(d->dtype, v->grad, v->n);
    }
    for (size_t i = 0; i < C; i++) nanflag[i] = isnan(part[i]);
    int rc = MPI_Allreduce(MPI_IN_PLACE, d->stats, (int)(2 * C + 1), MPI_DOUBLE, isinf(p) ? MPI_MAX : MPI_SUM,
                           d->comm);
    if (rc != MPI_SUCCESS) return dsc__mpi_fail(rc, "dist", "MPI_Allreduce");
    for (size_t i = 0; i < C; i++)
        if (nanflag[i] > 0) part[i] = NAN;
    return DSC_OK;
}

/* The core optimizer's clipping and non-finite policy (optimizer.c's step) over the
 * global gradient, applied to this rank's slice; *skip when the policy says not to
 * step. With nonfinite=ignore a non-finite gradient is clipped as the core clips it:
 * an Inf norm gives the coefficient 0, a NaN norm leaves its tensors unclipped. */
static dsc_status clip_shard(dsc_dist *d, int *skip)
{
    const dsc_hparams *hp = &d->hp;
    int clip = hp->clip_norm > 0;
    *skip = 0;
    if (!clip && hp->nonfinite == DSC_NONFINITE_IGNORE) return DSC_OK;
    double p = clip ? hp->clip_norm_type : 2.0;
    dsc_status st = global_stats(d, p);
    if (st) return st;
    if (d->stats[2 * d->count] > 0 && hp->nonfinite != DSC_NONFINITE_IGNORE) {
        *skip = 1;
        return dsc__nonfinite_policy(hp, d->steps, &d->skipped, &d->consecutive);
    }
    double sum = 0;
    for (size_t i = 0; i < d->count; i++) sum = dsc__norm_combine(sum, d->stats[i], p);
    d->grad_norm = dsc__norm_root(sum, p);
    if (!clip) return DSC_OK;
    double global = dsc__clip_coef(hp->clip_norm, d->grad_norm);
    for (size_t j = 0; j < d->npieces; j++) {
        const dsc_param *v = &d->views[j];
        double own = dsc__norm_root(d->stats[d->pieces[j].tensor], p);
        double c = hp->clip_per_tensor ? dsc__clip_coef(hp->clip_norm, own) : global;
        if (c != 1.0) dsc__grad_scale(d->dtype, v->grad, v->n, c);
    }
    return DSC_OK;
}

/* Every rank's updated slice to every rank, one in-place all-gather per bucket. */
dsc_status dsc__zero_gather_params(dsc_dist *d)
{
    size_t N = (size_t)d->size;
    for (size_t b = 0; b < d->nbuckets; b++) {
        size_t b0, b1;
        dsc__dist_bucket(d, b, &b0, &b1);
        int rc = MPI_Iallgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, d->pbase + b0 * d->esize, d->counts + b * N,
                                 d->displs + b * N, d->mtype, d->comm, &d->req[b]);
        if (rc != MPI_SUCCESS) {
            MPI_Waitall((int)b, d->req, MPI_STATUSES_IGNORE);
            return dsc__mpi_fail(rc, "dist", "MPI_Iallgatherv");
        }
    }
    int rc = MPI_Waitall((int)d->nbuckets, d->req, MPI_STATUSES_IGNORE);
    for (size_t b = 0; b < d->nbuckets; b++) d->req[b] = MPI_REQUEST_NULL;
    return rc == MPI_SUCCESS ? DSC_OK : dsc__mpi_fail(rc, "dist", "MPI_Waitall");
}

dsc_status dsc__zero_step(dsc_dist *d, const double *loss)
{
    int skip;
    dsc_status st = clip_shard(d, &skip);
    if (st || skip) return st;
    if (d->opt && (st = loss ? dsc_optim_step_loss(d->opt, *loss) : dsc_optim_step(d->opt))) return st;
    d->steps++;
    d->consecutive = 0;
    return dsc__zero_gather_params(d);
}
