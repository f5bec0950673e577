/* test_checkpoint.c: checkpoints. Resuming is bit-exact for every optimizer (17 steps,
 * save, load into a fresh optimizer, 23 steps == 40 straight steps, f32 and f64), also
 * with a weight average saved beside it;
 * every kind of damaged or mismatched file is refused with a message naming what is
 * wrong and leaves the optimizer untouched; saving is atomic under SIGKILL. */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <zlib.h>

#include "descent.h"
#include "descent_checkpoint.h"

/* ---------------------------------------------------------------- a small model */

#define NW 12
#define NB 5

typedef struct model {
    dsc_dtype dt;
    void *w, *gw, *b, *gb;
    dsc_param p[2];
    dsc_optim *opt;
} model;

static void model_init(model *m, const char *spec, dsc_dtype dt, double seed)
{
    size_t es = dsc_dtype_size(dt);
    memset(m, 0, sizeof *m);
    m->dt = dt;
    m->w = calloc(NW, es);
    m->gw = calloc(NW, es);
    m->b = calloc(NB, es);
    m->gb = calloc(NB, es);
    assert_non_null(m->w);
    assert_non_null(m->b);
    for (size_t i = 0; i < NW + NB; i++) {
        double v = seed * cos(0.7 * (double)i);
        void *d = i < NW ? m->w : m->b;
        size_t k = i < NW ? i : i - NW;
        if (dt == DSC_F32) ((float *)d)[k] = (float)v;
        else ((double *)d)[k] = v;
    }
    m->p[0] = (dsc_param){.name = "layer.w", .data = m->w, .grad = m->gw, .n = NW, .dtype = dt, .ndim = 2,
                          .shape = {3, 4}};
    m->p[1] = (dsc_param){.name = "layer.b", .data = m->b, .grad = m->gb, .n = NB, .dtype = dt,
                          .flags = DSC_NO_DECAY, .group = 1};
    dsc_status st = dsc_optim_create_spec(&m->opt, spec, m->p, 2);
    if (st) fail_msg("%s: %s", spec, dsc_last_error());
    assert_int_equal(dsc_optim_set_group_spec(m->opt, 1, "lr=0.003"), DSC_OK);
}

static void model_free(model *m)
{
    dsc_optim_destroy(m->opt);
    free(m->w);
    free(m->gw);
    free(m->b);
    free(m->gb);
}

/* g = (p - c) + 0.1 p^3, and a NaN at step 5 so that a skipped step is in the state. */
static void gradients(model *m, int64_t step)
{
    for (size_t i = 0; i < NW + NB; i++) {
        int f = m->dt == DSC_F32;
        void *d = i < NW ? m->w : m->b, *g = i < NW ? m->gw : m->gb;
        size_t k = i < NW ? i : i - NW;
        double p = f ? ((float *)d)[k] : ((double *)d)[k];
        double v = (p - 0.3 * sin((double)i + 1)) + 0.1 * p * p * p;
        if (step == 5 && i == 0) v = NAN;
        if (f) ((float *)g)[k] = (float)v;
        else ((double *)g)[k] = v;
    }
}

/* A loss for the loss-driven schedules: any deterministic function of the step will do. */
static double loss_of(const model *m)
{
    double sum = 0;
    for (size_t i = 0; i < NW; i++) sum += m->dt == DSC_F32 ? ((float *)m->w)[i] : ((double *)m->w)[i];
    return sum * sum;
}

static void run_steps(model *m, int calls, int64_t *call)
{
    for (int s = 0; s < calls; s++) {
        double loss = loss_of(m);
        gradients(m, ++*call);
        dsc_status st = dsc_optim_step_loss(m->opt, loss);
        if (st) fail_msg("step %lld: %s", (long long)*call, dsc_last_error());
    }
}

/* The same with dsc_optim_step, which gives the optimizer no loss (as descent train does
 * without a loss-driven schedule). */
static void run_plain_steps(model *m, int calls, int64_t *call)
{
    for (int s = 0; s < calls; s++) {
        gradients(m, ++*call);
        dsc_status st = dsc_optim_step(m->opt);
        if (st) fail_msg("step %lld: %s", (long long)*call, dsc_last_error());
    }
}

/* Everything a checkpoint carries, to compare bits. */
typedef struct snapshot {
    unsigned char bytes[16384];
    size_t len;
} snapshot;

static void put(snapshot *s, const void *p, size_t n)
{
    assert_true(s->len + n <= sizeof s->bytes);
    memcpy(s->bytes + s->len, p, n);
    s->len += n;
}

/* Elements of tensor i's state buffer k (adafactor's factors are smaller than it). */
static size_t state_elems(const dsc_optim *opt, size_t i, size_t k)
{
    int ndim;
    size_t shape[DSC_MAX_DIMS], n = 1;
    assert_int_equal(dsc_optim_state_shape(opt, i, k, &ndim, shape), DSC_OK);
    for (int d = 0; d < ndim; d++) n *= shape[d];
    return n;
}

static snapshot take(const dsc_optim *opt)
{
    snapshot s = {.len = 0};
    for (size_t i = 0; i < dsc_optim_param_count(opt); i++) {
        const dsc_param *q = dsc_optim_param(opt, i);
        size_t bytes = q->n * dsc_dtype_size(q->dtype);
        put(&s, q->data, bytes);
        for (size_t k = 0; k < dsc_optim_state_count(opt, i); k++) {
            void *d;
            dsc_optim_state(opt, i, k, NULL, &d);
            put(&s, d, state_elems(opt, i, k) * dsc_dtype_size(q->dtype));
        }
    }
    int64_t c[3] = {dsc_optim_step_count(opt), dsc_optim_skipped_count(opt), dsc_optim_consecutive_skips(opt)};
    put(&s, c, sizeof c);
    int64_t window;
    double loss_sum;
    dsc_optim_get_accum(opt, &window, &loss_sum);
    put(&s, &window, sizeof window);
    put(&s, &loss_sum, sizeof loss_sum);
    for (int g = 0; g < dsc_optim_group_count(opt); g++) {
        dsc_hparams hp;
        dsc_optim_get_group_hparams(opt, g, &hp);
        char spec[1024];
        dsc_hparams_format(&hp, spec, sizeof spec);
        put(&s, spec, strlen(spec) + 1);
        const char *name;
        for (size_t k = 0; (name = dsc_optim_scalar_name(k)); k++) {
            double v;
            dsc_optim_get_scalar(opt, g, name, &v);
            put(&s, &v, sizeof v);
        }
        const dsc_sched *sc = dsc_optim_schedule(opt, g);
        if (!sc) continue;
        double base = dsc_sched_base_lr(sc);
        put(&s, dsc_sched_spec(sc), strlen(dsc_sched_spec(sc)) + 1);
        put(&s, &base, sizeof base);
        for (size_t k = 0; k < dsc_sched_state_count(sc); k++) {
            double v;
            dsc_sched_get_state(sc, k, &name, &v);
            put(&s, name, strlen(name) + 1);
            put(&s, &v, sizeof v);
        }
        const double *hist;
        size_t nhist = dsc_sched_history(sc, &hist);
        if (nhist) put(&s, hist, nhist * sizeof *hist);
    }
    return s;
}

static void assert_same(const snapshot *a, const snapshot *b, const char *what)
{
    if (a->len != b->len || memcmp(a->bytes, b->bytes, a->len)) fail_msg("%s: the bits differ", what);
}

static unsigned char *save_mem(const dsc_optim *opt, const dsc_kv *kv, size_t nkv, size_t *len)
{
    dsc_status st = dsc_checkpoint_save_mem(opt, NULL, 0, len, &(dsc_checkpoint_save_options){.extra = kv, .nextra = nkv});
    if (st) fail_msg("size query: %s", dsc_last_error());
    unsigned char *buf = malloc(*len);
    assert_non_null(buf);
    size_t len2;
    if ((st = dsc_checkpoint_save_mem(opt, buf, *len, &len2, &(dsc_checkpoint_save_options){.extra = kv, .nextra = nkv}))) fail_msg("save: %s", dsc_last_error());
    assert_int_equal(len2, *len); /* the size query (no checksum computed) agrees */
    return buf;
}

/* ---------------------------------------------------------------- resume matrix */

static const char *const specs[] = {
    "sgd(lr=0.05)",
    "sgd(lr=0.05, momentum=0.9, nesterov=true)",
    "sgd(lr=0.05, momentum=0.9, dampening=0.1, weight_decay=0.01)",
    "sgd(lr=0.05, momentum=0.9, lr_in_buffer=true)",
    "adagrad(lr=0.1, lr_decay=0.01, initial_accumulator_value=0.1)",
    "rmsprop(lr=0.01, momentum=0.5, centered=true)",
    "rmsprop(lr=0.01)",
    "adadelta",
    "adam(lr=0.01, amsgrad=true, weight_decay=0.01)",
    "adam(lr=0.01, clip_norm=0.5, l1=0.001)",
    "adam(lr=0.01, clip_norm=0.5, clip_norm_type=inf, clip_per_tensor=true)",
    "adamw(lr=0.01)",
    "adamw(lr=0.01, amsgrad=true, clip_value=0.1)",
    "adamax(lr=0.01)",
    "nadam(lr=0.01)",
    "nadam(lr=0.01, momentum_decay=0.01, weight_decay=0.01)",
    "radam(lr=0.01)",
    "adabelief(lr=0.01)",
    "adabelief(lr=0.01, amsgrad=true)",
    "sgd(lr=0.05, maximize=true)",
    "lion(lr=1e-3, weight_decay=0.1)",
    "lamb(lr=0.01)",
    "lars(lr=0.01, momentum=0.9)",
    "schedulefree_adamw(lr=0.01, warmup_steps=5)",
    "muon(lr=0.02)",
    "rprop(lr=0.01)",
    "rprop(etas=(0.4, 1.3), step_sizes=(1e-4, 0.1), weight_decay=0.01)",
    "asgd(lr=0.05, t0=10)",
    "asgd(lr=0.05, lambd=0.01, alpha=0.6, t0=20, weight_decay=0.01)",
    "adafactor(lr=0.05)",
    "adafactor(lr=0.5, beta2_decay=-0.5, eps=(1e-3, 0.1), d=1.2, weight_decay=0.01)",
    "adam(lr=0.01, lookahead_k=5)",
    "sgd(lr=0.01, momentum=0.9, lookahead_k=3, lookahead_alpha=0.5)",
};
#define NSPECS (sizeof specs / sizeof specs[0])

static void resume_case(const char *spec, dsc_dtype dt, int via_file, const char *dir)
{
    model straight, first, second;
    int64_t call = 0;
    model_init(&straight, spec, dt, 1.0);
    run_steps(&straight, 40, &call);
    snapshot want = take(straight.opt);

    call = 0;
    model_init(&first, spec, dt, 1.0);
    run_steps(&first, 17, &call);
    unsigned char *buf = NULL;
    size_t len = 0;
    char path[512];
    snprintf(path, sizeof path, "%s/resume.safetensors", dir);
    if (via_file) assert_int_equal(dsc_checkpoint_save(first.opt, path, NULL), DSC_OK);
    else buf = save_mem(first.opt, NULL, 0, &len);
    model_free(&first);

    model_init(&second, spec, dt, -2.5); /* other values everywhere: all must be restored */
    dsc_status st = via_file ? dsc_checkpoint_load(second.opt, path, NULL) : dsc_checkpoint_load_mem(second.opt, buf, len, NULL);
    if (st) fail_msg("%s %s: load: %s", spec, dsc_dtype_name(dt), dsc_last_error());
    assert_int_equal(dsc_optim_step_count(second.opt), 16); /* 17 calls, one skipped */
    assert_int_equal(dsc_optim_skipped_count(second.opt), 1);
    run_steps(&second, 23, &call);
    snapshot got = take(second.opt);
    char what[200];
    snprintf(what, sizeof what, "%s %s", spec, dsc_dtype_name(dt));
    assert_same(&want, &got, what);
    model_free(&straight);
    model_free(&second);
    free(buf);
}

static char tmpdir[256];

static void test_resume_is_bit_exact(void **state)
{
    (void)state;
    for (size_t i = 0; i < NSPECS; i++) {
        resume_case(specs[i], DSC_F32, (int)(i % 2), tmpdir);
        resume_case(specs[i], DSC_F64, (int)((i + 1) % 2), tmpdir);
    }
}

/* The same with a schedule on every group (and accumulation in one case); the optimizer
 * restored into has no schedule, or another one: the checkpoint's replaces it. */
static const char *const schedules[] = {
    "cosine(T_max=40)",
    "step(step_size=7, gamma=0.5)",
    "onecycle(max_lr=0.05, total_steps=40)",
    "plateau(patience=2, factor=0.5)",
    "king(patience=4)",
    "cosine_restarts(T_0=7, T_mult=2)",
    "sequential(linear(total_iters=5), cosine(T_max=35), milestones=[5])",
    "cyclic(max_lr=0.05, step_size_up=4, mode=exp_range, gamma=0.9)",
    "noam(model_dim=16, warmup_steps=5)",
    "exponential_stages(decay=0.5, stage_length=6, staircase=true)",
};

/* 40 straight steps against 17 + save + load into an optimizer made with other values
 * (and, when not NULL, the schedule other on group 0) that has stepped + 23, bit for bit; sched (when not
 * NULL) on every group, group1 (when not NULL) the keys of group 1 before the first step. */
static void split_case(const char *spec, const char *sched, const char *group1, dsc_dtype dt, const char *other)
{
    model straight, first, second;
    int64_t call = 0;
    model *runs[2] = {&straight, &first};
    for (int r = 0; r < 2; r++) {
        model_init(runs[r], spec, dt, 1.0);
        if (sched) assert_int_equal(dsc_optim_set_schedule(runs[r]->opt, -1, sched), DSC_OK);
        if (group1) assert_int_equal(dsc_optim_set_group_spec(runs[r]->opt, 1, group1), DSC_OK);
    }
    run_steps(&straight, 40, &call);
    snapshot want = take(straight.opt);
    call = 0;
    run_steps(&first, 17, &call);
    size_t len;
    unsigned char *buf = save_mem(first.opt, NULL, 0, &len);
    model_free(&first);
    model_init(&second, spec, dt, -2.5);
    if (other) assert_int_equal(dsc_optim_set_schedule(second.opt, 0, other), DSC_OK);
    int64_t own = 0;
    run_steps(&second, 3, &own); /* the load replaces the position too */
    char what[300];
    snprintf(what, sizeof what, "%s with %s, group 1 %s, %s", spec, sched ? sched : "no schedule",
             group1 ? group1 : "as created", dsc_dtype_name(dt));
    if (dsc_checkpoint_load_mem(second.opt, buf, len, NULL)) fail_msg("%s: %s", what, dsc_last_error());
    if (sched) assert_non_null(dsc_optim_schedule(second.opt, 1));
    run_steps(&second, 23, &call);
    snapshot got = take(second.opt);
    assert_same(&want, &got, what);
    model_free(&straight);
    model_free(&second);
    free(buf);
}

static void sched_case(const char *spec, const char *sched, dsc_dtype dt, const char *other)
{
    split_case(spec, sched, NULL, dt, other);
}

static double warm_then_decay(int64_t t, void *ctx)
{
    (void)ctx;
    return t < 5 ? (double)(t + 1) / 5 : pow(0.9, (double)(t - 4));
}

/* A schedule of the caller's C function resumes bit for bit when the optimizer loaded
 * into has it attached (the same spec); without it the load is refused, naming it. */
static void test_resume_with_callback_schedule(void **state)
{
    (void)state;
    const char *spec = "adam(lr=0.01)", *sched = "lambda(fn=callback)";
    model straight, first, second, bare;
    int64_t call = 0;
    model *runs[2] = {&straight, &first};
    for (int r = 0; r < 2; r++) {
        model_init(runs[r], spec, DSC_F64, 1.0);
        assert_int_equal(dsc_optim_set_schedule_fn(runs[r]->opt, -1, sched, warm_then_decay, NULL), DSC_OK);
    }
    run_steps(&straight, 30, &call);
    snapshot want = take(straight.opt);
    call = 0;
    run_steps(&first, 12, &call);
    size_t len;
    unsigned char *buf = save_mem(first.opt, NULL, 0, &len);
    model_free(&first);
    model_init(&bare, spec, DSC_F64, -2.5);
    assert_int_not_equal(dsc_checkpoint_load_mem(bare.opt, buf, len, NULL), DSC_OK);
    assert_non_null(strstr(dsc_last_error(), "C function"));
    model_free(&bare);
    model_init(&second, spec, DSC_F64, -2.5);
    assert_int_equal(dsc_optim_set_schedule_fn(second.opt, -1, sched, warm_then_decay, NULL), DSC_OK);
    if (dsc_checkpoint_load_mem(second.opt, buf, len, NULL)) fail_msg("load: %s", dsc_last_error());
    run_steps(&second, 18, &call);
    snapshot got = take(second.opt);
    assert_same(&want, &got, "adam with lambda(fn=callback)");
    model_free(&straight);
    model_free(&second);
    free(buf);
}

/* A window of accumulation left part full by steps without a loss resumes: its loss sum
 * was saved as NaN and the load refused it ("accumulated loss must be a number"), so a
 * descent train run whose epoch ends mid-window could not be resumed. */
static void test_resume_mid_window_without_loss(void **state)
{
    (void)state;
    const char *specs_[] = {"sgd(lr=0.05, momentum=0.9, accumulate=2)", "adam(lr=0.01, accumulate=3)"};
    for (size_t i = 0; i < 2; i++) {
        model straight, first, second;
        int64_t call = 0;
        model_init(&straight, specs_[i], DSC_F64, 1.0);
        model_init(&first, specs_[i], DSC_F64, 1.0);
        run_plain_steps(&straight, 40, &call);
        snapshot want = take(straight.opt);
        call = 0;
        run_plain_steps(&first, 18, &call); /* 17 finite (call 5's is skipped): 1 of 2, 2 of 3 pending */
        int64_t window;
        assert_int_equal(dsc_optim_get_accum(first.opt, &window, NULL), DSC_OK);
        assert_int_equal(window, 17 % (int64_t)(i + 2));
        size_t len;
        unsigned char *buf = save_mem(first.opt, NULL, 0, &len);
        model_free(&first);
        model_init(&second, specs_[i], DSC_F64, -2.5);
        if (dsc_checkpoint_load_mem(second.opt, buf, len, NULL)) fail_msg("%s: %s", specs_[i], dsc_last_error());
        run_plain_steps(&second, 22, &call);
        snapshot got = take(second.opt);
        assert_same(&want, &got, specs_[i]);
        model_free(&straight);
        model_free(&second);
        free(buf);
    }
}

static void test_resume_with_schedules_is_bit_exact(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof schedules / sizeof schedules[0]; i++) {
        sched_case("adam(lr=0.01)", schedules[i], DSC_F32, NULL);
        sched_case("sgd(lr=0.05, momentum=0.9)", schedules[i], DSC_F64, "step(step_size=2)");
        sched_case("nadam(lr=0.01, accumulate=3)", schedules[i], DSC_F64, NULL);
        /* ASGD's eta follows the lr of the step before: a group scalar */
        sched_case("asgd(lr=0.05, lambd=0.01, t0=10)", schedules[i], DSC_F32, NULL);
    }
    /* the named functions and the chained product keep their state too */
    sched_case("sgd(lr=0.05, momentum=0.9)", "lambda(fn=inverse_sqrt, warmup=5)", DSC_F64, NULL);
    sched_case("adam(lr=0.01)", "multiplicative(factor=0.97)", DSC_F32, NULL);
    sched_case("adam(lr=0.01)", "chained(linear(start_factor=0.2, total_iters=6), exponential(gamma=0.95))",
               DSC_F64, "step(step_size=2)");
}

/* ---------------------------------------------------------------- layout and metadata */

static void test_metadata_and_layout(void **state)
{
    (void)state;
    model m;
    int64_t call = 0;
    model_init(&m, "nadam(lr=0.01)", DSC_F32, 1.0);
    run_steps(&m, 7, &call);
    dsc_kv kv[] = {{"rng", "pcg64:123456789"}, {"epoch", "3"}};
    size_t len;
    unsigned char *buf = save_mem(m.opt, kv, 2, &len);
    /* header length: little-endian, data section 8-byte aligned */
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--) n = n << 8 | buf[i];
    assert_int_equal((8 + n) % 8, 0);
    assert_int_equal(buf[8], '{');
    dsc_ckpt *ck;
    assert_int_equal(dsc_ckpt_open_mem(&ck, buf, len), DSC_OK);
    assert_int_equal(dsc_ckpt_header_bytes(ck), n);
    /* w, b and the two moments of each */
    assert_int_equal(dsc_ckpt_tensor_count(ck), 6);
    assert_int_equal(dsc_ckpt_data_bytes(ck), 3 * (NW + NB) * 4);
    dsc_ckpt_tensor t;
    assert_int_equal(dsc_ckpt_find(ck, "param/layer.w", &t), DSC_OK);
    assert_string_equal(t.dtype, "F32");
    assert_int_equal(t.ndim, 2);
    assert_int_equal(t.shape[0], 3);
    assert_int_equal(t.shape[1], 4);
    float w[NW];
    assert_int_equal(t.n, NW);
    assert_int_equal(dsc_ckpt_read(ck, "param/layer.w", 0, NW, w), DSC_OK);
    assert_memory_equal(w, m.w, NW * 4);
    assert_int_equal(dsc_ckpt_find(ck, "state/layer.b/exp_avg_sq", &t), DSC_OK);
    assert_int_equal(t.ndim, 1);
    assert_int_equal(t.shape[0], NB);
    assert_int_equal(dsc_ckpt_find(ck, "state/layer.b/momentum_buffer", &t), DSC_ERR_MISMATCH);
    assert_string_equal(dsc_ckpt_meta(ck, "format"), "descent.checkpoint");
    assert_string_equal(dsc_ckpt_meta(ck, "optimizer"), "nadam");
    assert_string_equal(dsc_ckpt_meta(ck, "groups"), "2");
    assert_string_equal(dsc_ckpt_meta(ck, "step"), "6");
    assert_string_equal(dsc_ckpt_meta(ck, "skipped"), "1");
    assert_string_equal(dsc_ckpt_meta(ck, "group.1.hparams"), "nadam(lr=0.0030000000000000001)");
    assert_string_equal(dsc_ckpt_extra(ck, "rng"), "pcg64:123456789");
    assert_string_equal(dsc_ckpt_extra(ck, "epoch"), "3");
    assert_null(dsc_ckpt_extra(ck, "nothing"));
    /* mu_product reads back to the same double */
    double mu, saved = strtod(dsc_ckpt_meta(ck, "group.0.mu_product"), NULL);
    dsc_optim_get_scalar(m.opt, 0, "mu_product", &mu);
    assert_true(mu == saved && mu != 1.0);
    dsc_hparams hp;
    assert_int_equal(dsc_ckpt_hparams(ck, 1, &hp), DSC_OK);
    assert_true(hp.kind == DSC_NADAM && hp.lr == 0.003);
    dsc_ckpt_close(ck);
    /* a buffer too small is refused; two equal extra keys too */
    size_t len2;
    assert_int_equal(dsc_checkpoint_save_mem(m.opt, buf, 10, &len2, NULL), DSC_ERR_ARG);
    assert_non_null(strstr(dsc_last_error(), "needs"));
    dsc_kv dup[] = {{"a", "1"}, {"a", "2"}};
    assert_int_equal(dsc_checkpoint_save_mem(m.opt, NULL, 0, &len2, &(dsc_checkpoint_save_options){.extra = dup, .nextra = 2}), DSC_ERR_ARG);
    assert_non_null(strstr(dsc_last_error(), "twice"));
    dsc_kv latin1[] = {{"name", "caf\xe9"}};
    assert_int_equal(dsc_checkpoint_save_mem(m.opt, NULL, 0, &len2, &(dsc_checkpoint_save_options){.extra = latin1, .nextra = 1}), DSC_ERR_ARG);
    assert_non_null(strstr(dsc_last_error(), "UTF-8"));
    /* control characters are escaped by the writer and read back */
    dsc_kv text[] = {{"note", "two\nlines\tand \xc3\xa9"}};
    free(buf);
    buf = save_mem(m.opt, text, 1, &len);
    assert_int_equal(dsc_ckpt_open_mem(&ck, buf, len), DSC_OK);
    assert_string_equal(dsc_ckpt_extra(ck, "note"), "two\nlines\tand \xc3\xa9");
    dsc_ckpt_close(ck);
    free(buf);
    model_free(&m);
}

/* Schedule-free saved in eval mode: the restored optimizer is in eval mode with the
 * same parameters, and back in training mode it is the original in training mode. */
static void test_eval_mode_is_restored(void **state)
{
    (void)state;
    model a, b;
    int64_t call = 0;
    model_init(&a, "schedulefree_adamw(lr=0.01)", DSC_F64, 1.0);
    model_init(&b, "schedulefree_adamw(lr=0.01)", DSC_F64, -1.0);
    run_steps(&a, 9, &call);
    assert_int_equal(dsc_optim_eval_mode(a.opt, 1), DSC_OK);
    size_t len;
    unsigned char *buf = save_mem(a.opt, NULL, 0, &len);
    assert_int_equal(dsc_checkpoint_load_mem(b.opt, buf, len, NULL), DSC_OK);
    assert_true(dsc_optim_in_eval_mode(b.opt));
    snapshot sa = take(a.opt), sb = take(b.opt);
    assert_same(&sa, &sb, "eval mode");
    assert_int_equal(dsc_optim_eval_mode(a.opt, 0), DSC_OK);
    assert_int_equal(dsc_optim_eval_mode(b.opt, 0), DSC_OK);
    sa = take(a.opt);
    sb = take(b.opt);
    assert_same(&sa, &sb, "back in training mode");
    free(buf);
    model_free(&a);
    model_free(&b);
}

/* ---------------------------------------------------------------- damaged files */

/* A safetensors file from a header text and a data section. */
static unsigned char *build(const char *json, const void *data, size_t dlen, size_t *len)
{
    size_t n = strlen(json);
    unsigned char *f = malloc(8 + n + dlen + 1);
    assert_non_null(f);
    for (int i = 0; i < 8; i++) f[i] = (unsigned char)((uint64_t)n >> (8 * i));
    memcpy(f + 8, json, n);
    if (dlen) memcpy(f + 8 + n, data, dlen);
    *len = 8 + n + dlen;
    return f;
}

/* Writes the header checksum of f again after an edit (so that the checks behind it
 * are reached), as save.c computes it: the CRC-32 of the length and the header with
 * the checksum's 8 hex digits read as '0'. A header without one is left alone. */
static void seal(unsigned char *f)
{
    static const char key[] = "\"header_checksum\":\"crc32:";
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--) n = n << 8 | f[i];
    unsigned char *at = NULL;
    for (size_t i = 8; !at && i + sizeof key - 1 <= 8 + n; i++)
        if (!memcmp(f + i, key, sizeof key - 1)) at = f + i + sizeof key - 1;
    if (!at) return;
    memset(at, '0', 8);
    char hex[9];
    snprintf(hex, sizeof hex, "%08lx", crc32(0, f, (uInt)(8 + n)));
    memcpy(at, hex, 8);
}

/* file with the first `from` in its header replaced by `to` (and sealed again). */
static unsigned char *edit(const unsigned char *file, size_t len, const char *from, const char *to, size_t *out)
{
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--) n = n << 8 | file[i];
    char *h = malloc(n + 1 + strlen(to));
    char *json = malloc(n + 1 + strlen(to));
    memcpy(h, file + 8, n);
    h[n] = '\0';
    char *at = strstr(h, from);
    if (!at) fail_msg("'%s' is not in the header", from);
    size_t pre = (size_t)(at - h);
    memcpy(json, h, pre);
    strcpy(json + pre, to);
    strcat(json, at + strlen(from));
    unsigned char *f = build(json, file + 8 + n, len - 8 - n, out);
    seal(f);
    free(h);
    free(json);
    return f;
}

typedef struct fixture {
    model m;
    unsigned char *good;
    size_t len;
} fixture;

static void refuse(fixture *fx, const unsigned char *buf, size_t len, dsc_status want, const char *needle)
{
    snapshot before = take(fx->m.opt);
    dsc_status st = dsc_checkpoint_load_mem(fx->m.opt, buf, len, NULL);
    if (st != want) fail_msg("want status %d for '%s', got %d: %s", want, needle, st, dsc_last_error());
    if (!strstr(dsc_last_error(), needle)) fail_msg("message '%s' lacks '%s'", dsc_last_error(), needle);
    snapshot after = take(fx->m.opt);
    assert_same(&before, &after, needle);
}

static void refuse_edit(fixture *fx, const char *from, const char *to, dsc_status want, const char *needle)
{
    size_t len;
    unsigned char *f = edit(fx->good, fx->len, from, to, &len);
    refuse(fx, f, len, want, needle);
    free(f);
}

static void fixture_init(fixture *fx, const char *spec, const char *sched)
{
    int64_t call = 0;
    model_init(&fx->m, spec, DSC_F32, 1.0);
    if (sched) assert_int_equal(dsc_optim_set_schedule(fx->m.opt, -1, sched), DSC_OK);
    run_steps(&fx->m, 9, &call);
    fx->good = save_mem(fx->m.opt, NULL, 0, &fx->len);
    run_steps(&fx->m, 3, &call); /* the optimizer has moved on from the file */
    assert_int_equal(dsc_optim_set_lr(fx->m.opt, 0, 0.02), DSC_OK);
}

static void fixture_free(fixture *fx)
{
    free(fx->good);
    model_free(&fx->m);
}

static void test_truncated_files(void **state)
{
    (void)state;
    fixture fx;
    fixture_init(&fx, "adam(lr=0.01)", NULL);
    for (size_t cut = 0; cut < fx.len; cut++) {
        size_t n = 0;
        for (int i = 7; i >= 0; i--) n = n << 8 | fx.good[i];
        const char *needle = cut < 8 ? "too short" : cut < 8 + n ? "runs past the end" : "truncated";
        snapshot before = take(fx.m.opt);
        dsc_status st = dsc_checkpoint_load_mem(fx.m.opt, fx.good, cut, NULL);
        if (st != DSC_ERR_FORMAT) fail_msg("cut at %zu: status %d (%s)", cut, st, dsc_last_error());
        if (!strstr(dsc_last_error(), needle)) fail_msg("cut at %zu: '%s' lacks '%s'", cut, dsc_last_error(), needle);
        snapshot after = take(fx.m.opt);
        assert_same(&before, &after, "truncated");
    }
    /* and the whole file loads */
    assert_int_equal(dsc_checkpoint_load_mem(fx.m.opt, fx.good, fx.len, NULL), DSC_OK);
    fixture_free(&fx);
}

static void test_damaged_files(void **state)
{
    (void)state;
    fixture fx;
    fixture_init(&fx, "adam(lr=0.01)", NULL);
    unsigned char *bad = malloc(fx.len);
    memcpy(bad, fx.good, fx.len);
    /* absurd header lengths */
    bad[7] = 0x80;
    refuse(&fx, bad, fx.len, DSC_ERR_FORMAT, "absurd");
    memcpy(bad, fx.good, 8);
    bad[3] = 0x01; /* 16 MiB: under the limit, past the end */
    refuse(&fx, bad, fx.len, DSC_ERR_FORMAT, "runs past the end");
    memcpy(bad, fx.good, 8);
    /* one flipped bit in the data: the checksum */
    bad[fx.len - 3] ^= 0x10;
    refuse(&fx, bad, fx.len, DSC_ERR_FORMAT, "checksum mismatch");
    free(bad);
    /* malformed JSON, and JSON of the wrong shape */
    refuse_edit(&fx, "\"format\":", "\"format\" ", DSC_ERR_FORMAT, "malformed JSON");
    refuse_edit(&fx, "\"dtype\":\"F32\"", "\"dtype\":\"F32\",}", DSC_ERR_FORMAT, "malformed JSON");
    refuse_edit(&fx, "\"groups\":\"2\"", "\"groups\":2", DSC_ERR_FORMAT, "must be a string");
    refuse_edit(&fx, "\"dtype\":\"F32\"", "\"dtype\":\"F31\"", DSC_ERR_FORMAT, "unknown dtype 'F31'");
    refuse_edit(&fx, "\"shape\":[3,4]", "\"shape\":[3,-4]", DSC_ERR_FORMAT, "integers >= 0");
    refuse_edit(&fx, "\"shape\":[3,4]", "\"shape\":[3,4.5]", DSC_ERR_FORMAT, "integers >= 0");
    refuse_edit(&fx, "\"shape\":[3,4]", "\"shape\":[3,5]", DSC_ERR_FORMAT, "hold 48 bytes");
    refuse_edit(&fx, "\"shape\":[3,4]", "\"shape\":[3,4],\"extra\":1", DSC_ERR_FORMAT, "unknown field 'extra'");
    refuse_edit(&fx, "\"data_offsets\":[0,48]", "\"data_offsets\":[48,0]", DSC_ERR_FORMAT, "begin <= end");
    refuse_edit(&fx, "\"data_offsets\":[48,96]", "\"data_offsets\":[40,88]", DSC_ERR_FORMAT, "overlap");
    refuse_edit(&fx, "\"state/layer.b/exp_avg\"", "\"state/layer.w/exp_avg\"", DSC_ERR_FORMAT, "appears twice");
    refuse_edit(&fx, "\"optimizer\":\"adam\"", "\"optimizer\":\"ad\001am\"", DSC_ERR_FORMAT, "control character");
    refuse_edit(&fx, "\"optimizer\":\"adam\"", "\"optimizer\":\"ad\xc3\x28m\"", DSC_ERR_FORMAT, "UTF-8");
    refuse_edit(&fx, "{", "[{", DSC_ERR_FORMAT, "starting with '{'");
    /* a valid file of the wrong content */
    refuse_edit(&fx, "\"format\":\"descent.checkpoint\"", "\"format\":\"pt\"", DSC_ERR_FORMAT, "not a descent checkpoint");
    refuse_edit(&fx, "\"format_version\":\"1\"", "\"format_version\":\"9\"", DSC_ERR_UNSUPPORTED, "format_version");
    refuse_edit(&fx, "\"step\":", "\"steps\":", DSC_ERR_FORMAT, "lacks 'step'");
    refuse_edit(&fx, "\"checksum\":", "\"checksun\":", DSC_ERR_FORMAT, "lacks 'checksum'");
    refuse_edit(&fx, "\"step\":\"8\"", "\"step\":\"8x\"", DSC_ERR_FORMAT, "'step'");
    refuse_edit(&fx, "\"skipped\":\"1\"", "\"skipped\":\"-1\"", DSC_ERR_FORMAT, "counters");
    refuse_edit(&fx, "\"optimizer\":\"adam\"", "\"optimizer\":\"sgd\"", DSC_ERR_MISMATCH, "holds optimizer 'sgd'");
    refuse_edit(&fx, "\"groups\":\"2\"", "\"groups\":\"3\"", DSC_ERR_MISMATCH, "3 parameter groups");
    refuse_edit(&fx, "adam(lr=0.01)", "adam(lr=-1)", DSC_ERR_FORMAT, "group.0.hparams");
    refuse_edit(&fx, "adam(lr=0.01)", "sgd(lr=0.01)", DSC_ERR_MISMATCH, "group 0 of the checkpoint is 'sgd'");
    refuse_edit(&fx, "\"group.0.mu_product\":\"1\"", "\"group.0.mu_product\":\"inf\"", DSC_ERR_FORMAT, "finite");
    refuse_edit(&fx, "\"param/layer.w\"", "\"param/layer.v\"", DSC_ERR_MISMATCH, "'param/layer.w' is missing");
    refuse_edit(&fx, "\"dtype\":\"F32\"", "\"dtype\":\"I32\"", DSC_ERR_MISMATCH, "I32 in the checkpoint");
    refuse_edit(&fx, "\"shape\":[3,4]", "\"shape\":[4,3]", DSC_ERR_MISMATCH, "shape [4, 3] in the checkpoint, [3, 4]");
    refuse_edit(&fx, "\"shape\":[3,4]", "\"shape\":[12]", DSC_ERR_MISMATCH, "shape [12]");
    /* group 1 refused after group 0 was applied: group 0 must be rolled back too */
    refuse_edit(&fx, "adam(lr=0.0030000000000000001)", "adam(lr=0.0030000000000000001, clip_norm=1)",
                DSC_ERR_MISMATCH, "group 1");
    fixture_free(&fx);
}

static void test_damaged_schedules(void **state)
{
    (void)state;
    fixture fx;
    fixture_init(&fx, "adam(lr=0.01)", "king(patience=3)");
    /* the optimizer has moved on to another schedule: a failed load must keep it */
    assert_int_equal(dsc_optim_set_schedule(fx.m.opt, 0, "step(step_size=3)"), DSC_OK);
    int64_t call = 20;
    run_steps(&fx.m, 2, &call);
    refuse_edit(&fx, "\"group.0.schedule\":\"king(patience=3)\"", "\"group.0.schedule\":\"kong(patience=3)\"",
                DSC_ERR_FORMAT, "'group.0.schedule'");
    refuse_edit(&fx, "\"group.0.schedule\":\"king(patience=3)\"", "\"group.0.schedule\":\"king(patience=0)\"",
                DSC_ERR_FORMAT, "'group.0.schedule'");
    refuse_edit(&fx, "\"group.0.schedule.state.position\":\"8\"", "\"group.0.schedule.state.position\":\"-1\"",
                DSC_ERR_FORMAT, "group.0.schedule.state.position");
    refuse_edit(&fx, "\"group.0.schedule.state.position\":", "\"group.0.schedule.state.pos\":", DSC_ERR_FORMAT,
                "lacks 'group.0.schedule.state.position'");
    refuse_edit(&fx, "\"group.0.schedule.base_lr\":", "\"group.0.schedule.base\":", DSC_ERR_FORMAT,
                "lacks 'group.0.schedule.base_lr'");
    /* numbers past the range of a double are refused, not read as infinity (the saved
     * value stays behind as an unused key, so the JSON remains valid) */
    const char *const huge[] = {"group.0.schedule.base_lr", "group.0.schedule.state.lr", "accumulate.loss_sum"};
    for (size_t i = 0; i < sizeof huge / sizeof *huge; i++) {
        char from[80], to[120], needle[120];
        snprintf(from, sizeof from, "\"%s\":\"", huge[i]);
        snprintf(to, sizeof to, "\"%s\":\"%s1e999\",\"unused\":\"", huge[i], i % 2 ? "-" : "");
        snprintf(needle, sizeof needle, "'%s': checkpoint: %s is out of the range of a double", huge[i], huge[i]);
        refuse_edit(&fx, from, to, DSC_ERR_FORMAT, needle);
    }
    refuse_edit(&fx, "\"group.1.schedule.history\":\"", "\"group.1.schedule.history\":\"x,", DSC_ERR_FORMAT,
                "group.1.schedule.history");
    refuse_edit(&fx, "\"group.1.schedule.history\":\"", "\"group.1.schedule.history\":\"1,2,3,4,", DSC_ERR_FORMAT,
                "at most 6");
    refuse_edit(&fx, "\"accumulate.count\":\"0\"", "\"accumulate.count\":\"1\"", DSC_ERR_MISMATCH, "accumulation");
    /* group 1 refused after group 0's schedule was replaced: it comes back */
    refuse_edit(&fx, "adam(lr=0.0030000000000000001)", "adam(lr=0.0030000000000000001, clip_norm=1)",
                DSC_ERR_MISMATCH, "group 1");
    /* and the file as it is loads, with its schedule */
    assert_int_equal(dsc_checkpoint_load_mem(fx.m.opt, fx.good, fx.len, NULL), DSC_OK);
    assert_string_equal(dsc_sched_spec(dsc_optim_schedule(fx.m.opt, 0)), "king(patience=3)");
    fixture_free(&fx);
}

static void test_missing_and_extra_state(void **state)
{
    (void)state;
    fixture with, without;
    fixture_init(&with, "adam(lr=0.01, amsgrad=true)", NULL);
    fixture_init(&without, "adam(lr=0.01)", NULL);
    /* amsgrad's max_exp_avg_sq has nowhere to go; and the other way it is missing */
    size_t len;
    unsigned char *f = edit(with.good, with.len, "amsgrad=true", "amsgrad=false", &len);
    refuse(&without, f, len, DSC_ERR_MISMATCH, "'state/layer.w/max_exp_avg_sq' of the checkpoint matches nothing");
    free(f);
    /* a file whose hyperparameters need a buffer it lacks */
    f = edit(without.good, without.len, "\"adam(lr=0.01)\"", "\"adam(lr=0.01, amsgrad=true)\"", &len);
    refuse(&with, f, len, DSC_ERR_MISMATCH, "'state/layer.w/max_exp_avg_sq' is missing");
    free(f);
    /* a good file sets the layout of its own hyperparameters: amsgrad off, its buffer gone */
    assert_int_equal(dsc_checkpoint_load_mem(with.m.opt, without.good, without.len, NULL), DSC_OK);
    assert_int_equal(dsc_optim_state_count(with.m.opt, 0), 2);
    fixture_free(&with);
    fixture_free(&without);
}

/* Groups that differ in their state buffers (issue 13): group 1 (layer.b) turns momentum,
 * amsgrad or centered on or off. The load goes into an optimizer created with one layout
 * for every group: the file's hyperparameters set each group's buffers. */
static void test_groups_that_differ(void **state)
{
    (void)state;
    static const char *const cases[][2] = {
        {"sgd(lr=0.05)", "lr=0.003, momentum=0.9, dampening=0.1"},
        {"sgd(lr=0.05, momentum=0.9, nesterov=true)", "lr=0.003, momentum=0, nesterov=false"},
        {"adam(lr=0.01)", "lr=0.003, amsgrad=true"},
        {"adamw(lr=0.01, amsgrad=true)", "lr=0.003, amsgrad=false"},
        {"rmsprop(lr=0.01)", "lr=0.003, centered=true, momentum=0.5"},
        {"rmsprop(lr=0.01, centered=true)", "lr=0.003, centered=false"},
        {"adabelief(lr=0.01)", "lr=0.003, amsgrad=true"},
        {"lars(lr=0.01, momentum=0)", "lr=0.003, momentum=0.9"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        split_case(cases[i][0], NULL, cases[i][1], DSC_F32, NULL);
        split_case(cases[i][0], NULL, cases[i][1], DSC_F64, NULL);
    }
    /* a file with a buffer its group's hyperparameters do not use, or without one they need */
    model m;
    int64_t call = 0;
    model_init(&m, "sgd(lr=0.05, momentum=0.9)", DSC_F32, 1.0);
    assert_int_equal(dsc_optim_set_group_spec(m.opt, 1, "momentum=0.5"), DSC_OK);
    run_steps(&m, 5, &call);
    fixture fx = {.m = m};
    fx.good = save_mem(m.opt, NULL, 0, &fx.len);
    refuse_edit(&fx, "momentum=0.5)", "dampening=0.5)", DSC_ERR_MISMATCH,
                "tensor 'state/layer.b/momentum_buffer' of the checkpoint matches nothing");
    assert_int_equal(dsc_optim_set_group_spec(m.opt, 1, "momentum=0, dampening=0.25"), DSC_OK);
    free(fx.good);
    fx.good = save_mem(m.opt, NULL, 0, &fx.len);
    refuse_edit(&fx, "dampening=0.25)", "momentum=0.25)", DSC_ERR_MISMATCH,
                "tensor 'state/layer.b/momentum_buffer' is missing");
    fixture_free(&fx);
}

static void test_foreign_layouts(void **state)
{
    (void)state;
    float d[4] = {1, 2, 3, 4};
    size_t len;
    dsc_ckpt *ck;
    struct { const char *json; size_t dlen; dsc_status want; const char *needle; } cases[] = {
        {"{}", 0, DSC_OK, ""},
        {"{\"__metadata__\":{\"a\":\"b\"}}    ", 0, DSC_OK, ""},
        {"{\"s\":{\"dtype\":\"BF16\",\"shape\":[],\"data_offsets\":[0,2]},"
         "\"z\":{\"dtype\":\"I64\",\"shape\":[0,7],\"data_offsets\":[2,2]},"
         "\"t\":{\"dtype\":\"U8\",\"shape\":[2,1],\"data_offsets\":[2,4]}}", 4, DSC_OK, ""},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 16, DSC_ERR_FORMAT, "belong to no tensor"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}", 16, DSC_ERR_FORMAT, "before tensor 'a'"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}", 8, DSC_ERR_FORMAT, "past the data"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}} x", 16, DSC_ERR_FORMAT, "after the JSON"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[9007199254740992,9007199254740992],\"data_offsets\":[0,16]}}", 16,
         DSC_ERR_FORMAT, "overflows"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,4]}}", 4, DSC_ERR_FORMAT,
         "dimensions"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4, DSC_ERR_FORMAT, "missing field 'data_offsets'"},
        {"{\"a\":[1]}", 0, DSC_ERR_FORMAT, "must be an object"},
        {"{\"__metadata__\":{\"checksum\":\"crc32:zz\"}}", 0, DSC_ERR_FORMAT, "8 hex digits"},
        {"{\"__metadata__\":{},\"__metadata__\":{}}", 0, DSC_ERR_FORMAT, "twice"},
        {"{\"a\":1e400}", 0, DSC_ERR_FORMAT, "must be an object"},
        {"{\"a\":\"\\ud800\"", 0, DSC_ERR_FORMAT, "malformed JSON"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        unsigned char *f = build(cases[i].json, d, cases[i].dlen, &len);
        dsc_status st = dsc_ckpt_open_mem(&ck, f, len);
        if (st != cases[i].want || !strstr(dsc_last_error(), cases[i].needle))
            fail_msg("case %zu: status %d (%s), want %d '%s'", i, st, dsc_last_error(), cases[i].want, cases[i].needle);
        if (!st) {
            assert_int_equal(dsc_ckpt_data_bytes(ck), cases[i].dlen);
            dsc_ckpt_close(ck);
        }
        free(f);
    }
    /* a valid foreign file opens, but is not a checkpoint to restore */
    model m;
    model_init(&m, "sgd", DSC_F32, 1.0);
    unsigned char *f = build("{\"param/layer.w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", d, 16,
                             &len);
    assert_int_equal(dsc_checkpoint_load_mem(m.opt, f, len, NULL), DSC_ERR_FORMAT);
    assert_non_null(strstr(dsc_last_error(), "not a descent checkpoint"));
    free(f);
    model_free(&m);
}

/* Every single-bit flip of the length and the header (each byte before the data) is
 * refused, leaving the optimizer as it was, or loads the very values of the intact
 * file (a flip in a key nobody reads): never other numbers. The header checksum
 * refuses nearly all of them; before it, 4 % of the flips resumed with another
 * activation, step, rate or state. */
static void test_header_bit_flips(void **state)
{
    (void)state;
    fixture fx;
    fixture_init(&fx, "adam(lr=0.01, amsgrad=true)", "plateau(patience=2, factor=0.5)");
    assert_int_equal(dsc_checkpoint_load_mem(fx.m.opt, fx.good, fx.len, NULL), DSC_OK);
    snapshot want = take(fx.m.opt);
    size_t n = 0, loaded = 0, refused = 0;
    for (int i = 7; i >= 0; i--) n = n << 8 | fx.good[i];
    n += 8; /* the length too */
    unsigned char *bad = malloc(fx.len);
    assert_non_null(bad);
    for (size_t bit = 0; bit < 8 * n; bit++) {
        memcpy(bad, fx.good, fx.len);
        bad[bit / 8] ^= (unsigned char)(1u << bit % 8);
        dsc_status st = dsc_checkpoint_load_mem(fx.m.opt, bad, fx.len, NULL);
        snapshot got = take(fx.m.opt);
        if (got.len != want.len || memcmp(got.bytes, want.bytes, got.len))
            fail_msg("flipping bit %zu of byte %zu ('%c') %s other values", bit % 8, bit / 8, fx.good[bit / 8],
                     st ? "was refused but left" : "loaded");
        if (st) refused++;
        else loaded++;
    }
    /* the only flips that load are those in the name of a key the restore never reads */
    assert_true(refused > 40 * loaded);
    free(bad);
    fixture_free(&fx);
}

/* A header without the header checksum (a file from before it, or from another
 * writer) still loads; a wrong one, one that is not 8 hex digits and one given twice
 * are refused. */
static void test_header_checksum(void **state)
{
    (void)state;
    fixture fx;
    fixture_init(&fx, "adam(lr=0.01)", NULL);
    size_t len;
    unsigned char *f = edit(fx.good, fx.len, ",\"header_checksum\":\"crc32:", ",\"unread\":\"crc32:", &len);
    assert_int_equal(dsc_checkpoint_load_mem(fx.m.opt, f, len, NULL), DSC_OK);
    free(f);
    unsigned char *bad = malloc(fx.len);
    memcpy(bad, fx.good, fx.len);
    char *digits = strstr((char *)bad + 8, "\"header_checksum\":\"crc32:") + 25;
    digits[3] ^= 1;
    refuse(&fx, bad, fx.len, DSC_ERR_FORMAT, "header checksum mismatch");
    digits[3] = 'A';
    refuse(&fx, bad, fx.len, DSC_ERR_FORMAT, "'header_checksum' must be crc32:<8 hex digits>");
    free(bad);
    refuse_edit(&fx, "\"checksum\":", "\"header_checksum\":\"crc32:00000000\",\"checksum\":", DSC_ERR_FORMAT,
                "'header_checksum' appears twice");
    refuse_edit(&fx, "\"header_checksum\":", "\"header_\\u0063hecksum\":", DSC_ERR_FORMAT,
                "'header_checksum' is not written as descent writes it");
    fixture_free(&fx);
}

/* f with element i of tensor name set to v (an F32 file), both checksums written again. */
static void set_element(unsigned char *f, size_t len, const char *name, size_t i, float v)
{
    dsc_ckpt *ck;
    dsc_ckpt_tensor t;
    assert_int_equal(dsc_ckpt_open_mem(&ck, f, len), DSC_OK);
    assert_int_equal(dsc_ckpt_find(ck, name, &t), DSC_OK);
    size_t data = len - dsc_ckpt_data_bytes(ck);
    memcpy(f + data + t.begin + i * sizeof v, &v, sizeof v);
    dsc_ckpt_close(ck);
    char *sum = strstr((char *)f + 8, "\"checksum\":\"crc32:") + 18, hex[9];
    snprintf(hex, sizeof hex, "%08lx", crc32(0, f + data, (uInt)(len - data)));
    memcpy(sum, hex, 8);
    seal(f);
}

/* A schedule's restored rate must be one its kind reaches from its keys and base
 * (issue 13 item 2): each file below holds a rate the old bound (the largest key
 * times the base) let through, and is refused naming the key; a rate inside the
 * kind's range loads. The optimizer's lr is 0.01, the schedule's base. */
static void test_restored_rate_in_kind_range(void **state)
{
    (void)state;
    static const struct {
        const char *sched, *outside, *inside;
    } cases[] = {
        {"cosine(T_max=50, eta_min=0.001)", "0", "0.005"},        /* [eta_min, base] */
        {"cosine(T_max=50, eta_min=0.001)", "0.0100001", "0.01"},
        {"step(step_size=3, gamma=0.5)", "0.02", "0"},            /* [0, base]: it underflows */
        {"step(step_size=3, gamma=2)", "0.005", "0.08"},          /* growing: [base, ...) */
        {"multistep(milestones=[2, 4], gamma=0.1)", "0.011", "1e-4"},
        {"exponential(gamma=0.9)", "0.0101", "0.009"},
        {"linear(start_factor=0.5, total_iters=20)", "0.004", "0.0075"}, /* [base/2, base] */
        {"constant(factor=0.5, total_iters=20)", "0.001", "0.005"},
        {"polynomial(total_iters=20, power=2)", "0.0125", "0"},
        {"cosine_restarts(T_0=4, eta_min=0.002)", "0.001", "0.002"},
        {"onecycle(max_lr=0.1, total_steps=100)", "0.2", "0.1"},   /* [0.1/25/1e4, max_lr] */
        {"onecycle(max_lr=0.1, total_steps=100)", "1e-7", "4e-7"},
        {"cyclic(base_lr=0.001, max_lr=0.1, step_size_up=5)", "0.0005", "0.05"},
        {"plateau(min_lr=0.001)", "0.0005", "0.001"},              /* [min_lr, base] */
        {"king(patience=5, decay=0.5)", "0.03", "0.001"},
        {"sequential(constant(factor=0.5), cosine(T_max=5, eta_min=0.002), milestones=[4])", "0.001", "0.002"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        fixture fx;
        fixture_init(&fx, "adam(lr=0.01)", cases[i].sched);
        char to[160];
        snprintf(to, sizeof to, "\"group.0.schedule.state.lr\":\"%s\",\"unused\":\"", cases[i].outside);
        refuse_edit(&fx, "\"group.0.schedule.state.lr\":\"", to, DSC_ERR_FORMAT, "group.0.schedule.state.lr");
        snprintf(to, sizeof to, "\"group.0.schedule.state.lr\":\"%s\",\"unused\":\"", cases[i].inside);
        size_t len;
        unsigned char *f = edit(fx.good, fx.len, "\"group.0.schedule.state.lr\":\"", to, &len);
        if (dsc_checkpoint_load_mem(fx.m.opt, f, len, NULL))
            fail_msg("%s: a rate of %s is refused: %s", cases[i].sched, cases[i].inside, dsc_last_error());
        free(f);
        fixture_free(&fx);
    }
}

/* Values a damaged or hand-written file may hold that no save writes: each refused
 * with a message naming its key, the optimizer left as it was. */
static void test_restored_values_are_checked(void **state)
{
    (void)state;
    fixture fx;
    fixture_init(&fx, "adam(lr=0.01)", "cosine(T_max=50, eta_min=0.001)");
    refuse_edit(&fx, "\"step\":\"8\"", "\"step\":\"8\",\"step\":\"10\"", DSC_ERR_FORMAT,
                "__metadata__ key 'step' appears twice");
    refuse_edit(&fx, "\"step\":\"8\"", "\"step\":\"9223372036854775807\"", DSC_ERR_FORMAT, "'step'");
    /* a schedule's rate no schedule of its kind gives */
    const char *const rates[] = {"-5", "1e300", "nan"};
    for (size_t i = 0; i < sizeof rates / sizeof *rates; i++) {
        char to[120];
        snprintf(to, sizeof to, "\"group.0.schedule.state.lr\":\"%s\",\"unused\":\"", rates[i]);
        refuse_edit(&fx, "\"group.0.schedule.state.lr\":\"", to, DSC_ERR_FORMAT, "group.0.schedule.state.lr");
    }
    /* the state of a schedule whose spec key is damaged */
    refuse_edit(&fx, "\"group.1.schedule\":", "\"group.1.schedulE\":", DSC_ERR_FORMAT,
                "'group.1.schedule.base_lr' belongs to a schedule, but the file has no 'group.1.schedule'");
    /* second moments below 0 or NaN */
    const float bad[] = {-1.0f, NAN};
    for (size_t i = 0; i < 2; i++) {
        unsigned char *f = malloc(fx.len);
        memcpy(f, fx.good, fx.len);
        set_element(f, fx.len, "state/layer.b/exp_avg_sq", 3, bad[i]);
        refuse(&fx, f, fx.len, DSC_ERR_FORMAT, "'state/layer.b/exp_avg_sq' element 3");
        free(f);
    }
    fixture_free(&fx);
}

/* Counters past 2^53 would overflow as the run goes on (and lose exactness as the
 * doubles of the bias corrections): refused when set, and from a file (above). */
static void test_counters_are_bounded(void **state)
{
    (void)state;
    model m;
    model_init(&m, "adam", DSC_F64, 1.0);
    assert_int_equal(dsc_optim_set_counters(m.opt, INT64_MAX, 0, 0), DSC_ERR_RANGE);
    assert_int_equal(dsc_optim_set_counters(m.opt, DSC_MAX_COUNT + 1, 0, 0), DSC_ERR_RANGE);
    assert_int_equal(dsc_optim_set_counters(m.opt, 0, INT64_MAX, 0), DSC_ERR_RANGE);
    assert_int_equal(dsc_optim_set_counters(m.opt, DSC_MAX_COUNT, DSC_MAX_COUNT, 1), DSC_OK);
    int64_t call = 0;
    run_steps(&m, 1, &call); /* no overflow at the largest count */
    assert_true(dsc_optim_step_count(m.opt) == DSC_MAX_COUNT + 1);
    dsc_average *avg;
    assert_int_equal(dsc_average_create(&avg, "ema", m.p, 2), DSC_OK);
    assert_int_equal(dsc_average_set_counters(avg, INT64_MAX, 0), DSC_ERR_RANGE);
    dsc_average_destroy(avg);
    model_free(&m);
}

/* ---------------------------------------------------------------- files */

static void test_file_errors(void **state)
{
    (void)state;
    model m;
    model_init(&m, "adam", DSC_F64, 1.0);
    assert_int_equal(dsc_checkpoint_save(m.opt, "/nonexistent-dir/x.safetensors", NULL), DSC_ERR_IO);
    assert_non_null(strstr(dsc_last_error(), "/nonexistent-dir/x.safetensors"));
    assert_int_equal(dsc_checkpoint_load(m.opt, "/nonexistent-dir/x.safetensors", NULL), DSC_ERR_IO);
    assert_non_null(strstr(dsc_last_error(), "cannot open"));
    assert_int_equal(dsc_checkpoint_load(m.opt, tmpdir, NULL), DSC_ERR_IO);
    assert_non_null(strstr(dsc_last_error(), "not a regular file"));
    /* a save replaces the file; no temporary stays behind */
    char path[512];
    snprintf(path, sizeof path, "%s/replace.safetensors", tmpdir);
    assert_int_equal(dsc_checkpoint_save(m.opt, path, NULL), DSC_OK);
    assert_int_equal(dsc_checkpoint_save(m.opt, path, NULL), DSC_OK);
    DIR *dir = opendir(tmpdir);
    for (struct dirent *e; (e = readdir(dir));) assert_null(strstr(e->d_name, ".tmp."));
    closedir(dir);
    assert_int_equal(dsc_checkpoint_load(m.opt, path, NULL), DSC_OK);
    /* the file opened for inspection: metadata in file order */
    dsc_ckpt *ck;
    assert_int_equal(dsc_ckpt_open(&ck, path), DSC_OK);
    const char *key, *value;
    assert_int_equal(dsc_ckpt_meta_at(ck, 0, &key, &value), DSC_OK);
    assert_string_equal(key, "format");
    assert_string_equal(value, "descent.checkpoint");
    assert_int_equal(dsc_ckpt_meta_at(ck, dsc_ckpt_meta_count(ck) - 2, &key, &value), DSC_OK);
    assert_string_equal(key, "checksum");
    assert_int_equal(dsc_ckpt_meta_at(ck, dsc_ckpt_meta_count(ck) - 1, &key, &value), DSC_OK);
    assert_string_equal(key, "header_checksum");
    assert_int_equal(dsc_ckpt_meta_at(ck, dsc_ckpt_meta_count(ck), &key, &value), DSC_ERR_ARG);
    assert_int_equal(dsc_ckpt_tensor_count(ck), 6);
    dsc_ckpt_tensor t;
    assert_int_equal(dsc_ckpt_tensor_at(ck, 0, &t), DSC_OK);
    assert_string_equal(t.name, "param/layer.w");
    assert_int_equal(dsc_ckpt_tensor_at(ck, 6, &t), DSC_ERR_ARG);
    /* a checkpoint of another kind does not restore, and says so */
    dsc_optim *sgd;
    assert_int_equal(dsc_optim_create_spec(&sgd, "sgd", m.p, 2), DSC_OK);
    assert_int_equal(dsc_ckpt_restore(ck, sgd, NULL), DSC_ERR_MISMATCH);
    assert_non_null(strstr(dsc_last_error(), "holds optimizer 'adam', this one is 'sgd'"));
    dsc_optim_destroy(sgd);
    dsc_ckpt_close(ck);
    model_free(&m);
}

/* A save replaces the file a user made as it was made: its mode stays, a symbolic
 * link (absolute, relative, dangling, chained) stays a link to the file that is
 * replaced, and a name as long as the file system allows works. */
static void test_save_keeps_mode_links_and_long_names(void **state)
{
    (void)state;
    model m;
    model_init(&m, "adam", DSC_F64, 1.0);
    char dir[300], path[900], link[900], other[900];
    struct stat sb;
    snprintf(dir, sizeof dir, "%s/keep", tmpdir);
    assert_int_equal(mkdir(dir, 0700), 0);
    /* the mode */
    snprintf(path, sizeof path, "%s/private.st", dir);
    assert_int_equal(dsc_checkpoint_save(m.opt, path, NULL), DSC_OK);
    assert_int_equal(chmod(path, 0600), 0);
    assert_int_equal(dsc_checkpoint_save(m.opt, path, NULL), DSC_OK);
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 07777, 0600);
    assert_int_equal(chmod(path, 0640), 0);
    assert_int_equal(dsc_checkpoint_save(m.opt, path, NULL), DSC_OK);
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 07777, 0640);
    /* an absolute link, then a relative link to that link: both stay links */
    snprintf(link, sizeof link, "%s/latest.st", dir);
    assert_int_equal(symlink(path, link), 0);
    snprintf(other, sizeof other, "%s/alias.st", dir);
    assert_int_equal(symlink("latest.st", other), 0);
    int64_t call = 0;
    run_steps(&m, 2, &call);
    assert_int_equal(dsc_checkpoint_save(m.opt, other, NULL), DSC_OK);
    assert_int_equal(lstat(link, &sb), 0);
    assert_true(S_ISLNK(sb.st_mode));
    assert_int_equal(lstat(other, &sb), 0);
    assert_true(S_ISLNK(sb.st_mode));
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 07777, 0640);
    dsc_ckpt *ck;
    assert_int_equal(dsc_ckpt_open(&ck, path), DSC_OK); /* the target holds the new save */
    assert_string_equal(dsc_ckpt_meta(ck, "step"), "2");
    dsc_ckpt_close(ck);
    /* a dangling link: its target is created */
    snprintf(link, sizeof link, "%s/dangling.st", dir);
    assert_int_equal(symlink("later.st", link), 0);
    assert_int_equal(dsc_checkpoint_save(m.opt, link, NULL), DSC_OK);
    assert_int_equal(lstat(link, &sb), 0);
    assert_true(S_ISLNK(sb.st_mode));
    snprintf(other, sizeof other, "%s/later.st", dir);
    assert_int_equal(dsc_checkpoint_load(m.opt, other, NULL), DSC_OK);
    /* a name of NAME_MAX bytes: the temporary's must fit too */
    int len = snprintf(path, sizeof path, "%s/", dir);
    memset(path + len, 'n', 255);
    path[len + 255] = '\0';
    assert_int_equal(dsc_checkpoint_save(m.opt, path, NULL), DSC_OK);
    assert_int_equal(dsc_checkpoint_save(m.opt, path, NULL), DSC_OK);
    assert_int_equal(dsc_checkpoint_load(m.opt, path, NULL), DSC_OK);
    DIR *d = opendir(dir);
    for (struct dirent *e; (e = readdir(d));) assert_null(strstr(e->d_name, ".tmp."));
    closedir(d);
    model_free(&m);
}

/* Is there a temporary file of a save in progress in dir? */
static int save_in_progress(const char *dir)
{
    DIR *d = opendir(dir);
    int found = 0;
    for (struct dirent *e; d && (e = readdir(d));) found |= strstr(e->d_name, ".tmp.") != NULL;
    if (d) closedir(d);
    return found;
}

#define BIG (1u << 20)

/* A child saves a large checkpoint over and over, each time with other values; the
 * parent kills it with SIGKILL while a save is in progress. The file must still be
 * one whole, earlier checkpoint. */
static void test_kill_mid_save_keeps_old_file(void **state)
{
    (void)state;
    char dir[300], path[400];
    snprintf(dir, sizeof dir, "%s/kill", tmpdir);
    assert_int_equal(mkdir(dir, 0700), 0);
    snprintf(path, sizeof path, "%s/big.safetensors", dir);
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        float *x = malloc(BIG * sizeof *x), *g = calloc(BIG, sizeof *g);
        dsc_param p = {.name = "x", .data = x, .grad = g, .n = BIG, .dtype = DSC_F32};
        dsc_optim *opt;
        if (!x || !g || dsc_optim_create_spec(&opt, "adam", &p, 1)) _exit(3);
        for (int k = 1;; k++) {
            for (size_t i = 0; i < BIG; i++) x[i] = (float)k;
            if (dsc_checkpoint_save(opt, path, NULL)) _exit(4);
            if (write(fds[1], "s", 1) != 1) _exit(5);
        }
    }
    close(fds[1]);
    char c;
    for (int k = 0; k < 2; k++) assert_int_equal(read(fds[0], &c, 1), 1);
    int seen = 0;
    for (int tries = 0; tries < 200000 && !seen; tries++) {
        seen = save_in_progress(dir);
        if (!seen) {
            struct timespec ts = {0, 50000};
            nanosleep(&ts, NULL);
        }
    }
    kill(pid, SIGKILL);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    close(fds[0]);
    assert_true(WIFSIGNALED(status));
    assert_true(seen);
    float *x = malloc(BIG * sizeof *x), *g = calloc(BIG, sizeof *g);
    dsc_param p = {.name = "x", .data = x, .grad = g, .n = BIG, .dtype = DSC_F32};
    dsc_optim *opt;
    assert_int_equal(dsc_optim_create_spec(&opt, "adam", &p, 1), DSC_OK);
    if (dsc_checkpoint_load(opt, path, NULL)) fail_msg("after the kill: %s", dsc_last_error());
    assert_true(x[0] >= 2);
    for (size_t i = 0; i < BIG; i++)
        if (x[i] != x[0]) fail_msg("element %zu is %g, element 0 is %g: a torn file", i, x[i], x[0]);
    /* the killed save's temporary is gone after the next save */
    assert_true(save_in_progress(dir));
    assert_int_equal(dsc_checkpoint_save(opt, path, NULL), DSC_OK);
    assert_false(save_in_progress(dir));
    dsc_optim_destroy(opt);
    free(x);
    free(g);
}

static void touch(const char *dir, const char *name)
{
    char path[600];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fclose(f), 0);
}

static int exists(const char *dir, const char *name)
{
    char path[600];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return access(path, F_OK) == 0;
}

/* A save removes the temporaries of earlier saves of the same file whose writer is
 * gone, and nothing else: not a live writer's, not another file's, not a name that
 * only looks like one. */
static void test_save_removes_stale_temporaries(void **state)
{
    (void)state;
    char dir[300], path[400], dead[100], live[100], other[100], odd[100];
    snprintf(dir, sizeof dir, "%s/stale", tmpdir);
    assert_int_equal(mkdir(dir, 0700), 0);
    snprintf(path, sizeof path, "%s/ck.st", dir);
    pid_t pid = fork(); /* a pid that is no longer alive: a child that has exited and been reaped */
    assert_true(pid >= 0);
    if (pid == 0) _exit(0);
    assert_int_equal(waitpid(pid, NULL, 0), pid);
    snprintf(dead, sizeof dead, "ck.st.tmp.%ld.0", (long)pid);
    snprintf(live, sizeof live, "ck.st.tmp.%ld.3", (long)getpid());
    snprintf(other, sizeof other, "other.st.tmp.%ld.0", (long)pid);
    snprintf(odd, sizeof odd, "ck.st.tmp.%ld.0.keep", (long)pid);
    touch(dir, dead);
    touch(dir, live);
    touch(dir, other);
    touch(dir, odd);
    model m;
    model_init(&m, "adam", DSC_F64, 1.0);
    assert_int_equal(dsc_checkpoint_save(m.opt, path, NULL), DSC_OK);
    assert_false(exists(dir, dead));
    assert_true(exists(dir, live));
    assert_true(exists(dir, other));
    assert_true(exists(dir, odd));
    assert_int_equal(dsc_checkpoint_load(m.opt, path, NULL), DSC_OK);
    model_free(&m);
}

/* ---------------------------------------------------------------- weight averages */

/* calls steps, folding the average in after every update (as descent optimize does) */
static void run_avg_steps(model *m, dsc_average *avg, int calls, int64_t *call)
{
    for (int s = 0; s < calls; s++) {
        run_steps(m, 1, call);
        if (dsc_optim_last_updated(m->opt) && dsc_average_update(avg)) fail_msg("update: %s", dsc_last_error());
    }
}

static snapshot take_all(const dsc_optim *opt, const dsc_average *avg)
{
    snapshot s = take(opt);
    for (size_t i = 0; i < dsc_average_count(avg); i++) {
        const dsc_param *q = dsc_average_param(avg, i);
        void *d;
        assert_int_equal(dsc_average_buffer(avg, i, NULL, &d), DSC_OK);
        put(&s, d, q->n * dsc_dtype_size(q->dtype));
    }
    int64_t c[3] = {dsc_average_updates(avg), dsc_average_averaged(avg), dsc_average_swapped(avg)};
    put(&s, c, sizeof c);
    return s;
}

/* spec's average over m's parameters, or for "ax" ASGD's over m's optimizer */
static dsc_average *average_of(model *m, const char *spec)
{
    dsc_average *avg;
    dsc_status st = strcmp(spec, "ax") ? dsc_average_create(&avg, spec, m->p, 2) : dsc_average_create_ax(&avg, m->opt);
    if (st) fail_msg("%s: %s", spec, dsc_last_error());
    return avg;
}

static unsigned char *save_mem_avg(const model *m, const dsc_average *avg, size_t *len)
{
    if (dsc_checkpoint_save_mem(m->opt, NULL, 0, len, &(dsc_checkpoint_save_options){.average = avg})) fail_msg("size: %s", dsc_last_error());
    unsigned char *buf = malloc(*len);
    assert_non_null(buf);
    size_t written;
    if (dsc_checkpoint_save_mem(m->opt, buf, *len, &written, &(dsc_checkpoint_save_options){.average = avg})) fail_msg("save: %s", dsc_last_error());
    assert_int_equal(written, *len); /* the size query (no checksum computed) agrees */
    return buf;
}

/* 17 calls, save optimizer and average, load both into fresh ones (other values
 * everywhere; the average spelled `again`), 23 calls == 40 straight calls. */
static void avg_resume_case(const char *spec, const char *avgspec, const char *again, dsc_dtype dt, int via_file)
{
    model straight, first, second;
    int64_t call = 0;
    model_init(&straight, spec, dt, 1.0);
    dsc_average *a = average_of(&straight, avgspec);
    run_avg_steps(&straight, a, 40, &call);
    snapshot want = take_all(straight.opt, a);
    dsc_average_destroy(a);

    call = 0;
    model_init(&first, spec, dt, 1.0);
    a = average_of(&first, avgspec);
    run_avg_steps(&first, a, 17, &call);
    char path[512];
    size_t len = 0;
    unsigned char *buf = NULL;
    snprintf(path, sizeof path, "%s/average.safetensors", tmpdir);
    if (via_file) assert_int_equal(dsc_checkpoint_save(first.opt, path, &(dsc_checkpoint_save_options){.average = a}), DSC_OK);
    else buf = save_mem_avg(&first, a, &len);
    dsc_average_destroy(a);
    model_free(&first);

    model_init(&second, spec, dt, -2.5);
    a = average_of(&second, again);
    dsc_status st = via_file ? dsc_checkpoint_load(second.opt, path, &(dsc_checkpoint_load_options){.average = a})
                             : dsc_checkpoint_load_mem(second.opt, buf, len, &(dsc_checkpoint_load_options){.average = a});
    if (st) fail_msg("%s + %s %s: load: %s", spec, avgspec, dsc_dtype_name(dt), dsc_last_error());
    assert_int_equal(dsc_average_updates(a), dsc_optim_step_count(second.opt));
    run_avg_steps(&second, a, 23, &call);
    snapshot got = take_all(second.opt, a);
    char what[300];
    snprintf(what, sizeof what, "%s with %s, %s", spec, avgspec, dsc_dtype_name(dt));
    assert_same(&want, &got, what);
    dsc_average_destroy(a);
    model_free(&straight);
    model_free(&second);
    free(buf);
}

static void test_average_resume_is_bit_exact(void **state)
{
    (void)state;
    static const char *const opts[] = {
        "adam(lr=0.01)",
        "lookahead(inner=adam(lr=0.01), k=5, alpha=0.5)",
        "schedulefree_adamw(lr=0.01, warmup_steps=5)",
        "sgd(lr=0.05, momentum=0.9, accumulate=3)",
    };
    static const char *const avgs[][2] = {
        {"ema(decay=0.9)", "ema(every=1, decay=0.90)"},
        {"swa(start=4, every=3)", "swa(every=3, start=4)"},
        {"ema(decay=0.5, every=2, start=7)", "ema(start=7, every=2, decay=5e-1)"},
    };
    for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++)
        for (size_t j = 0; j < sizeof avgs / sizeof avgs[0]; j++) {
            avg_resume_case(opts[i], avgs[j][0], avgs[j][1], DSC_F32, (int)((i + j) % 2));
            avg_resume_case(opts[i], avgs[j][0], avgs[j][1], DSC_F64, (int)((i + j + 1) % 2));
        }
    /* ASGD's own average, averaging from step 12 (t0=10), across the save at 17 */
    for (int via_file = 0; via_file < 2; via_file++) {
        avg_resume_case("asgd(lr=0.05, t0=10)", "ax", "ax", DSC_F32, via_file);
        avg_resume_case("asgd(lr=0.05, t0=10, accumulate=2)", "ax", "ax", DSC_F64, !via_file);
    }
}


/* The tensor named name, which must hold the bytes at want. */
static void assert_tensor(const dsc_ckpt *ck, const char *name, const void *want, size_t bytes)
{
    dsc_ckpt_tensor t;
    if (dsc_ckpt_find(ck, name, &t)) fail_msg("no tensor %s", name);
    assert_int_equal(t.end - t.begin, bytes);
    void *got = malloc(bytes ? bytes : 1);
    assert_non_null(got);
    assert_int_equal(dsc_ckpt_read(ck, name, 0, t.n, got), DSC_OK);
    if (memcmp(got, want, bytes)) fail_msg("tensor %s holds other bytes", name);
    free(got);
}

static const void *state_named(const dsc_optim *opt, size_t i, const char *want)
{
    for (size_t k = 0; k < dsc_optim_state_count(opt, i); k++) {
        const char *name;
        void *d;
        dsc_optim_state(opt, i, k, &name, &d);
        if (!strcmp(name, want)) return d;
    }
    fail_msg("no state buffer %s", want);
    return NULL;
}

/* The average's tensors and metadata; lookahead's slow weights beside them. */
static void test_average_layout(void **state)
{
    (void)state;
    model m;
    int64_t call = 0;
    model_init(&m, "lookahead(inner=adam(lr=0.01), k=5)", DSC_F64, 1.0);
    dsc_average *avg = average_of(&m, "ema(decay=0.9)");
    run_avg_steps(&m, avg, 9, &call); /* 8 updates: 3 fast steps past the last sync */
    char spec[128];
    assert_int_equal(dsc_average_format(avg, NULL, 0), 48);
    dsc_average_format(avg, spec, sizeof spec);
    assert_string_equal(spec, "ema(decay=0.90000000000000002, every=1, start=0)");
    size_t len;
    unsigned char *buf = save_mem_avg(&m, avg, &len);
    dsc_ckpt *ck;
    assert_int_equal(dsc_ckpt_open_mem(&ck, buf, len), DSC_OK);
    /* w and b: param, exp_avg, exp_avg_sq, lookahead_slow; and the two averages */
    assert_int_equal(dsc_ckpt_tensor_count(ck), 10);
    assert_string_equal(dsc_ckpt_meta(ck, "average"), spec);
    assert_string_equal(dsc_ckpt_meta(ck, "average.updates"), "8");
    assert_string_equal(dsc_ckpt_meta(ck, "average.averaged"), "8");
    dsc_ckpt_tensor t;
    assert_int_equal(dsc_ckpt_find(ck, "average/layer.w/ema", &t), DSC_OK);
    assert_true(t.ndim == 2 && t.shape[0] == 3 && t.shape[1] == 4 && !strcmp(t.dtype, "F64"));
    assert_int_equal(dsc_ckpt_find(ck, "average/layer.b/ema", &t), DSC_OK);
    assert_true(t.ndim == 1 && t.shape[0] == NB);
    for (size_t i = 0; i < 2; i++) {
        char name[64];
        void *a;
        size_t bytes = m.p[i].n * sizeof(double);
        dsc_average_buffer(avg, i, NULL, &a);
        snprintf(name, sizeof name, "average/%s/ema", m.p[i].name);
        assert_tensor(ck, name, a, bytes);
        snprintf(name, sizeof name, "param/%s", m.p[i].name);
        assert_tensor(ck, name, m.p[i].data, bytes);
        /* the slow weights are saved, and mid-cycle they are not the parameters */
        const double *slow = state_named(m.opt, i, "lookahead_slow");
        snprintf(name, sizeof name, "state/%s/lookahead_slow", m.p[i].name);
        assert_tensor(ck, name, slow, bytes);
        assert_true(slow[0] != ((const double *)m.p[i].data)[0]);
        assert_true(((const double *)a)[0] != ((const double *)m.p[i].data)[0]);
    }
    dsc_ckpt_close(ck);
    free(buf);
    dsc_average_destroy(avg);
    model_free(&m);
}

/* ASGD's ax as an average: the optimizer's state buffers themselves (the parameters
 * before the first step), counted by update, swapped like any average, saved as spec
 * and counters only; refused for another kind and from dsc_average_create. */
static void test_average_ax(void **state)
{
    (void)state;
    model m;
    int64_t call = 0;
    dsc_average *avg = NULL;
    model_init(&m, "adam(lr=0.01)", DSC_F64, 1.0);
    assert_int_equal(dsc_average_create_ax(&avg, m.opt), DSC_ERR_ARG);
    assert_non_null(strstr(dsc_last_error(), "the optimizer is adam"));
    assert_null(avg);
    model_free(&m);
    model_init(&m, "asgd(lr=0.05, t0=3)", DSC_F64, 1.0);
    assert_int_equal(dsc_average_create(&avg, "ax", m.p, 2), DSC_ERR_ARG);
    assert_non_null(strstr(dsc_last_error(), "dsc_average_create_ax"));
    assert_int_equal(dsc_average_create(&avg, "ax(t0=3)", m.p, 2), DSC_ERR_SPEC);
    avg = average_of(&m, "ax");
    for (size_t i = 0; i < 2; i++) {
        void *a;
        const char *name;
        assert_int_equal(dsc_average_buffer(avg, i, &name, &a), DSC_OK);
        assert_string_equal(name, "ax");
        assert_ptr_equal(a, state_named(m.opt, i, "ax"));
        assert_memory_equal(a, m.p[i].data, m.p[i].n * sizeof(double));
    }
    run_avg_steps(&m, avg, 9, &call); /* 8 updates (step 5 is skipped); averaging from step 5 */
    assert_int_equal(dsc_average_updates(avg), 8);
    assert_int_equal(dsc_average_averaged(avg), 8);
    char spec[16];
    assert_int_equal(dsc_average_format(avg, spec, sizeof spec), 2);
    assert_string_equal(spec, "ax");
    double live[NW], ax[NW];
    memcpy(live, m.w, sizeof live);
    memcpy(ax, state_named(m.opt, 0, "ax"), sizeof ax);
    assert_true(memcmp(live, ax, sizeof ax) != 0);
    assert_int_equal(dsc_average_swap(avg), DSC_OK);
    assert_memory_equal(m.w, ax, sizeof ax);
    assert_int_equal(dsc_average_update(avg), DSC_ERR_ARG);
    assert_int_equal(dsc_average_swap(avg), DSC_OK);
    assert_memory_equal(m.w, live, sizeof live);
    assert_memory_equal(state_named(m.opt, 0, "ax"), ax, sizeof ax);
    size_t len;
    unsigned char *buf = save_mem_avg(&m, avg, &len);
    dsc_ckpt *ck;
    assert_int_equal(dsc_ckpt_open_mem(&ck, buf, len), DSC_OK);
    assert_int_equal(dsc_ckpt_tensor_count(ck), 4); /* param/ and state/<name>/ax of w and b */
    assert_string_equal(dsc_ckpt_meta(ck, "average"), "ax");
    assert_string_equal(dsc_ckpt_meta(ck, "average.updates"), "8");
    assert_tensor(ck, "state/layer.w/ax", ax, sizeof ax);
    dsc_ckpt_close(ck);
    free(buf);
    dsc_average_destroy(avg);
    model_free(&m);
}

typedef struct avg_fixture {
    model m;
    dsc_average *avg;
    unsigned char *good;
    size_t len;
} avg_fixture;

static void avg_fixture_init(avg_fixture *fx, const char *avgspec)
{
    int64_t call = 0;
    model_init(&fx->m, "adam(lr=0.01)", DSC_F32, 1.0);
    fx->avg = average_of(&fx->m, avgspec);
    run_avg_steps(&fx->m, fx->avg, 9, &call);
    fx->good = save_mem_avg(&fx->m, fx->avg, &fx->len);
    run_avg_steps(&fx->m, fx->avg, 3, &call); /* both have moved on from the file */
}

static void avg_fixture_free(avg_fixture *fx)
{
    free(fx->good);
    dsc_average_destroy(fx->avg);
    model_free(&fx->m);
}

/* Loading buf into the fixture's optimizer and avg (NULL: the call without) fails
 * with want and a message holding needle, and changes neither. */
static void refuse_avg(avg_fixture *fx, dsc_average *avg, const unsigned char *buf, size_t len, dsc_status want,
                       const char *needle)
{
    snapshot before = take_all(fx->m.opt, fx->avg);
    dsc_status st = avg ? dsc_checkpoint_load_mem(fx->m.opt, buf, len, &(dsc_checkpoint_load_options){.average = avg})
                        : dsc_checkpoint_load_mem(fx->m.opt, buf, len, NULL);
    if (st != want) fail_msg("want status %d for '%s', got %d: %s", want, needle, st, dsc_last_error());
    if (!strstr(dsc_last_error(), needle)) fail_msg("message '%s' lacks '%s'", dsc_last_error(), needle);
    snapshot after = take_all(fx->m.opt, fx->avg);
    assert_same(&before, &after, needle);
}

static void refuse_avg_edit(avg_fixture *fx, const char *from, const char *to, dsc_status want, const char *needle)
{
    size_t len;
    unsigned char *f = edit(fx->good, fx->len, from, to, &len);
    refuse_avg(fx, fx->avg, f, len, want, needle);
    free(f);
}

static void test_average_mismatch(void **state)
{
    (void)state;
    avg_fixture fx;
    avg_fixture_init(&fx, "ema(decay=0.9)");
    /* a file with an average loads only with one, and one without only without */
    refuse_avg(&fx, NULL, fx.good, fx.len, DSC_ERR_MISMATCH, "holds a weight average 'ema(decay=0.9");
    size_t len;
    unsigned char *plain = save_mem(fx.m.opt, NULL, 0, &len);
    refuse_avg(&fx, fx.avg, plain, len, DSC_ERR_MISMATCH, "holds no weight average to restore into 'ema(");
    free(plain);
    /* another spec, another kind, other tensors */
    dsc_average *other = average_of(&fx.m, "ema(decay=0.5)");
    refuse_avg(&fx, other, fx.good, fx.len, DSC_ERR_MISMATCH,
               "weight average is 'ema(decay=0.90000000000000002, every=1, start=0)', this one is 'ema(decay=0.5, ");
    dsc_average_destroy(other);
    other = average_of(&fx.m, "swa");
    refuse_avg(&fx, other, fx.good, fx.len, DSC_ERR_MISMATCH, "this one is 'swa(start=0, every=1)'");
    dsc_average_destroy(other);
    dsc_average *w_only;
    assert_int_equal(dsc_average_create(&w_only, "ema(decay=0.9)", fx.m.p, 1), DSC_OK);
    refuse_avg(&fx, w_only, fx.good, fx.len, DSC_ERR_MISMATCH,
               "'average/layer.b/ema' of the checkpoint matches nothing");
    dsc_average_destroy(w_only);
    /* damaged average entries */
    refuse_avg_edit(&fx, "\"average/layer.w/ema\"", "\"average/layer.v/ema\"", DSC_ERR_MISMATCH,
                    "'average/layer.w/ema' is missing (the average needs it)");
    refuse_avg_edit(&fx, "\"average/layer.w/ema\":{\"dtype\":\"F32\",\"shape\":[3,4]",
                    "\"average/layer.w/ema\":{\"dtype\":\"F32\",\"shape\":[4,3]", DSC_ERR_MISMATCH,
                    "'average/layer.w/ema' has shape [4, 3] in the checkpoint, [3, 4] in the average");
    refuse_avg_edit(&fx, "\"average.averaged\":\"8\"", "\"average.averaged\":\"9\"", DSC_ERR_FORMAT,
                    "averaged <= updates, got updates 8, averaged 9");
    refuse_avg_edit(&fx, "\"average.updates\":\"8\"", "\"average.updates\":\"8.5\"", DSC_ERR_FORMAT,
                    "'average.updates'");
    refuse_avg_edit(&fx, "\"average.updates\":", "\"average.update\":", DSC_ERR_FORMAT, "lacks 'average.updates'");
    refuse_avg_edit(&fx, "\"average\":\"ema(decay=0.90000000000000002, every=1, start=0)\"",
                    "\"average\":\"ema(decay=1)\"", DSC_ERR_FORMAT,
                    "__metadata__ 'average': ema: decay must be in [0, 1)");
    /* a swapped-in average neither saves nor loads: the parameters hold the average */
    assert_int_equal(dsc_average_swap(fx.avg), DSC_OK);
    size_t n;
    assert_int_equal(dsc_checkpoint_save_mem(fx.m.opt, NULL, 0, &n, &(dsc_checkpoint_save_options){.average = fx.avg}), DSC_ERR_ARG);
    assert_non_null(strstr(dsc_last_error(), "swap it back"));
    refuse_avg(&fx, fx.avg, fx.good, fx.len, DSC_ERR_ARG, "swapped into the parameters");
    assert_int_equal(dsc_average_swap(fx.avg), DSC_OK);
    /* and the file as it is loads, spelled another way */
    other = average_of(&fx.m, "ema(decay=9e-1, start=0)");
    assert_int_equal(dsc_checkpoint_load_mem(fx.m.opt, fx.good, fx.len, &(dsc_checkpoint_load_options){.average = other}), DSC_OK);
    assert_int_equal(dsc_average_updates(other), 8);
    dsc_average_destroy(other);
    avg_fixture_free(&fx);
}

/* Schedule-free's param/<name> is always the evaluation point x (once it has
 * stepped), in training mode too; a restore rebuilds the training point. */
static void test_schedulefree_saves_the_eval_point(void **state)
{
    (void)state;
    model a, b;
    int64_t call = 0;
    model_init(&a, "schedulefree_adamw(lr=0.01)", DSC_F64, 1.0);
    size_t len0;
    unsigned char *before = save_mem(a.opt, NULL, 0, &len0); /* no step yet: the parameters */
    dsc_ckpt *ck;
    assert_int_equal(dsc_ckpt_open_mem(&ck, before, len0), DSC_OK);
    assert_tensor(ck, "param/layer.w", a.w, NW * sizeof(double));
    dsc_ckpt_close(ck);
    free(before);
    run_steps(&a, 9, &call);
    size_t len, len_eval;
    unsigned char *train = save_mem(a.opt, NULL, 0, &len);
    assert_int_equal(dsc_optim_eval_mode(a.opt, 1), DSC_OK);
    unsigned char *eval = save_mem(a.opt, NULL, 0, &len_eval);
    assert_int_equal(dsc_optim_eval_mode(a.opt, 0), DSC_OK);
    assert_int_equal(dsc_ckpt_open_mem(&ck, train, len), DSC_OK);
    for (size_t i = 0; i < 2; i++) {
        char name[64];
        const double *x = state_named(a.opt, i, "x");
        snprintf(name, sizeof name, "param/%s", a.p[i].name);
        assert_tensor(ck, name, x, a.p[i].n * sizeof(double));
        assert_true(x[0] != ((const double *)a.p[i].data)[0]); /* y, in the buffers now, differs */
    }
    assert_string_equal(dsc_ckpt_meta(ck, "eval_mode"), "0");
    dsc_ckpt_close(ck);
    assert_int_equal(dsc_ckpt_open_mem(&ck, eval, len_eval), DSC_OK);
    assert_tensor(ck, "param/layer.w", state_named(a.opt, 0, "x"), NW * sizeof(double));
    dsc_ckpt_close(ck);
    /* the training-mode file resumes in training mode, on the bits of the original */
    model_init(&b, "schedulefree_adamw(lr=0.01)", DSC_F64, -1.0);
    assert_int_equal(dsc_checkpoint_load_mem(b.opt, train, len, NULL), DSC_OK);
    assert_false(dsc_optim_in_eval_mode(b.opt));
    snapshot sa = take(a.opt), sb = take(b.opt);
    assert_same(&sa, &sb, "schedule-free restored from its evaluation point");
    int64_t call_b = call;
    run_steps(&a, 5, &call);
    run_steps(&b, 5, &call_b);
    sa = take(a.opt);
    sb = take(b.opt);
    assert_same(&sa, &sb, "schedule-free resumed");
    free(train);
    free(eval);
    model_free(&a);
    model_free(&b);
}

/* ---------------------------------------------------------------- the reader */

/* Writes len bytes to path (a file to damage, or one to restore after). */
static void spit(const char *path, const unsigned char *b, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(b, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

/* dsc_ckpt_read reads any range of a tensor of an open file, as stored, and nothing
 * past its end. */
static void test_read_ranges(void **state)
{
    (void)state;
    fixture fx;
    char path[512];
    fixture_init(&fx, "adam(lr=0.01)", NULL);
    snprintf(path, sizeof path, "%s/ranges.safetensors", tmpdir);
    spit(path, fx.good, fx.len);
    model saved;
    model_init(&saved, "adam(lr=0.01)", DSC_F32, 1.0);
    assert_int_equal(dsc_checkpoint_load_mem(saved.opt, fx.good, fx.len, NULL), DSC_OK);
    for (int via_file = 0; via_file < 2; via_file++) {
        dsc_ckpt *ck;
        assert_int_equal(via_file ? dsc_ckpt_open(&ck, path) : dsc_ckpt_open_mem(&ck, fx.good, fx.len), DSC_OK);
        float w[NW + 1];
        for (size_t first = 0; first <= NW; first++)
            for (size_t count = 0; first + count <= NW; count++) {
                memset(w, 0, sizeof w);
                assert_int_equal(dsc_ckpt_read(ck, "param/layer.w", first, count, w), DSC_OK);
                assert_memory_equal(w, (float *)saved.w + first, count * sizeof *w);
                assert_true(w[count] == 0); /* nothing past the range */
            }
        const void *avg_sq = state_named(saved.opt, 1, "exp_avg_sq");
        assert_int_equal(dsc_ckpt_read(ck, "state/layer.b/exp_avg_sq", 1, NB - 1, w), DSC_OK);
        assert_memory_equal(w, (const float *)avg_sq + 1, (NB - 1) * sizeof *w);
        /* past the end, however the sum overflows */
        const size_t bad[][2] = {{NW, 1}, {0, NW + 1}, {NW + 1, 0}, {3, NW - 2}, {1, SIZE_MAX}, {SIZE_MAX, 2}};
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
            assert_int_equal(dsc_ckpt_read(ck, "param/layer.w", bad[i][0], bad[i][1], w), DSC_ERR_RANGE);
            assert_non_null(strstr(dsc_last_error(), "tensor 'param/layer.w' has 12 elements"));
        }
        assert_int_equal(dsc_ckpt_read(ck, "param/nothing", 0, 1, w), DSC_ERR_MISMATCH);
        assert_int_equal(dsc_ckpt_read(ck, "param/layer.w", 0, 1, NULL), DSC_ERR_ARG);
        dsc_ckpt_close(ck);
    }
    model_free(&saved);
    fixture_free(&fx);
}

/* A file is read when its tensors are wanted: one damaged before it is opened is
 * refused by the data checksum (streamed at open), one cut short after it was opened
 * is refused by the read or the restore, which then leaves the optimizer untouched. */
static void test_file_changed_under_the_reader(void **state)
{
    (void)state;
    fixture fx;
    char path[512];
    fixture_init(&fx, "adam(lr=0.01)", NULL);
    snprintf(path, sizeof path, "%s/changed.safetensors", tmpdir);
    unsigned char *f = malloc(fx.len);
    assert_non_null(f);
    size_t n = 0;
    for (int i = 7; i >= 0; i--) n = n << 8 | fx.good[i];
    for (size_t at = 8 + n; at < fx.len; at += 7) { /* every 7th byte of the data */
        memcpy(f, fx.good, fx.len);
        f[at] ^= 0x10;
        spit(path, f, fx.len);
        dsc_ckpt *ck = NULL;
        assert_int_equal(dsc_ckpt_open(&ck, path), DSC_ERR_FORMAT);
        assert_non_null(strstr(dsc_last_error(), "checksum mismatch: the data section is corrupted"));
        assert_null(ck);
        snapshot before = take(fx.m.opt);
        assert_int_equal(dsc_checkpoint_load(fx.m.opt, path, NULL), DSC_ERR_FORMAT);
        snapshot after = take(fx.m.opt);
        assert_same(&before, &after, "a flipped data byte");
    }
    free(f);
    /* cut short after the open: every later read fails, and so does the restore */
    for (size_t cut = 1; cut <= 64; cut *= 4) {
        spit(path, fx.good, fx.len);
        dsc_ckpt *ck;
        assert_int_equal(dsc_ckpt_open(&ck, path), DSC_OK);
        assert_int_equal(truncate(path, (off_t)(fx.len - cut)), 0);
        dsc_ckpt_tensor last = {0};
        for (size_t i = 0; i < dsc_ckpt_tensor_count(ck); i++) {
            dsc_ckpt_tensor t;
            assert_int_equal(dsc_ckpt_tensor_at(ck, i, &t), DSC_OK);
            if (t.end == dsc_ckpt_data_bytes(ck)) last = t;
        }
        float v[NW];
        assert_int_equal(dsc_ckpt_read(ck, last.name, 0, last.n, v), DSC_ERR_IO);
        assert_non_null(strstr(dsc_last_error(), "is shorter than when it was opened"));
        snapshot before = take(fx.m.opt);
        assert_int_equal(dsc_ckpt_restore(ck, fx.m.opt, NULL), DSC_ERR_IO);
        assert_non_null(strstr(dsc_last_error(), "truncated since?"));
        assert_null(strstr(dsc_last_error(), "partly restored"));
        snapshot after = take(fx.m.opt);
        assert_same(&before, &after, "cut after the open");
        dsc_ckpt_close(ck);
    }
    /* a whole file restores from the open reader */
    spit(path, fx.good, fx.len);
    dsc_ckpt *ck;
    assert_int_equal(dsc_ckpt_open(&ck, path), DSC_OK);
    assert_int_equal(dsc_ckpt_restore(ck, fx.m.opt, NULL), DSC_OK);
    dsc_ckpt_close(ck);
    fixture_free(&fx);
}

/* skip_state restores everything but the state, which the caller fills (here in two
 * slices per buffer, as ranks would): the resumed run is the straight one, bit for bit. */
static void test_load_without_state(void **state)
{
    (void)state;
    const char *const kinds[] = {"adam(lr=0.01, amsgrad=true)", "sgd(lr=0.05, momentum=0.9)", "adagrad(lr=0.1)"};
    char path[512];
    snprintf(path, sizeof path, "%s/nostate.safetensors", tmpdir);
    for (size_t c = 0; c < sizeof kinds / sizeof kinds[0]; c++) {
        model straight, first, second;
        int64_t call = 0;
        model_init(&straight, kinds[c], DSC_F64, 1.0);
        assert_int_equal(dsc_optim_set_schedule(straight.opt, -1, "cosine(T_max=50)"), DSC_OK);
        run_steps(&straight, 40, &call);
        snapshot want = take(straight.opt);
        call = 0;
        model_init(&first, kinds[c], DSC_F64, 1.0);
        assert_int_equal(dsc_optim_set_schedule(first.opt, -1, "cosine(T_max=50)"), DSC_OK);
        run_steps(&first, 17, &call);
        assert_int_equal(dsc_checkpoint_save(first.opt, path, NULL), DSC_OK);

        model_init(&second, kinds[c], DSC_F64, -2.5);
        int64_t other = 0;
        run_steps(&second, 2, &other); /* a state of its own, which the load keeps */
        snapshot mine = take(second.opt);
        dsc_ckpt *ck;
        assert_int_equal(dsc_ckpt_open(&ck, path), DSC_OK);
        dsc_checkpoint_load_options o = dsc_checkpoint_load_options_default();
        o.skip_state = 1;
        assert_int_equal(dsc_ckpt_restore(ck, second.opt, &o), DSC_OK);
        assert_memory_equal(second.w, first.w, NW * sizeof(double));
        assert_int_equal(dsc_optim_step_count(second.opt), 16);
        for (size_t i = 0; i < 2; i++)
            for (size_t k = 0; k < dsc_optim_state_count(second.opt, i); k++) {
                const char *buf;
                void *d;
                dsc_optim_state(second.opt, i, k, &buf, &d);
                size_t n = second.p[i].n, half = n / 2;
                /* untouched by the load: still the second model's own */
                size_t at = 0;
                for (size_t j = 0; j < i; j++) at += second.p[j].n * (1 + dsc_optim_state_count(second.opt, j));
                at += n * (1 + k);
                assert_memory_equal(d, mine.bytes + at * sizeof(double), n * sizeof(double));
                char name[64];
                snprintf(name, sizeof name, "state/%s/%s", second.p[i].name, buf);
                assert_int_equal(dsc_ckpt_read(ck, name, 0, half, d), DSC_OK);
                assert_int_equal(dsc_ckpt_read(ck, name, half, n - half, (double *)d + half), DSC_OK);
            }
        dsc_ckpt_close(ck);
        run_steps(&second, 23, &call);
        snapshot got = take(second.opt);
        assert_same(&want, &got, kinds[c]);
        model_free(&straight);
        model_free(&first);
        model_free(&second);
    }
}

static int make_tmpdir(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/dsc_test_checkpoint.XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int remove_tmpdir(void **state)
{
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

/* A NULL argument's message names the function the caller called (the _avg variants
 * once named their plain twins). */
static void test_null_argument_names_the_call(void **state)
{
    (void)state;
    dsc_checkpoint_load_options lo = dsc_checkpoint_load_options_default();
    size_t len;
    assert_int_equal(dsc_ckpt_restore(NULL, NULL, &lo), DSC_ERR_ARG);
    assert_non_null(strstr(dsc_last_error(), "dsc_ckpt_restore: "));
    assert_int_equal(dsc_checkpoint_load_mem(NULL, NULL, 0, &lo), DSC_ERR_ARG);
    assert_non_null(strstr(dsc_last_error(), "dsc_checkpoint_load_mem: "));
    assert_int_equal(dsc_checkpoint_load(NULL, NULL, NULL), DSC_ERR_ARG);
    assert_non_null(strstr(dsc_last_error(), "dsc_checkpoint_load: "));
    assert_int_equal(dsc_checkpoint_save(NULL, NULL, NULL), DSC_ERR_ARG);
    assert_non_null(strstr(dsc_last_error(), "dsc_checkpoint_save: "));
    assert_int_equal(dsc_checkpoint_save_mem(NULL, NULL, 0, NULL, NULL), DSC_ERR_ARG);
    assert_non_null(strstr(dsc_last_error(), "dsc_checkpoint_save_mem: "));
    assert_int_equal(dsc_checkpoint_save_mem(NULL, NULL, 0, &len, NULL), DSC_ERR_ARG);
    assert_non_null(strstr(dsc_last_error(), "dsc_checkpoint_save_mem: "));
    assert_int_equal(dsc_ckpt_read(NULL, "x", 0, 0, NULL), DSC_ERR_ARG);
    assert_non_null(strstr(dsc_last_error(), "dsc_ckpt_read: "));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resume_is_bit_exact),
        cmocka_unit_test(test_resume_with_schedules_is_bit_exact),
        cmocka_unit_test(test_resume_mid_window_without_loss),
        cmocka_unit_test(test_resume_with_callback_schedule),
        cmocka_unit_test(test_metadata_and_layout),
        cmocka_unit_test(test_eval_mode_is_restored),
        cmocka_unit_test(test_truncated_files),
        cmocka_unit_test(test_damaged_files),
        cmocka_unit_test(test_damaged_schedules),
        cmocka_unit_test(test_missing_and_extra_state),
        cmocka_unit_test(test_header_bit_flips),
        cmocka_unit_test(test_header_checksum),
        cmocka_unit_test(test_restored_values_are_checked),
        cmocka_unit_test(test_restored_rate_in_kind_range),
        cmocka_unit_test(test_counters_are_bounded),
        cmocka_unit_test(test_groups_that_differ),
        cmocka_unit_test(test_foreign_layouts),
        cmocka_unit_test(test_file_errors),
        cmocka_unit_test(test_kill_mid_save_keeps_old_file),
        cmocka_unit_test(test_save_removes_stale_temporaries),
        cmocka_unit_test(test_save_keeps_mode_links_and_long_names),
        cmocka_unit_test(test_average_resume_is_bit_exact),
        cmocka_unit_test(test_average_layout),
        cmocka_unit_test(test_average_ax),
        cmocka_unit_test(test_average_mismatch),
        cmocka_unit_test(test_schedulefree_saves_the_eval_point),
        cmocka_unit_test(test_null_argument_names_the_call),
        cmocka_unit_test(test_read_ranges),
        cmocka_unit_test(test_file_changed_under_the_reader),
        cmocka_unit_test(test_load_without_state),
    };
    return cmocka_run_group_tests(tests, make_tmpdir, remove_tmpdir);
}
