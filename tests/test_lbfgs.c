/*
 * test_lbfgs.c: L-BFGS and dsc_optim_step_closure. Float64 trajectories against
 * torch.optim.LBFGS (tests/golden/lbfgs.txt, made by tests/golden/make_lbfgs.py) on
 * Rosenbrock, Beale and a logistic regression over two tensors, with and without the
 * strong Wolfe search; steps worked out by hand (a gradient already below tolerance,
 * max_eval reached after a secant step); the closure call on other kinds; the refusals
 * (plain step, groups, keys torch lacks, history_size changes); the non-finite policy;
 * and checkpoints: N steps equal k steps, save, load, N - k steps, bit for bit, with
 * a corrupted state refused.
 */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "descent_checkpoint.h"
#include "descent_problems.h"

/* torch computes dot products and p.add_(d, alpha=t) with its own rounding (BLAS sums,
 * FMA); a step of the same algorithm lands within this of it */
#define GOLDEN_TOL 1e-9
#define MAX_X 8
#define MAX_TENSORS 2

/* ---------------------------------------------------------------- the problems' closures */

/* The logistic regression of make_lbfgs.py: 8 rows of 2 features, w in one tensor and b
 * in another; the formula of src/problems/logreg.c. */
static const double logreg_x[8][2] = {{0.5, -1.25}, {1.5, 0.75}, {-0.5, 0.25}, {2.0, -0.5},
                                      {-1.5, -1.0}, {0.25, 1.5}, {-2.0, 0.5},  {1.0, 1.0}};
static const double logreg_y[8] = {1.0, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0, 1.0};

static double logreg(const double *w, const double *b, double *gw, double *gb)
{
    const double inv = 1.0 / 8;
    double f = 0;
    gw[0] = gw[1] = gb[0] = 0;
    for (int i = 0; i < 8; i++) {
        double z = b[0];
        z += logreg_x[i][0] * w[0];
        z += logreg_x[i][1] * w[1];
        double e = exp(-(z > 0 ? z : -z));
        f += (z > 0 ? z : 0) + log1p(e) - logreg_y[i] * z;
        double r = (z > 0 ? 1.0 / (1 + e) : e / (1 + e)) - logreg_y[i];
        gw[0] += r * logreg_x[i][0] * inv;
        gw[1] += r * logreg_x[i][1] * inv;
        gb[0] += r * inv;
    }
    return f * inv;
}

/* The tensors of a run and what evaluates them. */
typedef struct run {
    double x[MAX_X], g[MAX_X]; /* tensors laid out one after the other */
    size_t sizes[MAX_TENSORS];
    size_t ntensors;
    dsc_problem *pb; /* NULL: the logistic regression */
    int calls;
    int fail_at;     /* > 0: the closure fails on this call */
    int nan_at;      /* > 0: the closure returns a NaN loss on this call */
} run;

static dsc_status closure(void *ctx, double *loss)
{
    run *r = ctx;
    r->calls++;
    if (r->fail_at && r->calls == r->fail_at) return dsc__fail(DSC_ERR_IO, "closure: the data went away");
    *loss = r->pb ? dsc_problem_eval(r->pb, r->x, r->g) : logreg(r->x, r->x + 2, r->g, r->g + 2);
    if (r->nan_at && r->calls == r->nan_at) *loss = NAN;
    return DSC_OK;
}

static dsc_optim *make(run *r, const char *spec)
{
    dsc_param ps[MAX_TENSORS];
    size_t at = 0;
    static const char *const names[MAX_TENSORS] = {"w", "b"};
    for (size_t i = 0; i < r->ntensors; i++) {
        ps[i] = (dsc_param){.name = names[i], .data = r->x + at, .grad = r->g + at, .n = r->sizes[i],
                            .dtype = DSC_F64};
        at += r->sizes[i];
    }
    dsc_optim *opt = NULL;
    if (dsc_optim_create_spec(&opt, spec, ps, r->ntensors)) fail_msg("'%s': %s", spec, dsc_last_error());
    return opt;
}

static size_t dim(const run *r)
{
    size_t n = 0;
    for (size_t i = 0; i < r->ntensors; i++) n += r->sizes[i];
    return n;
}

/* ---------------------------------------------------------------- the golden trajectories */

static char *next_word(char **at)
{
    return strtok_r(NULL, " \n", at);
}

static double next_double(char **at)
{
    char *w = next_word(at);
    if (!w) fail_msg("lbfgs.txt: a number is missing");
    return strtod(w, NULL);
}

/* Replays one case from its "case" line to the next; returns the steps checked. */
static int replay(FILE *f, char *header)
{
    char *at, line[4096], name[64], problem[64], spec[256];
    run r = {0};
    if (sscanf(header, "case %63s %63s %255[^\n]", name, problem, spec) != 3) fail_msg("bad case line: %s", header);
    if (strcmp(problem, "logreg") && dsc_problem_create(&r.pb, problem)) fail_msg("%s: %s", problem, dsc_last_error());
    if (!fgets(line, sizeof line, f) || strncmp(line, "tensors", 7)) fail_msg("%s: no tensors line", name);
    strtok_r(line, " \n", &at);
    for (char *w; (w = next_word(&at));) r.sizes[r.ntensors++] = strtoul(w, NULL, 10);
    if (!fgets(line, sizeof line, f) || strncmp(line, "start", 5)) fail_msg("%s: no start line", name);
    strtok_r(line, " \n", &at);
    for (size_t i = 0; i < dim(&r); i++) r.x[i] = next_double(&at);
    dsc_optim *opt = make(&r, spec);
    int steps = 0;
    long pos = ftell(f);
    while (fgets(line, sizeof line, f) && !strncmp(line, "step", 4)) {
        strtok_r(line, " \n", &at);
        int k = atoi(next_word(&at));
        double want_loss = next_double(&at);
        int64_t n_iter = (int64_t)next_double(&at), func_evals = (int64_t)next_double(&at);
        double loss;
        if (dsc_optim_step_closure(opt, closure, &r, &loss)) fail_msg("%s step %d: %s", name, k, dsc_last_error());
        if (!(fabs(loss - want_loss) <= GOLDEN_TOL * fmax(1, fabs(want_loss))))
            fail_msg("%s step %d: loss %.17g, torch %.17g", name, k, loss, want_loss);
        for (size_t i = 0; i < dim(&r); i++) {
            double want = next_double(&at);
            if (!(fabs(r.x[i] - want) <= GOLDEN_TOL * fmax(1, fabs(want))))
                fail_msg("%s step %d: x[%zu] = %.17g, torch %.17g (diff %.3g)", name, k, i, r.x[i], want,
                         fabs(r.x[i] - want));
        }
        if (dsc_optim_lbfgs_iterations(opt) != n_iter || dsc_optim_lbfgs_evaluations(opt) != func_evals)
            fail_msg("%s step %d: n_iter %lld, func_evals %lld; torch %lld, %lld", name, k,
                     (long long)dsc_optim_lbfgs_iterations(opt), (long long)dsc_optim_lbfgs_evaluations(opt),
                     (long long)n_iter, (long long)func_evals);
        assert_int_equal(dsc_optim_step_count(opt), k);
        steps++;
        pos = ftell(f);
    }
    fseek(f, pos, SEEK_SET);
    dsc_optim_destroy(opt);
    dsc_problem_destroy(r.pb);
    return steps;
}

static void test_golden_torch(void **state)
{
    (void)state;
    FILE *f = fopen(DSC_TEST_DATA "/golden/lbfgs.txt", "r");
    assert_non_null(f);
    char line[4096];
    int cases = 0, steps = 0, wolfe = 0, plain = 0;
    char seen[3][16] = {"rosenbrock", "beale", "logreg"};
    int have[3] = {0};
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "case ", 5)) continue;
        for (int k = 0; k < 3; k++) have[k] |= strstr(line, seen[k]) != NULL;
        if (strstr(line, "strong_wolfe")) wolfe++;
        else plain++;
        steps += replay(f, line);
        cases++;
    }
    fclose(f);
    /* every problem, both line-search settings, several steps each */
    assert_true(cases >= 8 && steps >= 30 && wolfe >= 3 && plain >= 3);
    assert_true(have[0] && have[1] && have[2]);
}

/* ---------------------------------------------------------------- hand-checked steps */

/* f = x^2 at x = 0: the gradient 0 is below tolerance_grad; one evaluation, no move. */
static void test_gradient_below_tolerance(void **state)
{
    (void)state;
    run r = {.sizes = {1}, .ntensors = 1};
    assert_int_equal(dsc_problem_create(&r.pb, "quadratic(n=1, cond=1)"), DSC_OK);
    r.x[0] = 1e-8; /* f = x^2 / 2, gradient 1e-8 <= 1e-7 */
    dsc_optim *opt = make(&r, "lbfgs");
    double loss = -1;
    assert_int_equal(dsc_optim_step_closure(opt, closure, &r, &loss), DSC_OK);
    assert_true(r.x[0] == 1e-8 && loss == 0.5 * 1e-8 * 1e-8 && r.calls == 1);
    assert_int_equal(dsc_optim_lbfgs_iterations(opt), 0);
    assert_int_equal(dsc_optim_lbfgs_evaluations(opt), 1);
    assert_int_equal(dsc_optim_step_count(opt), 1);
    dsc_optim_destroy(opt);
    dsc_problem_destroy(r.pb);
}

/*
 * f = x^2 / 2 (g = x) from x = 1 with lr 0.5 and max_eval 3:
 *   iteration 1: g = 1, d = -1, t = min(1, 1/|g|_1) lr = 0.5, x = 0.5, evaluation 2
 *     (g = 0.5)
 *   iteration 2: y = 0.5 - 1 = -0.5, s = t d = -0.5, y.s = 0.25 > 1e-10: ro = 4,
 *     H_diag = y.s / y.y = 1; the two loops: q = -0.5, al = s q ro = 1,
 *     q = -0.5 - al y = 0, d = H_diag q = 0, be = y d ro = 0, d += (al - be) s = -0.5
 *     (the secant step is Newton's, -x); t = lr = 0.5: x = 0.25, evaluation 3 =
 *     max_eval: stop (max_iter 10 would allow more).
 */
static void test_max_eval_reached(void **state)
{
    (void)state;
    run r = {.sizes = {1}, .ntensors = 1, .x = {1}};
    assert_int_equal(dsc_problem_create(&r.pb, "quadratic(n=1, cond=1)"), DSC_OK);
    dsc_optim *opt = make(&r, "lbfgs(lr=0.5, max_iter=10, max_eval=3)");
    double loss;
    assert_int_equal(dsc_optim_step_closure(opt, closure, &r, &loss), DSC_OK);
    assert_true(loss == 0.5 && r.x[0] == 0.25 && r.calls == 3);
    assert_int_equal(dsc_optim_lbfgs_iterations(opt), 2);
    assert_int_equal(dsc_optim_lbfgs_evaluations(opt), 3);
    dsc_optim_destroy(opt);
    dsc_problem_destroy(r.pb);
}

/*
 * A schedule sets each step's lr, as a torch scheduler does on LBFGS: exponential(gamma
 * 0.5) on f = x^2 / 2 from x = 4 with max_iter 1:
 *   step 1 (lr 1): g = 4, d = -4, t = min(1, 1/4) = 0.25, x = 3 (no evaluation after the
 *     last iteration)
 *   step 2 (lr 0.5): g = 3; y = -1, s = t d = -1, y.s = 1: ro = 1, H_diag = 1;
 *     q = -3, al = s q ro = 3, q = -3 - al y = 0, d = 0, be = 0, d = al s = -3;
 *     t = 0.5: x = 1.5; the lr is 0.25 after.
 */
static void test_schedule(void **state)
{
    (void)state;
    run r = {.sizes = {1}, .ntensors = 1, .x = {4}};
    assert_int_equal(dsc_problem_create(&r.pb, "quadratic(n=1, cond=1)"), DSC_OK);
    dsc_optim *opt = make(&r, "lbfgs(max_iter=1)");
    assert_int_equal(dsc_optim_set_schedule(opt, 0, "exponential(gamma=0.5)"), DSC_OK);
    assert_int_equal(dsc_optim_step_closure(opt, closure, &r, NULL), DSC_OK);
    assert_true(r.x[0] == 3);
    double loss, lr;
    assert_int_equal(dsc_optim_step_closure(opt, closure, &r, &loss), DSC_OK);
    assert_true(loss == 4.5 && r.x[0] == 1.5);
    assert_int_equal(dsc_optim_get_lr(opt, 0, &lr), DSC_OK);
    assert_true(lr == 0.25);
    assert_int_equal(dsc_optim_lbfgs_evaluations(opt), 2);
    dsc_optim_destroy(opt);
    dsc_problem_destroy(r.pb);
}

/* Another kind evaluates once and steps: sgd(lr=0.1) from x = 1 on x^2 / 2 gives 0.9. */
static void test_closure_on_other_kinds(void **state)
{
    (void)state;
    run r = {.sizes = {1}, .ntensors = 1, .x = {1}};
    assert_int_equal(dsc_problem_create(&r.pb, "quadratic(n=1)"), DSC_OK);
    dsc_optim *opt = make(&r, "sgd(lr=0.1)");
    double loss;
    assert_int_equal(dsc_optim_step_closure(opt, closure, &r, &loss), DSC_OK);
    assert_true(loss == 0.5 && r.x[0] == 0.9 && r.calls == 1);
    assert_int_equal(dsc_optim_step_count(opt), 1);
    assert_false(dsc_optim_needs_closure(opt));
    assert_int_equal(dsc_optim_lbfgs_iterations(opt), 0);
    dsc_optim_destroy(opt);
    dsc_problem_destroy(r.pb);
}

/* Rosenbrock from (-1.5, 0.5) is solved within tens of iterations (torch's too). */
static void test_solves_rosenbrock(void **state)
{
    (void)state;
    run r = {.sizes = {2}, .ntensors = 1, .x = {-1.5, 0.5}};
    assert_int_equal(dsc_problem_create(&r.pb, "rosenbrock"), DSC_OK);
    dsc_optim *opt = make(&r, "lbfgs(line_search_fn=strong_wolfe)");
    for (int k = 0; k < 3; k++) assert_int_equal(dsc_optim_step_closure(opt, closure, &r, NULL), DSC_OK);
    assert_true(fabs(r.x[0] - 1) < 1e-4 && fabs(r.x[1] - 1) < 1e-4);
    assert_true(dsc_optim_lbfgs_iterations(opt) < 50);
    dsc_optim_destroy(opt);
    dsc_problem_destroy(r.pb);
}

/* ---------------------------------------------------------------- refusals */

static void expect_error(dsc_status got, dsc_status want, const char *text)
{
    if (got != want) fail_msg("status %d, want %d: %s", got, want, dsc_last_error());
    if (!strstr(dsc_last_error(), text)) fail_msg("message '%s' lacks '%s'", dsc_last_error(), text);
}

static void test_refusals(void **state)
{
    (void)state;
    run r = {.sizes = {2}, .ntensors = 1, .x = {-1.5, 0.5}};
    assert_int_equal(dsc_problem_create(&r.pb, "rosenbrock"), DSC_OK);
    dsc_optim *opt = make(&r, "lbfgs");
    assert_true(dsc_optim_needs_closure(opt));
    expect_error(dsc_optim_step(opt), DSC_ERR_ARG, "lbfgs: needs a closure: call dsc_optim_step_closure");
    expect_error(dsc_optim_step_loss(opt, 1.0), DSC_ERR_ARG, "needs a closure");
    assert_true(r.x[0] == -1.5 && dsc_optim_step_count(opt) == 0);
    expect_error(dsc_optim_step_closure(opt, NULL, &r, NULL), DSC_ERR_ARG, "NULL closure");
    expect_error(dsc_optim_set_group_spec(opt, 0, "history_size=5"), DSC_ERR_UNSUPPORTED,
                 "history_size cannot change from 100 to 5");
    assert_int_equal(dsc_optim_set_group_spec(opt, 0, "max_iter=5, line_search_fn=strong_wolfe"), DSC_OK);
    dsc_optim_destroy(opt);

    /* one parameter group, as torch */
    double a[1] = {0}, ga[1], b[1] = {0}, gb[1];
    dsc_param ps[2] = {{.name = "a", .data = a, .grad = ga, .n = 1, .dtype = DSC_F64},
                       {.name = "b", .data = b, .grad = gb, .n = 1, .dtype = DSC_F64, .group = 1}};
    expect_error(dsc_optim_create_spec(&opt, "lbfgs", ps, 2), DSC_ERR_UNSUPPORTED, "one parameter group only");
    assert_null(opt);

    /* spec keys: torch's names and ranges; what torch.optim.LBFGS lacks is refused */
    dsc_hparams hp;
    assert_int_equal(dsc_hparams_parse("lbfgs(lr=1, max_iter=20, history_size=100, line_search=strong_wolfe)", &hp),
                     DSC_OK);
    assert_true(hp.line_search_fn == DSC_LINE_SEARCH_STRONG_WOLFE && hp.max_eval == 0 && hp.lr == 1);
    assert_true(hp.tolerance_grad == 1e-7 && hp.tolerance_change == 1e-9 && hp.history_size == 100);
    char buf[256];
    dsc_hparams_format(&hp, buf, sizeof buf);
    assert_string_equal(buf, "lbfgs(line_search_fn=strong_wolfe)");
    expect_error(dsc_hparams_parse("lbfgs(line_search_fn=backtracking)", &hp), DSC_ERR_SPEC,
                 "line_search_fn must be none or strong_wolfe, got 'backtracking'");
    expect_error(dsc_hparams_parse("lbfgs(max_iter=0)", &hp), DSC_ERR_RANGE, "max_iter must be in [1, 1e+09]");
    expect_error(dsc_hparams_parse("lbfgs(history_size=0)", &hp), DSC_ERR_RANGE, "history_size must be in [1");
    expect_error(dsc_hparams_parse("lbfgs(tolerance_grad=-1)", &hp), DSC_ERR_RANGE, "tolerance_grad must be in [0");
    expect_error(dsc_hparams_parse("lbfgs(max_eval=2.5)", &hp), DSC_ERR_RANGE, "max_eval must be an integer");
    expect_error(dsc_hparams_parse("lbfgs(weight_decay=0.1)", &hp), DSC_ERR_RANGE,
                 "lbfgs: weight_decay is not supported");
    expect_error(dsc_hparams_parse("lbfgs(clip_norm=1)", &hp), DSC_ERR_RANGE, "clip_norm is not supported");
    expect_error(dsc_hparams_parse("lookahead(inner=lbfgs)", &hp), DSC_ERR_RANGE, "lookahead");
    expect_error(dsc_hparams_parse("adam(max_iter=3)", &hp), DSC_ERR_SPEC, "unknown key 'max_iter'");
    dsc_problem_destroy(r.pb);
}

/* ---------------------------------------------------------------- closure errors, non-finite values */

static void test_nonfinite_and_errors(void **state)
{
    (void)state;
    run r = {.sizes = {2}, .ntensors = 1, .x = {-1.5, 0.5}, .nan_at = 1};
    assert_int_equal(dsc_problem_create(&r.pb, "rosenbrock"), DSC_OK);
    /* skip (the default): the first evaluation is NaN, nothing changes */
    dsc_optim *opt = make(&r, "lbfgs");
    assert_int_equal(dsc_optim_step_closure(opt, closure, &r, NULL), DSC_OK);
    assert_true(dsc_optim_last_skipped(opt) && dsc_optim_skipped_count(opt) == 1 && dsc_optim_step_count(opt) == 0);
    assert_true(r.x[0] == -1.5 && r.x[1] == 0.5 && dsc_optim_lbfgs_evaluations(opt) == 0);
    /* the next step is a normal one */
    assert_int_equal(dsc_optim_step_closure(opt, closure, &r, NULL), DSC_OK);
    assert_true(!dsc_optim_last_skipped(opt) && dsc_optim_step_count(opt) == 1 && r.x[0] != -1.5);
    dsc_optim_destroy(opt);
    /* error: refused, nothing changes */
    r = (run){.sizes = {2}, .ntensors = 1, .x = {-1.5, 0.5}, .nan_at = 1, .pb = r.pb};
    opt = make(&r, "lbfgs(nonfinite=error)");
    assert_int_equal(dsc_optim_step_closure(opt, closure, &r, NULL), DSC_ERR_NONFINITE);
    assert_true(r.x[0] == -1.5 && dsc_optim_step_count(opt) == 0);
    dsc_optim_destroy(opt);
    /* the closure's own failure comes back as it is, and the step does not count */
    r = (run){.sizes = {2}, .ntensors = 1, .x = {-1.5, 0.5}, .fail_at = 3, .pb = r.pb};
    opt = make(&r, "lbfgs");
    expect_error(dsc_optim_step_closure(opt, closure, &r, NULL), DSC_ERR_IO, "the data went away");
    assert_int_equal(dsc_optim_step_count(opt), 0);
    dsc_optim_destroy(opt);
    dsc_problem_destroy(r.pb);
}

/* ---------------------------------------------------------------- checkpoints */

static unsigned char *save(const dsc_optim *opt, size_t *len)
{
    if (dsc_checkpoint_save_mem(opt, NULL, 0, len, NULL)) fail_msg("save: %s", dsc_last_error());
    unsigned char *buf = malloc(*len);
    assert_non_null(buf);
    if (dsc_checkpoint_save_mem(opt, buf, *len, len, NULL)) fail_msg("save: %s", dsc_last_error());
    return buf;
}

/* N steps == k steps, save, load into a fresh optimizer, N - k steps: the same bits
 * (the whole checkpoint of both, history included, compared byte for byte), with a
 * history smaller than the iterations so the ring has turned. */
static void resume_case(const char *spec, int total, int k)
{
    run a = {.sizes = {2, 1}, .ntensors = 2}, b = a;
    dsc_optim *one = make(&a, spec), *two = make(&b, spec);
    for (int s = 0; s < total; s++)
        if (dsc_optim_step_closure(one, closure, &a, NULL)) fail_msg("%s: %s", spec, dsc_last_error());
    for (int s = 0; s < k; s++) assert_int_equal(dsc_optim_step_closure(two, closure, &b, NULL), DSC_OK);
    size_t len;
    unsigned char *buf = save(two, &len);
    dsc_optim_destroy(two);
    run c = {.sizes = {2, 1}, .ntensors = 2, .x = {7, 7, 7}};
    two = make(&c, spec);
    if (dsc_checkpoint_load_mem(two, buf, len, NULL)) fail_msg("%s: load: %s", spec, dsc_last_error());
    free(buf);
    for (int s = k; s < total; s++) assert_int_equal(dsc_optim_step_closure(two, closure, &c, NULL), DSC_OK);
    assert_memory_equal(a.x, c.x, sizeof a.x);
    size_t la, lc;
    unsigned char *sa = save(one, &la), *sc = save(two, &lc);
    assert_true(la == lc && !memcmp(sa, sc, la));
    assert_true(dsc_optim_lbfgs_iterations(one) > 3 * 3); /* more iterations than the history holds */
    free(sa);
    free(sc);
    dsc_optim_destroy(one);
    dsc_optim_destroy(two);
}

static void test_checkpoint_resume(void **state)
{
    (void)state;
    resume_case("lbfgs(max_iter=4, history_size=3)", 6, 2);
    resume_case("lbfgs(max_iter=3, history_size=3, line_search_fn=strong_wolfe)", 7, 4);
}

/* The file's state is checked before anything changes: a count of pairs beyond the
 * history, a ring turned before it filled, a negative H_diag, a ro no pair gives. */
static void test_checkpoint_checks(void **state)
{
    (void)state;
    run r = {.sizes = {2, 1}, .ntensors = 2};
    dsc_optim *opt = make(&r, "lbfgs(history_size=3)");
    assert_int_equal(dsc_optim_step_closure(opt, closure, &r, NULL), DSC_OK);
    size_t count = dsc__optim_wide_count(opt);
    assert_int_equal(count, 12);
    const unsigned char *bytes[12];
    double copies[12][3 * 3];
    size_t num_old = 0, oldest = 0, h_diag = 0, ro = 0;
    for (size_t k = 0; k < count; k++) {
        dsc__wide w;
        dsc__optim_wide(opt, k, &w);
        assert_true(w.n <= 9);
        memcpy(copies[k], w.data, w.n * sizeof(double));
        bytes[k] = (const unsigned char *)copies[k];
        num_old = strcmp(w.name, "num_old") ? num_old : k;
        oldest = strcmp(w.name, "oldest") ? oldest : k;
        h_diag = strcmp(w.name, "H_diag") ? h_diag : k;
        ro = strcmp(w.name, "ro") ? ro : k;
    }
    assert_int_equal(dsc__optim_wide_check(opt, bytes), DSC_OK);
    double keep = copies[num_old][0];
    copies[num_old][0] = 4;
    expect_error(dsc__optim_wide_check(opt, bytes), DSC_ERR_FORMAT, "num_old must be an integer in [0, 3]");
    copies[num_old][0] = keep;
    copies[oldest][0] = 3; /* a slot past the ring */
    expect_error(dsc__optim_wide_check(opt, bytes), DSC_ERR_FORMAT, "oldest must be an integer in [0, 2]");
    copies[num_old][0] = 2; /* not full: the ring cannot have turned */
    copies[oldest][0] = 1;
    expect_error(dsc__optim_wide_check(opt, bytes), DSC_ERR_FORMAT, "oldest must be an integer in [0, 0]");
    copies[num_old][0] = keep;
    copies[oldest][0] = 0;
    copies[h_diag][0] = -1;
    expect_error(dsc__optim_wide_check(opt, bytes), DSC_ERR_FORMAT, "H_diag must be finite and > 0");
    copies[h_diag][0] = 0.5;
    assert_true(keep == 3);
    copies[ro][0] = NAN;
    expect_error(dsc__optim_wide_check(opt, bytes), DSC_ERR_FORMAT, "ro[0] must be in [0, 1e10)");
    dsc_optim_destroy(opt);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden_torch),
        cmocka_unit_test(test_gradient_below_tolerance),
        cmocka_unit_test(test_max_eval_reached),
        cmocka_unit_test(test_schedule),
        cmocka_unit_test(test_closure_on_other_kinds),
        cmocka_unit_test(test_solves_rosenbrock),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_nonfinite_and_errors),
        cmocka_unit_test(test_checkpoint_resume),
        cmocka_unit_test(test_checkpoint_checks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
