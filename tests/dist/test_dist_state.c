/*
 * test_dist_state.c (under mpirun -np 2 and 3): checkpoints across rank counts. A run
 * on N ranks (sharded or not) gathers its complete state into one single-process
 * optimizer that resumes alone; a single-process state scatters onto N ranks that
 * resume together; both end where 20 uninterrupted steps in one process end. The
 * state covers parameters, every buffer, the counters, NAdam's mu_product and the
 * groups' hyperparameters (the bias group's own learning rate).
 */
#include "mpitest.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "regression.h"

#define HALF 10
#define BATCH 9
#define TOL 2e-5

static reg_data data;

static const char *const specs[] = {
    "nadam(lr=0.05)",
    "adamw(lr=0.05, weight_decay=0.1, amsgrad=true)",
    "sgd(lr=0.1, momentum=0.9)",
    "adam(lr=0.05, clip_norm=0.3)",
    "schedulefree_adamw(lr=0.05, warmup_steps=3)", /* group scalars weight_sum, lr_max */
    "lookahead(inner=sgd(lr=0.1, momentum=0.9), k=3)", /* the slow weights */
    "rprop(lr=0.05)",
    "asgd(lr=0.05, t0=2)", /* group scalars eta, mu; the average ax */
};
#define NSPECS (sizeof specs / sizeof specs[0])

static int rank0(void)
{
    int r;
    MPI_Comm_rank(MPI_COMM_WORLD, &r);
    return r == 0;
}

/* A single-process optimizer over m (seeded differently: the state must arrive). */
static dsc_optim *single(const char *spec, reg_model *m, unsigned seed)
{
    dsc_optim *opt = NULL;
    reg_init(m, seed);
    if (dsc_optim_create_spec(&opt, spec, m->tensors, 2)) fail_msg("%s", dsc_last_error());
    return opt;
}

#define NSCALARS 8

/* Every group scalar of group 0 (NAdam's mu_product, schedule-free's sums). */
static void scalars(const dsc_optim *opt, double *v)
{
    for (size_t k = 0; k < NSCALARS; k++) {
        v[k] = 0;
        if (dsc_optim_scalar_name(k))
            assert_int_equal(dsc_optim_get_scalar(opt, 0, dsc_optim_scalar_name(k), &v[k]), DSC_OK);
    }
}

/* 2 * HALF steps in one process, the bias group at lr 0.02. */
static void reference(const char *spec, reg_model *m, double *sc)
{
    dsc_optim *opt = single(spec, m, 3);
    assert_int_equal(dsc_optim_set_lr(opt, 1, 0.02), DSC_OK);
    reg_train_local(opt, m, &data, 0, 2 * HALF, BATCH, -1);
    scalars(opt, sc);
    dsc_optim_destroy(opt);
}

static void check_close(const char *spec, const reg_model *got, const reg_model *want)
{
    double e = reg_max_diff(got->param, want->param, REG_N);
    if (e > TOL) fail_msg("%s: off by %g", spec, e);
}

static void gather_then_resume(int zero)
{
    for (size_t s = 0; s < NSPECS; s++) {
        reg_model ref, m, fm;
        double sc_ref[NSCALARS], sc[NSCALARS];
        reference(specs[s], &ref, sc_ref);
        reg_init(&m, 3);
        dsc_dist *d = reg_dist(specs[s], zero, &m);
        assert_non_null(d);
        assert_int_equal(dsc_dist_set_lr(d, 1, 0.02), DSC_OK);
        reg_train_dist(d, &m, &data, 0, HALF, BATCH, -1);
        dsc_optim *full = rank0() ? single(specs[s], &fm, 5) : NULL;
        assert_int_equal(dsc_dist_gather_state(d, full), DSC_OK);
        dsc_dist_destroy(d);
        if (!full) continue;
        assert_int_equal(dsc_optim_step_count(full), HALF);
        double lr;
        assert_int_equal(dsc_optim_get_lr(full, 1, &lr), DSC_OK);
        assert_true(lr == 0.02);
        reg_train_local(full, &fm, &data, HALF, HALF, BATCH, -1);
        check_close(specs[s], &fm, &ref);
        scalars(full, sc);
        for (size_t k = 0; k < NSCALARS; k++) assert_float_equal(sc[k], sc_ref[k], 1e-9 * (1 + sc_ref[k]));
        dsc_optim_destroy(full);
    }
}

static void scatter_then_resume(int zero)
{
    for (size_t s = 0; s < NSPECS; s++) {
        reg_model ref, m, fm;
        double sc_ref[NSCALARS];
        reference(specs[s], &ref, sc_ref);
        dsc_optim *full = NULL;
        if (rank0()) {
            full = single(specs[s], &fm, 3);
            assert_int_equal(dsc_optim_set_lr(full, 1, 0.02), DSC_OK);
            reg_train_local(full, &fm, &data, 0, HALF, BATCH, -1);
        }
        reg_init(&m, 6);
        dsc_dist *d = reg_dist(specs[s], zero, &m);
        assert_non_null(d);
        assert_int_equal(dsc_dist_scatter_state(d, full), DSC_OK);
        assert_int_equal(dsc_dist_step_count(d), HALF);
        reg_train_dist(d, &m, &data, HALF, HALF, BATCH, -1);
        check_close(specs[s], &m, &ref);
        dsc_dist_destroy(d);
        dsc_optim_destroy(full);
    }
}

DIST_TEST(test_sharded_state_resumes_in_one_process)
{
    gather_then_resume(1);
}

DIST_TEST(test_replicated_state_resumes_in_one_process)
{
    gather_then_resume(0);
}

DIST_TEST(test_one_process_state_resumes_sharded)
{
    scatter_then_resume(1);
}

DIST_TEST(test_one_process_state_resumes_replicated)
{
    scatter_then_resume(0);
}

/* ---- checkpoint files, with a schedule attached to every group */

#define SCHED "cosine(T_max=15, eta_min=0.001)"

/* The reference again, scheduled, and where it stood after HALF steps (a file). */
static void scheduled_reference(const char *spec, reg_model *end, const char *half_path)
{
    dsc_optim *opt = single(spec, end, 3);
    assert_int_equal(dsc_optim_set_schedule(opt, -1, SCHED), DSC_OK);
    reg_train_local(opt, end, &data, 0, HALF, BATCH, -1);
    if (half_path) assert_int_equal(dsc_checkpoint_save(opt, half_path, NULL), DSC_OK);
    reg_train_local(opt, end, &data, HALF, HALF, BATCH, -1);
    dsc_optim_destroy(opt);
}

static void path_for(char *buf, size_t size, const char *what)
{
    int size_ranks;
    MPI_Comm_size(MPI_COMM_WORLD, &size_ranks);
    snprintf(buf, size, "%s/dsc_dist_%s_np%d.safetensors", DSC_TEST_TMP, what, size_ranks);
}

/* N ranks save one file; one process resumes it. */
DIST_TEST(test_checkpoint_file_resumes_in_one_process)
{
    char path[256];
    path_for(path, sizeof path, "save");
    for (int zero = 0; zero < 2; zero++) {
        reg_model ref, m, fm;
        scheduled_reference("adam(lr=0.05)", &ref, NULL);
        reg_init(&m, 3);
        dsc_dist *d = reg_dist("adam(lr=0.05)", zero, &m);
        assert_non_null(d);
        assert_int_equal(dsc_dist_set_schedule(d, -1, SCHED), DSC_OK);
        reg_train_dist(d, &m, &data, 0, HALF, BATCH, -1);
        dsc_kv extra = {"epoch", "3"};
        assert_int_equal(dsc_dist_checkpoint_save(d, path, &(dsc_checkpoint_save_options){.extra = &extra, .nextra = 1}), DSC_OK);
        dsc_dist_destroy(d);
        if (!rank0()) continue;
        dsc_optim *opt = single("adam", &fm, 5); /* everything comes from the file */
        if (dsc_checkpoint_load(opt, path, NULL)) fail_msg("%s", dsc_last_error());
        assert_non_null(dsc_optim_schedule(opt, 0));
        reg_train_local(opt, &fm, &data, HALF, HALF, BATCH, -1);
        check_close("scheduled adam", &fm, &ref);
        dsc_optim_destroy(opt);
        remove(path);
    }
    MPI_Barrier(MPI_COMM_WORLD);
}

/* One process saves; N ranks resume the file. */
DIST_TEST(test_one_process_file_resumes_on_ranks)
{
    char path[256];
    path_for(path, sizeof path, "load");
    reg_model ref;
    if (rank0()) scheduled_reference("adamw(lr=0.05, weight_decay=0.1)", &ref, path);
    MPI_Bcast(ref.param, REG_N, MPI_FLOAT, 0, MPI_COMM_WORLD);
    for (int zero = 0; zero < 2; zero++) {
        reg_model m;
        reg_init(&m, 6);
        dsc_dist *d = reg_dist("adamw", zero, &m);
        assert_non_null(d);
        if (dsc_dist_checkpoint_load(d, path)) fail_msg("%s", dsc_last_error());
        assert_int_equal(dsc_dist_step_count(d), HALF);
        reg_train_dist(d, &m, &data, HALF, HALF, BATCH, -1);
        check_close("scheduled adamw", &m, &ref);
        dsc_dist_destroy(d);
    }
    /* a file that is not there fails on every rank */
    reg_model m;
    reg_init(&m, 6);
    dsc_dist *d = reg_dist("adamw", 1, &m);
    if (rank0()) remove(path);
    assert_int_equal(dsc_dist_checkpoint_load(d, path), DSC_ERR_IO);
    dsc_dist_destroy(d);
}

/* ---- sharded checkpoints (cfg.shard_checkpoints with zero) */

static dsc_dist *context(const char *spec, reg_model *m, unsigned seed, MPI_Comm comm, int zero, size_t bucket_elems)
{
    dsc_hparams hp;
    assert_int_equal(dsc_hparams_parse(spec, &hp), DSC_OK);
    dsc_dist_config cfg = dsc_dist_config_default();
    cfg.zero = zero;
    cfg.reduce = DSC_DIST_SUM;
    cfg.bucket_bytes = bucket_elems * sizeof(float);
    cfg.shard_checkpoints = 1;
    reg_init(m, seed);
    dsc_dist *d = NULL;
    if (dsc_dist_create(&d, comm, &hp, m->tensors, 2, &cfg)) fail_msg("%s", dsc_last_error());
    return d;
}

/* The files beside path whose names start with path's own and ".shard-" (rank 0). */
static int shard_files(const char *path)
{
    char prefix[300];
    const char *base = strrchr(path, '/') + 1;
    snprintf(prefix, sizeof prefix, "%s.shard-", base);
    DIR *dp = opendir(DSC_TEST_TMP);
    assert_non_null(dp);
    int n = 0;
    for (struct dirent *e; (e = readdir(dp));) n += !strncmp(e->d_name, prefix, strlen(prefix));
    closedir(dp);
    return n;
}

/* A set of HALF steps of spec resumed on comm (MPI_COMM_NULL: this rank sits out) with
 * its own zero and bucket size, for HALF more steps: where one process ends. at_x: the
 * set was saved in eval mode at those parameters (schedule-free's x), and resumes there,
 * in eval mode, before it goes back to training; NULL: in training mode. */
static void resume_sharded(const char *path, const char *spec, const reg_model *at_x, const reg_model *ref,
                           MPI_Comm comm, int zero, size_t bucket_elems, const char *what)
{
    if (comm == MPI_COMM_NULL) return;
    reg_model m;
    dsc_dist *d = context(spec, &m, 6, comm, zero, bucket_elems); /* everything comes from the files */
    if (dsc_dist_checkpoint_load(d, path)) fail_msg("%s: %s", what, dsc_last_error());
    assert_int_equal(dsc_dist_step_count(d), HALF);
    if (at_x && dsc_dist_optim(d) && !dsc_optim_in_eval_mode(dsc_dist_optim(d))) fail_msg("%s: the mode was lost", what);
    if (at_x && reg_max_diff(m.param, at_x->param, REG_N) != 0) fail_msg("%s: the parameters are not x", what);
    if (at_x) assert_int_equal(dsc_dist_eval_mode(d, 0), DSC_OK);
    reg_train_on(d, comm, &m, &data, HALF, HALF, BATCH, -1);
    check_close(what, &m, ref);
    dsc_dist_destroy(d);
}

/* Rank 0 removes the index at path and every file of its sets. */
static void remove_sets(const char *path)
{
    if (!rank0()) return;
    char prefix[300], file[600];
    snprintf(prefix, sizeof prefix, "%s.shard-", strrchr(path, '/') + 1);
    remove(path);
    DIR *dp = opendir(DSC_TEST_TMP);
    for (struct dirent *e; dp && (e = readdir(dp));)
        if (!strncmp(e->d_name, prefix, strlen(prefix))) {
            snprintf(file, sizeof file, "%s/%s", DSC_TEST_TMP, e->d_name);
            remove(file);
        }
    if (dp) closedir(dp);
}

/* N ranks save a sharded set; it resumes on the same ranks (each reads its own shard),
 * on fewer ranks with another bucket size, on one rank, and plain data-parallel; a
 * second save replaces the set and removes the shards no index names. */
DIST_TEST(test_sharded_checkpoint_resumes_anywhere)
{
    char path[256], stale[300];
    path_for(path, sizeof path, "sharded");
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    reg_model ref, m;
    scheduled_reference("adam(lr=0.05)", &ref, NULL);
    snprintf(stale, sizeof stale, "%s.shard-0123456789abcdef-0-of-9", path); /* a crashed save's */
    if (rank == 0) fclose(fopen(stale, "w"));
    dsc_dist *d = context("adam(lr=0.05)", &m, 3, MPI_COMM_WORLD, 1, 13);
    assert_int_equal(dsc_dist_set_schedule(d, -1, SCHED), DSC_OK);
    reg_train_dist(d, &m, &data, 0, HALF, BATCH, -1);
    dsc_kv extra = {"epoch", "3"};
    assert_int_equal(dsc_dist_checkpoint_save(d, path, &(dsc_checkpoint_save_options){.extra = &extra, .nextra = 1}), DSC_OK);
    if (rank == 0) {
        assert_int_equal(shard_files(path), size); /* the stale one is gone */
        FILE *f = fopen(stale, "r");
        assert_null(f);
    }
    MPI_Barrier(MPI_COMM_WORLD);
    resume_sharded(path, "adam", NULL, &ref, MPI_COMM_WORLD, 1, 13, "the same layout");
    MPI_Comm fewer, one;
    MPI_Comm_split(MPI_COMM_WORLD, rank < size - 1 ? 0 : MPI_UNDEFINED, rank, &fewer);
    resume_sharded(path, "adam", NULL, &ref, fewer, 1, 7, "fewer ranks, other buckets");
    MPI_Comm_split(MPI_COMM_WORLD, rank == 0 ? 0 : MPI_UNDEFINED, rank, &one);
    resume_sharded(path, "adam", NULL, &ref, one, 1, 13, "one rank");
    resume_sharded(path, "adam", NULL, &ref, MPI_COMM_WORLD, 0, 13, "data-parallel");
    if (fewer != MPI_COMM_NULL) MPI_Comm_free(&fewer);
    if (one != MPI_COMM_NULL) MPI_Comm_free(&one);
    /* the next save is a new set: the first one's shards go */
    assert_int_equal(dsc_dist_checkpoint_save(d, path, &(dsc_checkpoint_save_options){.extra = &extra, .nextra = 1}), DSC_OK);
    if (rank == 0) assert_int_equal(shard_files(path), size);
    dsc_dist_destroy(d);
    /* a damaged index fails on every rank, the run unchanged */
    if (rank == 0) {
        FILE *f = fopen(path, "w");
        fputs("{\"format\":\"descent.sharded-checkpoint\",\"version\":1,\"ranks\":0}", f);
        fclose(f);
    }
    MPI_Barrier(MPI_COMM_WORLD);
    d = context("adam", &m, 6, MPI_COMM_WORLD, 1, 13);
    reg_model before = m;
    assert_int_equal(dsc_dist_checkpoint_load(d, path), DSC_ERR_FORMAT);
    if (rank == 0) assert_non_null(strstr(dsc_last_error(), "'ranks' is missing or out of range"));
    assert_memory_equal(m.param, before.param, sizeof m.param);
    dsc_dist_destroy(d);
    MPI_Barrier(MPI_COMM_WORLD);
    remove_sets(path);
}

/* ---- schedule-free's mode and a sidecar through sharded sets */

#define SF "schedulefree_adamw(lr=0.05, warmup_steps=3)"

static dsc_status write_marker(const char *file, void *ctx)
{
    FILE *f = fopen(file, "w");
    if (!f) return DSC_ERR_IO;
    fputs((const char *)ctx, f);
    return fclose(f) ? DSC_ERR_IO : DSC_OK;
}

static dsc_status refuse_write(const char *file, void *ctx)
{
    (void)file, (void)ctx;
    return DSC_ERR_IO; /* a full disk at rank 0, after every shard is written */
}

/* A set saved in eval mode keeps it wherever it resumes: the same layout (each rank its
 * shard), other layouts and one process (each reading its slices), where the state
 * once came back in training mode with x in its parameters. The
 * sidecar is written once the shards are, named by the index; a failing sidecar fails
 * the save on every rank and leaves the previous set whole. */
DIST_TEST(test_sharded_set_keeps_eval_mode_and_sidecar)
{
    char path[256], side[600];
    path_for(path, sizeof path, "sharded_sf");
    int rank, size, is_index = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    reg_model ref, at_x, m;
    dsc_optim *opt = single(SF, &ref, 3);
    reg_train_local(opt, &ref, &data, 0, HALF, BATCH, -1);
    assert_int_equal(dsc_optim_eval_mode(opt, 1), DSC_OK);
    at_x = ref;
    assert_int_equal(dsc_optim_eval_mode(opt, 0), DSC_OK);
    reg_train_local(opt, &ref, &data, HALF, HALF, BATCH, -1);
    dsc_optim_destroy(opt);

    dsc_dist *d = context(SF, &m, 3, MPI_COMM_WORLD, 1, 13);
    reg_train_dist(d, &m, &data, 0, HALF, BATCH, -1);
    assert_int_equal(dsc_dist_eval_mode(d, 1), DSC_OK);
    check_close("the run's x", &m, &at_x);
    assert_int_equal(dsc_dist_checkpoint_save_sidecar(d, path, NULL, write_marker, "network"), DSC_OK);
    assert_int_equal(dsc_dist_checkpoint_sidecar(path, &is_index, side, sizeof side), DSC_OK);
    assert_true(is_index);
    if (rank == 0) {
        char text[16] = "";
        FILE *f = fopen(side, "r");
        assert_non_null(f);
        assert_non_null(fgets(text, sizeof text, f));
        fclose(f);
        assert_string_equal(text, "network");
        assert_int_equal(shard_files(path), size + 1);
    }
    /* a sidecar that cannot be written: the save fails everywhere, nothing of it stays */
    assert_int_equal(dsc_dist_checkpoint_save_sidecar(d, path, NULL, refuse_write, NULL), DSC_ERR_IO);
    if (rank == 0) assert_int_equal(shard_files(path), size + 1);
    char again[600];
    assert_int_equal(dsc_dist_checkpoint_sidecar(path, &is_index, again, sizeof again), DSC_OK);
    assert_string_equal(again, side);
    at_x = m; /* the run's own x (its rounding is the set's) */
    dsc_dist_destroy(d);
    MPI_Barrier(MPI_COMM_WORLD);

    resume_sharded(path, SF, &at_x, &ref, MPI_COMM_WORLD, 1, 13, "the same layout");
    MPI_Comm fewer, one;
    MPI_Comm_split(MPI_COMM_WORLD, rank < size - 1 ? 0 : MPI_UNDEFINED, rank, &fewer);
    resume_sharded(path, SF, &at_x, &ref, fewer, 1, 7, "fewer ranks, other buckets");
    MPI_Comm_split(MPI_COMM_WORLD, rank == 0 ? 0 : MPI_UNDEFINED, rank, &one);
    resume_sharded(path, SF, &at_x, &ref, one, 1, 13, "one rank");
    resume_sharded(path, SF, &at_x, &ref, MPI_COMM_WORLD, 0, 13, "data-parallel");
    if (fewer != MPI_COMM_NULL) MPI_Comm_free(&fewer);
    if (one != MPI_COMM_NULL) MPI_Comm_free(&one);
    if (rank == 0) { /* one process, no communicator */
        reg_model fm;
        dsc_optim *full = single(SF, &fm, 5);
        if (dsc_dist_checkpoint_assemble(full, path)) fail_msg("assemble: %s", dsc_last_error());
        assert_true(dsc_optim_in_eval_mode(full));
        assert_int_equal(dsc_optim_step_count(full), HALF);
        assert_memory_equal(fm.param, at_x.param, sizeof fm.param);
        assert_int_equal(dsc_optim_eval_mode(full, 0), DSC_OK);
        reg_train_local(full, &fm, &data, HALF, HALF, BATCH, -1);
        check_close("one process", &fm, &ref);
        dsc_optim_destroy(full);
        /* the tensors must lie back to back: another layout is refused, untouched */
        full = single(SF, &fm, 5);
        reg_model before = fm;
        dsc_param apart[2] = {fm.tensors[0], fm.tensors[1]};
        float spare[REG_OUT];
        apart[1].data = spare;
        dsc_optim *scattered = NULL;
        assert_int_equal(dsc_optim_create_spec(&scattered, SF, apart, 2), DSC_OK);
        assert_int_equal(dsc_dist_checkpoint_assemble(scattered, path), DSC_ERR_ARG);
        assert_non_null(strstr(dsc_last_error(), "back to back"));
        assert_memory_equal(fm.param, before.param, sizeof fm.param);
        dsc_optim_destroy(scattered);
        dsc_optim_destroy(full);
        /* not an index */
        assert_int_equal(dsc_dist_checkpoint_sidecar(side, &is_index, again, sizeof again), DSC_OK);
        assert_false(is_index);
    }
    MPI_Barrier(MPI_COMM_WORLD);
    remove_sets(path);
}

/* A wrong optimizer at rank 0 fails on every rank and changes nothing. */
DIST_TEST(test_mismatch_fails_everywhere)
{
    for (int zero = 0; zero < 2; zero++) {
        reg_model m, fm;
        reg_init(&m, 3);
        dsc_dist *d = reg_dist("adam", zero, &m);
        assert_non_null(d);
        dsc_optim *full = rank0() ? single("sgd(momentum=0.9)", &fm, 5) : NULL;
        reg_model before = m, fbefore;
        if (full) fbefore = fm;
        assert_int_equal(dsc_dist_gather_state(d, full), DSC_ERR_MISMATCH);
        assert_int_equal(dsc_dist_scatter_state(d, full), DSC_ERR_MISMATCH);
        if (rank0()) assert_non_null(strstr(dsc_last_error(), "the optimizer is sgd, the run is adam"));
        else assert_non_null(strstr(dsc_last_error(), "another rank failed"));
        assert_int_equal(dsc_dist_gather_state(d, NULL), DSC_ERR_ARG);
        assert_memory_equal(m.param, before.param, sizeof m.param);
        if (full) assert_memory_equal(fm.param, fbefore.param, sizeof fm.param);
        dsc_dist_destroy(d);
        dsc_optim_destroy(full);
    }
}

/* Rank 0's optimizer loaded from path (skip_state: without its state), or NULL. */
static dsc_optim *loaded(const char *path, reg_model *fm, int skip_state)
{
    if (!rank0()) return NULL;
    dsc_optim *full = single("adam(lr=0.05)", fm, 5);
    dsc_checkpoint_load_options o = dsc_checkpoint_load_options_default();
    o.skip_state = skip_state;
    assert_int_equal(dsc_checkpoint_load(full, path, &o), DSC_OK);
    return full;
}

/* Each rank reads its own state from the file (its pieces with zero, pieces that split
 * tensors with 13-element buckets): the run goes on bit for bit as after a scatter of
 * the whole state from rank 0. A file without the state, or with a negative square,
 * fails on every rank, the run unchanged. */
DIST_TEST(test_state_read_from_file_on_every_rank)
{
    char path[256], stateless[256], negative[256];
    path_for(path, sizeof path, "own_state");
    path_for(stateless, sizeof stateless, "no_state");
    path_for(negative, sizeof negative, "negative_state");
    if (rank0()) {
        reg_model fm;
        dsc_optim *opt = single("adam(lr=0.05)", &fm, 3);
        reg_train_local(opt, &fm, &data, 0, HALF, BATCH, -1);
        assert_int_equal(dsc_checkpoint_save(opt, path, NULL), DSC_OK);
        const char *name;
        void *sq;
        dsc_optim_state(opt, 1, 1, &name, &sq); /* a square the file must never hold negative */
        assert_string_equal(name, "exp_avg_sq");
        ((float *)sq)[4] = -1;
        assert_int_equal(dsc_checkpoint_save(opt, negative, NULL), DSC_OK);
        dsc_optim_destroy(opt);
        opt = single("sgd(lr=0.05)", &fm, 3);
        assert_int_equal(dsc_checkpoint_save(opt, stateless, NULL), DSC_OK);
        dsc_optim_destroy(opt);
    }
    MPI_Barrier(MPI_COMM_WORLD);
    for (int zero = 0; zero < 2; zero++) {
        reg_model m, want, fm;
        dsc_ckpt *ck;
        dsc_optim *full = loaded(path, &fm, 0);
        dsc_dist *d = context("adam(lr=0.05)", &want, 6, MPI_COMM_WORLD, zero, 13);
        assert_int_equal(dsc_dist_scatter_state(d, full), DSC_OK);
        reg_train_dist(d, &want, &data, HALF, HALF, BATCH, -1);
        dsc_dist_destroy(d);
        dsc_optim_destroy(full);

        full = loaded(path, &fm, 1);
        d = context("adam(lr=0.05)", &m, 6, MPI_COMM_WORLD, zero, 13);
        assert_int_equal(dsc_ckpt_open(&ck, path), DSC_OK);
        assert_int_equal(dsc_dist_restore_state(d, full, ck), DSC_OK);
        dsc_ckpt_close(ck);
        assert_int_equal(dsc_dist_step_count(d), HALF);
        reg_train_dist(d, &m, &data, HALF, HALF, BATCH, -1);
        assert_memory_equal(m.param, want.param, sizeof m.param);
        dsc_dist_destroy(d);

        d = context("adam(lr=0.05)", &m, 6, MPI_COMM_WORLD, zero, 13);
        reg_model before = m;
        assert_int_equal(dsc_ckpt_open(&ck, stateless), DSC_OK);
        assert_int_equal(dsc_dist_restore_state(d, full, ck), DSC_ERR_MISMATCH);
        dsc_ckpt_close(ck);
        assert_non_null(strstr(dsc_last_error(), "'state/"));
        assert_memory_equal(m.param, before.param, sizeof m.param);
        assert_int_equal(dsc_ckpt_open(&ck, negative), DSC_OK);
        assert_int_equal(dsc_dist_restore_state(d, full, ck), DSC_ERR_FORMAT);
        dsc_ckpt_close(ck);
        /* a rank that holds no piece of the tensor hears it from the one that does */
        assert_true(strstr(dsc_last_error(), "never negative") || strstr(dsc_last_error(), "another rank failed"));
        assert_memory_equal(m.param, before.param, sizeof m.param);
        assert_int_equal(dsc_dist_step_count(d), 0);
        dsc_dist_destroy(d);
        dsc_optim_destroy(full);
    }
    MPI_Barrier(MPI_COMM_WORLD);
    if (rank0()) remove(path), remove(stateless), remove(negative);
}

/* A schedule-free file holds x as its parameters (the evaluation point, for inference):
 * each rank reading its own state rebuilds the training point y from it, as a
 * single-process restore and a scatter do, and goes on bit for bit as after the scatter
 * (the ranks once trained on from x). */
DIST_TEST(test_schedulefree_state_read_from_file)
{
    char path[256];
    path_for(path, sizeof path, "sf_state");
    if (rank0()) {
        reg_model fm;
        dsc_optim *opt = single(SF, &fm, 3);
        reg_train_local(opt, &fm, &data, 0, HALF, BATCH, -1);
        assert_int_equal(dsc_checkpoint_save(opt, path, NULL), DSC_OK);
        dsc_optim_destroy(opt);
    }
    MPI_Barrier(MPI_COMM_WORLD);
    for (int zero = 0; zero < 2; zero++) {
        reg_model m, want, fm;
        dsc_ckpt *ck;
        dsc_optim *full = rank0() ? single(SF, &fm, 5) : NULL;
        if (full) assert_int_equal(dsc_checkpoint_load(full, path, NULL), DSC_OK);
        dsc_dist *d = context(SF, &want, 6, MPI_COMM_WORLD, zero, 13);
        assert_int_equal(dsc_dist_scatter_state(d, full), DSC_OK);
        reg_train_dist(d, &want, &data, HALF, HALF, BATCH, -1);
        dsc_dist_destroy(d);
        dsc_optim_destroy(full);

        full = NULL;
        if (rank0()) {
            dsc_checkpoint_load_options o = dsc_checkpoint_load_options_default();
            o.skip_state = 1;
            full = single(SF, &fm, 5);
            assert_int_equal(dsc_checkpoint_load(full, path, &o), DSC_OK);
        }
        d = context(SF, &m, 6, MPI_COMM_WORLD, zero, 13);
        assert_int_equal(dsc_ckpt_open(&ck, path), DSC_OK);
        assert_int_equal(dsc_dist_restore_state(d, full, ck), DSC_OK);
        dsc_ckpt_close(ck);
        reg_train_dist(d, &m, &data, HALF, HALF, BATCH, -1);
        assert_memory_equal(m.param, want.param, sizeof m.param);
        dsc_dist_destroy(d);
        dsc_optim_destroy(full);
    }
    MPI_Barrier(MPI_COMM_WORLD);
    if (rank0()) remove(path);
}

DIST_MAIN(reg_make_data(&data, 17),
          DIST_CASE(test_sharded_state_resumes_in_one_process),
          DIST_CASE(test_replicated_state_resumes_in_one_process),
          DIST_CASE(test_one_process_state_resumes_sharded),
          DIST_CASE(test_one_process_state_resumes_replicated),
          DIST_CASE(test_checkpoint_file_resumes_in_one_process),
          DIST_CASE(test_one_process_file_resumes_on_ranks),
          DIST_CASE(test_sharded_checkpoint_resumes_anywhere),
          DIST_CASE(test_sharded_set_keeps_eval_mode_and_sidecar),
          DIST_CASE(test_mismatch_fails_everywhere),
          DIST_CASE(test_state_read_from_file_on_every_rank),
          DIST_CASE(test_schedulefree_state_read_from_file))
