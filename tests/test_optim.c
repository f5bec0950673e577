/*
 * test_optim.c: the optimizer object and every update rule on problems small enough
 * to work out by hand: first steps of each kind (the arithmetic is in the comments),
 * decay and no-decay, groups, learning-rate changes, state buffers, the non-finite
 * policies, clipping, the error paths of create, and two optimizers in two threads.
 * tests/test_golden.c compares long runs against PyTorch; this file pins the rules.
 */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "descent.h"

/* |got - want| <= tol, with the expression in the message. */
#define CLOSE(got, want, tol) close_at((got), (want), (tol), #got, __LINE__)
static void close_at(double got, double want, double tol, const char *what, int line)
{
    if (!(fabs(got - want) <= tol))
        fail_msg("line %d: %s = %.17g, want %.17g (diff %.3g > %.3g)", line, what, got, want,
                 fabs(got - want), tol);
}

/* A tensor descriptor, f64 unless the caller changes dtype. */
static dsc_param f64_param(const char *name, void *p, void *g, size_t n)
{
    dsc_param q;
    memset(&q, 0, sizeof q);
    q.name = name;
    q.data = p;
    q.grad = g;
    q.n = n;
    q.dtype = DSC_F64;
    return q;
}

/* An optimizer over one f64 tensor; fails the test if the spec is refused. */
static dsc_optim *make1(const char *spec, double *p, double *g, size_t n)
{
    dsc_param q = f64_param("w", p, g, n);
    dsc_optim *opt = NULL;
    if (dsc_optim_create_spec(&opt, spec, &q, 1) != DSC_OK) fail_msg("'%s': %s", spec, dsc_last_error());
    return opt;
}

/* An optimizer over two one-element f64 tensors: a in group 0, b in group 1. */
static dsc_optim *make2(const char *spec, double *a, double *ga, double *b, double *gb)
{
    dsc_param ps[2] = {f64_param("a", a, ga, 1), f64_param("b", b, gb, 1)};
    ps[1].group = 1;
    dsc_optim *opt = NULL;
    if (dsc_optim_create_spec(&opt, spec, ps, 2) != DSC_OK) fail_msg("'%s': %s", spec, dsc_last_error());
    return opt;
}

static void step_ok(dsc_optim *opt)
{
    dsc_status st = dsc_optim_step(opt);
    if (st != DSC_OK) fail_msg("step: %s", dsc_last_error());
}

static double *state_of(dsc_optim *opt, size_t i, const char *want)
{
    for (size_t k = 0; k < dsc_optim_state_count(opt, i); k++) {
        const char *name;
        void *data;
        assert_int_equal(dsc_optim_state(opt, i, k, &name, &data), DSC_OK);
        if (!strcmp(name, want)) return data;
    }
    fail_msg("no state '%s'", want);
    return NULL;
}

/* ---------------------------------------------------------------- first steps by hand */

static void test_sgd_steps(void **state)
{
    (void)state;
    /* plain: p -= lr*g: 1 - 0.1*0.5 = 0.95, -2 - 0.1*0.25 = -2.025 */
    double p[2] = {1, -2}, g[2] = {0.5, 0.25};
    dsc_optim *opt = make1("sgd(lr=0.1)", p, g, 2);
    assert_int_equal(dsc_optim_state_count(opt, 0), 0);
    step_ok(opt);
    CLOSE(p[0], 0.95, 1e-15);
    CLOSE(p[1], -2.025, 1e-15);
    dsc_optim_destroy(opt);

    /* momentum 0.9, g = 1 twice: b1 = g = 1, p = 1 - 0.1 = 0.9;
     * b2 = 0.9*1 + 1 = 1.9, p = 0.9 - 0.19 = 0.71 */
    double q[1] = {1}, h[1] = {1};
    opt = make1("sgd(lr=0.1, momentum=0.9)", q, h, 1);
    step_ok(opt);
    CLOSE(q[0], 0.9, 1e-15);
    CLOSE(state_of(opt, 0, "momentum_buffer")[0], 1.0, 0);
    step_ok(opt);
    CLOSE(q[0], 0.71, 1e-15);
    CLOSE(state_of(opt, 0, "momentum_buffer")[0], 1.9, 1e-15);
    /* lr 0.2 from step 3: b3 = 0.9*1.9 + 1 = 2.71, p = 0.71 - 0.2*2.71 = 0.168 */
    assert_int_equal(dsc_optim_set_lr(opt, 0, 0.2), DSC_OK);
    step_ok(opt);
    CLOSE(q[0], 0.168, 1e-15);
    dsc_optim_destroy(opt);

    /* dampening 0.5: b1 = g = 1 (the first step is not dampened), p = 0.9;
     * b2 = 0.9 + 0.5*1 = 1.4, p = 0.9 - 0.14 = 0.76 */
    q[0] = 1;
    opt = make1("sgd(lr=0.1, momentum=0.9, dampening=0.5)", q, h, 1);
    step_ok(opt);
    CLOSE(q[0], 0.9, 1e-15);
    step_ok(opt);
    CLOSE(q[0], 0.76, 1e-15);
    dsc_optim_destroy(opt);

    /* Nesterov: b1 = 1, d = g + 0.9*b = 1.9, p = 1 - 0.19 = 0.81;
     * b2 = 1.9, d = 1 + 0.9*1.9 = 2.71, p = 0.81 - 0.271 = 0.539 */
    q[0] = 1;
    opt = make1("sgdnm(lr=0.1)", q, h, 1);
    step_ok(opt);
    CLOSE(q[0], 0.81, 1e-15);
    step_ok(opt);
    CLOSE(q[0], 0.539, 1e-15);
    dsc_optim_destroy(opt);
}

static void test_sgd_lr_in_buffer(void **state)
{
    (void)state;
    /* v = 0.9v - lr*g; p += v. v1 = -0.1, p = 0.9; v2 = -0.09 - 0.1 = -0.19, p = 0.71:
     * PyTorch's numbers while lr stays. With lr 0.2 from step 3 they part:
     * v3 = 0.9*(-0.19) - 0.2 = -0.371, p = 0.71 - 0.371 = 0.339 (PyTorch: 0.168). */
    double q[1] = {1}, h[1] = {1};
    dsc_optim *opt = make1("sgd(lr=0.1, momentum=0.9, lr_in_buffer=true)", q, h, 1);
    step_ok(opt);
    CLOSE(q[0], 0.9, 1e-15);
    CLOSE(state_of(opt, 0, "momentum_buffer")[0], -0.1, 1e-15);
    step_ok(opt);
    CLOSE(q[0], 0.71, 1e-15);
    assert_int_equal(dsc_optim_set_lr(opt, 0, 0.2), DSC_OK);
    step_ok(opt);
    CLOSE(q[0], 0.339, 1e-15);
    CLOSE(state_of(opt, 0, "momentum_buffer")[0], -0.371, 1e-15);
    dsc_optim_destroy(opt);

    /* Nesterov: v1 = -0.1, p += 0.9*v1 - 0.1 = -0.19 -> 0.81, as PyTorch's Nesterov */
    q[0] = 1;
    opt = make1("sgd(lr=0.1, momentum=0.9, nesterov=true, lr_in_buffer=true)", q, h, 1);
    step_ok(opt);
    CLOSE(q[0], 0.81, 1e-15);
    dsc_optim_destroy(opt);
}

static void test_sgd_regularizers(void **state)
{
    (void)state;
    /* L2: d = g + 0.5*p = 1 + 1 = 2, p = 2 - 0.1*2 = 1.8 */
    double p[3] = {2, -2, 0}, g[3] = {1, 0, 0};
    dsc_optim *opt = make1("sgd(lr=0.1, weight_decay=0.5)", p, g, 1);
    step_ok(opt);
    CLOSE(p[0], 1.8, 1e-15);
    dsc_optim_destroy(opt);
    /* L1 with g = 0: d = 0.5*sign(p): 2 -> 1.95, -2 -> -1.95, 0 stays 0 */
    p[0] = 2;
    g[0] = 0;
    opt = make1("sgd(lr=0.1, l1=0.5)", p, g, 3);
    step_ok(opt);
    CLOSE(p[0], 1.95, 1e-15);
    CLOSE(p[1], -1.95, 1e-15);
    CLOSE(p[2], 0, 0);
    dsc_optim_destroy(opt);
    /* maximize: p = 1 + 0.1*1 = 1.1 */
    p[0] = 1;
    g[0] = 1;
    opt = make1("sgd(lr=0.1, maximize=true)", p, g, 1);
    step_ok(opt);
    CLOSE(p[0], 1.1, 1e-15);
    dsc_optim_destroy(opt);
}

static void test_adagrad_steps(void **state)
{
    (void)state;
    /* g = 2: sum = 4, p = 1 - 0.1*2/(2 + 1e-10) = 0.9 (to 1e-11);
     * sum = 8, p = 0.9 - 0.1*2/sqrt(8) = 0.8292893218813453 */
    double p[1] = {1}, g[1] = {2};
    dsc_optim *opt = make1("adagrad(lr=0.1)", p, g, 1);
    step_ok(opt);
    CLOSE(p[0], 0.9, 1e-10);
    CLOSE(state_of(opt, 0, "sum")[0], 4, 0);
    step_ok(opt);
    CLOSE(p[0], 0.8292893218813453, 1e-10);
    dsc_optim_destroy(opt);
    /* lr_decay 1: step 2 uses 0.1/(1 + 1) = 0.05: p = 0.9 - 0.05*2/sqrt(8) = 0.8646446609406726 */
    p[0] = 1;
    opt = make1("adagrad(lr=0.1, lr_decay=1)", p, g, 1);
    step_ok(opt);
    step_ok(opt);
    CLOSE(p[0], 0.8646446609406726, 1e-10);
    dsc_optim_destroy(opt);
    /* initial_accumulator_value 5: sum = 5 + 4 = 9, p = 1 - 0.1*2/3 = 0.9333... */
    p[0] = 1;
    opt = make1("adagrad(lr=0.1, initial_accumulator_value=5)", p, g, 1);
    CLOSE(state_of(opt, 0, "sum")[0], 5, 0);
    step_ok(opt);
    CLOSE(p[0], 1 - 0.2 / 3, 1e-10);
    dsc_optim_destroy(opt);
}

static void test_rmsprop_steps(void **state)
{
    (void)state;
    /* g = 1: v = 0.01*1 = 0.01, p = 1 - 0.01*1/(0.1 + 1e-8) = 0.9 (to 1e-8) */
    double p[1] = {1}, g[1] = {1};
    dsc_optim *opt = make1("rmsprop(lr=0.01)", p, g, 1);
    step_ok(opt);
    CLOSE(p[0], 0.9, 1.1e-8);
    CLOSE(state_of(opt, 0, "square_avg")[0], 0.01, 1e-17);
    dsc_optim_destroy(opt);
    /* centered: ga = 0.01, v - ga^2 = 0.0099, p = 1 - 0.01/sqrt(0.0099) = 0.8994962184740788
     * (eps 1e-12 moves that by about 1e-10) */
    p[0] = 1;
    opt = make1("rmsprop(lr=0.01, centered=true, eps=1e-12)", p, g, 1);
    step_ok(opt);
    CLOSE(p[0], 0.8994962184740788, 2e-10);
    CLOSE(state_of(opt, 0, "grad_avg")[0], 0.01, 1e-17);
    dsc_optim_destroy(opt);
    /* momentum 0.9: b1 = 1/0.1 = 10, p = 1 - 0.01*10 = 0.9; v2 = 0.99*0.01 + 0.01 = 0.0199,
     * b2 = 9 + 1/sqrt(0.0199), p = 0.9 - 0.01*b2 = 0.7391118794991665 */
    p[0] = 1;
    opt = make1("rmsprop(lr=0.01, momentum=0.9, eps=1e-12)", p, g, 1);
    step_ok(opt);
    CLOSE(p[0], 0.9, 2e-10);
    step_ok(opt);
    CLOSE(p[0], 0.7391118794991665, 2e-10);
    dsc_optim_destroy(opt);
}

/* Centered RMSprop's variance square_avg - grad_avg^2 rounded once, as torch's
 * addcmul(value=-1): one step of rmsprop(alpha=0.5, lr=2^-10) with gradient 1 from a
 * state where grad_avg^2 needs rounding and square_avg is that rounded square. Every
 * other operation is exact, so rounding the square first leaves a variance of exactly
 * 0 and a step of lr/eps (to -97656 in f32); torch's values, bit for bit, from
 * tests/golden/make_rmsprop_fma.py (torch 1.13, CPU). Fast kernels and reference alike. */
static void test_rmsprop_centered_fma(void **state)
{
    (void)state;
    const char *spec = "rmsprop(lr=0.0009765625, alpha=0.5, centered=true)";
    for (int ref = 0; ref < 2; ref++) {
        float p32[1] = {0.25f}, g32[1] = {1.0f};
        dsc_param q = f64_param("w", p32, g32, 1);
        q.dtype = DSC_F32;
        dsc_optim *opt = NULL;
        assert_int_equal(dsc_optim_create_spec(&opt, spec, &q, 1), DSC_OK);
        dsc_optim_use_reference(opt, ref);
        float *v = (float *)(void *)state_of(opt, 0, "square_avg"), *ga = (float *)(void *)state_of(opt, 0, "grad_avg");
        v[0] = 0x1.00400cp+0f;
        ga[0] = 0x1.002004p+0f;
        step_ok(opt);
        assert_true(ga[0] == 0x1.001002p+0f);
        assert_true(v[0] == 0x1.002006p+0f);
        if (p32[0] != -0x1.e03abp+1f) fail_msg("f32 %s: p = %a, torch -0x1.e03abp+1", ref ? "reference" : "fast", (double)p32[0]);
        dsc_optim_destroy(opt);

        double p64[1] = {0.25}, g64[1] = {1.0};
        opt = make1(spec, p64, g64, 1);
        dsc_optim_use_reference(opt, ref);
        state_of(opt, 0, "square_avg")[0] = 0x1.1000000000003p+1;
        state_of(opt, 0, "grad_avg")[0] = 0x1.8000000000002p+0;
        step_ok(opt);
        assert_true(state_of(opt, 0, "grad_avg")[0] == 0x1.4000000000001p+0);
        assert_true(state_of(opt, 0, "square_avg")[0] == 0x1.9000000000003p+0);
        if (p64[0] != -0x1.737f9311db7c8p+15) fail_msg("f64 %s: p = %a, torch -0x1.737f9311db7c8p+15", ref ? "reference" : "fast", p64[0]);
        dsc_optim_destroy(opt);
    }
}

static void test_adadelta_step(void **state)
{
    (void)state;
    /* g = 1, rho 0.9, eps 1e-6: v = 0.1; delta = sqrt(0 + 1e-6)/sqrt(0.1 + 1e-6) = 0.0031622618...;
     * p = 1 - 1*delta = 0.9968377381511013; u = 0.1*delta^2 = 9.999900000999993e-07 */
    double p[1] = {1}, g[1] = {1};
    dsc_optim *opt = make1("adadelta", p, g, 1);
    step_ok(opt);
    CLOSE(p[0], 0.9968377381511013, 1e-15);
    CLOSE(state_of(opt, 0, "square_avg")[0], 0.1, 1e-16);
    CLOSE(state_of(opt, 0, "acc_delta")[0], 9.999900000999993e-07, 1e-20);
    dsc_optim_destroy(opt);
}

static void test_adam_steps(void **state)
{
    (void)state;
    /* A constant gradient: m-hat = g and v-hat = g^2 at every step, so each step moves
     * every coordinate by lr*sign(g) (eps 1e-12 changes that by under 1e-12/0.5). */
    double p[2] = {0, 0}, g[2] = {3, -0.5};
    dsc_optim *opt = make1("adam(lr=0.01, eps=1e-12)", p, g, 2);
    step_ok(opt);
    CLOSE(p[0], -0.01, 1e-13);
    CLOSE(p[1], 0.01, 1e-13);
    CLOSE(state_of(opt, 0, "exp_avg")[0], 0.3, 1e-15);
    CLOSE(state_of(opt, 0, "exp_avg_sq")[0], 0.009, 1e-15);
    step_ok(opt);
    CLOSE(p[0], -0.02, 1e-13);
    CLOSE(p[1], 0.02, 1e-13);
    dsc_optim_destroy(opt);
}

static void test_amsgrad_step(void **state)
{
    (void)state;
    /* g = 1 then 0.01: v1 = 0.001, v2 = 0.999*0.001 + 0.001*1e-4 = 0.0009991 < v1, so
     * AMSGrad divides by the older v1: m2 = 0.09 + 0.001 = 0.091, m-hat = 0.091/0.19,
     * step = 0.01*m-hat/sqrt(v1/0.001999) = 0.0067716450944595415, p = 0.99 - step;
     * Adam divides by sqrt(v2/0.001999): step 0.006774694393183127. */
    double p[1] = {1}, g[1] = {1};
    dsc_optim *ams = make1("adam(lr=0.01, eps=1e-12, amsgrad=true)", p, g, 1);
    step_ok(ams);
    g[0] = 0.01;
    step_ok(ams);
    CLOSE(p[0], 0.9832283549055405, 1e-12);
    CLOSE(state_of(ams, 0, "max_exp_avg_sq")[0], 0.001, 1e-18);
    dsc_optim_destroy(ams);
    p[0] = 1;
    g[0] = 1;
    dsc_optim *adam = make1("adam(lr=0.01, eps=1e-12)", p, g, 1);
    step_ok(adam);
    g[0] = 0.01;
    step_ok(adam);
    CLOSE(p[0], 0.9832253056068169, 1e-12);
    dsc_optim_destroy(adam);
}

static void test_adam_decay_coupled_vs_decoupled(void **state)
{
    (void)state;
    /* g = 0, p = 1, lr 0.01, wd 0.1.
     * Adam (L2): d = 0.1*p = 0.1, a constant-gradient first step: p = 1 - 0.01 = 0.99.
     * AdamW: p = 1*(1 - 0.01*0.1) = 0.999, then m = v = 0 move it by 0/(0 + eps) = 0. */
    double p[1] = {1}, g[1] = {0};
    dsc_optim *opt = make1("adam(lr=0.01, weight_decay=0.1, eps=1e-12)", p, g, 1);
    step_ok(opt);
    CLOSE(p[0], 0.99, 1e-12);
    dsc_optim_destroy(opt);
    p[0] = 1;
    opt = make1("adamw(lr=0.01, weight_decay=0.1)", p, g, 1);
    step_ok(opt);
    CLOSE(p[0], 0.999, 1e-15);
    dsc_optim_destroy(opt);
}

static void test_adamax_steps(void **state)
{
    (void)state;
    /* eps 1e-14. g = 2: m = 0.2, u = max(0, 2 + eps), p = -(0.002/0.1)*0.2/2 = -0.002;
     * g = 1: m = 0.18 + 0.1 = 0.28, u = max(0.999*2, 1) = 1.998,
     * p = -0.002 - (0.002/0.19)*(0.28/1.998) = -0.003475159369896212 */
    double p[1] = {0}, g[1] = {2};
    dsc_optim *opt = make1("adamax(eps=1e-14)", p, g, 1);
    step_ok(opt);
    CLOSE(p[0], -0.002, 1e-16);
    CLOSE(state_of(opt, 0, "exp_inf")[0], 2 + 1e-14, 1e-16);
    g[0] = 1;
    step_ok(opt);
    CLOSE(p[0], -0.003475159369896212, 1e-16);
    CLOSE(state_of(opt, 0, "exp_inf")[0], 0.999 * (2 + 1e-14), 1e-16);
    dsc_optim_destroy(opt);
}

static void test_nadam_step(void **state)
{
    (void)state;
    /* mu1 = 0.9*(1 - 0.5*0.96^0.004) = 0.45007347359129607, mu2 (at 0.008) = 0.4501469351862175.
     * m = 0.1g, v = 0.001g^2, denom = sqrt(v/0.001) + eps = |g|, so
     * p -= lr*sign(g)*((1-mu1)/(1-mu1) + 0.1*mu2/(1 - mu1*mu2)) = lr*sign(g)*1.0564517783553882 */
    double p[2] = {0, 0}, g[2] = {4, -0.25};
    dsc_optim *opt = make1("nadam(lr=0.01, eps=1e-12)", p, g, 2);
    step_ok(opt);
    CLOSE(p[0], -0.010564517783553882, 1e-13);
    CLOSE(p[1], 0.010564517783553882, 1e-12);
    double mu;
    assert_int_equal(dsc_optim_get_scalar(opt, 0, "mu_product", &mu), DSC_OK);
    CLOSE(mu, 0.45007347359129607, 1e-16);
    dsc_optim_destroy(opt);
}

static void test_radam_steps(void **state)
{
    (void)state;
    /* rho_inf = 1999, rho_t = 1999 - 2t*0.999^t/(1-0.999^t): 1, 1.9995, 2.9987, 3.9975,
     * 4.9960, 5.9942. Steps 1-5 are unrectified: p -= lr*m-hat = lr*g for a constant g
     * (0.1*0.5 = 0.05 each); step 6 is rectified with
     * r = sqrt((rho-4)(rho-2)rho_inf/((rho_inf-4)(rho_inf-2)rho)) = 0.02582111280185855
     * and moves lr*r*m-hat*sqrt(bc2)/sqrt(v) = lr*r (v-hat = g^2). */
    double p[1] = {1}, g[1] = {0.5};
    dsc_optim *opt = make1("radam(lr=0.1, eps=1e-14)", p, g, 1);
    for (int t = 1; t <= 5; t++) {
        step_ok(opt);
        CLOSE(p[0], 1 - 0.05 * t, 1e-14);
    }
    step_ok(opt);
    CLOSE(p[0], 0.75 - 0.1 * 0.02582111280185855, 1e-12);
    dsc_optim_destroy(opt);
}

static void test_adabelief_step(void **state)
{
    (void)state;
    /* m = 0.1g; s = 0.001*(g - 0.1g)^2 + eps = 0.00081g^2 (+eps); s-hat = 0.81g^2, so
     * sqrt = 0.9|g| and the first step moves lr*sign(g)/0.9 (eps 1e-16 in s changes
     * that by about 1e-16/2e-4 relative). */
    double p[2] = {0, 0}, g[2] = {2, -0.5};
    dsc_optim *opt = make1("adabelief(lr=0.009)", p, g, 2);
    step_ok(opt);
    CLOSE(p[0], -0.01, 1e-14);
    CLOSE(p[1], 0.01, 1e-14);
    /* the authors' rule keeps eps inside the stored variance */
    CLOSE(state_of(opt, 0, "exp_avg_var")[0], 0.00081 * 4 + 1e-16, 1e-17);
    dsc_optim_destroy(opt);
}

/* Rprop by hand: step sizes start at lr, grow by eta_plus while the sign holds, shrink
 * by eta_minus (no move, gradient forgotten) when it flips, within step_sizes. */
static void test_rprop_steps(void **state)
{
    (void)state;
    double p[3] = {0, 0, 0}, g[3] = {2, -1, 0};
    dsc_optim *opt = make1("rprop(lr=0.1, etas=(0.5, 2), step_sizes=(0.03, 0.3))", p, g, 3);
    step_ok(opt); /* prev = 0: mult 1, sizes 0.1; p -= sign(g) * 0.1 */
    CLOSE(p[0], -0.1, 0);
    CLOSE(p[1], 0.1, 0);
    CLOSE(p[2], 0, 0);
    step_ok(opt); /* same signs: sizes 0.2; zero gradient: size stays 0.1 */
    CLOSE(p[0], -0.3, 1e-15);
    CLOSE(state_of(opt, 0, "step_size")[2], 0.1, 0);
    step_ok(opt); /* sizes 0.4 capped at 0.3 */
    CLOSE(p[0], -0.6, 1e-15);
    CLOSE(state_of(opt, 0, "step_size")[0], 0.3, 0);
    g[0] = -1;
    step_ok(opt); /* the sign flips: size 0.15, no move, prev = 0 */
    CLOSE(p[0], -0.6, 1e-15);
    CLOSE(state_of(opt, 0, "step_size")[0], 0.15, 1e-16);
    CLOSE(state_of(opt, 0, "prev")[0], 0, 0);
    step_ok(opt); /* prev 0: mult 1, move by 0.15 */
    CLOSE(p[0], -0.45, 1e-15);
    dsc_optim_destroy(opt);
    /* min > max is refused, naming both */
    dsc_hparams hp;
    assert_int_equal(dsc_hparams_parse("rprop(step_sizes=(1, 0.5))", &hp), DSC_ERR_RANGE);
    assert_non_null(strstr(dsc_last_error(), "step_sizes"));
    assert_int_equal(dsc_hparams_parse("rprop(etas=(1.5, 1.2))", &hp), DSC_ERR_RANGE);
    assert_non_null(strstr(dsc_last_error(), "eta_minus"));
}

/* ASGD by hand: step 1 uses eta = lr, then eta = lr/(1 + lambd*lr*t)^alpha; ax copies p
 * while mu = 1 (t <= t0 + 1) and averages after: mu = 1/(t - t0). */
static void test_asgd_steps(void **state)
{
    (void)state;
    double p[1] = {1}, g[1] = {1};
    dsc_optim *opt = make1("asgd(lr=0.1, lambd=0.5, alpha=1, t0=1)", p, g, 1);
    step_ok(opt); /* p = 1*(1 - 0.05) - 0.1 = 0.85; ax = p */
    CLOSE(p[0], 0.85, 1e-15);
    CLOSE(state_of(opt, 0, "ax")[0], 0.85, 1e-15);
    double eta, mu;
    assert_int_equal(dsc_optim_get_scalar(opt, 0, "eta", &eta), DSC_OK);
    assert_int_equal(dsc_optim_get_scalar(opt, 0, "mu", &mu), DSC_OK);
    CLOSE(eta, 0.1 / 1.05, 1e-16);
    CLOSE(mu, 1, 0);
    step_ok(opt); /* p = 0.85*(1 - 0.5*eta) - eta; mu still 1: ax = p; then mu = 1/(2-1) = 1 */
    double p2 = 0.85 * (1 - 0.5 * eta) - eta;
    CLOSE(p[0], p2, 1e-15);
    CLOSE(state_of(opt, 0, "ax")[0], p2, 1e-15);
    step_ok(opt); /* mu = 1 still (t - t0 = 1): ax = p; afterwards mu = 1/2 */
    double p3 = p[0];
    CLOSE(state_of(opt, 0, "ax")[0], p3, 0);
    assert_int_equal(dsc_optim_get_scalar(opt, 0, "mu", &mu), DSC_OK);
    CLOSE(mu, 0.5, 0);
    step_ok(opt); /* ax = p3 + (p4 - p3)/2 */
    CLOSE(state_of(opt, 0, "ax")[0], p3 + (p[0] - p3) * 0.5, 1e-15);
    dsc_optim_destroy(opt);
}

/* ---------------------------------------------------------------- dtypes, decay, groups */

/* Adam on f(p) = sum (p - c)^2 / 2, 100 steps, in f32 and in f64: the same path. */
static void test_f32_tracks_f64(void **state)
{
    (void)state;
    enum { N = 16 };
    float p32[N], g32[N];
    double p64[N], g64[N];
    for (int i = 0; i < N; i++) p64[i] = p32[i] = (float)(i - 7.5) / 4;
    dsc_param a = f64_param("w", p32, g32, N), b = f64_param("w", p64, g64, N);
    a.dtype = DSC_F32;
    dsc_optim *o32, *o64;
    assert_int_equal(dsc_optim_create_spec(&o32, "adam(lr=0.01)", &a, 1), DSC_OK);
    assert_int_equal(dsc_optim_create_spec(&o64, "adam(lr=0.01)", &b, 1), DSC_OK);
    for (int t = 0; t < 100; t++) {
        for (int i = 0; i < N; i++) {
            g32[i] = p32[i] - 0.25f;
            g64[i] = p64[i] - 0.25;
        }
        step_ok(o32);
        step_ok(o64);
    }
    for (int i = 0; i < N; i++) CLOSE(p32[i], p64[i], 1e-5);
    assert_true(fabs(p64[0] - (-7.5 / 4)) > 0.5); /* it did move */
    dsc_optim_destroy(o32);
    dsc_optim_destroy(o64);
}

static void test_no_decay_flag(void **state)
{
    (void)state;
    /* AdamW with g = 0 only decays: p *= 1 - 0.1*0.5; the DSC_NO_DECAY tensor keeps 1.
     * The same for coupled L2 (SGD: p -= 0.1*0.5*p) and for L1 (p -= 0.1*0.2*sign p). */
    const char *specs[] = {"adamw(lr=0.1, weight_decay=0.5)", "sgd(lr=0.1, weight_decay=0.5)",
                           "sgd(lr=0.1, l1=0.2)"};
    const double want[] = {0.95, 0.95, 0.98};
    for (int s = 0; s < 3; s++) {
        double w[1] = {1}, gw[1] = {0}, b[1] = {1}, gb[1] = {0};
        dsc_param ps[2] = {f64_param("w", w, gw, 1), f64_param("b", b, gb, 1)};
        ps[1].flags = DSC_NO_DECAY;
        dsc_optim *opt;
        assert_int_equal(dsc_optim_create_spec(&opt, specs[s], ps, 2), DSC_OK);
        step_ok(opt);
        CLOSE(w[0], want[s], 1e-15);
        CLOSE(b[0], 1.0, 0);
        dsc_optim_destroy(opt);
    }
}

static void test_no_decay_1d(void **state)
{
    (void)state;
    double d[6], g[6];
    dsc_param ps[3] = {f64_param("w", d, g, 6), f64_param("b", d, g, 3), f64_param("s", d, g, 1)};
    ps[0].ndim = 2;
    ps[0].shape[0] = 2;
    ps[0].shape[1] = 3;
    ps[1].ndim = 1;
    ps[1].shape[0] = 3;
    ps[2].flags = 4; /* other bits survive */
    dsc_params_no_decay_1d(ps, 3);
    assert_int_equal(ps[0].flags, 0);
    assert_int_equal(ps[1].flags, DSC_NO_DECAY);
    assert_int_equal(ps[2].flags, 4 | DSC_NO_DECAY);
    dsc_params_no_decay_1d(NULL, 3); /* harmless */
}

static void test_groups_lr(void **state)
{
    (void)state;
    /* Two groups under sgd(lr=0.1); group 1 gets lr 0.5: g = 1 moves them 0.1 and 0.5. */
    double a[1] = {1}, ga[1] = {1}, b[1] = {1}, gb[1] = {1};
    dsc_optim *opt = make2("sgd(lr=0.1)", a, ga, b, gb);
    assert_int_equal(dsc_optim_group_count(opt), 2);
    assert_int_equal(dsc_optim_set_group_spec(opt, 1, "lr=0.5"), DSC_OK);
    double lr;
    assert_int_equal(dsc_optim_get_lr(opt, 0, &lr), DSC_OK);
    CLOSE(lr, 0.1, 0);
    assert_int_equal(dsc_optim_get_lr(opt, 1, &lr), DSC_OK);
    CLOSE(lr, 0.5, 0);
    step_ok(opt);
    CLOSE(a[0], 0.9, 1e-15);
    CLOSE(b[0], 0.5, 1e-15);
    /* set_lr on group 0 only */
    assert_int_equal(dsc_optim_set_lr(opt, 0, 0.2), DSC_OK);
    step_ok(opt);
    CLOSE(a[0], 0.7, 1e-15);
    CLOSE(b[0], 0.0, 1e-15);
    /* bad values and groups leave everything as it was */
    assert_int_equal(dsc_optim_set_lr(opt, 0, -1), DSC_ERR_RANGE);
    assert_non_null(strstr(dsc_last_error(), "lr"));
    assert_int_equal(dsc_optim_set_lr(opt, 0, NAN), DSC_ERR_RANGE);
    assert_int_equal(dsc_optim_set_lr(opt, 2, 0.1), DSC_ERR_ARG);
    assert_int_equal(dsc_optim_get_lr(opt, -1, &lr), DSC_ERR_ARG);
    assert_int_equal(dsc_optim_get_lr(opt, 0, NULL), DSC_ERR_ARG);
    assert_int_equal(dsc_optim_get_lr(opt, 0, &lr), DSC_OK);
    CLOSE(lr, 0.2, 0);
    /* lr 0 freezes a group, as in torch; by set_lr or by the group's keys */
    assert_int_equal(dsc_optim_set_lr(opt, 0, 0), DSC_OK);
    assert_int_equal(dsc_optim_set_group_spec(opt, 1, "lr=0"), DSC_OK);
    step_ok(opt);
    CLOSE(a[0], 0.7, 0);
    CLOSE(b[0], 0.0, 0);
    dsc_optim_destroy(opt);
}

static void test_set_group_spec(void **state)
{
    (void)state;
    double p[2] = {1, 1}, g[2] = {0, 0};
    dsc_optim *opt = make1("sgd(lr=0.1, momentum=0.9)", p, g, 2);
    dsc_hparams hp;
    assert_int_equal(dsc_optim_set_group_spec(opt, 0, "lr=0.5, weight_decay=0.1, nesterov=true"), DSC_OK);
    assert_int_equal(dsc_optim_get_group_hparams(opt, 0, &hp), DSC_OK);
    assert_true(hp.lr == 0.5 && hp.weight_decay == 0.1 && hp.nesterov && hp.momentum == 0.9);
    /* unknown key, bad value, a key of another kind: refused, nothing changes */
    assert_int_equal(dsc_optim_set_group_spec(opt, 0, "lr=0.2, betas=(0.9,0.99)"), DSC_ERR_SPEC);
    assert_int_equal(dsc_optim_set_group_spec(opt, 0, "lr=-3"), DSC_ERR_RANGE);
    assert_int_equal(dsc_optim_set_group_spec(opt, 0, "bogus=1"), DSC_ERR_SPEC);
    assert_non_null(strstr(dsc_last_error(), "bogus"));
    /* clipping is optimizer-wide */
    assert_int_equal(dsc_optim_set_group_spec(opt, 0, "clip_norm=1"), DSC_ERR_ARG);
    assert_int_equal(dsc_optim_set_group_spec(opt, 1, "lr=0.1"), DSC_ERR_ARG);
    assert_int_equal(dsc_optim_set_group_spec(opt, 0, NULL), DSC_ERR_ARG);
    assert_int_equal(dsc_optim_get_group_hparams(opt, 0, &hp), DSC_OK);
    assert_true(hp.lr == 0.5 && hp.weight_decay == 0.1 && hp.momentum == 0.9);
    /* the kind cannot change through set_group_hparams */
    hp = dsc_hparams_default(DSC_ADAM);
    assert_int_equal(dsc_optim_set_group_hparams(opt, 0, &hp), DSC_ERR_MISMATCH);
    dsc_optim_destroy(opt);
}

/* Adagrad's sums start at the create-time initial_accumulator_value in every group, as
 * torch 1.13 fills every group's from the constructor's (Adagrad.__init__); a group's own
 * value is kept in its hyperparameters, as torch keeps it in param_groups, and changes no
 * sum. g = 1: both groups' sums 0.5 -> 1.5, moves 0.1*1/sqrt(1.5). The golden case
 * adagrad "group_initial_accumulator" checks the same against torch over 200 steps. */
static void test_group_initial_accumulator(void **state)
{
    (void)state;
    double a[1] = {1}, ga[1] = {1}, b[1] = {1}, gb[1] = {1};
    dsc_optim *opt = make2("adagrad(lr=0.1, eps=1e-14, initial_accumulator_value=0.5)", a, ga, b, gb);
    assert_int_equal(dsc_optim_set_group_spec(opt, 1, "initial_accumulator_value=3"), DSC_OK);
    dsc_hparams hp;
    assert_int_equal(dsc_optim_get_group_hparams(opt, 1, &hp), DSC_OK);
    assert_true(hp.initial_accumulator_value == 3);
    CLOSE(state_of(opt, 0, "sum")[0], 0.5, 0);
    CLOSE(state_of(opt, 1, "sum")[0], 0.5, 0);
    step_ok(opt);
    CLOSE(a[0], 1 - 0.1 / sqrt(1.5), 1e-15);
    CLOSE(b[0], 1 - 0.1 / sqrt(1.5), 1e-15);
    assert_int_equal(dsc_optim_set_group_spec(opt, 1, "initial_accumulator_value=0"), DSC_OK);
    CLOSE(state_of(opt, 1, "sum")[0], 1.5, 0);
    dsc_optim_destroy(opt);
}

/* The state names of tensor i, joined with commas. */
static const char *names_of(dsc_optim *opt, size_t i)
{
    static char buf[256];
    size_t len = 0;
    buf[0] = '\0';
    for (size_t k = 0; k < dsc_optim_state_count(opt, i); k++) {
        const char *name;
        assert_int_equal(dsc_optim_state(opt, i, k, &name, NULL), DSC_OK);
        len += (size_t)snprintf(buf + len, sizeof buf - len, "%s%s", k ? "," : "", name);
    }
    return buf;
}

/* Groups may differ in momentum, amsgrad and centered, as torch's param groups do: each
 * tensor gets its group's buffers, allocated when a group turns one on (zeros, as torch
 * creates them; SGD's momentum buffer starts as the gradient of its first step, even
 * when the optimizer has stepped before) and freed when it turns it off. */
static void test_groups_differ(void **state)
{
    (void)state;
    double a[1] = {1}, ga[1] = {1}, b[1] = {1}, gb[1] = {1};
    dsc_optim *opt = make2("sgd(lr=0.1)", a, ga, b, gb);
    size_t bytes = dsc_optim_state_bytes(opt);
    assert_int_equal(dsc_optim_set_group_spec(opt, 1, "momentum=0.5, dampening=0.5"), DSC_OK);
    assert_string_equal(names_of(opt, 0), "");
    assert_string_equal(names_of(opt, 1), "momentum_buffer");
    assert_int_equal(dsc_optim_state_bytes(opt), bytes + sizeof(double));
    /* step 1: a = 1 - 0.1; b's buffer starts as g = 1, b = 0.9 */
    step_ok(opt);
    CLOSE(a[0], 0.9, 1e-15);
    CLOSE(b[0], 0.9, 1e-15);
    /* step 2: buffer 0.5*1 + 0.5*1 = 1, b = 0.8 */
    step_ok(opt);
    CLOSE(b[0], 0.8, 1e-15);
    CLOSE(state_of(opt, 1, "momentum_buffer")[0], 1, 0);
    /* off: the buffer goes; on again (after steps) it starts again as the gradient of its
     * first step, not (1 - dampening)*g */
    assert_int_equal(dsc_optim_set_group_spec(opt, 1, "momentum=0"), DSC_OK);
    assert_int_equal(dsc_optim_state_count(opt, 1), 0);
    assert_int_equal(dsc_optim_state_bytes(opt), bytes);
    step_ok(opt);
    CLOSE(b[0], 0.7, 1e-15);
    assert_int_equal(dsc_optim_set_group_spec(opt, 0, "momentum=0.5, dampening=0.5"), DSC_OK);
    ga[0] = 2;
    step_ok(opt);
    CLOSE(state_of(opt, 0, "momentum_buffer")[0], 2, 0);
    CLOSE(a[0], 0.7 - 0.2, 1e-15);
    step_ok(opt); /* and then its own rule: 0.5*2 + 0.5*2 */
    CLOSE(state_of(opt, 0, "momentum_buffer")[0], 2, 0);
    dsc_optim_destroy(opt);

    /* the layouts of Adam's amsgrad and RMSprop's momentum and centered, group by group;
     * the kept buffers keep their values */
    a[0] = b[0] = ga[0] = 1;
    opt = make2("adam(lr=0.1)", a, ga, b, gb);
    assert_int_equal(dsc_optim_set_group_spec(opt, 1, "amsgrad=true"), DSC_OK);
    assert_string_equal(names_of(opt, 0), "exp_avg,exp_avg_sq");
    assert_string_equal(names_of(opt, 1), "exp_avg,exp_avg_sq,max_exp_avg_sq");
    step_ok(opt);
    CLOSE(state_of(opt, 1, "max_exp_avg_sq")[0], 1e-3, 1e-18);
    assert_int_equal(dsc_optim_set_group_spec(opt, 0, "amsgrad=true"), DSC_OK);
    CLOSE(state_of(opt, 0, "max_exp_avg_sq")[0], 0, 0);
    CLOSE(state_of(opt, 0, "exp_avg_sq")[0], 1e-3, 1e-18);
    dsc_optim_destroy(opt);
    opt = make2("rmsprop(lr=0.1)", a, ga, b, gb);
    assert_int_equal(dsc_optim_set_group_spec(opt, 0, "centered=true"), DSC_OK);
    assert_int_equal(dsc_optim_set_group_spec(opt, 1, "momentum=0.9"), DSC_OK);
    assert_string_equal(names_of(opt, 0), "square_avg,grad_avg");
    assert_string_equal(names_of(opt, 1), "square_avg,momentum_buffer");
    assert_int_equal(dsc_optim_set_group_spec(opt, 0, "momentum=0.9"), DSC_OK);
    assert_string_equal(names_of(opt, 0), "square_avg,momentum_buffer,grad_avg");
    step_ok(opt);
    dsc_optim_destroy(opt);
}

/* ---------------------------------------------------------------- state buffers */

static void test_state_buffers(void **state)
{
    (void)state;
    static const struct {
        const char *spec;
        int count;
        const char *names[3];
    } cases[] = {
        {"sgd", 0, {NULL}},
        {"sgd(momentum=0.5)", 1, {"momentum_buffer"}},
        {"adagrad", 1, {"sum"}},
        {"rmsprop", 1, {"square_avg"}},
        {"rmsprop(momentum=0.9, centered=true)", 3, {"square_avg", "momentum_buffer", "grad_avg"}},
        {"adadelta", 2, {"square_avg", "acc_delta"}},
        {"adam", 2, {"exp_avg", "exp_avg_sq"}},
        {"adamw(amsgrad=true)", 3, {"exp_avg", "exp_avg_sq", "max_exp_avg_sq"}},
        {"adamax", 2, {"exp_avg", "exp_inf"}},
        {"nadam", 2, {"exp_avg", "exp_avg_sq"}},
        {"radam", 2, {"exp_avg", "exp_avg_sq"}},
        {"adabelief(amsgrad=true)", 3, {"exp_avg", "exp_avg_var", "max_exp_avg_var"}},
        {"rprop", 2, {"prev", "step_size"}},
        {"asgd", 1, {"ax"}},
        {"adafactor", 1, {"variance"}}, /* the 1-D tensors'; test_adafactor.c: matrices */
    };
    float p32[5] = {0}, g32[5] = {0};
    double p64[3] = {0}, g64[3] = {0};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        dsc_param ps[2] = {f64_param("a", p32, g32, 5), f64_param("b", p64, g64, 3)};
        ps[0].dtype = DSC_F32;
        dsc_optim *opt;
        assert_int_equal(dsc_optim_create_spec(&opt, cases[c].spec, ps, 2), DSC_OK);
        for (size_t i = 0; i < 2; i++) {
            assert_int_equal(dsc_optim_state_count(opt, i), cases[c].count);
            for (int k = 0; k < cases[c].count; k++) {
                const char *name;
                void *data;
                assert_int_equal(dsc_optim_state(opt, i, (size_t)k, &name, &data), DSC_OK);
                assert_string_equal(name, cases[c].names[k]);
                assert_int_equal((uintptr_t)data % 64, 0); /* 64-byte aligned */
            }
            assert_int_equal(dsc_optim_state(opt, i, (size_t)cases[c].count, NULL, NULL), DSC_ERR_ARG);
        }
        /* 5 floats and 3 doubles per buffer */
        assert_int_equal(dsc_optim_state_bytes(opt), (size_t)cases[c].count * (5 * 4 + 3 * 8));
        assert_int_equal(dsc_optim_state_count(opt, 2), 0);
        dsc_optim_destroy(opt);
    }
}

/* ---------------------------------------------------------------- non-finite gradients */

static void test_nonfinite_skip(void **state)
{
    (void)state;
    double p[2] = {1, 1}, g[2] = {1, NAN};
    dsc_optim *opt = make1("adam(lr=0.1)", p, g, 2);
    step_ok(opt); /* skip is the default: OK, but nothing moves */
    assert_true(dsc_optim_last_skipped(opt));
    assert_int_equal(dsc_optim_skipped_count(opt), 1);
    assert_int_equal(dsc_optim_consecutive_skips(opt), 1);
    assert_int_equal(dsc_optim_step_count(opt), 0);
    CLOSE(p[0], 1, 0);
    CLOSE(p[1], 1, 0);
    CLOSE(state_of(opt, 0, "exp_avg")[0], 0, 0);
    g[1] = INFINITY;
    step_ok(opt);
    assert_int_equal(dsc_optim_skipped_count(opt), 2);
    assert_int_equal(dsc_optim_consecutive_skips(opt), 2);
    /* a finite step runs as a first step (bias correction of t = 1) and resets the run */
    g[1] = -1;
    step_ok(opt);
    assert_false(dsc_optim_last_skipped(opt));
    assert_int_equal(dsc_optim_step_count(opt), 1);
    assert_int_equal(dsc_optim_consecutive_skips(opt), 0);
    assert_int_equal(dsc_optim_skipped_count(opt), 2);
    CLOSE(p[0], 0.9, 1e-7);
    CLOSE(p[1], 1.1, 1e-7);
    dsc_optim_destroy(opt);
}

static void test_nonfinite_error_and_ignore(void **state)
{
    (void)state;
    double p[2] = {1, 1}, g[2] = {1, -INFINITY};
    dsc_optim *opt = make1("sgd(lr=0.1, momentum=0.9, nonfinite=error)", p, g, 2);
    assert_int_equal(dsc_optim_step(opt), DSC_ERR_NONFINITE);
    assert_non_null(strstr(dsc_last_error(), "non-finite"));
    assert_int_equal(dsc_optim_step_count(opt), 0);
    assert_int_equal(dsc_optim_skipped_count(opt), 0);
    CLOSE(p[0], 1, 0);
    CLOSE(p[1], 1, 0);
    CLOSE(state_of(opt, 0, "momentum_buffer")[0], 0, 0);
    dsc_optim_destroy(opt);

    /* ignore: no check, the NaN flows into the parameter; no norm is measured */
    g[1] = NAN;
    opt = make1("sgd(lr=0.1, nonfinite=ignore)", p, g, 2);
    step_ok(opt);
    assert_int_equal(dsc_optim_step_count(opt), 1);
    CLOSE(p[0], 0.9, 1e-15);
    assert_true(isnan(p[1]));
    assert_true(isnan(dsc_optim_grad_norm(opt)));
    dsc_optim_destroy(opt);
}

static void test_max_consecutive_skips(void **state)
{
    (void)state;
    double p[1] = {1}, g[1] = {NAN};
    dsc_optim *opt = make1("sgd(lr=0.1, max_consecutive_skips=2)", p, g, 1);
    step_ok(opt);
    assert_int_equal(dsc_optim_step(opt), DSC_ERR_NONFINITE);
    assert_non_null(strstr(dsc_last_error(), "consecutive"));
    assert_int_equal(dsc_optim_skipped_count(opt), 2);
    CLOSE(p[0], 1, 0);
    /* one good step resets the count: two more skips are needed to fail again */
    g[0] = 1;
    step_ok(opt);
    g[0] = NAN;
    step_ok(opt);
    assert_int_equal(dsc_optim_consecutive_skips(opt), 1);
    dsc_optim_destroy(opt);
}

/* ---------------------------------------------------------------- clipping */

/* Two tensors with g = (3, 4) and (12): 2-norm 13, 1-norm 19, inf-norm 12, per-tensor
 * 2-norms 5 and 12. SGD with lr 1 and p = 0 leaves p = -(clipped g). */
static void clip_case(const char *spec, double want_norm, const double want[3])
{
    double a[2] = {0, 0}, ga[2] = {3, 4}, b[1] = {0}, gb[1] = {12};
    dsc_param ps[2] = {f64_param("a", a, ga, 2), f64_param("b", b, gb, 1)};
    dsc_optim *opt;
    if (dsc_optim_create_spec(&opt, spec, ps, 2)) fail_msg("'%s': %s", spec, dsc_last_error());
    step_ok(opt);
    CLOSE(dsc_optim_grad_norm(opt), want_norm, 1e-12);
    CLOSE(-a[0], want[0], 1e-12);
    CLOSE(-a[1], want[1], 1e-12);
    CLOSE(-b[0], want[2], 1e-12);
    dsc_optim_destroy(opt);
}

static void test_clip_norm(void **state)
{
    (void)state;
    /* no clipping: the 2-norm is still measured */
    clip_case("sgd(lr=1)", 13, (const double[]){3, 4, 12});
    /* global 2-norm 13 to 1: coefficient 1/(13 + 1e-6) */
    double c = 1 / (13 + 1e-6);
    clip_case("sgd(lr=1, clip_norm=1)", 13, (const double[]){3 * c, 4 * c, 12 * c});
    /* a max_norm above the norm leaves g alone */
    clip_case("sgd(lr=1, clip_norm=20)", 13, (const double[]){3, 4, 12});
    /* per tensor: a's norm 5 -> 1/(5 + 1e-6), b's 12 -> 1/(12 + 1e-6) */
    double ca = 1 / (5 + 1e-6), cb = 1 / (12 + 1e-6);
    clip_case("sgd(lr=1, clip_norm=1, clip_per_tensor=true)", 13, (const double[]){3 * ca, 4 * ca, 12 * cb});
    /* inf-norm 12 to 6: coefficient 6/(12 + 1e-6) */
    c = 6 / (12 + 1e-6);
    clip_case("sgd(lr=1, clip_norm=6, clip_norm_type=inf)", 12, (const double[]){3 * c, 4 * c, 12 * c});
    /* 1-norm 19 to 2 */
    c = 2 / (19 + 1e-6);
    clip_case("sgd(lr=1, clip_norm=2, clip_norm_type=1)", 19, (const double[]){3 * c, 4 * c, 12 * c});
    /* 3-norm (27 + 64 + 1728)^(1/3) = 1819^(1/3) to 1 */
    double n3 = cbrt(1819.0);
    c = 1 / (n3 + 1e-6);
    clip_case("sgd(lr=1, clip_norm=1, clip_norm_type=3)", n3, (const double[]){3 * c, 4 * c, 12 * c});
}

static void test_clip_value(void **state)
{
    (void)state;
    /* each element clamped to [-1, 1]: (3, 4) -> (1, 1), 12 -> 1; the norm is of the raw g */
    clip_case("sgd(lr=1, clip_value=1)", 13, (const double[]){1, 1, 1});
    double p[3] = {0, 0, 0}, g[3] = {0.5, -4, 0.25};
    dsc_optim *opt = make1("sgd(lr=1, clip_value=0.3)", p, g, 3);
    step_ok(opt);
    CLOSE(p[0], -0.3, 1e-15);
    CLOSE(p[1], 0.3, 1e-15);
    CLOSE(p[2], -0.25, 1e-15);
    dsc_optim_destroy(opt);
}

/* ---------------------------------------------------------------- create's errors */

static void create_bad(dsc_param *ps, size_t n, dsc_status want, const char *needle)
{
    dsc_optim *opt = (dsc_optim *)&opt; /* must be reset to NULL */
    dsc_hparams hp = dsc_hparams_default(DSC_ADAM);
    dsc_status st = dsc_optim_create(&opt, &hp, ps, n);
    if (st != want) fail_msg("status %d, want %d (%s)", st, want, dsc_last_error());
    assert_null(opt);
    if (needle && !strstr(dsc_last_error(), needle))
        fail_msg("message '%s' lacks '%s'", dsc_last_error(), needle);
}

static void test_create_errors(void **state)
{
    (void)state;
    double d[6], g[6], d2[6], g2[6];
    dsc_hparams hp = dsc_hparams_default(DSC_ADAM);
    dsc_param ps[2] = {f64_param("w", d, g, 6), f64_param("w", d2, g2, 6)};
    dsc_optim *opt;
    assert_int_equal(dsc_optim_create(NULL, &hp, ps, 1), DSC_ERR_ARG);
    assert_int_equal(dsc_optim_create(&opt, NULL, ps, 1), DSC_ERR_ARG);
    assert_int_equal(dsc_optim_create(&opt, &hp, NULL, 1), DSC_ERR_ARG);
    assert_int_equal(dsc_optim_create_spec(&opt, NULL, ps, 1), DSC_ERR_ARG);
    assert_int_equal(dsc_optim_create_spec(&opt, "adam(lr=2", ps, 1), DSC_ERR_SPEC);
    assert_null(opt);
    create_bad(ps, 0, DSC_ERR_ARG, "no parameters");
    create_bad(ps, 2, DSC_ERR_ARG, "share the name 'w'");
    ps[1].name = "v";
    ps[1].ndim = 2;
    ps[1].shape[0] = 2;
    ps[1].shape[1] = 2;
    create_bad(ps, 2, DSC_ERR_MISMATCH, "shape");
    ps[1].ndim = 0;
    ps[1].grad = d2;
    create_bad(ps, 2, DSC_ERR_ARG, "different buffers");
    ps[1].grad = g2;
    ps[1].dtype = (dsc_dtype)7;
    create_bad(ps, 2, DSC_ERR_ARG, "dtype");
    ps[1].dtype = DSC_F64;
    ps[1].data = NULL;
    create_bad(ps, 2, DSC_ERR_ARG, "NULL");
    ps[1].data = d2;
    ps[1].n = 0;
    create_bad(ps, 2, DSC_ERR_ARG, "element count");
    ps[1].n = 6;
    ps[1].group = -1;
    create_bad(ps, 2, DSC_ERR_ARG, "group");
    ps[1].group = 0;
    ps[1].name = "";
    create_bad(ps, 2, DSC_ERR_ARG, "name");
    ps[1].name = "v";
    ps[1].ndim = DSC_MAX_DIMS + 1;
    create_bad(ps, 2, DSC_ERR_ARG, "ndim");
    ps[1].ndim = 0;
    /* an invalid hyperparameter is refused with its name */
    hp.beta1 = 1.5;
    assert_int_equal(dsc_optim_create(&opt, &hp, ps, 2), DSC_ERR_RANGE);
    assert_non_null(strstr(dsc_last_error(), "beta1"));
    /* and the fixed-up descriptors work; names are copied */
    hp.beta1 = 0.9;
    char name[8] = "tmp";
    ps[1].name = name;
    assert_int_equal(dsc_optim_create(&opt, &hp, ps, 2), DSC_OK);
    strcpy(name, "xyz");
    assert_string_equal(dsc_optim_param(opt, 1)->name, "tmp");
    assert_int_equal(dsc_optim_param_count(opt), 2);
    assert_null(dsc_optim_param(opt, 2));
    dsc_optim_destroy(opt);
    dsc_optim_destroy(NULL);
}

static void test_zero_grad(void **state)
{
    (void)state;
    double p[3] = {1, 2, 3}, g[3] = {4, 5, 6};
    dsc_optim *opt = make1("sgd", p, g, 3);
    dsc_optim_zero_grad(opt);
    for (int i = 0; i < 3; i++) CLOSE(g[i], 0, 0);
    CLOSE(p[2], 3, 0);
    assert_int_equal(dsc_optim_kind(opt), DSC_SGD);
    dsc_optim_destroy(opt);
}

/* ---------------------------------------------------------------- fast vs reference */

/* The fused kernels and the scalar reference loop agree on tensors long enough for
 * vector bodies and tails (1037 = 1024 + 13), in both dtypes, over 30 steps. */
static void run_kernel(const char *spec, dsc_dtype dt, int reference, void *p, void *g, size_t n)
{
    dsc_param q = f64_param("w", p, g, n);
    q.dtype = dt;
    dsc_optim *opt;
    if (dsc_optim_create_spec(&opt, spec, &q, 1)) fail_msg("'%s': %s", spec, dsc_last_error());
    dsc_optim_use_reference(opt, reference);
    uint64_t x = 42;
    for (int t = 0; t < 30; t++) {
        for (size_t i = 0; i < n; i++) {
            x = x * 6364136223846793005ULL + 1442695040888963407ULL;
            double u = (double)(x >> 11) * 0x1p-53 - 0.5;
            if (dt == DSC_F32) ((float *)g)[i] = (float)u + 0.5f * ((float *)p)[i];
            else ((double *)g)[i] = u + 0.5 * ((double *)p)[i];
        }
        step_ok(opt);
    }
    dsc_optim_destroy(opt);
}

static void test_fast_matches_reference(void **state)
{
    (void)state;
    static const char *const specs[] = {
        "sgd(lr=0.05, momentum=0.9, nesterov=true, weight_decay=0.01)",
        "sgd(lr=0.05, momentum=0.9, lr_in_buffer=true, l1=0.01)",
        "adagrad(lr=0.05, lr_decay=0.01)",
        "rmsprop(momentum=0.9, centered=true)",
        "adadelta(weight_decay=0.1)",
        "adam(lr=0.01, amsgrad=true, maximize=true)",
        "adamw(lr=0.01, clip_norm=1)",
        "adamax(lr=0.01, clip_value=0.2)",
        "nadam(lr=0.01, weight_decay=0.1, decoupled_weight_decay=true)",
        "radam(lr=0.01, betas=(0.9, 0.99))",
        "adabelief(lr=0.01, amsgrad=true, weight_decay=0.1)",
    };
    enum { N = 1037 };
    static double a64[N], b64[N], g64[N];
    static float a32[N], b32[N], g32[N];
    for (size_t s = 0; s < sizeof specs / sizeof specs[0]; s++) {
        for (int i = 0; i < N; i++) {
            a64[i] = b64[i] = sin(i * 0.37);
            a32[i] = b32[i] = (float)a64[i];
        }
        run_kernel(specs[s], DSC_F64, 0, a64, g64, N);
        run_kernel(specs[s], DSC_F64, 1, b64, g64, N);
        run_kernel(specs[s], DSC_F32, 0, a32, g32, N);
        run_kernel(specs[s], DSC_F32, 1, b32, g32, N);
        for (int i = 0; i < N; i++) {
            if (!(fabs(a64[i] - b64[i]) <= 1e-13 * (fabs(b64[i]) + 1)))
                fail_msg("%s f64 [%d]: fast %.17g, reference %.17g", specs[s], i, a64[i], b64[i]);
            if (!(fabs(a32[i] - b32[i]) <= 1e-5f * (fabsf(b32[i]) + 1)))
                fail_msg("%s f32 [%d]: fast %.9g, reference %.9g", specs[s], i, a32[i], b32[i]);
        }
    }
}

/* ---------------------------------------------------------------- threads */

enum { TN = 257, TSTEPS = 300 };

typedef struct job {
    const char *spec;
    float p[TN], g[TN];
    dsc_status st;
} job;

/* Minimizes sum (p - sin(i))^2 / 2 from p = 0 with its own optimizer. */
static void *run_job(void *arg)
{
    job *j = arg;
    dsc_param q;
    memset(&q, 0, sizeof q);
    q.data = j->p;
    q.grad = j->g;
    q.n = TN;
    q.dtype = DSC_F32;
    memset(j->p, 0, sizeof j->p);
    dsc_optim *opt;
    j->st = dsc_optim_create_spec(&opt, j->spec, &q, 1);
    if (j->st) return NULL;
    for (int t = 0; t < TSTEPS && !j->st; t++) {
        for (int i = 0; i < TN; i++) j->g[i] = j->p[i] - sinf((float)i);
        j->st = dsc_optim_step(opt);
    }
    dsc_optim_destroy(opt);
    return NULL;
}

static void test_two_threads(void **state)
{
    (void)state;
    static job seq[2], par[2];
    const char *specs[2] = {"adam(lr=0.01, clip_norm=5)", "sgd(lr=0.05, momentum=0.9, nesterov=true)"};
    for (int k = 0; k < 2; k++) {
        seq[k].spec = par[k].spec = specs[k];
        run_job(&seq[k]);
        assert_int_equal(seq[k].st, DSC_OK);
    }
    pthread_t th[2];
    for (int k = 0; k < 2; k++) assert_int_equal(pthread_create(&th[k], NULL, run_job, &par[k]), 0);
    for (int k = 0; k < 2; k++) assert_int_equal(pthread_join(th[k], NULL), 0);
    for (int k = 0; k < 2; k++) {
        assert_int_equal(par[k].st, DSC_OK);
        assert_memory_equal(par[k].p, seq[k].p, sizeof par[k].p);
        CLOSE(seq[k].p[1], sinf(1.0f), 0.05); /* both reach the minimum */
    }
}

/* The last error is per thread: a failure in one thread leaves another's message. */
static void *fail_in_thread(void *arg)
{
    (void)arg;
    dsc_hparams hp;
    dsc_hparams_parse("adam(beta1=7)", &hp);
    return NULL;
}

static void test_error_per_thread(void **state)
{
    (void)state;
    dsc_hparams hp;
    assert_int_equal(dsc_hparams_parse("sgd(lr=-1)", &hp), DSC_ERR_RANGE);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, fail_in_thread, NULL), 0);
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_non_null(strstr(dsc_last_error(), "lr"));
    assert_null(strstr(dsc_last_error(), "beta1"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sgd_steps),
        cmocka_unit_test(test_rprop_steps),
        cmocka_unit_test(test_asgd_steps),
        cmocka_unit_test(test_sgd_lr_in_buffer),
        cmocka_unit_test(test_sgd_regularizers),
        cmocka_unit_test(test_adagrad_steps),
        cmocka_unit_test(test_rmsprop_steps),
        cmocka_unit_test(test_rmsprop_centered_fma),
        cmocka_unit_test(test_adadelta_step),
        cmocka_unit_test(test_adam_steps),
        cmocka_unit_test(test_amsgrad_step),
        cmocka_unit_test(test_adam_decay_coupled_vs_decoupled),
        cmocka_unit_test(test_adamax_steps),
        cmocka_unit_test(test_nadam_step),
        cmocka_unit_test(test_radam_steps),
        cmocka_unit_test(test_adabelief_step),
        cmocka_unit_test(test_f32_tracks_f64),
        cmocka_unit_test(test_no_decay_flag),
        cmocka_unit_test(test_no_decay_1d),
        cmocka_unit_test(test_groups_lr),
        cmocka_unit_test(test_set_group_spec),
        cmocka_unit_test(test_group_initial_accumulator),
        cmocka_unit_test(test_groups_differ),
        cmocka_unit_test(test_state_buffers),
        cmocka_unit_test(test_nonfinite_skip),
        cmocka_unit_test(test_nonfinite_error_and_ignore),
        cmocka_unit_test(test_max_consecutive_skips),
        cmocka_unit_test(test_clip_norm),
        cmocka_unit_test(test_clip_value),
        cmocka_unit_test(test_create_errors),
        cmocka_unit_test(test_zero_grad),
        cmocka_unit_test(test_fast_matches_reference),
        cmocka_unit_test(test_two_threads),
        cmocka_unit_test(test_error_per_thread),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
