/*
 * zero.c: sharded optimizer state (ZeRO stage 1). Every rank owns 1/N of every bucket:
 * bucket b is split into N pieces in rank order, so that each bucket's reduce-scatter
 * and all-gather are balanced (each rank sends and receives (N-1)/N of the bucket,
 * the ring's optimum, whichever buckets are in flight). The pieces' lengths differ by
 * at most one element, and the longer pieces go round the ranks from bucket to bucket,
 * so the ranks' shards differ by at most one element too. A rank's optimizer is an
 * ordinary core optimizer over views of its pieces (one per tensor piece, named after
 * the tensor and the elements), which works for every element-wise update rule. Parameters stay whole
 * on every rank; the views' gradients are the reduced pieces, in place in the
 * gradient buffer.
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

/* Rank r's piece of a bucket of len elements split among N ranks, the longer pieces
 * (len % N of them, one element more) going to the ranks from `next` on (mod N): its
 * length, and its start inside the bucket in *at. */
static size_t piece_of(size_t len, size_t N, size_t next, size_t r, size_t *at)
{
    size_t base = len / N, extra = len % N, longer; /* the longer pieces before rank r */
    if (next + extra <= N) longer = r > next ? (r < next + extra ? r : next + extra) - next : 0;
    else longer = (r > next ? r - next : 0) + (r < next + extra - N ? r : next + extra - N);
    *at = r * base + longer;
    return base + ((r + N - next) % N < extra);
}

/* Per bucket and rank: the rank's piece (length and start inside the bucket), and
 * per bucket where this rank's piece sits in its shard. Bucket b of length L gives
 * every rank L / N elements and L % N of them one more, starting at the rank after
 * the last that got one in the bucket before, so the shards differ by one at most. */
static void bucket_layout(dsc_dist *d)
{
    size_t N = (size_t)d->size, next = 0; /* the rank the next longer piece goes to */
    d->nshard = 0;
    d->piece_max = 0;
    for (size_t b = 0; b < d->nbuckets; b++) {
        size_t b0, b1, at;
        dsc__dist_bucket(d, b, &b0, &b1);
        for (size_t r = 0; r < N; r++) {
            size_t len = piece_of(b1 - b0, N, next, r, &at);
            d->counts[b * N + r] = (int)len;
            d->displs[b * N + r] = (int)at;
            if (len > d->piece_max) d->piece_max = len;
        }
        next = (next + (b1 - b0) % N) % N;
        d->soff[b] = d->nshard;
        d->nshard += (size_t)d->counts[b * N + (size_t)d->rank];
    }
}

/* The view of tensor t's elements [s, e) of the flat run (its values in pbase), named after the tensor and
 * the elements ("fc1.weight[512:768]": a tensor may have a piece in several buckets,
 * and an optimizer's names are unique); the name is malloc'd. */
static dsc_status view_of(const dsc_dist *d, size_t t, size_t s, size_t e, char *pbase, dsc_param *v)
{
    const dsc_param *p = &d->params[t];
    char own[32];
    snprintf(own, sizeof own, "p%zu", t);
    const char *base = p->name ? p->name : own;
    size_t len = strlen(base) + 2 * 24 + 4;
    char *name = malloc(len);
    if (!name) return dsc__fail(DSC_ERR_NOMEM, "dist: out of memory");
    snprintf(name, len, "%s[%zu:%zu]", base, s - d->offsets[t], e - d->offsets[t]);
    *v = (dsc_param){.name = name,
                     .data = pbase + s * d->esize,
                     .grad = d->gbase + s * d->esize,
                     .n = e - s,
                     .dtype = d->dtype,
                     .flags = p->flags,
                     .group = p->group};
    return DSC_OK;
}

dsc_status dsc__shard_layout(const dsc_dist *d, size_t size, size_t rank, size_t bucket_elems, char *pbase,
                             dsc__shard *sh)
{
    memset(sh, 0, sizeof *sh);
    size_t nb = (d->n + bucket_elems - 1) / bucket_elems, most = d->count + nb; /* a piece ends at a tensor's or a bucket's end */
    sh->pieces = malloc(most * sizeof *sh->pieces);
    sh->views = calloc(most, sizeof *sh->views);
    if (!sh->pieces || !sh->views) return dsc__fail(DSC_ERR_NOMEM, "dist: out of memory for the shard layout");
    size_t next = 0, soff = 0, i = 0;
    for (size_t b = 0; b < nb; b++) {
        size_t b0 = b * bucket_elems, b1 = b0 + bucket_elems < d->n ? b0 + bucket_elems : d->n, at;
        size_t s0 = b0, len = piece_of(b1 - b0, size, next, rank, &at);
        s0 += at;
        size_t s1 = s0 + len;
        next = (next + (b1 - b0) % size) % size;
        while (i < d->count && d->offsets[i + 1] <= s0) i++;
        for (size_t t = i; s1 > s0 && t < d->count && d->offsets[t] < s1; t++) {
            size_t t0 = d->offsets[t], t1 = d->offsets[t + 1];
            size_t s = t0 > s0 ? t0 : s0, e = t1 < s1 ? t1 : s1;
            sh->pieces[sh->npieces] = (dsc__piece){.tensor = t, .offset = s - t0, .len = e - s, .soff = soff + (s - s0)};
            dsc_status st = view_of(d, t, s, e, pbase, &sh->views[sh->npieces]);
            if (st) return st;
            sh->npieces++;
        }
        soff += len;
    }
    return DSC_OK;
}

dsc_status dsc__shard_create(const dsc_dist *d, size_t size, size_t rank, size_t bucket_elems, char *pbase,
                             dsc__shard *sh)
{
    dsc_status st = dsc__shard_layout(d, size, rank, bucket_elems, pbase, sh);
    dsc_hparams h = dsc__shard_hparams(&d->hp);
    return !st && sh->npieces ? dsc_optim_create(&sh->opt, &h, sh->views, sh->npieces) : st;
}

void dsc__shard_free(dsc__shard *sh)
{
    dsc_optim_destroy(sh->opt);
    for (size_t j = 0; sh->views && j < sh->npieces; j++) free((char *)sh->views[j].name);
    free(sh->pieces);
    free(sh->views);
    memset(sh, 0, sizeof *sh);
}

dsc_hparams dsc__shard_hparams(const dsc_hparams *hp)
{
    dsc_hparams h = *hp;
    h.clip_norm = 0;
    h.clip_per_tensor = 0;
    h.nonfinite = DSC_NONFINITE_IGNORE;
    h.max_consecutive_skips = 0;
    return h;
}

/* The ring tags each bucket's messages with its index, so buckets in flight at once
 * never take each other's messages: there can be no more buckets than tags. */
static dsc_status check_tags(const dsc_dist *d)
{
    int *ub = NULL, found = 0;
    MPI_Comm_get_attr(d->comm, MPI_TAG_UB, &ub, &found);
    size_t tags = found && ub ? (size_t)*ub + 1 : 32768; /* MPI guarantees 32767 */
    if (d->nbuckets > tags)
        return dsc__fail(DSC_ERR_RANGE, "dist: zero tags each bucket's messages and this MPI has %zu tags; "
                         "the model makes %zu buckets (use larger buckets)", tags, d->nbuckets);
    return DSC_OK;
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
    dsc_status st = check_tags(d);
    if (st) return st;
    size_t N = (size_t)d->size;
    d->counts = malloc(d->nbuckets * N * sizeof *d->counts);
    d->displs = malloc(d->nbuckets * N * sizeof *d->displs);
    d->soff = malloc(d->nbuckets * sizeof *d->soff);
    d->ring = malloc(d->nbuckets * sizeof *d->ring);
    d->stats = malloc((2 * d->count + 1) * sizeof *d->stats);
    if (!d->counts || !d->displs || !d->soff || !d->ring || !d->stats)
        return dsc__fail(DSC_ERR_NOMEM, "dist: out of memory for the shard layout");
    for (size_t b = 0; b < d->nbuckets; b++) d->ring[b] = DSC__RING_IDLE;
    bucket_layout(d);
    d->scratch = dsc__alloc(d->nbuckets * d->piece_max * d->esize + 1);
    if (!d->scratch) return dsc__fail(DSC_ERR_NOMEM, "dist: out of memory for the ring's buffers");
    st = dsc__shard_create(d, N, (size_t)d->rank, d->bucket_elems, d->pbase, &d->own);
    d->npieces = d->own.npieces;
    d->pieces = d->own.pieces;
    d->views = d->own.views;
    d->opt = d->own.opt;
    return st;
}

void dsc__zero_free(dsc_dist *d)
{
    free(d->counts);
    free(d->displs);
    free(d->soff);
    free(d->ring);
    free(d->stats);
    dsc__free(d->scratch);
    if (d->opt == d->own.opt) d->opt = NULL; /* the shard's, freed with it */
    dsc__shard_free(&d->own);
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
    /* non-blocking, so that a timeout covers it too */
    int rc = MPI_Iallreduce(MPI_IN_PLACE, d->stats, (int)(2 * C + 1), MPI_DOUBLE, isinf(p) ? MPI_MAX : MPI_SUM,
                            d->comm, &d->req[0]);
    if (rc != MPI_SUCCESS) return dsc__mpi_fail(rc, "dist", "MPI_Iallreduce");
    dsc_status st = dsc__dist_wait_requests(d, 1);
    if (st) return st;
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
    return dsc__dist_wait_requests(d, d->nbuckets);
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
