/* test_sched.c: learning-rate schedules: every kind against PyTorch's lr_scheduler (and
 * numpy-ml's formulas) step by step, from tests/golden/schedules.txt; state save and
 * restore mid-run; bad specs; schedules attached to an optimizer, skipped steps. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "descent.h"

#define MAX_STEPS 256

typedef struct golden {
    char spec[512];
    double base;
    int steps;
    int nloss;
    double loss[MAX_STEPS];
    double lr[MAX_STEPS];
} golden;

/* Parses "a,b,c" or "a b c" into out; returns the count. */
static int parse_numbers(char *text, const char *sep, double *out, int max)
{
    int n = 0;
    for (char *tok = strtok(text, sep); tok && n < max; tok = strtok(NULL, sep)) out[n++] = strtod(tok, NULL);
    return n;
}

static int read_golden(FILE *f, golden *g)
{
    static char line[65536];
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#' || line[0] == '\n') continue;
        char *field[5];
        char *s = line;
        for (int i = 0; i < 5; i++) {
            field[i] = s;
            char *tab = strchr(s, '\t');
            if (i < 4) {
                if (!tab) fail_msg("malformed golden line: %s", line);
                *tab = '\0';
                s = tab + 1;
            }
        }
        if (strlen(field[0]) >= sizeof g->spec) fail_msg("golden spec too long: %s", field[0]);
        memcpy(g->spec, field[0], strlen(field[0]) + 1);
        g->base = strtod(field[1], NULL);
        g->steps = atoi(field[2]);
        g->nloss = strcmp(field[3], "-") ? parse_numbers(field[3], ",", g->loss, MAX_STEPS) : 0;
        int n = parse_numbers(field[4], " \n", g->lr, MAX_STEPS);
        if (n != g->steps) fail_msg("%s: %d rates for %d steps", g->spec, n, g->steps);
        return 1;
    }
    return 0;
}

static void check_close(const char *spec, int t, double got, double want)
{
    if (got == want) return;
    if (fabs(got - want) <= 1e-12 * fabs(want)) return;
    fail_msg("%s: step %d: lr %.17g, PyTorch %.17g", spec, t, got, want);
}

static dsc_sched *make(const char *spec, double base)
{
    dsc_sched *s = NULL;
    if (dsc_sched_create(&s, spec, base) != DSC_OK) fail_msg("'%s': %s", spec, dsc_last_error());
    return s;
}

static void advance(dsc_sched *s, const golden *g, int t)
{
    dsc_status st = g->nloss ? dsc_sched_step_loss(s, g->loss[t]) : dsc_sched_step(s);
    if (st) fail_msg("%s: step %d failed: %s", g->spec, t + 1, dsc_last_error());
}

static void test_golden_sequences(void **state)
{
    (void)state;
    FILE *f = fopen(DSC_TEST_DATA "/golden/schedules.txt", "r");
    assert_non_null(f);
    golden *g = malloc(sizeof *g);
    assert_non_null(g);
    int cases = 0;
    const char *seen[] = {"step(", "multistep", "exponential(", "cosine(", "cosine_restarts", "linear",
                          "constant", "polynomial", "onecycle", "cyclic", "plateau", "sequential",
                          "noam", "exponential_stages", "king", "lambda", "multiplicative", "chained"};
    enum { NSEEN = sizeof seen / sizeof seen[0] };
    int found[NSEEN] = {0};
    while (read_golden(f, g)) {
        dsc_sched *s = make(g->spec, g->base);
        for (int t = 0; t < g->steps; t++) {
            check_close(g->spec, t + 1, dsc_sched_lr(s), g->lr[t]);
            assert_int_equal(dsc_sched_position(s), t);
            if (t + 1 < g->steps) advance(s, g, t);
        }
        for (int k = 0; k < NSEEN; k++) found[k] |= !strncmp(g->spec, seen[k], strlen(seen[k]));
        dsc_sched_destroy(s);
        cases++;
    }
    fclose(f);
    free(g);
    assert_true(cases >= 40);
    for (int k = 0; k < NSEEN; k++)
        if (!found[k]) fail_msg("no golden case for %s", seen[k]);
}

/* Saving the state halfway and restoring it into a fresh schedule continues the same
 * sequence, for every golden case. */
static void test_state_roundtrip(void **state)
{
    (void)state;
    FILE *f = fopen(DSC_TEST_DATA "/golden/schedules.txt", "r");
    assert_non_null(f);
    golden *g = malloc(sizeof *g);
    assert_non_null(g);
    while (read_golden(f, g)) {
        dsc_sched *a = make(g->spec, g->base);
        int half = g->steps / 2;
        for (int t = 0; t < half; t++) advance(a, g, t);
        dsc_sched *b = make(g->spec, g->base);
        for (size_t k = 0; k < dsc_sched_state_count(a); k++) {
            const char *name;
            double v;
            assert_int_equal(dsc_sched_get_state(a, k, &name, &v), DSC_OK);
            if (dsc_sched_set_state(b, name, v)) fail_msg("%s: set %s: %s", g->spec, name, dsc_last_error());
        }
        const double *h;
        size_t nh = dsc_sched_history(a, &h);
        assert_int_equal(dsc_sched_set_history(b, h, nh), DSC_OK);
        for (int t = half; t < g->steps; t++) {
            check_close(g->spec, t + 1, dsc_sched_lr(b), g->lr[t]);
            if (t + 1 < g->steps) advance(b, g, t);
        }
        dsc_sched_destroy(a);
        dsc_sched_destroy(b);
    }
    fclose(f);
    free(g);
}

static void test_state_names(void **state)
{
    (void)state;
    dsc_sched *s = make("plateau", 0.1);
    const char *name;
    double v;
    assert_int_equal(dsc_sched_state_count(s), 5);
    assert_int_equal(dsc_sched_get_state(s, 2, &name, &v), DSC_OK);
    assert_string_equal(name, "best");
    assert_true(isinf(v) && v > 0);
    assert_int_equal(dsc_sched_set_state(s, "num_bad_epochs", -1), DSC_ERR_RANGE);
    assert_non_null(strstr(dsc_last_error(), "num_bad_epochs"));
    assert_int_equal(dsc_sched_set_state(s, "position", 1.5), DSC_ERR_RANGE);
    assert_int_equal(dsc_sched_set_state(s, "nosuch", 1), DSC_ERR_ARG);
    assert_int_equal(dsc_sched_get_state(s, 5, &name, &v), DSC_ERR_ARG);
    dsc_sched_destroy(s);
    s = make("sequential(linear, cosine_restarts(T_0=4), milestones=[5])", 0.1);
    assert_int_equal(dsc_sched_state_count(s), 2 + 2 + 4);
    assert_int_equal(dsc_sched_get_state(s, 7, &name, &v), DSC_OK);
    assert_string_equal(name, "1.T_i");
    assert_true(v == 4);
    assert_int_equal(dsc_sched_set_state(s, "1.T_i", 0), DSC_ERR_RANGE);
    dsc_sched_destroy(s);
    s = make("king(patience=3)", 0.1);
    double hist[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    assert_int_equal(dsc_sched_set_history(s, hist, 6), DSC_OK); /* ceil(1.1 * 4) + 1 */
    assert_int_equal(dsc_sched_set_history(s, hist, 7), DSC_ERR_RANGE);
    dsc_sched_destroy(s);
}

static void bad(const char *spec, dsc_status want, const char *needle)
{
    dsc_sched *s = (dsc_sched *)&s;
    dsc_status st = dsc_sched_create(&s, spec, 0.1);
    if (st != want) fail_msg("'%s': status %d, want %d (%s)", spec, st, want, dsc_last_error());
    assert_null(s);
    if (!strstr(dsc_last_error(), needle))
        fail_msg("'%s': message '%s' lacks '%s'", spec, dsc_last_error(), needle);
}

static void test_bad_specs(void **state)
{
    (void)state;
    bad("", DSC_ERR_SPEC, "empty");
    bad("nosuch", DSC_ERR_SPEC, "unknown schedule 'nosuch'");
    bad("step", DSC_ERR_SPEC, "step: step_size is required");
    bad("step(step_size=0)", DSC_ERR_RANGE, "step: step_size must be in [1");
    bad("step(step_size=2.5)", DSC_ERR_RANGE, "step_size must be an integer");
    bad("step(step_size=2, gamma=-1)", DSC_ERR_RANGE, "gamma must be in [0, inf)");
    bad("step(step_size=2, step_size=3)", DSC_ERR_SPEC, "given twice");
    bad("step(step_size=2, gama=0.5)", DSC_ERR_SPEC, "unknown key 'gama' (keys: step_size, gamma)");
    bad("step(2)", DSC_ERR_SPEC, "expected key=value");
    bad("exponential(gamma=abc)", DSC_ERR_SPEC, "gamma must be a number, got 'abc'");
    bad("multistep(milestones=3)", DSC_ERR_SPEC, "milestones must be a list");
    bad("multistep(milestones=[1, 2.5])", DSC_ERR_RANGE, "milestones must hold integers");
    bad("cosine(T_max=10", DSC_ERR_SPEC, "missing ')'");
    bad("linear(start_factor=0)", DSC_ERR_RANGE, "start_factor must be in (0, 1]");
    bad("constant(factor=1.5)", DSC_ERR_RANGE, "factor must be in (0, 1]");
    bad("plateau(mode=median)", DSC_ERR_SPEC, "mode must be one of min,max, got 'median'");
    bad("plateau(factor=1)", DSC_ERR_RANGE, "factor must be in [0, 1)");
    bad("cyclic(base_lr=0.1)", DSC_ERR_SPEC, "cyclic: max_lr is required");
    bad("cyclic(max_lr=1, mode=triangle)", DSC_ERR_SPEC, "triangular,triangular2,exp_range");
    bad("onecycle(max_lr=1)", DSC_ERR_SPEC, "total_steps is required");
    bad("onecycle(total_steps=3)", DSC_ERR_RANGE, "leaves phase 1 without steps");
    bad("onecycle(total_steps=10, three_phase=maybe)", DSC_ERR_SPEC, "three_phase must be true");
    bad("king(patience=1)", DSC_ERR_RANGE, "patience must be in [2");
    bad("sequential(linear, cosine(T_max=5))", DSC_ERR_SPEC, "milestones is required");
    bad("sequential(linear, cosine(T_max=5), milestones=[])", DSC_ERR_SPEC, "2 schedules need 1 milestones, got 0");
    bad("sequential(linear, cosine(T_max=5), step(step_size=1), milestones=[5, 3])", DSC_ERR_SPEC,
        "milestones must increase");
    bad("sequential(linear, plateau, milestones=[3])", DSC_ERR_SPEC, "plateau cannot be a child");
    bad("sequential(linear, cosine(T_max=0), milestones=[3])", DSC_ERR_RANGE, "T_max must be in [1");
    bad("sequential(milestones=[])", DSC_ERR_SPEC, "positional");
    bad("lambda(fn=cubic)", DSC_ERR_SPEC, "fn must be one of constant,warmup_linear,inverse_sqrt,callback");
    bad("lambda(fn=callback)", DSC_ERR_SPEC, "needs its C function");
    bad("multiplicative(warmup=-1)", DSC_ERR_RANGE, "warmup must be in [0");
    bad("chained(exponential(gamma=0.9), cosine(T_max=5))", DSC_ERR_SPEC, "cosine cannot be a child");
    bad("chained(lambda, step(step_size=2))", DSC_ERR_SPEC, "lambda cannot be a child");
    bad("chained(step(step_size=2), gamma=0.5)", DSC_ERR_SPEC, "unknown key 'gamma'");
    dsc_sched *s;
    assert_int_equal(dsc_sched_create(&s, "step(step_size=1)", -1), DSC_ERR_RANGE);
    assert_non_null(strstr(dsc_last_error(), "base learning rate must be in [0, inf), got -1"));
    assert_int_equal(dsc_sched_create(&s, "step(step_size=1)", NAN), DSC_ERR_RANGE);
    assert_int_equal(dsc_sched_create(NULL, "step", 1), DSC_ERR_ARG);
}

/* A C function for LambdaLR: 1/(1 + t), counting its calls through ctx. */
static double harmonic(int64_t t, void *ctx)
{
    ++*(int *)ctx;
    return 1.0 / (1.0 + (double)t);
}

/* Restoring "lr" into spec over base 0.2: accepted or refused (DSC_ERR_RANGE, naming
 * the rates the schedule reaches). */
static void restore_lr(const char *spec, double lr, int ok)
{
    dsc_sched *s = make(spec, 0.2);
    dsc_status st = dsc_sched_set_state(s, "lr", lr);
    if (ok && st) fail_msg("%s: lr %.17g refused: %s", spec, lr, dsc_last_error());
    if (!ok && st != DSC_ERR_RANGE) fail_msg("%s: lr %.17g accepted", spec, lr);
    if (!ok && !strstr(dsc_last_error(), "the rates this schedule reaches"))
        fail_msg("%s: '%s'", spec, dsc_last_error());
    dsc_sched_destroy(s);
}

/* The ranges of lambda, multiplicative and chained: tight where the rule bounds the
 * rate (the loose bound from the keys took 0.15 for these, and refused multiplicative's
 * growth past it), loose for a C callback. */
static void test_restored_rate_ranges(void **state)
{
    (void)state;
    /* lambda: base * factor * [0, 1]; constant exactly base * factor */
    restore_lr("lambda(fn=warmup_linear, warmup=10, factor=0.5)", 0.1, 1);
    restore_lr("lambda(fn=warmup_linear, warmup=10, factor=0.5)", 0.0, 1);
    restore_lr("lambda(fn=warmup_linear, warmup=10, factor=0.5)", 0.15, 0);
    restore_lr("lambda(fn=inverse_sqrt, warmup=10)", 0.2, 1);
    restore_lr("lambda(fn=inverse_sqrt, warmup=10)", 0.25, 0);
    restore_lr("lambda(fn=constant, factor=0.5)", 0.1, 1);
    restore_lr("lambda(fn=constant, factor=0.5)", 0.05, 0);
    /* multiplicative: shrinking from base with factor <= 1, growing from it with a
     * constant factor > 1 (0.2 * 1.1^100 = 2.8e3 is reachable) */
    restore_lr("multiplicative(fn=inverse_sqrt, warmup=4)", 0.01, 1);
    restore_lr("multiplicative(fn=inverse_sqrt, warmup=4)", 0.3, 0);
    restore_lr("multiplicative(factor=1.1)", 2.8e3, 1);
    restore_lr("multiplicative(factor=1.1)", 0.1, 0);
    restore_lr("multiplicative(fn=warmup_linear, warmup=5, factor=1.5)", 1e6, 1);
    /* chained: base times the children's factors, each in [0, 1] here */
    restore_lr("chained(exponential(gamma=0.9), step(step_size=2, gamma=0.5))", 0.2, 1);
    restore_lr("chained(exponential(gamma=0.9), step(step_size=2, gamma=0.5))", 0.25, 0);
    restore_lr("chained(linear(start_factor=0.5, total_iters=4), multiplicative(factor=0.9))", 0.2, 1);
    restore_lr("chained(linear(start_factor=0.5, total_iters=4), multiplicative(factor=0.9))", 0.21, 0);
    restore_lr("chained(constant(factor=0.5), multiplicative(factor=2))", 0.05, 0);
    restore_lr("chained(constant(factor=0.5), multiplicative(factor=2))", 1e3, 1);
    /* a C callback: any rate under the keys' loose bound */
    dsc_sched *s;
    int calls = 0;
    assert_int_equal(dsc_sched_create_fn(&s, "lambda(fn=callback)", 0.2, harmonic, &calls), DSC_OK);
    assert_int_equal(dsc_sched_set_state(s, "lr", 0.9), DSC_OK);
    dsc_sched_destroy(s);
}

/* lambda and multiplicative with the caller's function: base * f(t), and the running
 * product of f(1..t); a function needs the spec fn=callback and the reverse. */
static void test_callback(void **state)
{
    (void)state;
    int calls = 0;
    dsc_sched *s;
    assert_int_equal(dsc_sched_create_fn(&s, "lambda(fn=callback)", 0.5, harmonic, &calls), DSC_OK);
    void *ctx = NULL;
    assert_true(dsc_sched_function(s, &ctx) == harmonic && ctx == &calls);
    assert_true(dsc_sched_lr(s) == 0.5);
    for (int t = 1; t <= 4; t++) {
        assert_int_equal(dsc_sched_step(s), DSC_OK);
        assert_true(dsc_sched_lr(s) == 0.5 * (1.0 / (1.0 + t)));
    }
    assert_true(calls >= 5);
    dsc_sched_destroy(s);
    assert_int_equal(dsc_sched_create_fn(&s, "multiplicative(fn=callback)", 1.0, harmonic, &calls), DSC_OK);
    double want = 1.0;
    for (int t = 1; t <= 4; t++) {
        assert_int_equal(dsc_sched_step(s), DSC_OK);
        want = want * (1.0 / (1.0 + t));
        assert_true(dsc_sched_lr(s) == want);
    }
    dsc_sched_destroy(s);
    assert_int_equal(dsc_sched_create_fn(&s, "step(step_size=2)", 1.0, harmonic, &calls), DSC_ERR_SPEC);
    assert_non_null(strstr(dsc_last_error(), "fn=callback"));
    assert_int_equal(dsc_sched_create_fn(&s, "lambda(fn=warmup_linear)", 1.0, harmonic, &calls), DSC_ERR_SPEC);
}

/* Rate 0 where torch takes it: a base of 0 (a frozen group), a factor gamma of 0, and
 * the bounds of onecycle and cyclic at 0; the rates stay finite (0 here). */
static void test_zero_rates(void **state)
{
    (void)state;
    const char *specs[] = {"step(step_size=1)", "cosine(T_max=3)", "polynomial(total_iters=2)",
                           "onecycle(total_steps=9)", "cyclic(max_lr=0, step_size_up=2)", "plateau",
                           "exponential(gamma=0.5)", "linear", "king"};
    for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++) {
        dsc_sched *s = make(specs[i], 0);
        for (int t = 0; t < 8; t++) {
            if (dsc_sched_lr(s) != 0) fail_msg("'%s' over base 0: rate %g at %d", specs[i], dsc_sched_lr(s), t);
            if (dsc_sched_step_loss(s, 1.0) != DSC_OK) fail_msg("%s: %s", specs[i], dsc_last_error());
        }
        dsc_sched_destroy(s);
    }
    /* gamma 0: the rate drops to 0 at the first decay, and stays there */
    const char *zero_gamma[] = {"step(step_size=2, gamma=0)", "multistep(milestones=[2], gamma=0)",
                                "exponential(gamma=0)"};
    for (size_t i = 0; i < sizeof zero_gamma / sizeof zero_gamma[0]; i++) {
        dsc_sched *s = make(zero_gamma[i], 0.5);
        double want[] = {0.5, i == 2 ? 0 : 0.5, 0, 0, 0};
        for (int t = 0; t < 5; t++) {
            if (dsc_sched_lr(s) != want[t]) fail_msg("'%s': rate %g at %d, want %g", zero_gamma[i], dsc_sched_lr(s), t, want[t]);
            assert_int_equal(dsc_sched_step(s), DSC_OK);
        }
        dsc_sched_destroy(s);
    }
    /* onecycle from max_lr 0 and cyclic from base_lr 0 up to max_lr 1 */
    dsc_sched *s = make("onecycle(max_lr=0, total_steps=4)", 0.1);
    for (int t = 0; t < 4; t++, dsc_sched_step(s)) assert_true(dsc_sched_lr(s) == 0);
    dsc_sched_destroy(s);
    s = make("cyclic(base_lr=0, max_lr=1, step_size_up=2)", 0.1);
    double want[] = {0, 0.5, 1, 0.5, 0};
    for (int t = 0; t < 5; t++, dsc_sched_step(s)) assert_true(fabs(dsc_sched_lr(s) - want[t]) < 1e-15);
    dsc_sched_destroy(s);
    /* an optimizer group at lr 0 takes a schedule over that base */
    double w[1] = {1}, g[1] = {1};
    dsc_param p = {.name = "w", .data = w, .grad = g, .n = 1, .dtype = DSC_F64};
    dsc_optim *o = NULL;
    assert_int_equal(dsc_optim_create_spec(&o, "sgd(lr=0)", &p, 1), DSC_OK);
    assert_int_equal(dsc_optim_set_schedule(o, 0, "cosine(T_max=2)"), DSC_OK);
    assert_int_equal(dsc_optim_step(o), DSC_OK);
    assert_true(w[0] == 1);
    dsc_optim_destroy(o);
}

static void test_stepping_rules(void **state)
{
    (void)state;
    dsc_sched *s = make("plateau", 0.1);
    assert_true(dsc_sched_needs_loss(s));
    assert_int_equal(dsc_sched_step(s), DSC_ERR_ARG);
    assert_int_equal(dsc_sched_position(s), 0);
    dsc_sched_destroy(s);
    /* onecycle ends where PyTorch raises: the rate of step total_steps + 1 exists, no more */
    s = make("onecycle(max_lr=1, total_steps=5, pct_start=0.5)", 0.1);
    for (int t = 0; t < 5; t++) assert_int_equal(dsc_sched_step(s), DSC_OK);
    double lr = dsc_sched_lr(s);
    assert_int_equal(dsc_sched_step(s), DSC_ERR_RANGE);
    assert_non_null(strstr(dsc_last_error(), "total_steps is 5"));
    assert_true(dsc_sched_lr(s) == lr && dsc_sched_position(s) == 5);
    assert_string_equal(dsc_sched_spec(s), "onecycle(max_lr=1, total_steps=5, pct_start=0.5)");
    dsc_sched_destroy(s);
}

/* ---------------------------------------------------------------- attached to an optimizer */

static void test_optimizer_schedule(void **state)
{
    (void)state;
    double x[2] = {1, 2}, g[2] = {1, 1}, y[1] = {3}, gy[1] = {1};
    dsc_param p[2] = {
        {.name = "x", .data = x, .grad = g, .n = 2, .dtype = DSC_F64, .group = 0},
        {.name = "y", .data = y, .grad = gy, .n = 1, .dtype = DSC_F64, .group = 1},
    };
    dsc_optim *o;
    assert_int_equal(dsc_optim_create_spec(&o, "sgd(lr=0.5)", p, 2), DSC_OK);
    assert_int_equal(dsc_optim_set_group_spec(o, 1, "lr=0.1"), DSC_OK);
    assert_int_equal(dsc_optim_set_schedule(o, 0, "step(step_size=2, gamma=0.5)"), DSC_OK);
    assert_int_equal(dsc_optim_set_schedule(o, 0, "nosuch"), DSC_ERR_SPEC);
    assert_int_equal(dsc_optim_set_schedule(o, 2, "linear"), DSC_ERR_ARG);
    assert_null(dsc_optim_schedule(o, 1));
    /* group 0: 0.5, 0.5, 0.25, 0.25; group 1 keeps 0.1 */
    const double want[4] = {0.5, 0.5, 0.25, 0.25};
    double x0 = x[0];
    for (int t = 0; t < 4; t++) {
        double lr;
        assert_int_equal(dsc_optim_get_lr(o, 0, &lr), DSC_OK);
        assert_true(lr == want[t]);
        assert_int_equal(dsc_optim_step(o), DSC_OK);
        x0 -= want[t];
        assert_true(x[0] == x0);
        assert_true(dsc_optim_last_updated(o));
    }
    assert_true(fabs(y[0] - (3 - 0.4)) < 1e-15);
    /* a NaN in one element of one tensor: the step is skipped, the schedule stays */
    g[1] = NAN;
    assert_int_equal(dsc_optim_step(o), DSC_OK);
    assert_true(dsc_optim_last_skipped(o) && !dsc_optim_last_updated(o));
    assert_int_equal(dsc_sched_position(dsc_optim_schedule(o, 0)), 4);
    assert_true(x[0] == x0);
    g[1] = 1;
    double lr;
    assert_int_equal(dsc_optim_get_lr(o, 0, &lr), DSC_OK);
    assert_true(lr == 0.125);
    /* every group, replacing: the base stays the first schedule's (PyTorch's initial_lr) */
    assert_int_equal(dsc_optim_set_schedule(o, -1, "exponential(gamma=0.5)"), DSC_OK);
    assert_true(dsc_sched_base_lr(dsc_optim_schedule(o, 0)) == 0.5);
    assert_true(dsc_sched_base_lr(dsc_optim_schedule(o, 1)) == 0.1);
    assert_int_equal(dsc_optim_step(o), DSC_OK);
    assert_int_equal(dsc_optim_get_lr(o, 1, &lr), DSC_OK);
    assert_true(lr == 0.05);
    assert_int_equal(dsc_optim_set_schedule(o, -1, NULL), DSC_OK);
    assert_null(dsc_optim_schedule(o, 0));
    dsc_optim_destroy(o);
}

static void test_optimizer_loss_schedule(void **state)
{
    (void)state;
    double x[1] = {0}, g[1] = {1};
    dsc_param p = {.name = "x", .data = x, .grad = g, .n = 1, .dtype = DSC_F64};
    dsc_optim *o;
    assert_int_equal(dsc_optim_create_spec(&o, "sgd(lr=1)", &p, 1), DSC_OK);
    assert_int_equal(dsc_optim_set_schedule(o, 0, "plateau(patience=1, factor=0.5)"), DSC_OK);
    assert_int_equal(dsc_optim_step(o), DSC_ERR_ARG);
    assert_true(x[0] == 0);
    /* losses 1, 1, 1: the second is bad (1 bad), the third makes 2 > patience */
    double want[4] = {1, 1, 1, 0.5};
    for (int t = 0; t < 4; t++) {
        double lr;
        dsc_optim_get_lr(o, 0, &lr);
        assert_true(lr == want[t]);
        assert_int_equal(dsc_optim_step_loss(o, 1.0), DSC_OK);
    }
    dsc_optim_destroy(o);
}

/* A onecycle past its end fails before the update: nothing changes. */
static void test_optimizer_schedule_end(void **state)
{
    (void)state;
    double x[1] = {0}, g[1] = {1};
    dsc_param p = {.name = "x", .data = x, .grad = g, .n = 1, .dtype = DSC_F64};
    dsc_optim *o;
    assert_int_equal(dsc_optim_create_spec(&o, "sgd(lr=1)", &p, 1), DSC_OK);
    assert_int_equal(dsc_optim_set_schedule(o, 0, "onecycle(total_steps=4, pct_start=0.5)"), DSC_OK);
    for (int t = 0; t < 4; t++) assert_int_equal(dsc_optim_step(o), DSC_OK);
    double before = x[0];
    assert_int_equal(dsc_optim_step(o), DSC_ERR_RANGE);
    assert_true(x[0] == before && dsc_optim_step_count(o) == 4);
    dsc_optim_destroy(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden_sequences),    cmocka_unit_test(test_state_roundtrip),
        cmocka_unit_test(test_state_names),         cmocka_unit_test(test_bad_specs),
        cmocka_unit_test(test_restored_rate_ranges),
        cmocka_unit_test(test_zero_rates),          cmocka_unit_test(test_callback),
        cmocka_unit_test(test_stepping_rules),      cmocka_unit_test(test_optimizer_schedule),
        cmocka_unit_test(test_optimizer_loss_schedule), cmocka_unit_test(test_optimizer_schedule_end),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
