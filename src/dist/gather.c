/*
 * gather.c: the complete training state between the ranks and one single-process
 * optimizer at rank 0, for checkpoints. A sharded run saves one ordinary file that one
 * process resumes, and a single-process file resumes on N ranks: the file format never
 * sees the sharding.
 *
 * State buffers move per bucket of the flat run (MPI_Gatherv / MPI_Scatterv with the
 * shard overlaps as counts), so no rank ever holds a second full copy.
 */
#include "dist.h"
#include "../checkpoint/checkpoint.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { TO_FULL, FROM_FULL };

/* The local state layout full must match at tensor i: the tensor's own without zero
 * (Muon's depends on the tensor), the first view's with zero (a sharded kind's layout
 * is one for all; rank 0's shard is never empty). */
static size_t ref_tensor(const dsc_dist *d, size_t i) { return d->cfg.zero ? 0 : i; }

static const char *param_name(const dsc_dist *d, size_t i, char *buf, size_t size)
{
    if (d->params[i].name) return d->params[i].name;
    snprintf(buf, size, "p%zu", i);
    return buf;
}

/* full must be an optimizer of the same kind over the same tensors and state. */
static dsc_status check_full(const dsc_dist *d, const dsc_optim *full)
{
    if (!full) return dsc__fail(DSC_ERR_ARG, "dist: rank 0 must pass the single-process optimizer");
    if (dsc_optim_kind(full) != d->hp.kind)
        return dsc__fail(DSC_ERR_MISMATCH, "dist: the optimizer is %s, the run is %s",
                         dsc_kind_name(dsc_optim_kind(full)), dsc_kind_name(d->hp.kind));
    if (dsc_optim_param_count(full) != d->count || dsc_optim_group_count(full) != d->ngroups)
        return dsc__fail(DSC_ERR_MISMATCH, "dist: the optimizer has %zu tensors in %d groups, the run %zu in %d",
                         dsc_optim_param_count(full), dsc_optim_group_count(full), d->count, d->ngroups);
    for (size_t i = 0; i < d->count; i++) {
        const dsc_param *p = dsc_optim_param(full, i);
        char buf[32];
        const char *nm = param_name(d, i, buf, sizeof buf);
        if (strcmp(p->name, nm) || p->n != d->params[i].n || p->dtype != d->dtype)
            return dsc__fail(DSC_ERR_MISMATCH, "dist: tensor %zu is '%s' of %zu %s, the run's is '%s' of %zu %s", i,
                             p->name, p->n, dsc_dtype_name(p->dtype), nm, d->params[i].n, dsc_dtype_name(d->dtype));
        size_t ns = dsc_optim_state_count(d->opt, ref_tensor(d, i));
        if (dsc_optim_state_count(full, i) != ns)
            return dsc__fail(DSC_ERR_MISMATCH, "dist: tensor '%s' has %zu state buffers, the run %zu", nm,
                             dsc_optim_state_count(full, i), ns);
        for (size_t k = 0; k < ns; k++) {
            const char *name, *want;
            dsc_optim_state(full, i, k, &name, NULL);
            dsc_optim_state(d->opt, ref_tensor(d, i), k, &want, NULL);
            if (strcmp(name, want))
                return dsc__fail(DSC_ERR_MISMATCH, "dist: tensor '%s' state %zu is '%s', the run's is '%s'", nm, k,
                                 name, want);
        }
    }
    return DSC_OK;
}

/* ---------------------------------------------------------------- flat run <-> tensors */

/* Copies elements [b0, b1) of the flat run between buf and full: its parameters
 * (k < 0) or its state buffer k. */
static void flat_copy(const dsc_dist *d, const dsc_optim *full, int k, size_t b0, size_t b1, char *buf, int dir)
{
    for (size_t i = 0; i < d->count; i++) {
        size_t t0 = d->offsets[i], t1 = d->offsets[i + 1];
        size_t s = t0 > b0 ? t0 : b0, e = t1 < b1 ? t1 : b1;
        if (e <= s) continue;
        void *data = dsc_optim_param(full, i)->data;
        if (k >= 0) dsc_optim_state(full, i, (size_t)k, NULL, &data);
        char *t = (char *)data + (s - t0) * d->esize, *f = buf + (s - b0) * d->esize;
        if (t == f) continue;
        if (dir == TO_FULL) memcpy(t, f, (e - s) * d->esize);
        else memcpy(f, t, (e - s) * d->esize);
    }
}

/* Copies state buffer k between this rank's views and tmp, the shard's run (its
 * pieces back to back). */
static void shard_copy(const dsc_dist *d, int k, char *tmp, int to_views)
{
    for (size_t j = 0; j < d->npieces; j++) {
        void *st;
        dsc_optim_state(d->opt, j, (size_t)k, NULL, &st);
        char *f = tmp + d->pieces[j].soff * d->esize;
        size_t bytes = d->views[j].n * d->esize;
        if (to_views) memcpy(st, f, bytes);
        else memcpy(f, st, bytes);
    }
}

/* ---------------------------------------------------------------- state buffers */

/* zero: state buffer k, bucket by bucket, between the shards and rank 0's full. */
static dsc_status move_shards(dsc_dist *d, const dsc_optim *full, int k, char *tmp, char *bucket, int dir)
{
    size_t N = (size_t)d->size;
    if (dir == TO_FULL) shard_copy(d, k, tmp, 0);
    for (size_t b = 0; b < d->nbuckets; b++) {
        size_t b0, b1;
        dsc__dist_bucket(d, b, &b0, &b1);
        int mine = d->counts[b * N + (size_t)d->rank];
        char *part = tmp + d->soff[b] * d->esize;
        int rc;
        if (dir == TO_FULL) {
            rc = MPI_Gatherv(part, mine, d->mtype, bucket, d->counts + b * N, d->displs + b * N, d->mtype, 0, d->comm);
            if (rc == MPI_SUCCESS && d->rank == 0) flat_copy(d, full, k, b0, b1, bucket, TO_FULL);
        } else {
            if (d->rank == 0) flat_copy(d, full, k, b0, b1, bucket, FROM_FULL);
            rc = MPI_Scatterv(bucket, d->counts + b * N, d->displs + b * N, d->mtype, part, mine, d->mtype, 0, d->comm);
        }
        if (rc != MPI_SUCCESS) return dsc__mpi_fail(rc, "dist", dir == TO_FULL ? "MPI_Gatherv" : "MPI_Scatterv");
    }
    if (dir == FROM_FULL) shard_copy(d, k, tmp, 1);
    return DSC_OK;
}

/* Without zero every rank holds all state: rank 0 copies, then (scatter) broadcasts. */
static dsc_status move_replicas(dsc_dist *d, const dsc_optim *full, int k, int dir)
{
    for (size_t i = 0; i < d->count; i++) {
        void *mine, *theirs;
        if ((size_t)k >= dsc_optim_state_count(d->opt, i)) continue;
        dsc_optim_state(d->opt, i, (size_t)k, NULL, &mine);
        size_t n = d->params[i].n;
        if (d->rank == 0 && full != d->opt) {
            dsc_optim_state(full, i, (size_t)k, NULL, &theirs);
            memcpy(dir == TO_FULL ? theirs : mine, dir == TO_FULL ? mine : theirs, n * d->esize);
        }
        for (size_t e = 0; dir == FROM_FULL && e < n; e += d->bucket_elems) {
            size_t c = n - e < d->bucket_elems ? n - e : d->bucket_elems;
            int rc = MPI_Bcast((char *)mine + e * d->esize, (int)c, d->mtype, 0, d->comm);
            if (rc != MPI_SUCCESS) return dsc__mpi_fail(rc, "dist", "MPI_Bcast");
        }
    }
    return DSC_OK;
}

static dsc_status move_state(dsc_dist *d, const dsc_optim *full, int dir)
{
    /* rank 0 knows the layout (a rank with an empty shard has no optimizer) */
    int ns = d->rank == 0 ? (int)dsc_optim_state_count(d->opt, 0) : 0;
    for (size_t i = 0; !d->cfg.zero && i < d->count; i++)
        if ((int)dsc_optim_state_count(d->opt, i) > ns) ns = (int)dsc_optim_state_count(d->opt, i);
    int rc = MPI_Bcast(&ns, 1, MPI_INT, 0, d->comm);
    if (rc != MPI_SUCCESS) return dsc__mpi_fail(rc, "dist", "MPI_Bcast");
    if (!d->cfg.zero) {
        dsc_status st = DSC_OK;
        for (int k = 0; k < ns && !st; k++) st = move_replicas(d, full, k, dir);
        return st;
    }
    char *tmp = malloc((d->nshard + 1) * d->esize);
    char *bucket = d->rank == 0 ? malloc(d->bucket_elems * d->esize) : NULL;
    dsc_status st = !tmp || (d->rank == 0 && !bucket)
                        ? dsc__fail(DSC_ERR_NOMEM, "dist: out of memory for a state bucket")
                        : DSC_OK;
    st = dsc__dist_agree(d, st);
    for (int k = 0; k < ns && !st; k++) st = move_shards(d, full, k, tmp, bucket, dir);
    free(tmp);
    free(bucket);
    return st;
}

/* ---------------------------------------------------------------- counters, groups, parameters */

#define MAX_SCALARS 8

/* A group's hyperparameters and scalar state (dsc_optim_scalar_name), as one message. */
typedef struct group_msg {
    dsc_hparams hp;
    double scalar[MAX_SCALARS];
} group_msg;

static void read_group(const dsc_optim *opt, int g, group_msg *m)
{
    dsc_optim_get_group_hparams(opt, g, &m->hp);
    for (size_t k = 0; k < MAX_SCALARS && dsc_optim_scalar_name(k); k++)
        dsc_optim_get_scalar(opt, g, dsc_optim_scalar_name(k), &m->scalar[k]);
}

/* hp with the clipping and non-finite controls that opt was created with. */
static dsc_status set_group(dsc_optim *opt, int g, const group_msg *m)
{
    dsc_hparams cur, hp = m->hp;
    dsc_optim_get_group_hparams(opt, g, &cur);
    hp.clip_norm = cur.clip_norm;
    hp.clip_norm_type = cur.clip_norm_type;
    hp.clip_per_tensor = cur.clip_per_tensor;
    hp.clip_value = cur.clip_value;
    hp.nonfinite = cur.nonfinite;
    hp.max_consecutive_skips = cur.max_consecutive_skips;
    hp.accumulate = cur.accumulate;
    dsc_status st = dsc_optim_set_group_hparams(opt, g, &hp);
    for (size_t k = 0; !st && k < MAX_SCALARS && dsc_optim_scalar_name(k); k++)
        st = dsc_optim_set_scalar(opt, g, dsc_optim_scalar_name(k), m->scalar[k]);
    return st;
}

dsc_status dsc__dist_copy_group(const dsc_optim *src, dsc_optim *dst, int g)
{
    group_msg m;
    unsigned char *buf = NULL;
    size_t len = 0;
    memset(&m, 0, sizeof m);
    read_group(src, g, &m);
    /* the schedule first: attaching one sets the rate, which the hparams then fix */
    dsc_status st = dsc__dist_pack_schedule(src, g, &buf, &len);
    if (!st && len) st = dsc__dist_apply_schedule(dst, g, buf, len);
    free(buf);
    return st ? st : set_group(dst, g, &m);
}

static int has_group(const dsc_optim *opt, int g) { return opt && g < dsc_optim_group_count(opt); }

/* Group g's schedule, packed from src at rank `from`, to every rank; applied to dst
 * where dst is not NULL. Sent in fixed chunks, so a rank that cannot hold it still
 * takes part (and fails afterwards). */
static dsc_status move_schedule(dsc_dist *d, int g, int from, const dsc_optim *src, dsc_optim *dst)
{
    unsigned char *buf = NULL, chunk[4096];
    size_t len = 0;
    dsc_status st = d->rank == from ? dsc__dist_pack_schedule(src, g, &buf, &len) : DSC_OK;
    unsigned long long n = len;
    int rc = MPI_Bcast(&n, 1, MPI_UNSIGNED_LONG_LONG, from, d->comm);
    if (d->rank != from && n && !(buf = malloc((size_t)n)))
        st = dsc__fail(DSC_ERR_NOMEM, "dist: out of memory for a schedule");
    for (size_t off = 0; rc == MPI_SUCCESS && off < n; off += sizeof chunk) {
        size_t c = n - off < sizeof chunk ? (size_t)n - off : sizeof chunk;
        if (d->rank == from) memcpy(chunk, buf + off, c);
        rc = MPI_Bcast(chunk, (int)c, MPI_BYTE, from, d->comm);
        if (buf && d->rank != from) memcpy(buf + off, chunk, c);
    }
    if (rc != MPI_SUCCESS) st = dsc__mpi_fail(rc, "dist", "MPI_Bcast");
    if (!st && n && dst) st = dsc__dist_apply_schedule(dst, g, buf, (size_t)n);
    free(buf);
    return st;
}

/* Each group from the first rank whose optimizer has it, to rank 0's full. */
static dsc_status gather_groups(dsc_dist *d, dsc_optim *full)
{
    dsc_status st = DSC_OK; /* the first failure; every rank still takes part in every group */
    for (int g = 0; g < d->ngroups; g++) {
        int mine = has_group(d->opt, g) ? d->rank : d->size, owner;
        int rc = MPI_Allreduce(&mine, &owner, 1, MPI_INT, MPI_MIN, d->comm);
        if (rc != MPI_SUCCESS) return dsc__mpi_fail(rc, "dist", "MPI_Allreduce");
        if (owner == d->size) continue; /* a group no tensor names: its defaults stand */
        group_msg m;
        memset(&m, 0, sizeof m);
        if (d->rank == owner) read_group(d->opt, g, &m);
        rc = MPI_Bcast(&m, (int)sizeof m, MPI_BYTE, owner, d->comm);
        if (rc != MPI_SUCCESS) return dsc__mpi_fail(rc, "dist", "MPI_Bcast");
        /* the schedule first: attaching one sets the rate, which the hparams then fix */
        dsc_status s2 = move_schedule(d, g, owner, d->opt, d->rank == 0 && !st ? full : NULL);
        if (!s2 && !st && d->rank == 0) s2 = set_group(full, g, &m);
        if (!st) st = s2;
    }
    if (!st && d->rank == 0) st = dsc_optim_set_counters(full, d->steps, d->skipped, d->consecutive);
    /* the run's mode (schedule-free's evaluation point): rank 0 holds a piece, so an
     * optimizer, whenever the run has elements; full's parameters are the run's already */
    if (!st && d->rank == 0 && dsc_optim_in_eval_mode(d->opt) != dsc_optim_in_eval_mode(full))
        st = dsc_optim_eval_mode(full, dsc_optim_in_eval_mode(d->opt));
    return st;
}

/* Rank 0's full groups and counters to every rank. */
static dsc_status scatter_groups(dsc_dist *d, const dsc_optim *full)
{
    int64_t c[4] = {0, 0, 0, 0};
    if (d->rank == 0)
        c[0] = dsc_optim_step_count(full), c[1] = dsc_optim_skipped_count(full), c[2] = dsc_optim_consecutive_skips(full),
        c[3] = dsc_optim_in_eval_mode(full);
    int rc = MPI_Bcast(c, 4, MPI_INT64_T, 0, d->comm);
    if (rc != MPI_SUCCESS) return dsc__mpi_fail(rc, "dist", "MPI_Bcast");
    d->steps = c[0], d->skipped = c[1], d->consecutive = c[2];
    dsc_status st = d->opt ? dsc_optim_set_counters(d->opt, c[0], c[1], c[2]) : DSC_OK;
    /* full's mode (its parameters, broadcast, are already that mode's; the state, now
     * in place, rewrites them alike) */
    if (!st && d->opt && dsc_optim_in_eval_mode(d->opt) != (int)c[3]) st = dsc_optim_eval_mode(d->opt, (int)c[3]);
    for (int g = 0; g < d->ngroups; g++) { /* every rank takes part in every group */
        group_msg m;
        memset(&m, 0, sizeof m);
        if (d->rank == 0) read_group(full, g, &m);
        rc = MPI_Bcast(&m, (int)sizeof m, MPI_BYTE, 0, d->comm);
        if (rc != MPI_SUCCESS) return dsc__mpi_fail(rc, "dist", "MPI_Bcast");
        int mine = has_group(d->opt, g) && !st;
        dsc_status s2 = move_schedule(d, g, 0, full, mine ? d->opt : NULL);
        if (!s2 && mine) s2 = set_group(d->opt, g, &m);
        if (!st) st = s2;
    }
    return st;
}

/* Parameters: whole on every rank between steps, so rank 0 alone copies. */
static void copy_params(dsc_dist *d, const dsc_optim *full, int dir)
{
    flat_copy(d, full, -1, 0, d->n, d->pbase, dir);
}

dsc_status dsc_dist_gather_state(dsc_dist *d, dsc_optim *full)
{
    if (!d) return dsc__fail(DSC_ERR_ARG, "dsc_dist_gather_state: NULL context");
    dsc_status st = dsc__dist_agree(d, d->rank == 0 ? check_full(d, full) : DSC_OK);
    if (st) return st;
    if (d->rank == 0) copy_params(d, full, TO_FULL);
    if ((st = dsc__dist_agree(d, move_state(d, full, TO_FULL)))) return st;
    return dsc__dist_agree(d, gather_groups(d, full));
}

dsc_status dsc_dist_scatter_state(dsc_dist *d, const dsc_optim *full)
{
    if (!d) return dsc__fail(DSC_ERR_ARG, "dsc_dist_scatter_state: NULL context");
    dsc_status st = dsc__dist_agree(d, d->rank == 0 ? check_full(d, full) : DSC_OK);
    if (st) return st;
    if (d->rank == 0) copy_params(d, full, FROM_FULL);
    if ((st = dsc__dist_broadcast_params(d))) return st;
    if ((st = dsc__dist_agree(d, move_state(d, full, FROM_FULL)))) return st;
    return dsc__dist_agree(d, scatter_groups(d, full));
}

/* ---------------------------------------------------------------- state from a file */

/* Where this rank's state buffer k of local tensor j comes from: the file's tensor
 * "state/<name>/<buffer>" (checked: the state's dtype and the tensor's whole shape),
 * and the elements [*first, *first + *count) of it (a piece with zero, else all). */
static dsc_status state_source(const dsc_dist *d, const dsc_ckpt *ck, size_t j, size_t k, char *name, size_t cap,
                               size_t *first, size_t *count, void **dst, size_t *idx)
{
    const char *buffer;
    dsc_param shape, whole;
    dsc_optim_state(d->opt, j, k, &buffer, dst);
    dsc__optim_state_param(d->opt, j, buffer, &shape);
    size_t i = d->cfg.zero ? d->pieces[j].tensor : j;
    char buf[32];
    snprintf(name, cap, "state/%s/%s", param_name(d, i, buf, sizeof buf), buffer);
    whole = shape;
    *first = 0;
    *count = shape.n;
    if (d->cfg.zero) { /* a sharded kind's state is elementwise: the piece's elements of the tensor's */
        if (shape.n != d->pieces[j].len)
            return dsc__fail(DSC_ERR_UNSUPPORTED, "dist: state '%s' is not elementwise", name);
        whole = d->params[i];
        whole.dtype = shape.dtype;
        if (whole.ndim == 0) whole.ndim = 1, whole.shape[0] = whole.n; /* as the optimizer's copy */
        *first = d->pieces[j].offset;
    }
    return dsc__ckpt_match(ck, name, &whole, "run", idx);
}

/* Every state buffer of this rank, checked (read 0) or read from the file (read 1). */
static dsc_status state_from_file(const dsc_dist *d, const dsc_ckpt *ck, int read)
{
    size_t local = !d->opt ? 0 : d->cfg.zero ? d->npieces : d->count;
    if (d->opt && dsc__optim_wide_count(d->opt))
        return dsc__fail(DSC_ERR_UNSUPPORTED, "dist: %s's state is not per tensor", dsc_kind_name(d->hp.kind));
    dsc_status st = DSC_OK;
    unsigned char *chunk = NULL;
    for (size_t j = 0; !st && j < local; j++)
        for (size_t k = 0; !st && k < dsc_optim_state_count(d->opt, j); k++) {
            char name[300];
            size_t first, count, idx;
            void *dst;
            st = state_source(d, ck, j, k, name, sizeof name, &first, &count, &dst, &idx);
            /* the values a single-process restore checks (squares never negative) */
            if (!st && !read) st = dsc__ckpt_check_square(ck, idx, strrchr(name, '/') + 1, &chunk);
            if (!st && read) st = dsc_ckpt_read(ck, name, first, count, dst);
        }
    free(chunk);
    return st;
}

dsc_status dsc_dist_restore_state(dsc_dist *d, const dsc_optim *full, const dsc_ckpt *ck)
{
    if (!d || !ck) return dsc__fail(DSC_ERR_ARG, "dsc_dist_restore_state: NULL context or checkpoint");
    dsc_status st = dsc__dist_agree(d, d->rank == 0 ? check_full(d, full) : DSC_OK);
    if (!st) st = dsc__dist_agree(d, state_from_file(d, ck, 0));
    if (st) return st;
    if (d->rank == 0) copy_params(d, full, FROM_FULL);
    if ((st = dsc__dist_broadcast_params(d))) return st;
    if ((st = dsc__dist_agree(d, state_from_file(d, ck, 1)))) return st;
    if ((st = dsc__dist_agree(d, scatter_groups(d, full)))) return st;
    /* the file's parameters are its evaluation point (schedule-free's x): the saved
     * mode's point is rebuilt from the state, as a single-process restore does */
    const char *mode = dsc_ckpt_meta(ck, "eval_mode");
    return dsc_dist_eval_mode(d, mode && !strcmp(mode, "1"));
}
