/*
 * test_dist_train.c (under mpirun -np 2, 3 and 4): training a linear regression on N
 * ranks, plain data-parallel and ZeRO-1, against the same training in one process:
 * the same data and seed give the same parameters and loss to float rounding,
 * because the global batch is split across the ranks, not multiplied. Groups, no-decay
 * tensors, global and per-tensor clipping and the non-finite policy are all exercised,
 * with shards that cut the tensors at odd places.
 */
#include "mpitest.h"

#include <math.h>
#include <string.h>

#include "regression.h"

#define STEPS 30
#define BATCH 10 /* 5+5, 4+3+3, 3+3+2+2: uneven shares on 3 and 4 ranks */
#define TOL 2e-5 /* float rounding of sums taken in another order, over 30 steps */

static reg_data data;

typedef struct run {
    reg_model m;
    double loss;
    int64_t skipped;
    size_t state_bytes;
} run;

/* Group 1 (the bias) gets its own learning rate, as torch's param_groups. */
static dsc_status set_bias_lr(dsc_optim *opt, dsc_dist *d)
{
    if (d) return dsc_dist_set_lr(d, 1, 0.02);
    return dsc_optim_set_lr(opt, 1, 0.02);
}

static void one_process(const char *spec, run *r, int nan_step)
{
    dsc_optim *opt;
    reg_init(&r->m, 3);
    if (dsc_optim_create_spec(&opt, spec, r->m.tensors, 2)) fail_msg("%s", dsc_last_error());
    assert_int_equal(set_bias_lr(opt, NULL), DSC_OK);
    r->loss = reg_train_local(opt, &r->m, &data, 0, STEPS, BATCH, nan_step);
    r->skipped = dsc_optim_skipped_count(opt);
    r->state_bytes = dsc_optim_state_bytes(opt);
    dsc_optim_destroy(opt);
}

static void on_ranks(const char *spec, int zero, run *r, int nan_step)
{
    reg_init(&r->m, 3);
    dsc_dist *d = reg_dist(spec, zero, &r->m);
    if (!d) fail_msg("%s", dsc_last_error());
    assert_int_equal(set_bias_lr(NULL, d), DSC_OK);
    r->loss = reg_train_dist(d, &r->m, &data, 0, STEPS, BATCH, nan_step);
    r->skipped = dsc_dist_skipped_count(d);
    r->state_bytes = dsc_dist_state_bytes(d);
    assert_int_equal(dsc_dist_step_count(d), STEPS - r->skipped);
    dsc_dist_destroy(d);
    /* every rank holds rank 0's parameters, bit for bit */
    float root[REG_N];
    memcpy(root, r->m.param, sizeof root);
    MPI_Bcast(root, REG_N, MPI_FLOAT, 0, MPI_COMM_WORLD);
    if (memcmp(root, r->m.param, sizeof root)) fail_msg("%s, zero %d: the ranks' parameters differ", spec, zero);
}

static void compare(const char *spec, int nan_step)
{
    run ref, dp, zr;
    one_process(spec, &ref, nan_step);
    on_ranks(spec, 0, &dp, nan_step);
    on_ranks(spec, 1, &zr, nan_step);
    if (!isfinite(ref.loss) || !isfinite(dp.loss) || !isfinite(zr.loss))
        fail_msg("%s: a run failed (%s)", spec, dsc_last_error());
    /* the model learns: the runs are not trivially equal */
    assert_true(reg_max_diff(ref.m.param, (float[REG_N]){0}, REG_N) > 0.1);
    double e_dp = reg_max_diff(ref.m.param, dp.m.param, REG_N);
    double e_zr = reg_max_diff(dp.m.param, zr.m.param, REG_N);
    if (e_dp > TOL || e_zr > TOL) fail_msg("%s: data-parallel off by %g, ZeRO off by %g", spec, e_dp, e_zr);
    assert_float_equal(dp.loss, ref.loss, 1e-5 * ref.loss);
    assert_float_equal(zr.loss, ref.loss, 1e-5 * ref.loss);
    assert_int_equal(dp.skipped, ref.skipped);
    assert_int_equal(zr.skipped, ref.skipped);
}

/* Plain data-parallel alone, for the kinds zero cannot shard. */
static void compare_dp_only(const char *spec)
{
    run ref, dp;
    one_process(spec, &ref, -1);
    on_ranks(spec, 0, &dp, -1);
    double e = reg_max_diff(ref.m.param, dp.m.param, REG_N);
    if (!(e <= TOL)) fail_msg("%s: data-parallel off by %g", spec, e);
}

DIST_TEST(test_adamw_with_groups)
{
    compare("adamw(lr=0.05, weight_decay=0.1)", -1);
}

DIST_TEST(test_sgd_nesterov)
{
    compare("sgd(lr=0.1, momentum=0.9, nesterov=true)", -1);
}

DIST_TEST(test_global_clipping)
{
    compare("adam(lr=0.05, clip_norm=0.5)", -1);
    compare("rmsprop(lr=0.01, clip_norm=0.3, clip_norm_type=1)", -1);
    compare("sgd(lr=0.1, momentum=0.5, clip_norm=0.2, clip_norm_type=inf)", -1);
}

DIST_TEST(test_per_tensor_clipping)
{
    compare("adam(lr=0.05, clip_norm=0.2, clip_per_tensor=true)", -1);
}

/* Kinds beyond the Adam family that zero shards: every rule is element-wise. */
DIST_TEST(test_newer_elementwise_kinds)
{
    compare("lion(lr=0.01, weight_decay=0.1)", -1);
    compare("lookahead(inner=adam(lr=0.05), k=4, alpha=0.5)", -1);
    compare("schedulefree_adamw(lr=0.05, warmup_steps=3)", -1);
}

/* Schedule-Free's evaluation point x, written by each rank for its slice and gathered. */
DIST_TEST(test_eval_mode_gathers_the_point)
{
    const char *spec = "schedulefree_adamw(lr=0.05)";
    run ref, zr;
    dsc_optim *opt;
    reg_init(&ref.m, 3);
    assert_int_equal(dsc_optim_create_spec(&opt, spec, ref.m.tensors, 2), DSC_OK);
    reg_train_local(opt, &ref.m, &data, 0, STEPS, BATCH, -1);
    assert_int_equal(dsc_optim_eval_mode(opt, 1), DSC_OK);
    reg_init(&zr.m, 3);
    dsc_dist *d = reg_dist(spec, 1, &zr.m);
    assert_non_null(d);
    reg_train_dist(d, &zr.m, &data, 0, STEPS, BATCH, -1);
    float train_point[REG_N];
    memcpy(train_point, zr.m.param, sizeof train_point);
    assert_int_equal(dsc_dist_eval_mode(d, 1), DSC_OK);
    assert_true(reg_max_diff(zr.m.param, ref.m.param, REG_N) <= TOL);
    assert_true(reg_max_diff(zr.m.param, train_point, REG_N) > 1e-3); /* x is not y */
    assert_int_equal(dsc_dist_eval_mode(d, 0), DSC_OK);
    assert_true(reg_max_diff(zr.m.param, train_point, REG_N) <= 1e-6);
    dsc_dist_destroy(d);
    dsc_optim_destroy(opt);
}

/* Kinds that need whole tensors cannot be sharded; data-parallel takes them. */
DIST_TEST(test_zero_refuses_whole_tensor_kinds)
{
    static const char *const kinds[] = {"lamb", "lars", "muon", "adafactor"};
    for (int k = 0; k < 4; k++) {
        reg_model m;
        reg_init(&m, 3);
        assert_null(reg_dist(kinds[k], 1, &m));
        assert_non_null(strstr(dsc_last_error(), "needs whole tensors"));
    }
    compare_dp_only("lamb(lr=0.01)");
    compare_dp_only("muon(lr=0.02)");
    compare_dp_only("adafactor(lr=0.05)");
}

/* A loss-driven schedule sees the global loss on every rank (dsc_dist_step_loss): the
 * learning rate drops at the same steps as in one process. A large lr makes the loss
 * stall, so the plateau fires. */
DIST_TEST(test_loss_driven_schedule)
{
    const char *spec = "sgd(lr=0.9, momentum=0.9)", *sched = "plateau(patience=1, factor=0.5)";
    reg_model ref, m;
    dsc_optim *opt;
    reg_init(&ref, 3);
    assert_int_equal(dsc_optim_create_spec(&opt, spec, ref.tensors, 2), DSC_OK);
    assert_int_equal(dsc_optim_set_schedule(opt, -1, sched), DSC_OK);
    reg_init(&m, 3);
    dsc_dist *d = reg_dist(spec, 1, &m);
    assert_non_null(d);
    assert_int_equal(dsc_dist_set_schedule(d, -1, sched), DSC_OK);
    assert_int_equal(dsc_dist_set_schedule(d, 0, "nosuch"), DSC_ERR_SPEC);
    int rank = dsc_dist_rank(d), size = dsc_dist_size(d);
    size_t lo, hi;
    dsc_dist_split(BATCH, rank, size, &lo, &hi);
    for (int s = 0; s < STEPS; s++) {
        memset(ref.grad, 0, sizeof ref.grad);
        double loss = reg_grad(&ref, &data, s, BATCH, 0, BATCH);
        assert_int_equal(dsc_optim_step_loss(opt, loss), DSC_OK);
        dsc_dist_zero_grad(d);
        double mine = reg_grad(&m, &data, s, BATCH, lo, hi), all;
        MPI_Allreduce(&mine, &all, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
        assert_int_equal(dsc_dist_step_loss(d, all), DSC_OK);
    }
    double lr_ref, lr = -1;
    dsc_optim_get_lr(opt, 0, &lr_ref);
    if (dsc_dist_optim(d)) dsc_optim_get_lr(dsc_dist_optim(d), 0, &lr);
    assert_true(lr_ref < 0.9 && lr == lr_ref); /* it fired, and at the same steps */
    double e = reg_max_diff(m.param, ref.param, REG_N);
    if (!(e <= TOL)) fail_msg("plateau: off by %g", e);
    dsc_dist_destroy(d);
    dsc_optim_destroy(opt);
}

/* Row-sparse gradients are refused on every rank, with the reason. */
DIST_TEST(test_sparse_grad_refused)
{
    reg_model m;
    reg_init(&m, 3);
    m.tensors[0].flags |= DSC_SPARSE_GRAD;
    assert_null(reg_dist("sgd(lr=0.1)", 0, &m));
    assert_non_null(strstr(dsc_last_error(), "has a sparse gradient (DSC_SPARSE_GRAD)"));
}

/* The share each rank gets: contiguous, the first total % size one larger. */
DIST_TEST(test_split)
{
    static const size_t want[4][2] = {{0, 3}, {3, 6}, {6, 8}, {8, 10}};
    for (int r = 0; r < 4; r++) {
        size_t lo, hi;
        dsc_dist_split(10, r, 4, &lo, &hi);
        assert_true(lo == want[r][0] && hi == want[r][1]);
    }
    size_t lo = 7, hi = 7;
    dsc_dist_split(10, 4, 4, &lo, &hi);
    assert_true(lo == 0 && hi == 0);
    dsc_dist_split(2, 2, 3, &lo, &hi);
    assert_true(lo == 2 && hi == 2);
}

/* A NaN on the last rank alone: every rank skips that step, as one process would. */
DIST_TEST(test_nonfinite_skips_everywhere)
{
    compare("adam(lr=0.05)", 7);
    run r;
    on_ranks("adam(lr=0.05)", 1, &r, 7);
    assert_int_equal(r.skipped, 1);
}

/* ---- nonfinite=ignore: a non-finite gradient is clipped as the core clips it */

/* One step of spec from the start, its gradient holding `bad` at element `at` (on the
 * last rank alone under mpirun): mode -1 in one process, 0 data-parallel, 1 ZeRO. */
static void bad_step(const char *spec, int mode, int at, float bad, float *param, double *norm)
{
    reg_model m;
    reg_init(&m, 3);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    size_t lo = 0, hi = BATCH;
    if (mode >= 0) dsc_dist_split(BATCH, rank, size, &lo, &hi);
    memset(m.grad, 0, sizeof m.grad);
    reg_grad(&m, &data, 0, BATCH, lo, hi);
    if (mode < 0 || rank == size - 1) m.grad[at] = bad;
    if (mode < 0) {
        dsc_optim *opt;
        if (dsc_optim_create_spec(&opt, spec, m.tensors, 2)) fail_msg("%s", dsc_last_error());
        if (dsc_optim_step(opt)) fail_msg("%s", dsc_last_error());
        *norm = dsc_optim_grad_norm(opt);
        dsc_optim_destroy(opt);
    } else {
        dsc_dist *d = reg_dist(spec, mode, &m);
        if (!d || dsc_dist_step(d)) fail_msg("%s", dsc_last_error());
        *norm = dsc_dist_grad_norm(d);
        dsc_dist_destroy(d);
    }
    memcpy(param, m.param, sizeof m.param);
}

/* The same NaNs, and the same values elsewhere. */
static void assert_same_params(const char *what, const float *want, const float *got)
{
    for (size_t i = 0; i < REG_N; i++) {
        if (isnan(want[i]) != isnan(got[i]) || (!isnan(want[i]) && !(fabsf(want[i] - got[i]) <= TOL)))
            fail_msg("%s: parameter %zu is %g, one process has %g", what, i, got[i], want[i]);
    }
}

/* Returns one process's parameters after the step, data-parallel and ZeRO matching them. */
static void compare_bad_step(const char *spec, int at, float bad, float *ref, double *norm)
{
    float dp[REG_N], zr[REG_N];
    double n_dp, n_zr;
    bad_step(spec, -1, at, bad, ref, norm);
    bad_step(spec, 0, at, bad, dp, &n_dp);
    bad_step(spec, 1, at, bad, zr, &n_zr);
    assert_same_params(spec, ref, dp);
    assert_same_params(spec, ref, zr);
    if (isnan(*norm)) {
        assert_true(isnan(n_dp) && isnan(n_zr));
    } else {
        assert_float_equal(n_dp, *norm, 1e-5 * *norm);
        assert_float_equal(n_zr, *norm, 1e-5 * *norm);
    }
}

/* An Inf gradient: the norm is Inf and the coefficient 0 (as torch's clip_grad_norm_),
 * so the Inf element becomes NaN (Inf * 0) and every other gradient 0. */
DIST_TEST(test_ignore_clips_an_inf_gradient)
{
    float ref[REG_N], start[REG_N];
    double norm;
    compare_bad_step("sgd(lr=0.1, clip_norm=0.5, nonfinite=ignore)", 3, INFINITY, ref, &norm);
    assert_true(isinf(norm));
    reg_model m;
    reg_init(&m, 3);
    memcpy(start, m.param, sizeof start);
    assert_true(isnan(ref[3]));
    ref[3] = start[3];
    assert_true(reg_max_diff(ref, start, REG_N) == 0);
    compare_bad_step("sgd(lr=0.1, clip_norm=0.5, clip_norm_type=inf, nonfinite=ignore)", 3, INFINITY, ref, &norm);
    assert_true(isinf(norm));
}

/* A NaN in w with clip_per_tensor: w's norm is NaN and w goes unclipped, b is still
 * clipped (for p = inf too, where the ranks' maxima would drop a NaN). */
DIST_TEST(test_ignore_clips_the_finite_tensors)
{
    float ref[REG_N], raw[REG_N];
    double norm;
    const char *specs[] = {"sgd(lr=0.1, clip_norm=0.01, clip_per_tensor=true, nonfinite=ignore)",
                           "sgd(lr=0.1, clip_norm=0.01, clip_norm_type=inf, clip_per_tensor=true, nonfinite=ignore)"};
    bad_step("sgd(lr=0.1, nonfinite=ignore)", -1, 3, NAN, raw, &norm);
    assert_true(isnan(raw[3]));
    raw[3] = 0;
    for (int k = 0; k < 2; k++) {
        compare_bad_step(specs[k], 3, NAN, ref, &norm);
        assert_true(isnan(norm));
        assert_true(isnan(ref[3]));
        ref[3] = 0;
        assert_true(reg_max_diff(ref, raw, REG_OUT * REG_IN) == 0); /* w unclipped */
        assert_true(reg_max_diff(ref + REG_OUT * REG_IN, raw + REG_OUT * REG_IN, REG_OUT) > 1e-3); /* b clipped */
    }
}

/* ZeRO-1: each rank holds about 1/N of the optimizer state, and together all of it. */
DIST_TEST(test_zero_state_is_sharded)
{
    int N;
    MPI_Comm_size(MPI_COMM_WORLD, &N);
    run ref, zr;
    one_process("adam", &ref, -1);
    on_ranks("adam", 1, &zr, -1);
    assert_int_equal(ref.state_bytes, 2 * REG_N * sizeof(float));
    unsigned long mine = zr.state_bytes, sum = 0, most = 0;
    MPI_Allreduce(&mine, &sum, 1, MPI_UNSIGNED_LONG, MPI_SUM, MPI_COMM_WORLD);
    MPI_Allreduce(&mine, &most, 1, MPI_UNSIGNED_LONG, MPI_MAX, MPI_COMM_WORLD);
    assert_int_equal(sum, ref.state_bytes);
    assert_int_equal(most, 2 * ((REG_N + (size_t)N - 1) / (size_t)N) * sizeof(float));
}

/* Bucket order: a rank without rows readies no tensor during its (empty) backward
 * pass and starts every bucket in dsc_dist_wait, while the ranks with rows ready the
 * tensors as a backward pass finishes them (b, then w) and start buckets on the way.
 * The collectives must still pair up, for every bucket count from 1 to one bucket per
 * element, plain and ZeRO. A batch of one row leaves every rank but 0 empty; a batch
 * of size - 1 rows leaves only the last one empty. */
static void train_with_empty_ranks(dsc_dist *d, reg_model *m, size_t batch, int steps)
{
    int rank = dsc_dist_rank(d), size = dsc_dist_size(d);
    size_t lo, hi;
    dsc_dist_split(batch, rank, size, &lo, &hi);
    for (int s = 0; s < steps; s++) {
        dsc_dist_zero_grad(d);
        if (hi > lo) {
            reg_grad(m, &data, s, batch, lo, hi);
            assert_int_equal(dsc_dist_tensor_ready(d, 1), DSC_OK);
            assert_int_equal(dsc_dist_tensor_ready(d, 0), DSC_OK);
        }
        if (dsc_dist_step(d) != DSC_OK) fail_msg("step %d: %s", s, dsc_last_error());
    }
}

DIST_TEST(test_every_bucket_count_with_empty_ranks)
{
    const char *spec = "adam(lr=0.05)";
    int size = 0;
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    size_t batches[2] = {1, (size_t)size - 1};
    for (int k = 0; k < 2; k++) {
        run ref;
        dsc_optim *opt;
        reg_init(&ref.m, 3);
        assert_int_equal(dsc_optim_create_spec(&opt, spec, ref.m.tensors, 2), DSC_OK);
        reg_train_local(opt, &ref.m, &data, 0, 4, batches[k], -1);
        dsc_optim_destroy(opt);
        for (size_t elems = 1; elems <= REG_N; elems++) {
            for (int zero = 0; zero <= 1; zero++) {
                reg_model m;
                reg_init(&m, 3);
                dsc_dist *d = reg_dist_buckets(spec, zero, &m, elems);
                if (!d) fail_msg("%s", dsc_last_error());
                assert_int_equal(dsc_dist_bucket_count(d), (REG_N + elems - 1) / elems);
                train_with_empty_ranks(d, &m, batches[k], 4);
                dsc_dist_destroy(d);
                double e = reg_max_diff(ref.m.param, m.param, REG_N);
                if (!(e <= TOL))
                    fail_msg("batch %zu, %zu-element buckets, zero %d: off by %g", batches[k], elems, zero, e);
            }
        }
    }
}

DIST_MAIN(reg_make_data(&data, 11),
          DIST_CASE(test_adamw_with_groups),
          DIST_CASE(test_sgd_nesterov),
          DIST_CASE(test_global_clipping),
          DIST_CASE(test_per_tensor_clipping),
          DIST_CASE(test_newer_elementwise_kinds),
          DIST_CASE(test_eval_mode_gathers_the_point),
          DIST_CASE(test_zero_refuses_whole_tensor_kinds),
          DIST_CASE(test_loss_driven_schedule),
          DIST_CASE(test_split),
          DIST_CASE(test_sparse_grad_refused),
          DIST_CASE(test_nonfinite_skips_everywhere),
          DIST_CASE(test_ignore_clips_an_inf_gradient),
          DIST_CASE(test_ignore_clips_the_finite_tensors),
          DIST_CASE(test_zero_state_is_sharded),
          DIST_CASE(test_every_bucket_count_with_empty_ranks))
