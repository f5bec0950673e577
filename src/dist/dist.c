/*
 * dist.c: the data-parallel context: checks the caller's layout, agrees with the
 * other ranks that they describe the same model, broadcasts the parameters from
 * rank 0, and drives the step (reduce the gradients, then update).
 */
#include "dist.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_BUCKET_BYTES ((size_t)25 << 20)
#define MAX_BUCKET_BYTES ((size_t)1 << 30) /* keeps every element count within int */
#define MAX_TIMEOUT_S 1e9

dsc_dist_config dsc_dist_config_default(void)
{
    dsc_dist_config c = {.bucket_bytes = DEFAULT_BUCKET_BYTES, .zero = 0, .reduce = DSC_DIST_MEAN};
    return c;
}

dsc_status dsc__dist_agree(dsc_dist *d, dsc_status st)
{
    int mine = (int)st, worst = 0;
    int rc = MPI_Allreduce(&mine, &worst, 1, MPI_INT, MPI_MIN, d->comm);
    if (rc != MPI_SUCCESS) return dsc__mpi_fail(rc, "dist", "MPI_Allreduce");
    if (st != DSC_OK) return st;
    if (worst != DSC_OK)
        return dsc__fail((dsc_status)worst, "dist: another rank failed (%s); nothing was done here",
                         dsc_status_str((dsc_status)worst));
    return DSC_OK;
}

/* ---------------------------------------------------------------- create */

static dsc_status check_config(const dsc_dist_config *c, size_t esize)
{
    if (c->bucket_bytes < esize || c->bucket_bytes > MAX_BUCKET_BYTES)
        return dsc__fail(DSC_ERR_RANGE, "dist: bucket_bytes must be in [%zu, %zu], got %zu", esize,
                         MAX_BUCKET_BYTES, c->bucket_bytes);
    if (c->zero != 0 && c->zero != 1)
        return dsc__fail(DSC_ERR_RANGE, "dist: zero must be 0 or 1, got %d", c->zero);
    if (c->reduce != DSC_DIST_MEAN && c->reduce != DSC_DIST_SUM)
        return dsc__fail(DSC_ERR_RANGE, "dist: reduce must be mean (0) or sum (1), got %d", (int)c->reduce);
    if (c->shard_checkpoints != 0 && c->shard_checkpoints != 1)
        return dsc__fail(DSC_ERR_RANGE, "dist: shard_checkpoints must be 0 or 1, got %d", c->shard_checkpoints);
    if (!(c->timeout >= 0 && c->timeout < MAX_TIMEOUT_S))
        return dsc__fail(DSC_ERR_RANGE, "dist: timeout must be seconds in [0, %g), got %g", MAX_TIMEOUT_S, c->timeout);
    return DSC_OK;
}

/* The tensors must lie back to back in one parameter and one gradient buffer. */
static dsc_status check_layout(dsc_dist *d, const dsc_param *params, size_t count)
{
    for (size_t i = 0; i < count; i++) /* the all-reduce moves dense gradients */
        if (params[i].flags & DSC_SPARSE_GRAD)
            return dsc__fail(DSC_ERR_UNSUPPORTED, "dist: param %zu '%s' has a sparse gradient (DSC_SPARSE_GRAD); "
                             "data-parallel training all-reduces dense gradients only", i,
                             params[i].name ? params[i].name : "(unnamed)");
    d->dtype = params[0].dtype;
    d->esize = dsc_dtype_size(d->dtype);
    if (!d->esize) return dsc__fail(DSC_ERR_ARG, "dist: param 0 has an invalid dtype %d", (int)d->dtype);
    d->pbase = params[0].data;
    d->gbase = params[0].grad;
    if (!d->pbase || !d->gbase) return dsc__fail(DSC_ERR_ARG, "dist: param 0: data and grad must not be NULL");
    size_t off = 0;
    for (size_t i = 0; i < count; i++) {
        const dsc_param *p = &params[i];
        const char *nm = p->name ? p->name : "(unnamed)";
        if (p->dtype != d->dtype)
            return dsc__fail(DSC_ERR_MISMATCH, "dist: param %zu '%s' is %s, param 0 is %s; one dtype only", i,
                             nm, dsc_dtype_name(p->dtype) ? dsc_dtype_name(p->dtype) : "invalid",
                             dsc_dtype_name(d->dtype));
        if (p->n == 0 || p->n > (SIZE_MAX / 8 - off)) return dsc__fail(DSC_ERR_ARG, "dist: param %zu '%s': bad element count %zu", i, nm, p->n);
        if ((char *)p->data != d->pbase + off * d->esize || (char *)p->grad != d->gbase + off * d->esize)
            return dsc__fail(DSC_ERR_ARG, "dist: param %zu '%s': data and grad must follow param %zu directly "
                             "(one contiguous parameter buffer and one gradient buffer)", i, nm, i ? i - 1 : 0);
        if (p->group < 0 || p->group > 1 << 20)
            return dsc__fail(DSC_ERR_ARG, "dist: param %zu '%s': group must be >= 0, got %d", i, nm, p->group);
        d->offsets[i] = off;
        off += p->n;
        if (p->group + 1 > d->ngroups) d->ngroups = p->group + 1;
    }
    d->offsets[count] = d->n = off;
    if (d->pbase < d->gbase + off * d->esize && d->gbase < d->pbase + off * d->esize)
        return dsc__fail(DSC_ERR_ARG, "dist: the parameter and gradient buffers overlap");
    return DSC_OK;
}

/* Every rank must describe the same model the same way. */
static dsc_status check_same_everywhere(dsc_dist *d)
{
    enum { NV = 7 };
    long long v[NV] = {(long long)d->n, (long long)d->count, d->cfg.zero, (long long)d->bucket_elems,
                       d->dtype, d->hp.kind, d->cfg.shard_checkpoints};
    long long lo[NV], hi[NV];
    int rc = MPI_Allreduce(v, lo, NV, MPI_LONG_LONG, MPI_MIN, d->comm);
    if (rc == MPI_SUCCESS) rc = MPI_Allreduce(v, hi, NV, MPI_LONG_LONG, MPI_MAX, d->comm);
    if (rc != MPI_SUCCESS) return dsc__mpi_fail(rc, "dist", "MPI_Allreduce");
    static const char *const what[NV] = {"element count", "tensor count", "zero", "bucket size", "dtype", "kind",
                                         "shard_checkpoints"};
    for (int i = 0; i < NV; i++)
        if (lo[i] != hi[i])
            return dsc__fail(DSC_ERR_MISMATCH, "dist: the ranks disagree on the %s (%lld to %lld)", what[i],
                             lo[i], hi[i]);
    return DSC_OK;
}

static dsc_status alloc_buckets(dsc_dist *d)
{
    d->bucket_elems = d->cfg.bucket_bytes / d->esize;
    d->nbuckets = (d->n + d->bucket_elems - 1) / d->bucket_elems;
    d->req = malloc(2 * d->nbuckets * sizeof *d->req);
    d->marked = calloc(d->nbuckets, 1);
    d->pending = malloc(d->nbuckets * sizeof *d->pending);
    d->tready = calloc(d->count, 1);
    if (!d->req || !d->marked || !d->pending || !d->tready)
        return dsc__fail(DSC_ERR_NOMEM, "dist: out of memory for %zu buckets", d->nbuckets);
    for (size_t b = 0; b < 2 * d->nbuckets; b++) d->req[b] = MPI_REQUEST_NULL;
    return DSC_OK;
}

/* Forgets which buckets and tensors were ready: the next step starts afresh. */
static void reset_buckets(dsc_dist *d)
{
    for (size_t b = 0; b < d->nbuckets; b++) {
        size_t b0, b1;
        dsc__dist_bucket(d, b, &b0, &b1);
        d->req[2 * b] = d->req[2 * b + 1] = MPI_REQUEST_NULL;
        if (d->ring) d->ring[b] = DSC__RING_IDLE;
        d->marked[b] = 0;
        d->pending[b] = b1 - b0;
    }
    d->nstarted = 0;
    memset(d->tready, 0, d->count);
}

/* Rank 0's parameters to every rank, one bucket per call. */
dsc_status dsc__dist_broadcast_params(dsc_dist *d)
{
    for (size_t b = 0; b < d->nbuckets; b++) {
        size_t b0, b1;
        dsc__dist_bucket(d, b, &b0, &b1);
        int rc = MPI_Bcast(d->pbase + b0 * d->esize, (int)(b1 - b0), d->mtype, 0, d->comm);
        if (rc != MPI_SUCCESS) return dsc__mpi_fail(rc, "dist", "MPI_Bcast");
    }
    return DSC_OK;
}

/* The descriptors' names are the caller's: keep copies (checkpoints match by name). */
static dsc_status copy_names(dsc_dist *d)
{
    int ok = 1;
    for (size_t i = 0; i < d->count; i++) {
        const char *nm = d->params[i].name;
        d->params[i].name = NULL; /* never the caller's: destroy frees them */
        if (ok && nm) ok = (d->params[i].name = dsc__strdup(nm)) != NULL;
    }
    return ok ? DSC_OK : dsc__fail(DSC_ERR_NOMEM, "dist: out of memory");
}

static dsc_status setup(dsc_dist *d, const dsc_param *params, size_t count)
{
    dsc_status st = check_config(&d->cfg, dsc_dtype_size(params[0].dtype) ? dsc_dtype_size(params[0].dtype) : 1);
    if (!st) st = dsc_hparams_validate(&d->hp);
    d->count = count;
    d->params = calloc(count, sizeof *d->params);
    d->offsets = malloc((count + 1) * sizeof *d->offsets);
    if (!st && (!d->params || !d->offsets)) st = dsc__fail(DSC_ERR_NOMEM, "dist: out of memory");
    if (!st) {
        memcpy(d->params, params, count * sizeof *params);
        st = copy_names(d);
    }
    if (!st) st = check_layout(d, params, count);
    if (!st) d->mtype = d->dtype == DSC_F32 ? MPI_FLOAT : MPI_DOUBLE;
    if (!st) st = alloc_buckets(d);
    if ((st = dsc__dist_agree(d, st))) return st;
    if ((st = check_same_everywhere(d))) return st;
    reset_buckets(d);
    if ((st = dsc__dist_broadcast_params(d))) return st;
    if (d->cfg.zero) {
        st = dsc__zero_setup(d);
    } else {
        d->nshard = d->n;
        st = dsc_optim_create(&d->opt, &d->hp, params, count);
    }
    return dsc__dist_agree(d, st);
}

dsc_status dsc_dist_create(dsc_dist **out, MPI_Comm comm, const dsc_hparams *hp, const dsc_param *params,
                           size_t count, const dsc_dist_config *cfg)
{
    if (!out || !hp || !params || count == 0)
        return dsc__fail(DSC_ERR_ARG, "dsc_dist_create: NULL argument or no parameters");
    *out = NULL;
    dsc_dist *d = calloc(1, sizeof *d);
    if (!d) return dsc__fail(DSC_ERR_NOMEM, "dist: out of memory");
    d->comm = MPI_COMM_NULL;
    d->grad_norm = NAN;
    d->hp = *hp;
    d->cfg = cfg ? *cfg : dsc_dist_config_default();
    int rc = MPI_Comm_dup(comm, &d->comm);
    if (rc != MPI_SUCCESS) {
        free(d);
        return dsc__mpi_fail(rc, "dist", "MPI_Comm_dup");
    }
    MPI_Comm_set_errhandler(d->comm, MPI_ERRORS_RETURN);
    MPI_Comm_rank(d->comm, &d->rank);
    MPI_Comm_size(d->comm, &d->size);
    dsc_status st = setup(d, params, count);
    if (st) {
        dsc_dist_destroy(d);
        return st;
    }
    *out = d;
    return DSC_OK;
}

void dsc_dist_destroy(dsc_dist *d)
{
    if (!d) return;
    /* after a timeout the missing rank may never answer: leave its requests */
    if (d->req && !d->stalled) MPI_Waitall((int)(2 * d->nbuckets), d->req, MPI_STATUSES_IGNORE);
    dsc__zero_free(d);
    dsc_optim_destroy(d->opt);
    for (size_t i = 0; d->params && i < d->count; i++) free((char *)d->params[i].name);
    free(d->params);
    free(d->offsets);
    free(d->req);
    free(d->marked);
    free(d->pending);
    free(d->tready);
    if (d->comm != MPI_COMM_NULL) MPI_Comm_free(&d->comm);
    free(d);
}

/* ---------------------------------------------------------------- the step */

/*
 * MPI matches the collectives of a communicator by the order the ranks issue them, so
 * every rank must start its buckets in one agreed order whatever its data: from the
 * last bucket to the first, the order a backward pass finishes them. A bucket that is
 * ready waits until the buckets after it have started; a rank without rows (which
 * readies nothing during its backward pass) starts them all in dsc_dist_wait, in the
 * same order. The k-th collective of the step is bucket nbuckets-1-k on every rank.
 */
static int bucket_ready(const dsc_dist *d, size_t b) { return d->marked[b] || d->pending[b] == 0; }

static dsc_status start_in_order(dsc_dist *d, int all)
{
    while (d->nstarted < d->nbuckets) {
        size_t b = d->nbuckets - 1 - d->nstarted;
        if (!all && !bucket_ready(d, b)) break;
        dsc_status st = dsc__dist_start(d, b);
        if (st) return st;
        d->nstarted++;
    }
    /* a backward hook is also where the ring's next steps go out */
    return dsc__dist_progress(d);
}

dsc_status dsc_dist_grad_ready(dsc_dist *d, size_t b)
{
    if (!d) return dsc__fail(DSC_ERR_ARG, "dsc_dist_grad_ready: NULL context");
    if (b >= d->nbuckets)
        return dsc__fail(DSC_ERR_ARG, "dsc_dist_grad_ready: bucket %zu does not exist (there are %zu)", b,
                         d->nbuckets);
    if (d->marked[b] || b >= d->nbuckets - d->nstarted)
        return dsc__fail(DSC_ERR_ARG, "dsc_dist_grad_ready: bucket %zu already ready this step", b);
    d->marked[b] = 1;
    return start_in_order(d, 0);
}

dsc_status dsc_dist_tensor_ready(dsc_dist *d, size_t i)
{
    if (!d) return dsc__fail(DSC_ERR_ARG, "dsc_dist_tensor_ready: NULL context");
    if (i >= d->count)
        return dsc__fail(DSC_ERR_ARG, "dsc_dist_tensor_ready: tensor %zu does not exist (there are %zu)", i,
                         d->count);
    if (d->tready[i]) return dsc__fail(DSC_ERR_ARG, "dsc_dist_tensor_ready: tensor %zu already ready this step", i);
    d->tready[i] = 1;
    size_t t0 = d->offsets[i], t1 = d->offsets[i + 1];
    for (size_t b = t0 / d->bucket_elems; b < d->nbuckets; b++) {
        size_t b0, b1;
        dsc__dist_bucket(d, b, &b0, &b1);
        if (b0 >= t1) break;
        d->pending[b] -= (t1 < b1 ? t1 : b1) - (t0 > b0 ? t0 : b0);
    }
    return start_in_order(d, 0);
}

dsc_status dsc_dist_wait(dsc_dist *d)
{
    if (!d) return dsc__fail(DSC_ERR_ARG, "dsc_dist_wait: NULL context");
    if (d->stalled) return dsc__fail(DSC_ERR_IO, "dist: an earlier wait timed out; destroy the context");
    dsc_status st = start_in_order(d, 1);
    dsc_status done = dsc__dist_complete(d);
    reset_buckets(d);
    return st ? st : done;
}

static dsc_status step(dsc_dist *d, const double *loss)
{
    dsc_status st = dsc_dist_wait(d);
    if (st) return st;
    if (d->cfg.zero) return dsc__zero_step(d, loss);
    /* identical gradients on every rank: the same checks, the same decision */
    st = loss ? dsc_optim_step_loss(d->opt, *loss) : dsc_optim_step(d->opt);
    d->steps = dsc_optim_step_count(d->opt);
    d->skipped = dsc_optim_skipped_count(d->opt);
    d->consecutive = dsc_optim_consecutive_skips(d->opt);
    d->grad_norm = dsc_optim_grad_norm(d->opt);
    return st;
}

dsc_status dsc_dist_eval_mode(dsc_dist *d, int eval)
{
    if (!d) return dsc__fail(DSC_ERR_ARG, "dsc_dist_eval_mode: NULL context");
    dsc_status st = d->opt ? dsc_optim_eval_mode(d->opt, eval) : DSC_OK;
    if ((st = dsc__dist_agree(d, st)) || !d->cfg.zero) return st;
    /* each rank wrote the point of its own slice */
    return dsc__zero_gather_params(d);
}

dsc_status dsc_dist_step(dsc_dist *d) { return step(d, NULL); }
dsc_status dsc_dist_step_loss(dsc_dist *d, double loss) { return step(d, &loss); }

dsc_status dsc_dist_set_schedule(dsc_dist *d, int group, const char *spec)
{
    if (!d) return dsc__fail(DSC_ERR_ARG, "dsc_dist_set_schedule: NULL context");
    if (group < -1 || group >= d->ngroups)
        return dsc__fail(DSC_ERR_ARG, "dsc_dist_set_schedule: group %d does not exist (the model has %d; -1: all)",
                         group, d->ngroups);
    /* checked here too, so a rank whose slice lacks the group fails like the others */
    dsc_sched *probe = NULL;
    dsc_status st = spec ? dsc_sched_create(&probe, spec, d->hp.lr > 0 ? d->hp.lr : 1) : DSC_OK;
    dsc_sched_destroy(probe);
    if (st || !d->opt) return st;
    if (group == -1) return dsc_optim_set_schedule(d->opt, -1, spec);
    return group < dsc_optim_group_count(d->opt) ? dsc_optim_set_schedule(d->opt, group, spec) : DSC_OK;
}

void dsc_dist_zero_grad(dsc_dist *d)
{
    if (d) memset(d->gbase, 0, d->n * d->esize);
}

/* ---------------------------------------------------------------- accessors */

int dsc_dist_rank(const dsc_dist *d) { return d ? d->rank : -1; }
int dsc_dist_size(const dsc_dist *d) { return d ? d->size : 0; }
size_t dsc_dist_bucket_count(const dsc_dist *d) { return d ? d->nbuckets : 0; }
dsc_optim *dsc_dist_optim(const dsc_dist *d) { return d ? d->opt : NULL; }
size_t dsc_dist_state_bytes(const dsc_dist *d) { return d ? dsc_optim_state_bytes(d->opt) : 0; }
int64_t dsc_dist_step_count(const dsc_dist *d) { return d ? d->steps : 0; }
int64_t dsc_dist_skipped_count(const dsc_dist *d) { return d ? d->skipped : 0; }
double dsc_dist_grad_norm(const dsc_dist *d) { return d ? d->grad_norm : NAN; }

size_t dsc_dist_shard_size(const dsc_dist *d) { return d ? d->nshard : 0; }

dsc_status dsc_dist_shard_piece(const dsc_dist *d, size_t b, size_t *first, size_t *count)
{
    dsc_status st = dsc_dist_bucket_range(d, b, first, count);
    if (st || !d->cfg.zero) return st;
    size_t at = b * (size_t)d->size + (size_t)d->rank;
    *first += (size_t)d->displs[at];
    *count = (size_t)d->counts[at];
    return DSC_OK;
}

dsc_status dsc_dist_bucket_range(const dsc_dist *d, size_t b, size_t *first, size_t *count)
{
    if (!d || !first || !count) return dsc__fail(DSC_ERR_ARG, "dsc_dist_bucket_range: NULL argument");
    if (b >= d->nbuckets)
        return dsc__fail(DSC_ERR_ARG, "dsc_dist_bucket_range: bucket %zu does not exist (there are %zu)", b,
                         d->nbuckets);
    size_t b0, b1;
    dsc__dist_bucket(d, b, &b0, &b1);
    *first = b0;
    *count = b1 - b0;
    return DSC_OK;
}

dsc_status dsc_dist_set_lr(dsc_dist *d, int group, double lr)
{
    if (!d) return dsc__fail(DSC_ERR_ARG, "dsc_dist_set_lr: NULL context");
    if (group < 0 || group >= d->ngroups)
        return dsc__fail(DSC_ERR_ARG, "dsc_dist_set_lr: group %d does not exist (the model has %d)", group,
                         d->ngroups);
    dsc_hparams hp = d->hp;
    hp.lr = lr;
    dsc_status st = dsc_hparams_validate(&hp);
    if (st) return st;
    /* a shard may hold no tensor of the last groups: nothing to set there */
    if (!d->opt || group >= dsc_optim_group_count(d->opt)) return DSC_OK;
    return dsc_optim_set_lr(d->opt, group, lr);
}
