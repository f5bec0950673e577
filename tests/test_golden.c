/*
 * test_golden.c: every optimizer against PyTorch. tests/golden/<kind>.txt holds cases
 * that tests/golden/make_golden.py ran with torch (format in that script): descent
 * replays each with the same spec, initial values and gradients, once through the
 * fast kernels and once through the reference loop, and compares the parameters and
 * every state buffer at the checkpoints.
 *
 * Tolerance: |a - b| <= tol * max(|b|, m) per element, with tol = 1e-12 in f64 and
 * 1e-6 in f32 (2e-6 for Adadelta, below), and the floor m the RMS of that buffer over every tensor of the case at
 * that checkpoint (for parameters at least the RMS of the initial values, since the
 * rounding errors of the updates add up in absolute terms at the problem's scale).
 * The floor keeps an element that passes near zero from demanding a relative
 * precision no rounding order can give.
 *
 * Bit equality is not expected: on an AVX2 CPU torch fuses the multiply-add of
 * add(alpha=) and addcmul into an FMA (scalar and vector paths alike), and addcdiv
 * rounds (value*t1)/t2, where descent rounds each product. Every f32 case stays
 * within 1e-6 of torch except Adadelta's acc_delta, which reaches 1.5e-6 by step 200:
 * its recursion neither damps nor amplifies a relative error, so the per-step
 * rounding differences add up as a random walk. Hence 2e-6 for Adadelta in f32 alone.
 */
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

#define MAX_TENSORS 4
#define MAX_N 64
#define MAX_GROUPS 4
#define LINE_MAX_LEN 8192

/* The generator of make_golden.py: Knuth's MMIX LCG; the top 53 bits give k*2^-53,
 * minus 0.5, exact in a double. */
static double lcg_next(uint64_t *x)
{
    *x = *x * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(*x >> 11) * 0x1p-53 - 0.5;
}

/* One replay of a case: its own tensors, noise generators and optimizer. */
typedef struct replay {
    dsc_optim *opt;
    double data64[MAX_TENSORS][MAX_N], grad64[MAX_TENSORS][MAX_N];
    float data32[MAX_TENSORS][MAX_N], grad32[MAX_TENSORS][MAX_N];
    uint64_t rng[MAX_TENSORS];
} replay;

#define MAX_EXPECT (MAX_TENSORS * 6)
typedef struct expect {
    int tensor;
    char buffer[32];
    double v[MAX_N];
} expect;

typedef struct gcase {
    char where[160]; /* "file: case dtype" for messages */
    char spec[512];
    dsc_dtype dtype;
    int steps, done;
    double scale;
    int nt;
    char names[MAX_TENSORS][16];
    dsc_param params[MAX_TENSORS];
    uint64_t seed[MAX_TENSORS];
    int ngroup_keys;
    int key_group[MAX_GROUPS];
    char keys[MAX_GROUPS][128];
    int setlr_step, setlr_group;
    double setlr_lr;
    replay run[2]; /* 0: fast kernels, 1: reference loop */
    double init_rms; /* of every initial parameter value */
    expect exp[MAX_EXPECT]; /* what the current checkpoint lists */
    int nexp;
    int checking;
    int checks;
} gcase;

static int tensor_index(const gcase *c, const char *name)
{
    for (int i = 0; i < c->nt; i++)
        if (!strcmp(c->names[i], name)) return i;
    fail_msg("%s: unknown tensor '%s'", c->where, name);
    return -1;
}

/* Reads exactly n numbers from the rest of the line (strtok state). */
static void read_values(const gcase *c, size_t n, double *out)
{
    for (size_t e = 0; e < n; e++) {
        char *tok = strtok(NULL, " \t\n");
        if (!tok) fail_msg("%s: %zu values expected, got %zu", c->where, n, e);
        char *end;
        out[e] = strtod(tok, &end);
        if (*end) fail_msg("%s: bad number '%s'", c->where, tok);
    }
    if (strtok(NULL, " \t\n")) fail_msg("%s: more than %zu values", c->where, n);
}

static void *elem_ptr(gcase *c, int r, int i, int grad)
{
    replay *rp = &c->run[r];
    if (c->dtype == DSC_F32) return grad ? (void *)rp->grad32[i] : (void *)rp->data32[i];
    return grad ? (void *)rp->grad64[i] : (void *)rp->data64[i];
}

static double get(const void *v, dsc_dtype dt, size_t e)
{
    return dt == DSC_F32 ? (double)((const float *)v)[e] : ((const double *)v)[e];
}

/* After the header: both replays get their optimizer, group keys and generators. */
static void start(gcase *c)
{
    double ss = 0;
    size_t count = 0;
    for (int i = 0; i < c->nt; i++)
        for (size_t e = 0; e < c->params[i].n; e++, count++) ss += c->run[0].data64[i][e] * c->run[0].data64[i][e];
    if (!count) fail_msg("%s: no tensors", c->where);
    c->init_rms = sqrt(ss / (double)count);
    for (int r = 0; r < 2; r++) {
        dsc_param ps[MAX_TENSORS];
        for (int i = 0; i < c->nt; i++) {
            ps[i] = c->params[i];
            ps[i].data = elem_ptr(c, r, i, 0);
            ps[i].grad = elem_ptr(c, r, i, 1);
            c->run[r].rng[i] = c->seed[i];
        }
        replay *rp = &c->run[r];
        if (dsc_optim_create_spec(&rp->opt, c->spec, ps, (size_t)c->nt) != DSC_OK)
            fail_msg("%s: create '%s': %s", c->where, c->spec, dsc_last_error());
        for (int k = 0; k < c->ngroup_keys; k++)
            if (dsc_optim_set_group_spec(rp->opt, c->key_group[k], c->keys[k]) != DSC_OK)
                fail_msg("%s: group %d '%s': %s", c->where, c->key_group[k], c->keys[k], dsc_last_error());
        dsc_optim_use_reference(rp->opt, r);
    }
}

/* The gradient make_golden.py gives torch: noise rounded to the dtype, plus
 * 0.5*theta in the dtype. */
static void fill_grads(gcase *c, replay *rp)
{
    for (int i = 0; i < c->nt; i++)
        for (size_t e = 0; e < c->params[i].n; e++) {
            double noise = lcg_next(&rp->rng[i]) * c->scale;
            if (c->dtype == DSC_F32)
                rp->grad32[i][e] = (float)noise + 0.5f * rp->data32[i][e];
            else
                rp->grad64[i][e] = noise + 0.5 * rp->data64[i][e];
        }
}

static void advance(gcase *c, int to)
{
    if (to < c->done || to > c->steps) fail_msg("%s: checkpoint %d out of order", c->where, to);
    for (; c->done < to; c->done++)
        for (int r = 0; r < 2; r++) {
            replay *rp = &c->run[r];
            fill_grads(c, rp);
            if (dsc_optim_step(rp->opt) != DSC_OK)
                fail_msg("%s: step %d: %s", c->where, c->done + 1, dsc_last_error());
            if (c->done + 1 == c->setlr_step &&
                dsc_optim_set_lr(rp->opt, c->setlr_group, c->setlr_lr) != DSC_OK)
                fail_msg("%s: set_lr: %s", c->where, dsc_last_error());
        }
}

/* The values one checkpoint expects of a parameter ("" buffer) or a state buffer. */
static expect *add_expect(gcase *c, int i, const char *buffer)
{
    if (c->nexp == MAX_EXPECT) fail_msg("%s: too many lines at step %d", c->where, c->done);
    expect *x = &c->exp[c->nexp++];
    x->tensor = i;
    snprintf(x->buffer, sizeof x->buffer, "%s", buffer);
    read_values(c, c->params[i].n, x->v);
    return x;
}

/* The floor of the tolerance for x: the RMS of its buffer over every tensor of the
 * case (for parameters, at least the RMS of the initial values: rounding errors of
 * the updates add up in absolute terms, at the scale of the problem). */
static double floor_of(const gcase *c, const expect *x)
{
    double ss = 0;
    size_t count = 0;
    for (int j = 0; j < c->nexp; j++) {
        const expect *y = &c->exp[j];
        if (strcmp(y->buffer, x->buffer)) continue;
        for (size_t e = 0; e < c->params[y->tensor].n; e++) ss += y->v[e] * y->v[e];
        count += c->params[y->tensor].n;
    }
    double rms = sqrt(ss / (double)count);
    return x->buffer[0] || rms > c->init_rms ? rms : c->init_rms;
}

static const void *actual(const gcase *c, int r, const expect *x)
{
    if (!x->buffer[0]) return elem_ptr((gcase *)c, r, x->tensor, 0);
    const dsc_optim *opt = c->run[r].opt;
    size_t count = dsc_optim_state_count(opt, (size_t)x->tensor);
    for (size_t k = 0; k < count; k++) {
        const char *name = NULL;
        void *data = NULL;
        assert_int_equal(dsc_optim_state(opt, (size_t)x->tensor, k, &name, &data), DSC_OK);
        if (!strcmp(name, x->buffer)) return data;
    }
    fail_msg("%s: descent keeps no state '%s' for %s", c->where, x->buffer, c->names[x->tensor]);
    return NULL;
}

static void compare(const gcase *c, int r, const expect *x)
{
    double tol = c->dtype == DSC_F64 ? 1e-12 : strncmp(c->spec, "adadelta", 8) ? 1e-6 : 2e-6;
    double floor = floor_of(c, x);
    const void *got = actual(c, r, x);
    for (size_t e = 0; e < c->params[x->tensor].n; e++) {
        double a = get(got, c->dtype, e), b = x->v[e];
        double scale = fabs(b) > floor ? fabs(b) : floor;
        if (!(fabs(a - b) <= tol * scale))
            fail_msg("%s (%s): step %d, %s%s%s[%zu] = %.17g, torch %.17g (rel. error %.3g)", c->where,
                     r ? "reference" : "fast", c->done, c->names[x->tensor], x->buffer[0] ? "." : "",
                     x->buffer, e, a, b, fabs(a - b) / scale);
    }
}

/* Compares what the checkpoint listed; torch must list every buffer descent keeps. */
static void close_checkpoint(gcase *c)
{
    if (!c->checking) return;
    for (int i = 0; i < c->nt; i++) {
        size_t seen = 0, count = dsc_optim_state_count(c->run[0].opt, (size_t)i);
        for (int j = 0; j < c->nexp; j++) seen += c->exp[j].tensor == i && c->exp[j].buffer[0];
        if (seen != count)
            fail_msg("%s: step %d: torch has %zu state buffers for %s, descent %zu", c->where, c->done,
                     seen, c->names[i], count);
    }
    for (int j = 0; j < c->nexp; j++)
        for (int r = 0; r < 2; r++) compare(c, r, &c->exp[j]);
    c->nexp = 0;
    c->checking = 0;
}

static void finish(gcase *c)
{
    close_checkpoint(c);
    if (c->done != c->steps || c->checks == 0)
        fail_msg("%s: ended after %d of %d steps with %d checkpoints", c->where, c->done, c->steps, c->checks);
    for (int r = 0; r < 2; r++) {
        assert_int_equal(dsc_optim_step_count(c->run[r].opt), c->steps);
        dsc_optim_destroy(c->run[r].opt);
        c->run[r].opt = NULL;
    }
}

static void header_tensor(gcase *c)
{
    if (c->nt == MAX_TENSORS) fail_msg("%s: too many tensors", c->where);
    int i = c->nt++;
    const char *name = strtok(NULL, " \t\n");
    const char *n = strtok(NULL, " \t\n"), *group = strtok(NULL, " \t\n");
    const char *flags = strtok(NULL, " \t\n"), *seed = strtok(NULL, " \t\n");
    if (!name || !n || !group || !flags || !seed || strlen(name) >= sizeof c->names[i])
        fail_msg("%s: bad tensor line", c->where);
    strcpy(c->names[i], name);
    dsc_param *p = &c->params[i];
    memset(p, 0, sizeof *p);
    p->name = c->names[i];
    p->n = strtoul(n, NULL, 10);
    p->group = atoi(group);
    p->flags = atoi(flags) & 1 ? DSC_NO_DECAY : 0; /* the file's flag 1 */
    p->dtype = c->dtype;
    c->seed[i] = strtoull(seed, NULL, 10);
    if (p->n == 0 || p->n > MAX_N) fail_msg("%s: tensor size %zu", c->where, p->n);
}

static void header_init(gcase *c)
{
    const char *name = strtok(NULL, " \t\n");
    int i = tensor_index(c, name ? name : "");
    double v[MAX_N];
    read_values(c, c->params[i].n, v);
    for (int r = 0; r < 2; r++)
        for (size_t e = 0; e < c->params[i].n; e++) {
            c->run[r].data64[i][e] = v[e];
            c->run[r].data32[i][e] = (float)v[e];
        }
}

/* One line of a golden file; returns 1 when a case ended. */
static int handle_line(gcase *c, char *line, const char *file)
{
    char *kw = strtok(line, " \t\n");
    if (!kw || kw[0] == '#') return 0;
    if (!strcmp(kw, "case")) {
        const char *name = strtok(NULL, " \t\n"), *dt = strtok(NULL, " \t\n");
        memset(c, 0, sizeof *c);
        snprintf(c->where, sizeof c->where, "%s: %s %s", file, name ? name : "?", dt ? dt : "?");
        c->dtype = dt && !strcmp(dt, "f32") ? DSC_F32 : DSC_F64;
        c->scale = 1.0;
        return 0;
    }
    if (!strcmp(kw, "tensor")) { header_tensor(c); return 0; }
    if (!strcmp(kw, "init")) { header_init(c); return 0; }
    const char *arg = strtok(NULL, " \t\n");
    if (!arg && strcmp(kw, "end")) fail_msg("%s: '%s' without a value", c->where, kw);
    if (!strcmp(kw, "spec")) snprintf(c->spec, sizeof c->spec, "%s", arg);
    else if (!strcmp(kw, "steps")) c->steps = atoi(arg);
    else if (!strcmp(kw, "scale")) c->scale = strtod(arg, NULL);
    else if (!strcmp(kw, "group")) {
        if (c->ngroup_keys == MAX_GROUPS) fail_msg("%s: too many group lines", c->where);
        c->key_group[c->ngroup_keys] = atoi(arg);
        snprintf(c->keys[c->ngroup_keys++], sizeof c->keys[0], "%s", strtok(NULL, " \t\n"));
    } else if (!strcmp(kw, "setlr")) {
        c->setlr_step = atoi(arg);
        c->setlr_group = atoi(strtok(NULL, " \t\n"));
        c->setlr_lr = strtod(strtok(NULL, " \t\n"), NULL);
    } else if (!strcmp(kw, "check")) {
        if (!c->run[0].opt) start(c);
        close_checkpoint(c);
        advance(c, atoi(arg));
        c->checking = 1;
        c->checks++;
    } else if (!strcmp(kw, "param") && c->checking) add_expect(c, tensor_index(c, arg), "");
    else if (!strcmp(kw, "state") && c->checking) {
        const char *buffer = strtok(NULL, " \t\n");
        if (!buffer || !buffer[0]) fail_msg("%s: state line without a buffer name", c->where);
        add_expect(c, tensor_index(c, arg), buffer);
    }
    else if (!strcmp(kw, "end")) { finish(c); return 1; }
    else fail_msg("%s: unknown line '%s'", c->where, kw);
    return 0;
}

static void run_file(const char *kind)
{
    char path[512];
    snprintf(path, sizeof path, "%s/golden/%s.txt", DSC_TEST_DATA, kind);
    FILE *f = fopen(path, "r");
    if (!f) fail_msg("cannot open %s", path);
    static char line[LINE_MAX_LEN];
    gcase *c = calloc(1, sizeof *c);
    assert_non_null(c);
    int cases = 0;
    while (fgets(line, sizeof line, f)) {
        if (!strchr(line, '\n') && !feof(f)) fail_msg("%s: line too long", path);
        cases += handle_line(c, line, kind);
    }
    fclose(f);
    free(c);
    /* make_golden.py writes each setting in f32 and f64 */
    if (cases < 4 || cases % 2) fail_msg("%s: %d cases", path, cases);
}

#define GOLDEN(kind) \
    static void test_##kind(void **state) { (void)state; run_file(#kind); }
GOLDEN(sgd)
GOLDEN(adagrad)
GOLDEN(rmsprop)
GOLDEN(adadelta)
GOLDEN(adam)
GOLDEN(adamw)
GOLDEN(adamax)
GOLDEN(nadam)
GOLDEN(radam)
GOLDEN(adabelief)
GOLDEN(rprop)
GOLDEN(asgd)

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sgd),     cmocka_unit_test(test_adagrad), cmocka_unit_test(test_rmsprop),
        cmocka_unit_test(test_adadelta), cmocka_unit_test(test_adam),   cmocka_unit_test(test_adamw),
        cmocka_unit_test(test_adamax),  cmocka_unit_test(test_nadam),   cmocka_unit_test(test_radam),
        cmocka_unit_test(test_adabelief), cmocka_unit_test(test_rprop), cmocka_unit_test(test_asgd),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
