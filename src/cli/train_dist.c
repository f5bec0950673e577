/*
 * train_dist.c: descent train under mpirun. Every rank loads the same data and runs
 * the same seeded fit; the fit's parallel hooks give each rank its share of every
 * batch and hand the gradient to the dist layer (all-reduce, or reduce-scatter with
 * --zero), which steps the weights identically everywhere. Rank 0 alone prints.
 * Every rank holds the full weights after each step, so a weight average (--average)
 * is kept the same on every rank, told by the updated hook when the step updated.
 */
#include "train_dist.h"

#include "descent_dist.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

struct train_dist {
    dsc_dist *dist;
    dsc_fit_parallel par;
    dsc_status ready_failed; /* the first failure of a tensor_ready, for the step */
    int updated;             /* the last step applied an update (not skipped) */
};

/* Open MPI, MPICH and PMIx launchers each set one of these in every process. */
static int under_mpirun(void)
{
    return getenv("OMPI_COMM_WORLD_SIZE") || getenv("PMI_SIZE") || getenv("PMIX_RANK");
}

dsc_status train_dist_start(train_dist **td, int *rank, int *size)
{
    *td = NULL;
    *rank = 0;
    *size = 1;
    if (!under_mpirun()) return DSC_OK;
    if (MPI_Init(NULL, NULL) != MPI_SUCCESS) return DSC_ERR_IO;
    *td = calloc(1, sizeof **td);
    if (!*td) {
        MPI_Finalize();
        return DSC_ERR_NOMEM;
    }
    MPI_Comm_rank(MPI_COMM_WORLD, rank);
    MPI_Comm_size(MPI_COMM_WORLD, size);
    (*td)->par.rank = *rank;
    (*td)->par.size = *size;
    if (*rank != 0 && (!freopen("/dev/null", "w", stdout) || !freopen("/dev/null", "w", stderr)))
        return DSC_ERR_IO;
    return DSC_OK;
}

/* A bucket's all-reduce starts as soon as its last tensor is ready. */
static void hook_tensor_ready(void *ctx, size_t tensor)
{
    train_dist *td = ctx;
    dsc_status st = dsc_dist_tensor_ready(td->dist, tensor);
    if (st && !td->ready_failed) td->ready_failed = st;
}

static dsc_status hook_step(void *ctx, const double *loss)
{
    train_dist *td = ctx;
    /* starts what is left, waits, updates; the global step count moves on updates only */
    int64_t before = dsc_dist_step_count(td->dist);
    dsc_status st = loss ? dsc_dist_step_loss(td->dist, *loss) : dsc_dist_step(td->dist);
    td->updated = dsc_dist_step_count(td->dist) != before;
    return td->ready_failed ? td->ready_failed : st;
}

static int hook_updated(void *ctx) { return ((train_dist *)ctx)->updated; }

static dsc_status hook_sum(void *ctx, double *v, size_t n)
{
    (void)ctx;
    int rc = MPI_Allreduce(MPI_IN_PLACE, v, (int)n, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
    return rc == MPI_SUCCESS ? DSC_OK : DSC_ERR_IO;
}

static int64_t hook_skipped(void *ctx) { return dsc_dist_skipped_count(((train_dist *)ctx)->dist); }

/* Group 0's rate on this rank (NAN on a rank that holds no slice; rank 0 always does). */
static double hook_lr(void *ctx)
{
    double lr = NAN;
    const dsc_optim *opt = dsc_dist_optim(((train_dist *)ctx)->dist);
    if (opt) dsc_optim_get_lr(opt, 0, &lr);
    return lr;
}

dsc_status train_dist_compile(dsc_mlp *m, const char *spec, const char *schedule, dsc_loss loss)
{
    dsc_hparams hp;
    dsc_status st = dsc_hparams_parse(spec, &hp);
    if (st != DSC_OK) return st;
    char plain[64];
    snprintf(plain, sizeof plain, "sgd(lr=%.17g)", hp.lr);
    return dsc_mlp_compile(m, plain, schedule, loss);
}

dsc_status train_dist_attach(train_dist *td, dsc_mlp *m, const char *spec, const char *schedule, int zero,
                             size_t bucket_bytes, dsc_fit_config *fc)
{
    dsc_hparams hp;
    dsc_status st = dsc_hparams_parse(spec, &hp);
    if (st != DSC_OK) return st;
    dsc_dist_config cfg = dsc_dist_config_default();
    cfg.zero = zero;
    cfg.bucket_bytes = bucket_bytes;
    cfg.reduce = DSC_DIST_SUM; /* each share's gradient is already divided by the whole batch */
    st = dsc_dist_create(&td->dist, MPI_COMM_WORLD, &hp, dsc_mlp_params(m), dsc_mlp_param_count(m), &cfg);
    if (st != DSC_OK) return st;
    /* on the calling thread, as the single-process model's (src/nn/nn.h): OpenMP workers
     * spinning after a threaded step would take the cores from OpenBLAS */
    dsc_optim *own = dsc_dist_optim(td->dist); /* NULL on a rank that owns no shard */
    if (own && (st = dsc_optim_set_threads(own, 1)) != DSC_OK) return st;
    if (schedule && (st = dsc_dist_set_schedule(td->dist, -1, schedule)) != DSC_OK) return st;
    /* a resumed run: every rank loaded the checkpoint; rank 0's optimizer is the
     * source, and then the model's own becomes the stateless one of a fresh run */
    if (fc->resume && ((st = dsc_dist_scatter_state(td->dist, td->par.rank == 0 ? dsc_mlp_optimizer(m) : NULL)) ||
                       (st = train_dist_compile(m, spec, schedule, dsc_mlp_loss(m)))))
        return st;
    td->par.tensor_ready = hook_tensor_ready;
    td->par.step = hook_step;
    td->par.sum = hook_sum;
    td->par.skipped = hook_skipped;
    td->par.lr = hook_lr;
    td->par.updated = hook_updated;
    td->par.ctx = td;
    fc->parallel = &td->par;
    return DSC_OK;
}

typedef struct model_save {
    const dsc_mlp *m;
    const char *path;
    const dsc_kv *kv;
    size_t n;
} model_save;

/* At rank 0: the model with the gathered optimizer (the run's buffers are the model's). */
static dsc_status save_model(const dsc_optim *full, void *ctx)
{
    const model_save *s = ctx;
    return dsc_mlp_save_with(s->m, full, s->path, s->kv, s->n);
}

dsc_status train_dist_save(void *ctx, const dsc_mlp *m, const char *path, const dsc_kv *kv, size_t n)
{
    model_save s = {m, path, kv, n};
    return dsc_dist_save_with(((train_dist *)ctx)->dist, save_model, &s);
}

size_t train_dist_state_bytes(const train_dist *td) { return dsc_dist_state_bytes(td->dist); }

void train_dist_end(train_dist *td)
{
    if (!td) return;
    dsc_dist_destroy(td->dist);
    free(td);
    MPI_Finalize();
}
