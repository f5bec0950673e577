/* test_beyond.c: Lion, LAMB, LARS, Schedule-Free AdamW, Muon, Lookahead and weight
 * averaging: golden vectors from the float64 rules of tests/golden/make_beyond.py,
 * first steps derived by hand, eval/train switching and restoring schedule-free,
 * bad specs, and `descent optimize` with each on rosenbrock. */
#define _POSIX_C_SOURCE 200809L /* popen */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_run.h"
#include "descent.h"

typedef struct beyond_shape {
    int ndim;
    size_t dims[2];
} beyond_shape;

typedef struct beyond_case {
    const char *spec;
    int ntensors;
    beyond_shape shapes[3];
    const double *p0, *g, *want;
    const char *extra_name; /* a state buffer checked too (NULL: none) */
    const double *extra;
} beyond_case;

#include "golden/beyond_golden.h"

#define MAXT 3
#define MAXE 64

/* Tensors of one golden case in dtype dt, as consecutive slices of data/grad. */
typedef struct fixture {
    dsc_param params[MAXT];
    double data[MAXE], grad[MAXE];
    float fdata[MAXE], fgrad[MAXE];
    size_t total;
} fixture;

static void setup_case(fixture *f, const beyond_case *c, dsc_dtype dt)
{
    memset(f, 0, sizeof *f);
    size_t off = 0;
    for (int i = 0; i < c->ntensors; i++) {
        dsc_param *p = &f->params[i];
        size_t n = c->shapes[i].ndim == 2 ? c->shapes[i].dims[0] * c->shapes[i].dims[1] : c->shapes[i].dims[0];
        p->n = n;
        p->dtype = dt;
        p->ndim = c->shapes[i].ndim;
        p->shape[0] = c->shapes[i].dims[0];
        p->shape[1] = c->shapes[i].dims[1];
        p->data = dt == DSC_F32 ? (void *)(f->fdata + off) : (void *)(f->data + off);
        p->grad = dt == DSC_F32 ? (void *)(f->fgrad + off) : (void *)(f->grad + off);
        off += n;
    }
    f->total = off;
    assert_true(off <= MAXE);
    for (size_t e = 0; e < off; e++) {
        f->data[e] = c->p0[e];
        f->fdata[e] = (float)c->p0[e];
    }
}

static void set_grads(fixture *f, const double *g)
{
    for (size_t e = 0; e < f->total; e++) {
        f->grad[e] = g[e];
        f->fgrad[e] = (float)g[e];
    }
}

static double value(dsc_dtype dt, const void *base, size_t e)
{
    return dt == DSC_F32 ? ((const float *)base)[e] : ((const double *)base)[e];
}

static void expect_close(const char *what, const char *spec, size_t e, double got, double want, double tol)
{
    if (!(fabs(got - want) <= tol * (1.0 + fabs(want))))
        fail_msg("%s: %s element %zu: got %.17g, want %.17g", spec, what, e, got, want);
}

static void run_golden(dsc_dtype dt, double tol)
{
    for (size_t c = 0; c < sizeof beyond_cases / sizeof beyond_cases[0]; c++) {
        const beyond_case *bc = &beyond_cases[c];
        fixture f;
        setup_case(&f, bc, dt);
        dsc_optim *opt;
        if (dsc_optim_create_spec(&opt, bc->spec, f.params, (size_t)bc->ntensors))
            fail_msg("%s: %s", bc->spec, dsc_last_error());
        for (int t = 0; t < BEYOND_STEPS; t++) {
            set_grads(&f, bc->g + (size_t)t * f.total);
            assert_int_equal(dsc_optim_step(opt), DSC_OK);
        }
        size_t off = 0;
        int extras = 0;
        for (int i = 0; i < bc->ntensors; i++) {
            for (size_t e = 0; e < f.params[i].n; e++)
                expect_close("param", bc->spec, off + e, value(dt, f.params[i].data, e), bc->want[off + e], tol);
            for (size_t k = 0; bc->extra_name && k < dsc_optim_state_count(opt, (size_t)i); k++) {
                const char *name;
                void *data;
                assert_int_equal(dsc_optim_state(opt, (size_t)i, k, &name, &data), DSC_OK);
                if (strcmp(name, bc->extra_name)) continue;
                extras++;
                for (size_t e = 0; e < f.params[i].n; e++)
                    expect_close(name, bc->spec, off + e, value(dt, data, e), bc->extra[off + e], tol);
            }
            off += f.params[i].n;
        }
        assert_int_equal(extras, bc->extra_name ? bc->ntensors : 0);
        dsc_optim_destroy(opt);
    }
}

static void test_golden_f64(void **state)
{
    (void)state;
    run_golden(DSC_F64, 1e-11);
}

static void test_golden_f32(void **state)
{
    (void)state;
    run_golden(DSC_F32, 2e-5);
}

/* ---------------------------------------------------------------- first steps by hand */

/* One step of spec on a single f64 tensor (ndim 1, or rows x cols when cols > 0). */
static dsc_optim *one_step(const char *spec, double *p, double *g, size_t n, size_t rows, size_t cols)
{
    dsc_param prm = {.name = "w", .data = p, .grad = g, .n = n, .dtype = DSC_F64};
    if (cols) {
        prm.ndim = 2;
        prm.shape[0] = rows;
        prm.shape[1] = cols;
    }
    dsc_optim *opt;
    if (dsc_optim_create_spec(&opt, spec, &prm, 1)) fail_msg("%s: %s", spec, dsc_last_error());
    assert_int_equal(dsc_optim_step(opt), DSC_OK);
    return opt;
}

static void test_lion_first_step_is_sign(void **state)
{
    (void)state;
    double p[4] = {1, -2, 3, 0.5}, g[4] = {0.3, -1e-9, 0, 7};
    dsc_optim *opt = one_step("lion(lr=0.1)", p, g, 4, 0, 0);
    assert_true(p[0] == 1 - 0.1 && p[1] == -2 + 0.1 && p[2] == 3 && p[3] == 0.5 - 0.1);
    const char *name;
    void *m;
    assert_int_equal(dsc_optim_state(opt, 0, 0, &name, &m), DSC_OK);
    assert_string_equal(name, "exp_avg");
    assert_true(fabs(((double *)m)[3] - 0.01 * 7) < 1e-15); /* m = (1 - b2) g */
    dsc_optim_destroy(opt);
    /* decoupled decay first: p(1 - lr wd) - lr sign(g) */
    double q[1] = {2}, h[1] = {-1};
    opt = one_step("lion(lr=0.1, weight_decay=0.5)", q, h, 1, 0, 0);
    assert_true(fabs(q[0] - (2 * (1 - 0.05) + 0.1)) < 1e-15);
    dsc_optim_destroy(opt);
}

static void test_lamb_first_step_trust_ratio(void **state)
{
    (void)state;
    /* m^ = g, v^ = g^2: u = g / (|g| + eps) = sign(g); ratio = |p| / |u| = 5 / sqrt(2) */
    double p[2] = {3, 4}, g[2] = {1, -2};
    dsc_optim *opt = one_step("lamb(lr=0.1, weight_decay=0, eps=1e-12)", p, g, 2, 0, 0);
    double step = 0.1 * 5 / sqrt(2);
    assert_true(fabs(p[0] - (3 - step)) < 1e-9 && fabs(p[1] - (4 + step)) < 1e-9);
    dsc_optim_destroy(opt);
    /* |p| = 0: ratio 1 */
    double z[2] = {0, 0}, gz[2] = {0.5, -3};
    opt = one_step("lamb(lr=0.1, weight_decay=0.3, eps=1e-12)", z, gz, 2, 0, 0);
    assert_true(fabs(z[0] + 0.1) < 1e-9 && fabs(z[1] - 0.1) < 1e-9);
    dsc_optim_destroy(opt);
}

static void test_lars_first_step_trust_ratio(void **state)
{
    (void)state;
    /* ratio = 0.1 * 5 / (1 + 0) = 0.5; b = d at the first step */
    double p[2] = {3, 4}, g[2] = {0.6, 0.8};
    dsc_optim *opt = one_step("lars(lr=2, momentum=0.9, weight_decay=0, trust_coefficient=0.1, eps=1e-300)", p, g,
                              2, 0, 0);
    assert_true(fabs(p[0] - (3 - 2 * 0.5 * 0.6)) < 1e-12 && fabs(p[1] - (4 - 2 * 0.5 * 0.8)) < 1e-12);
    dsc_optim_destroy(opt);
    /* a zero gradient: ratio 1, nothing moves without decay */
    double q[2] = {3, 4}, h[2] = {0, 0};
    opt = one_step("lars(lr=2, weight_decay=0)", q, h, 2, 0, 0);
    assert_true(q[0] == 3 && q[1] == 4);
    dsc_optim_destroy(opt);
}

static void test_schedulefree_first_step(void **state)
{
    (void)state;
    /* t = 1: lr_1 = lr sqrt(1 - b2), c = 1, z = x = y = p - lr_1 g / (sqrt(1 - b2) |g| + eps)
     * = p - lr sign(g) up to eps */
    double p[3] = {1, -1, 2}, g[3] = {2, -0.5, 4};
    dsc_optim *opt = one_step("schedulefree_adamw(lr=0.1, eps=1e-12)", p, g, 3, 0, 0);
    assert_true(fabs(p[0] - 0.9) < 1e-9 && fabs(p[1] + 0.9) < 1e-9 && fabs(p[2] - 1.9) < 1e-9);
    double ws, lm;
    assert_int_equal(dsc_optim_get_scalar(opt, 0, "lr_max", &lm), DSC_OK);
    assert_int_equal(dsc_optim_get_scalar(opt, 0, "weight_sum", &ws), DSC_OK);
    assert_true(fabs(lm - 0.1 * sqrt(1 - 0.999)) < 1e-15 && fabs(ws - lm * lm) < 1e-18);
    dsc_optim_destroy(opt);
}

/* f(s) = a s + b s^3 + c s^5, the Newton-Schulz map on one singular value */
static double ns_map(double s, int steps)
{
    for (int k = 0; k < steps; k++) s = 3.4445 * s - 4.7750 * s * s * s + 2.0315 * s * s * s * s * s;
    return s;
}

static void test_muon_first_step_diagonal(void **state)
{
    (void)state;
    /* G = diag(3, 4): the iteration acts on the singular values 0.6 and 0.8 (after
     * scaling to Frobenius norm 1) and keeps the matrix diagonal. */
    double p[4] = {1, 0.5, -0.5, 2}, g[4] = {3, 0, 0, 4};
    dsc_optim *opt = one_step("muon(lr=0.1, weight_decay=0.2)", p, g, 4, 2, 2);
    double o1 = ns_map(0.6, 5), o2 = ns_map(0.8, 5), dec = 1 - 0.1 * 0.2;
    assert_true(o1 > 0.6 && o1 < 1.3 && o2 > 0.6 && o2 < 1.3); /* roughly orthogonal */
    assert_true(fabs(p[0] - (dec * 1 - 0.1 * o1)) < 1e-12 && fabs(p[3] - (dec * 2 - 0.1 * o2)) < 1e-12);
    assert_true(fabs(p[1] - dec * 0.5) < 1e-12 && fabs(p[2] + dec * 0.5) < 1e-12);
    const char *name;
    assert_int_equal(dsc_optim_state_count(opt, 0), 1);
    assert_int_equal(dsc_optim_state(opt, 0, 0, &name, NULL), DSC_OK);
    assert_string_equal(name, "momentum_buffer");
    dsc_optim_destroy(opt);
    /* a 1-D tensor gets AdamW: first step -adamw_lr sign(g) after the decay */
    double b[2] = {1, -1}, gb[2] = {0.25, -4};
    opt = one_step("muon(adamw_lr=0.01, adamw_weight_decay=0.5)", b, gb, 2, 0, 0);
    assert_true(fabs(b[0] - (0.995 - 0.01)) < 1e-9 && fabs(b[1] - (-0.995 + 0.01)) < 1e-9);
    assert_int_equal(dsc_optim_state_count(opt, 0), 2);
    assert_int_equal(dsc_optim_state(opt, 0, 1, &name, NULL), DSC_OK);
    assert_string_equal(name, "exp_avg_sq");
    dsc_optim_destroy(opt);
    /* a tall matrix is orthogonalised through its transpose, and lr scales by sqrt(rows/cols) */
    double t[4] = {0, 0, 0, 0}, gt[4] = {2, 0, 0, 0};
    opt = one_step("muon(lr=0.1, weight_decay=0)", t, gt, 4, 4, 1);
    assert_true(fabs(t[0] + 0.1 * 2 * ns_map(1.0, 5)) < 1e-12 && t[1] == 0 && t[3] == 0);
    dsc_optim_destroy(opt);
}

static void test_lookahead_first_sync(void **state)
{
    (void)state;
    /* k = 1: every step the slow weights move alpha of the inner step */
    double p[2] = {1, 2}, g[2] = {1, -1};
    dsc_optim *opt = one_step("lookahead(inner=sgd(lr=0.1), k=1, alpha=0.25)", p, g, 2, 0, 0);
    assert_true(fabs(p[0] - (1 - 0.025)) < 1e-15 && fabs(p[1] - (2 + 0.025)) < 1e-15);
    assert_int_equal(dsc_optim_kind(opt), DSC_SGD);
    const char *name;
    double *slow;
    assert_int_equal(dsc_optim_state(opt, 0, 0, &name, (void **)&slow), DSC_OK);
    assert_string_equal(name, "lookahead_slow");
    assert_true(slow[0] == p[0] && slow[1] == p[1]);
    dsc_optim_destroy(opt);
    /* k = 3: no sync before the third step */
    double q[1] = {1}, h[1] = {1};
    opt = one_step("lookahead(inner=sgd(lr=0.1), k=3)", q, h, 1, 0, 0);
    assert_true(fabs(q[0] - 0.9) < 1e-15);
    assert_int_equal(dsc_optim_step(opt), DSC_OK);
    assert_int_equal(dsc_optim_step(opt), DSC_OK);
    assert_true(fabs(q[0] - (1 + 0.5 * (0.7 - 1))) < 1e-15);
    dsc_optim_destroy(opt);
}

/* ---------------------------------------------------------------- schedule-free modes */

static const double *sf_buffer(const dsc_optim *opt, const char *want)
{
    for (size_t k = 0; k < dsc_optim_state_count(opt, 0); k++) {
        const char *name;
        void *data;
        assert_int_equal(dsc_optim_state(opt, 0, k, &name, &data), DSC_OK);
        if (!strcmp(name, want)) return data;
    }
    fail_msg("no state buffer %s", want);
    return NULL;
}

static void test_schedulefree_modes_and_restore(void **state)
{
    (void)state;
    const char *spec = "schedulefree_adamw(lr=0.05, betas=(0.8, 0.99), weight_decay=0.01)";
    double p[3] = {1, -2, 0.5}, g[3];
    dsc_param prm = {.name = "w", .data = p, .grad = g, .n = 3, .dtype = DSC_F64};
    dsc_optim *opt;
    assert_int_equal(dsc_optim_create_spec(&opt, spec, &prm, 1), DSC_OK);
    assert_int_equal(dsc_optim_eval_mode(opt, 1), DSC_OK); /* before any step: nothing to do */
    assert_true(p[0] == 1 && p[1] == -2 && p[2] == 0.5);
    assert_int_equal(dsc_optim_eval_mode(opt, 0), DSC_OK);
    for (int t = 0; t < 4; t++) {
        for (int i = 0; i < 3; i++) g[i] = 2 * p[i] - 1 + 0.1 * t;
        assert_int_equal(dsc_optim_step(opt), DSC_OK);
    }
    const double *z = sf_buffer(opt, "z"), *x = sf_buffer(opt, "x");
    double y[3];
    memcpy(y, p, sizeof y);
    for (int i = 0; i < 3; i++) assert_true(fabs(y[i] - (0.8 * x[i] + 0.2 * z[i])) < 1e-15);
    assert_true(fabs(x[0] - y[0]) > 1e-6); /* the two points differ by now */
    /* eval writes x, twice is the same; a step in eval mode is refused */
    assert_int_equal(dsc_optim_eval_mode(opt, 1), DSC_OK);
    assert_int_equal(dsc_optim_eval_mode(opt, 1), DSC_OK);
    assert_true(dsc_optim_in_eval_mode(opt));
    for (int i = 0; i < 3; i++) assert_true(p[i] == x[i]);
    assert_int_equal(dsc_optim_step(opt), DSC_ERR_ARG);
    assert_non_null(strstr(dsc_last_error(), "eval mode"));
    /* restore into a fresh optimizer from the state alone (params hold garbage) */
    double p2[3] = {99, 99, 99}, g2[3];
    dsc_param prm2 = {.name = "w", .data = p2, .grad = g2, .n = 3, .dtype = DSC_F64};
    dsc_optim *back;
    assert_int_equal(dsc_optim_create_spec(&back, spec, &prm2, 1), DSC_OK);
    for (size_t k = 0; k < dsc_optim_state_count(opt, 0); k++) {
        void *src, *dst;
        assert_int_equal(dsc_optim_state(opt, 0, k, NULL, &src), DSC_OK);
        assert_int_equal(dsc_optim_state(back, 0, k, NULL, &dst), DSC_OK);
        memcpy(dst, src, 3 * sizeof(double));
    }
    size_t nscal = 0;
    for (const char *nm; (nm = dsc_optim_scalar_name(nscal)); nscal++) {
        double v;
        assert_int_equal(dsc_optim_get_scalar(opt, 0, nm, &v), DSC_OK);
        assert_int_equal(dsc_optim_set_scalar(back, 0, nm, v), DSC_OK);
    }
    assert_int_equal(nscal, 5); /* mu_product, weight_sum, lr_max, eta, mu */
    assert_int_equal(dsc_optim_set_counters(back, dsc_optim_step_count(opt), 0, 0), DSC_OK);
    assert_int_equal(dsc_optim_eval_mode(back, 0), DSC_OK);
    assert_int_equal(dsc_optim_eval_mode(opt, 0), DSC_OK);
    for (int i = 0; i < 3; i++) assert_true(p2[i] == y[i] && p[i] == y[i]);
    /* both continue identically, even from garbage in the buffer: the step rebuilds y
     * from z and x */
    for (int i = 0; i < 3; i++) p2[i] = -7;
    for (int i = 0; i < 3; i++) g[i] = g2[i] = 0.3 * (i + 1);
    assert_int_equal(dsc_optim_step(opt), DSC_OK);
    assert_int_equal(dsc_optim_step(back), DSC_OK);
    for (int i = 0; i < 3; i++) assert_true(p2[i] == p[i]);
    dsc_optim_destroy(back);
    dsc_optim_destroy(opt);
}

/* ---------------------------------------------------------------- specs */

/* A spec that must fail: status and a piece of the message. */
typedef struct bad_spec {
    const char *spec;
    dsc_status st;
    const char *needle; /* NULL: any message */
} bad_spec;

static void expect_failure(const bad_spec *b, dsc_status got)
{
    if (got != b->st) fail_msg("'%s': status %d, want %d (%s)", b->spec, got, b->st, dsc_last_error());
    if (b->needle && !strstr(dsc_last_error(), b->needle))
        fail_msg("'%s': message '%s' lacks '%s'", b->spec, dsc_last_error(), b->needle);
}

static void test_defaults(void **state)
{
    (void)state;
    dsc_hparams hp;
    assert_int_equal(dsc_hparams_parse("lion", &hp), DSC_OK);
    assert_true(hp.kind == DSC_LION && hp.lr == 1e-4 && hp.beta1 == 0.9 && hp.beta2 == 0.99 && hp.weight_decay == 0);
    assert_int_equal(dsc_hparams_parse("lamb", &hp), DSC_OK);
    assert_true(hp.lr == 1e-3 && hp.eps == 1e-6 && hp.weight_decay == 0.01 && hp.bias_correction);
    assert_int_equal(dsc_hparams_parse("lars", &hp), DSC_OK);
    assert_true(hp.lr == 1 && hp.momentum == 0.9 && hp.trust_coefficient == 1e-3 && hp.eps == 1e-8);
    assert_int_equal(dsc_hparams_parse("schedulefree_adamw", &hp), DSC_OK);
    assert_true(hp.lr == 2.5e-3 && hp.beta2 == 0.999 && hp.warmup_steps == 0 && hp.r == 0 && hp.weight_lr_power == 2);
    assert_int_equal(dsc_hparams_parse("muon", &hp), DSC_OK);
    assert_true(hp.lr == 1e-3 && hp.momentum == 0.95 && hp.nesterov && hp.ns_steps == 5 && hp.eps == 1e-7 &&
                hp.weight_decay == 0.1 && hp.adjust_lr == DSC_MUON_ORIGINAL && hp.adamw_lr == 3e-4 &&
                hp.adamw_beta2 == 0.95 && hp.adamw_eps == 1e-10);
    assert_int_equal(dsc_hparams_parse("lookahead(inner=adam(lr=1e-2))", &hp), DSC_OK);
    assert_true(hp.kind == DSC_ADAM && hp.lr == 1e-2 && hp.lookahead_k == 5 && hp.lookahead_alpha == 0.5);
    assert_int_equal(dsc_hparams_parse("lars(trust_coeff=0.01)", &hp), DSC_OK);
    assert_true(hp.trust_coefficient == 0.01);
    assert_int_equal(dsc_hparams_parse("muon(adjust_lr_fn=match_rms_adamw, adamw_betas=(0.8, 0.9))", &hp), DSC_OK);
    assert_true(hp.adjust_lr == DSC_MUON_MATCH_RMS_ADAMW && hp.adamw_beta1 == 0.8 && hp.adamw_beta2 == 0.9);
}

static void test_format_round_trip(void **state)
{
    (void)state;
    static const char *const specs[] = {
        "lookahead(inner=radam(lr=0.01, weight_decay=0.1), k=7, alpha=0.25)",
        "muon(lr=0.02, nesterov=false, adjust_lr=match_rms_adamw, adamw_lr=0.001)",
        "schedulefree_adamw(warmup_steps=100, r=1)",
        "lamb(bias_correction=false)",
    };
    for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++) {
        dsc_hparams a, b;
        char buf[1024];
        assert_int_equal(dsc_hparams_parse(specs[i], &a), DSC_OK);
        dsc_hparams_format(&a, buf, sizeof buf);
        if (dsc_hparams_parse(buf, &b)) fail_msg("'%s' formats as '%s': %s", specs[i], buf, dsc_last_error());
        assert_memory_equal(&a, &b, sizeof a);
    }
    dsc_hparams a;
    char buf[256];
    assert_int_equal(dsc_hparams_parse("lookahead(inner=sgd, k=2)", &a), DSC_OK);
    dsc_hparams_format(&a, buf, sizeof buf);
    assert_string_equal(buf, "lookahead(inner=sgd, k=2, alpha=0.5)");
}

static void test_bad_specs(void **state)
{
    (void)state;
    static const bad_spec bad[] = {
        {"lion(eps=1e-8)", DSC_ERR_SPEC, "unknown key 'eps'"},
        {"lion(betas=(0.9, 1))", DSC_ERR_RANGE, "beta2 must be in [0, 1)"},
        {"lamb(decoupled_weight_decay=true)", DSC_ERR_RANGE, "decoupled_weight_decay must be false"},
        {"lars(trust_coefficient=0)", DSC_ERR_RANGE, "trust_coefficient must be in (0, inf)"},
        {"lars(momentum=1)", DSC_ERR_RANGE, "momentum must be in [0, 1)"},
        {"schedulefree_adamw(warmup_steps=-1)", DSC_ERR_RANGE, "warmup_steps"},
        {"schedulefree_adamw(warmup_steps=1.5)", DSC_ERR_RANGE, "warmup_steps must be an integer"},
        {"schedulefree_adamw(lookahead_k=2)", DSC_ERR_RANGE, "lookahead does not apply"},
        {"lookahead(inner=schedulefree_adamw)", DSC_ERR_RANGE, "lookahead does not apply"},
        {"muon(adjust_lr=spectral)", DSC_ERR_SPEC, "adjust_lr must be original or match_rms_adamw"},
        {"muon(ns_steps=0)", DSC_ERR_RANGE, "ns_steps must be in [1, 99]"},
        {"muon(ns_steps=100)", DSC_ERR_RANGE, "ns_steps must be in [1, 99]"},
        {"muon(adamw_betas=(0.9))", DSC_ERR_SPEC, "adamw_betas must be a pair"},
        {"muon(adamw_eps=-1)", DSC_ERR_RANGE, "adamw_eps must be in [0, inf)"},
        {"muon(eps=0)", DSC_ERR_RANGE, "muon: eps must be > 0"},
        {"muon(betas=(0.9, 0.9))", DSC_ERR_SPEC, "unknown key 'betas'"},
        {"adam(ns_steps=3)", DSC_ERR_SPEC, "unknown key 'ns_steps'"},
        {"lookahead(k=5)", DSC_ERR_SPEC, "inner=SPEC is required"},
        {"lookahead(inner=adam, k=0)", DSC_ERR_RANGE, "k must be in [1, 1e9]"},
        {"lookahead(inner=adam, alpha=1.5)", DSC_ERR_RANGE, "alpha must be in (0, 1]"},
        {"lookahead(inner=adam, alpha=x)", DSC_ERR_SPEC, "alpha must be a number"},
        {"lookahead(inner=adam, inner=sgd)", DSC_ERR_SPEC, "given twice"},
        {"lookahead(inner=adam, slow=1)", DSC_ERR_SPEC, "unknown key 'slow'"},
        {"lookahead(inner=lookahead(inner=adam))", DSC_ERR_SPEC, "already has lookahead"},
        {"lookahead(inner=nosuch(lr=1))", DSC_ERR_SPEC, "unknown optimizer 'nosuch'"},
        {"lookahead(inner=adam(beta1=2))", DSC_ERR_RANGE, "beta1 must be in [0, 1)"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        dsc_hparams hp;
        expect_failure(&bad[i], dsc_hparams_parse(bad[i].spec, &hp));
    }
}

static void test_group_changes(void **state)
{
    (void)state;
    double p[2] = {1, 2}, g[2] = {0, 0};
    dsc_param prm = {.name = "w", .data = p, .grad = g, .n = 2, .dtype = DSC_F64};
    dsc_optim *opt;
    assert_int_equal(dsc_optim_create_spec(&opt, "lookahead(inner=adam, k=3)", &prm, 1), DSC_OK);
    assert_int_equal(dsc_optim_set_group_spec(opt, 0, "lr=0.5, lookahead_alpha=0.9"), DSC_OK);
    assert_int_equal(dsc_optim_set_group_spec(opt, 0, "lookahead_k=0"), DSC_ERR_UNSUPPORTED);
    dsc_optim_destroy(opt);
}

/* ---------------------------------------------------------------- averaging */

static void test_ema_and_swa(void **state)
{
    (void)state;
    double p[2] = {1, 2}, out[2];
    dsc_param prm = {.name = "w", .data = p, .grad = out, .n = 2, .dtype = DSC_F64};
    dsc_average *ema, *swa, *every;
    assert_int_equal(dsc_average_create(&ema, "ema(decay=0.75)", &prm, 1), DSC_OK);
    assert_int_equal(dsc_average_create(&swa, "swa(start=2)", &prm, 1), DSC_OK);
    assert_int_equal(dsc_average_create(&every, "ema(decay=0.5, every=2)", &prm, 1), DSC_OK);
    assert_int_equal(dsc_average_copy_to(ema, 0, out), DSC_OK); /* before any fold: as created */
    assert_true(out[0] == 1 && out[1] == 2);
    static const double seq[4] = {3, 5, 9, 17};
    for (int t = 0; t < 4; t++) {
        p[0] = seq[t];
        assert_int_equal(dsc_average_update(ema), DSC_OK);
        assert_int_equal(dsc_average_update(swa), DSC_OK);
        assert_int_equal(dsc_average_update(every), DSC_OK);
    }
    double e = 3;                                   /* first fold copies */
    for (int t = 1; t < 4; t++) e += 0.25 * (seq[t] - e);
    assert_int_equal(dsc_average_copy_to(ema, 0, out), DSC_OK);
    assert_true(fabs(out[0] - e) < 1e-15 && out[1] == 2);
    assert_int_equal(dsc_average_copy_to(swa, 0, out), DSC_OK);
    assert_true(fabs(out[0] - (5 + 9 + 17) / 3.0) < 1e-14); /* calls 2, 3, 4 */
    assert_int_equal(dsc_average_averaged(swa), 3);
    assert_int_equal(dsc_average_updates(swa), 4);
    assert_int_equal(dsc_average_copy_to(every, 0, out), DSC_OK);
    assert_true(fabs(out[0] - (5 + 0.5 * (17 - 5))) < 1e-15); /* calls 2 and 4 */
    /* swap in, evaluate, swap back; no update while swapped */
    assert_int_equal(dsc_average_swap(swa), DSC_OK);
    assert_true(dsc_average_swapped(swa) && fabs(p[0] - 31 / 3.0) < 1e-14);
    const char *name;
    double *buf;
    assert_int_equal(dsc_average_buffer(swa, 0, &name, (void **)&buf), DSC_OK);
    assert_string_equal(name, "swa");
    assert_true(buf == p); /* the average lives in the parameters while swapped */
    assert_int_equal(dsc_average_update(swa), DSC_ERR_ARG);
    assert_int_equal(dsc_average_swap(swa), DSC_OK);
    assert_true(p[0] == 17 && !dsc_average_swapped(swa));
    assert_int_equal(dsc_average_set_counters(swa, 1, 2), DSC_ERR_RANGE);
    assert_int_equal(dsc_average_set_counters(swa, 10, 2), DSC_OK);
    assert_int_equal(dsc_average_averaged(swa), 2);
    dsc_average_destroy(ema);
    dsc_average_destroy(swa);
    dsc_average_destroy(every);
}

static void test_average_bad_specs(void **state)
{
    (void)state;
    double p[1] = {1}, g[1];
    dsc_param prm = {.name = "w", .data = p, .grad = g, .n = 1, .dtype = DSC_F32};
    dsc_average *a = NULL;
    static const bad_spec bad[] = {
        {"ema(decay=1)", DSC_ERR_RANGE, "decay must be in [0, 1)"},
        {"ema(every=0)", DSC_ERR_RANGE, "every must be >= 1"},
        {"swa(start=-1)", DSC_ERR_RANGE, "start must be >= 0"},
        {"swa(decay=0.5)", DSC_ERR_SPEC, "unknown key 'decay'"},
        {"ema(decay=0.9, decay=0.5)", DSC_ERR_SPEC, "ema: key 'decay' given twice"},
        {"polyak", DSC_ERR_SPEC, "unknown average 'polyak'"},
        {"ema(decay=", DSC_ERR_SPEC, NULL},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        expect_failure(&bad[i], dsc_average_create(&a, bad[i].spec, &prm, 1));
        assert_null(a);
    }
    assert_int_equal(dsc_average_create(&a, "ema", &prm, 0), DSC_ERR_ARG);
    assert_int_equal(dsc_average_update(NULL), DSC_ERR_ARG);
}

/* ---------------------------------------------------------------- the command */

static void test_cli_rosenbrock(void **state)
{
    (void)state;
    static const char *const specs[] = {
        "lion(lr=1e-2)", "lamb(lr=1e-2, weight_decay=0)", "lars(lr=1, trust_coefficient=0.01)",
        "schedulefree_adamw(lr=0.05)", "muon(adamw_lr=1e-2)", "lookahead(inner=adam(lr=1e-2), k=5)",
    };
    for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++) {
        for (int d = 0; d < 2; d++) {
            char cmd[512];
            int rc;
            snprintf(cmd, sizeof cmd, "optimize --problem rosenbrock --steps 500 --dtype %s --json --optimizer '%s'",
                     d ? "f64" : "f32", specs[i]);
            const char *out = cli_run(cmd, &rc);
            if (rc != 0) fail_msg("%s: exit %d", cmd, rc);
            const char *l = strstr(out, "\"loss\":");
            if (!l) fail_msg("%s: no loss in '%s'", cmd, out);
            double loss = strtod(l + 7, NULL);
            /* the start (-1.5, 0.5) has loss 312.5 */
            if (!(loss >= 0 && loss < 50)) fail_msg("%s: loss %g", cmd, loss);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden_f64),
        cmocka_unit_test(test_golden_f32),
        cmocka_unit_test(test_lion_first_step_is_sign),
        cmocka_unit_test(test_lamb_first_step_trust_ratio),
        cmocka_unit_test(test_lars_first_step_trust_ratio),
        cmocka_unit_test(test_schedulefree_first_step),
        cmocka_unit_test(test_muon_first_step_diagonal),
        cmocka_unit_test(test_lookahead_first_sync),
        cmocka_unit_test(test_schedulefree_modes_and_restore),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_format_round_trip),
        cmocka_unit_test(test_bad_specs),
        cmocka_unit_test(test_group_changes),
        cmocka_unit_test(test_ema_and_swa),
        cmocka_unit_test(test_average_bad_specs),
        cmocka_unit_test(test_cli_rosenbrock),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
