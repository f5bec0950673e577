/*
 * test_dist_collectives.c (under mpirun -np 2 and 3): the bucketed all-reduce and the
 * reduce-scatter/all-gather on odd sizes, with buckets that cut tensors and shards
 * anywhere; the non-blocking path; the parameter broadcast; layouts that must be
 * refused on every rank. Gradients are small integers, so every result is exact; the
 * ring's own order of summation is checked bit for bit.
 */
#include "mpitest.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "descent_dist.h"

static int world_rank(void)
{
    int r;
    MPI_Comm_rank(MPI_COMM_WORLD, &r);
    return r;
}

static int world_size(void)
{
    int s;
    MPI_Comm_size(MPI_COMM_WORLD, &s);
    return s;
}

/* n elements in up to three back-to-back tensors of odd sizes. */
typedef struct flat {
    double *p, *g; /* f64 storage also serves f32 (first half used) */
    dsc_param t[3];
    size_t count;
} flat;

static void flat_make(flat *f, size_t n, dsc_dtype dt)
{
    size_t es = dsc_dtype_size(dt);
    f->p = calloc(n, sizeof(double));
    f->g = calloc(n, sizeof(double));
    assert_non_null(f->p);
    assert_non_null(f->g);
    size_t cut[4] = {0, n / 3, n - n / 5, n};
    static const char *const names[3] = {"a", "b", "c"};
    f->count = 0;
    for (int i = 0; i < 3; i++) {
        if (cut[i + 1] == cut[i]) continue;
        f->t[f->count++] = (dsc_param){.name = names[i], .data = (char *)f->p + cut[i] * es,
                                       .grad = (char *)f->g + cut[i] * es, .n = cut[i + 1] - cut[i],
                                       .dtype = dt};
    }
}

static void flat_free(flat *f)
{
    free(f->p);
    free(f->g);
}

static double get(const flat *f, dsc_dtype dt, const double *v, size_t i)
{
    (void)f;
    return dt == DSC_F32 ? (double)((const float *)(const void *)v)[i] : v[i];
}

static void set(dsc_dtype dt, double *v, size_t i, double x)
{
    if (dt == DSC_F32) ((float *)(void *)v)[i] = (float)x;
    else v[i] = x;
}

/* rank r's gradient element i: (r + 1) * (i % 7 + 1); the ranks' sum is
 * N(N+1)/2 * (i % 7 + 1) and the mean (N+1)/2 * (i % 7 + 1), exact in float. */
static double grad_of(int rank, size_t i) { return (double)(rank + 1) * (double)(i % 7 + 1); }

static const size_t sizes[] = {1, 5, 37, 1001};

/* cfg.timeout of the contexts make() creates: > 0 takes the polling path of the waits */
static double make_timeout;

static dsc_dist *make(flat *f, size_t n, dsc_dtype dt, int zero, dsc_dist_reduce red, size_t bucket_bytes,
                      const char *spec)
{
    flat_make(f, n, dt);
    dsc_hparams hp;
    assert_int_equal(dsc_hparams_parse(spec, &hp), DSC_OK);
    dsc_dist_config cfg = dsc_dist_config_default();
    cfg.zero = zero;
    cfg.reduce = red;
    cfg.bucket_bytes = bucket_bytes;
    cfg.timeout = make_timeout;
    /* rank 0's parameters are i; the others' are garbage the broadcast must replace */
    for (size_t i = 0; i < n; i++) set(dt, f->p, i, world_rank() == 0 ? (double)i : -999.0);
    dsc_dist *d = NULL;
    dsc_status st = dsc_dist_create(&d, MPI_COMM_WORLD, &hp, f->t, f->count, &cfg);
    if (st) fail_msg("create: %s", dsc_last_error());
    for (size_t i = 0; i < n; i++) assert_true(get(f, dt, f->p, i) == (double)i);
    for (size_t i = 0; i < n; i++) set(dt, f->g, i, grad_of(world_rank(), i));
    return d;
}

DIST_TEST(test_allreduce_odd_sizes)
{
    int N = world_size();
    for (int red = 0; red < 2; red++)
        for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
            flat f;
            dsc_dist *d = make(&f, sizes[s], DSC_F32, 0, (dsc_dist_reduce)red, 44, "sgd(lr=1)");
            assert_int_equal(dsc_dist_bucket_count(d), (sizes[s] + 10) / 11);
            assert_int_equal(dsc_dist_wait(d), DSC_OK);
            double k = red == DSC_DIST_SUM ? N * (N + 1) / 2.0 : (N + 1) / 2.0;
            for (size_t i = 0; i < sizes[s]; i++) assert_true(get(&f, DSC_F32, f.g, i) == k * (double)(i % 7 + 1));
            dsc_dist_destroy(d);
            flat_free(&f);
        }
}

/* Every bucket is split into N pieces in rank order whose lengths differ by at most
 * one, and the ranks' shards differ by at most one element. */
static void check_pieces(const dsc_dist *d, size_t n)
{
    int N = world_size();
    unsigned long total = dsc_dist_shard_size(d), sum = 0, most = 0, least = 0;
    for (size_t b = 0; b < dsc_dist_bucket_count(d); b++) {
        size_t b0, len, first, count;
        assert_int_equal(dsc_dist_bucket_range(d, b, &b0, &len), DSC_OK);
        assert_int_equal(dsc_dist_shard_piece(d, b, &first, &count), DSC_OK);
        unsigned long mine[2] = {first, count}, all[2 * 8];
        assert_true(N <= 8);
        MPI_Allgather(mine, 2, MPI_UNSIGNED_LONG, all, 2, MPI_UNSIGNED_LONG, MPI_COMM_WORLD);
        size_t at = b0;
        for (int r = 0; r < N; r++) {
            assert_int_equal(all[2 * r], at);
            assert_true(all[2 * r + 1] == len / (size_t)N || all[2 * r + 1] == len / (size_t)N + 1);
            at += all[2 * r + 1];
        }
        assert_int_equal(at, b0 + len);
    }
    assert_int_equal(dsc_dist_shard_piece(d, dsc_dist_bucket_count(d), &(size_t){0}, &(size_t){0}), DSC_ERR_ARG);
    MPI_Allreduce(&total, &sum, 1, MPI_UNSIGNED_LONG, MPI_SUM, MPI_COMM_WORLD);
    MPI_Allreduce(&total, &most, 1, MPI_UNSIGNED_LONG, MPI_MAX, MPI_COMM_WORLD);
    MPI_Allreduce(&total, &least, 1, MPI_UNSIGNED_LONG, MPI_MIN, MPI_COMM_WORLD);
    assert_int_equal(sum, n);
    assert_true(most - least <= 1);
}

/* sgd(lr=1) from p = i leaves p = i - mean gradient: the reduce-scatter into the
 * shards and the all-gather back are both visible in the parameters. */
static void check_zero_sgd(dsc_dtype dt, size_t bucket_bytes)
{
    int N = world_size();
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        flat f;
        size_t n = sizes[s];
        dsc_dist *d = make(&f, n, dt, 1, DSC_DIST_MEAN, bucket_bytes, "sgd(lr=1)");
        check_pieces(d, n);
        assert_int_equal(dsc_dist_step(d), DSC_OK);
        for (size_t i = 0; i < n; i++)
            assert_true(get(&f, dt, f.p, i) == (double)i - (N + 1) / 2.0 * (double)(i % 7 + 1));
        assert_int_equal(dsc_dist_step_count(d), 1);
        dsc_dist_destroy(d);
        flat_free(&f);
    }
}

DIST_TEST(test_reduce_scatter_allgather_odd_sizes)
{
    check_zero_sgd(DSC_F32, 44);
    check_zero_sgd(DSC_F64, 24);
    check_zero_sgd(DSC_F32, (size_t)25 << 20); /* one bucket */
    make_timeout = 30; /* the ring's steps and the all-gather tested every millisecond */
    check_zero_sgd(DSC_F32, 44);
    make_timeout = 0;
}

/* Tensors reported ready last to first start their buckets early; the result is the
 * blocking one. */
DIST_TEST(test_tensor_ready_overlaps)
{
    int N = world_size();
    for (int zero = 0; zero < 2; zero++) {
        flat f;
        dsc_dist *d = make(&f, 37, DSC_F32, zero, DSC_DIST_SUM, 44, "sgd(lr=1)");
        for (size_t i = f.count; i-- > 0;) assert_int_equal(dsc_dist_tensor_ready(d, i), DSC_OK);
        assert_int_equal(dsc_dist_tensor_ready(d, 0), DSC_ERR_ARG);
        assert_int_equal(dsc_dist_grad_ready(d, 0), DSC_ERR_ARG); /* started with its tensors */
        assert_int_equal(dsc_dist_step(d), DSC_OK);
        for (size_t i = 0; i < 37; i++)
            assert_true(get(&f, DSC_F32, f.p, i) == (double)i - N * (N + 1) / 2.0 * (double)(i % 7 + 1));
        /* the next step starts afresh: buckets by hand this time */
        for (size_t i = 0; i < 37; i++) set(DSC_F32, f.g, i, 1.0);
        for (size_t b = dsc_dist_bucket_count(d); b-- > 0;) assert_int_equal(dsc_dist_grad_ready(d, b), DSC_OK);
        assert_int_equal(dsc_dist_grad_ready(d, 99), DSC_ERR_ARG);
        assert_int_equal(dsc_dist_step(d), DSC_OK);
        assert_true(get(&f, DSC_F32, f.p, 36) == 36.0 - N * (N + 1) / 2.0 * 2.0 - N);
        dsc_dist_destroy(d);
        flat_free(&f);
    }
}

/* More ranks than elements: the last ranks own nothing and still take part. */
DIST_TEST(test_empty_shards)
{
    flat f;
    dsc_dist *d = make(&f, 1, DSC_F32, 1, DSC_DIST_MEAN, 44, "adam(lr=0.5)");
    size_t first, count;
    assert_int_equal(dsc_dist_shard_piece(d, 0, &first, &count), DSC_OK);
    if (world_rank() > 0) {
        assert_true(count == 0 && dsc_dist_shard_size(d) == 0);
        assert_true(dsc_dist_optim(d) == NULL && dsc_dist_state_bytes(d) == 0);
    } else {
        assert_true(first == 0 && count == 1 && dsc_dist_shard_size(d) == 1);
        assert_true(dsc_dist_state_bytes(d) == 2 * sizeof(float));
    }
    assert_int_equal(dsc_dist_step(d), DSC_OK);
    /* Adam's first step moves by lr * sign(g) (to within eps) */
    assert_float_equal(get(&f, DSC_F32, f.p, 0), -0.5, 1e-6);
    assert_int_equal(dsc_dist_set_lr(d, 0, 0.1), DSC_OK);
    assert_int_equal(dsc_dist_set_lr(d, 0, -1), DSC_ERR_RANGE);
    assert_int_equal(dsc_dist_set_lr(d, 5, 0.1), DSC_ERR_ARG);
    dsc_dist_destroy(d);
    flat_free(&f);
}

/* The ring's order of summation: piece j (rank j's) is summed as
 * ((g[j+1] + g[j+2]) + ...) + g[j], rank indices mod N, whatever the timing. Values
 * of very different magnitudes make another order round differently (for N >= 3),
 * so the check is bit for bit. */
static float ring_grad(int rank, size_t i) { return rank == 1 ? 1e8f : (float)(rank + 1) * (1.0f + (float)(i % 3)) + 0.25f; }

DIST_TEST(test_ring_sums_in_its_order)
{
    int N = world_size();
    size_t n = 37;
    for (int early = 0; early < 2; early++) {
        flat f;
        dsc_dist *d = make(&f, n, DSC_F32, 1, DSC_DIST_SUM, 20, "sgd(lr=1)");
        float *g = (float *)(void *)f.g;
        for (size_t i = 0; i < n; i++) g[i] = ring_grad(world_rank(), i);
        if (early) /* start every bucket before the wait: the same bits */
            for (size_t b = dsc_dist_bucket_count(d); b-- > 0;) assert_int_equal(dsc_dist_grad_ready(d, b), DSC_OK);
        assert_int_equal(dsc_dist_wait(d), DSC_OK);
        for (size_t b = 0; b < dsc_dist_bucket_count(d); b++) {
            size_t first, count;
            assert_int_equal(dsc_dist_shard_piece(d, b, &first, &count), DSC_OK);
            for (size_t i = first; i < first + count; i++) {
                int j = world_rank();
                float want = ring_grad((j + 1) % N, i);
                for (int k = 2; k <= N; k++) want += ring_grad((j + k) % N, i);
                if (memcmp(&g[i], &want, sizeof want))
                    fail_msg("element %zu: %.9g, the ring's order gives %.9g", i, (double)g[i], (double)want);
            }
        }
        dsc_dist_destroy(d);
        flat_free(&f);
    }
}

static void expect_refused(dsc_param *t, size_t count, const dsc_dist_config *cfg, dsc_status want,
                           const char *needle)
{
    dsc_hparams hp = dsc_hparams_default(DSC_SGD);
    dsc_dist *d = (dsc_dist *)&hp;
    dsc_status st = dsc_dist_create(&d, MPI_COMM_WORLD, &hp, t, count, cfg);
    assert_int_equal(st, want);
    assert_null(d);
    if (!strstr(dsc_last_error(), needle)) fail_msg("message '%s' lacks '%s'", dsc_last_error(), needle);
}

DIST_TEST(test_bad_layouts_fail_everywhere)
{
    float p[8], g[8];
    double pd[8], gd[8];
    dsc_param t[2] = {{.name = "a", .data = p, .grad = g, .n = 3, .dtype = DSC_F32},
                      {.name = "b", .data = p + 4, .grad = g + 4, .n = 4, .dtype = DSC_F32}};
    expect_refused(t, 2, NULL, DSC_ERR_ARG, "contiguous");
    t[1] = (dsc_param){.name = "b", .data = pd, .grad = gd, .n = 4, .dtype = DSC_F64};
    expect_refused(t, 2, NULL, DSC_ERR_MISMATCH, "one dtype");
    t[1] = (dsc_param){.name = "b", .data = p + 3, .grad = g + 3, .n = 5, .dtype = DSC_F32};
    dsc_dist_config cfg = dsc_dist_config_default();
    cfg.bucket_bytes = 2;
    expect_refused(t, 2, &cfg, DSC_ERR_RANGE, "bucket_bytes must be in [4, 1073741824], got 2");
    cfg = dsc_dist_config_default();
    cfg.zero = 2;
    expect_refused(t, 2, &cfg, DSC_ERR_RANGE, "zero must be 0 or 1, got 2");
    cfg = dsc_dist_config_default();
    cfg.timeout = -1;
    expect_refused(t, 2, &cfg, DSC_ERR_RANGE, "timeout must be seconds in [0, 1e+09), got -1");
    cfg.timeout = NAN;
    expect_refused(t, 2, &cfg, DSC_ERR_RANGE, "timeout must be seconds");
    /* one rank alone is wrong: every rank fails, the others say so */
    t[1].n = world_rank() == 1 ? 4 : 5;
    expect_refused(t, 2, NULL, DSC_ERR_MISMATCH, "disagree on the element count");
    t[1].n = 5;
    t[1].data = world_rank() == 1 ? p + 4 : p + 3;
    expect_refused(t, 2, NULL, DSC_ERR_ARG, world_rank() == 1 ? "contiguous" : "another rank failed");
}

DIST_MAIN((void)0,
          DIST_CASE(test_allreduce_odd_sizes),
          DIST_CASE(test_reduce_scatter_allgather_odd_sizes),
          DIST_CASE(test_tensor_ready_overlaps),
          DIST_CASE(test_empty_shards),
          DIST_CASE(test_ring_sums_in_its_order),
          DIST_CASE(test_bad_layouts_fail_everywhere))
