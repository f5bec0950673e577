/*
 * test_sparse.c: row-sparse gradients (DSC_SPARSE_GRAD, dsc_optim_set_sparse_grad) and
 * sparse_adam.
 *
 * Golden cases: tests/golden/sparse_adam.txt, made by tests/golden/make_sparse.py with
 * torch 1.13's SparseAdam and the sparse paths of its Adagrad and SGD: an embedding
 * table whose rows repeat within a step, two rows never named, a dense tensor beside
 * it in Adagrad's and SGD's cases. Each case is replayed through the fast kernels and
 * the reference loops, which must agree bit for bit, and compared with torch with the
 * tolerance of test_golden.c (1e-6 in f32, 1e-12 in f64, relative to the larger of the
 * value and the buffer's RMS). Then what torch cannot show: a gradient without rows,
 * checkpoints resumed bit-exactly, SGD's momentum equal to the dense rule bit for bit,
 * and every refusal (kinds, options, rows, shapes, NaN under the non-finite policy).
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
#include "descent_checkpoint.h"

#define ROWS 8
#define DIM 3
#define EMB (ROWS * DIM)
#define DENSE 5
#define MAX_K 8
#define LINE_LEN 8192

/* ---------------------------------------------------------------- the golden cases */

/* One replay: its own tensors (held as doubles, stepped in the case's dtype). */
typedef struct run {
    dsc_optim *opt;
    float e32[EMB], w32[DENSE], wg32[DENSE], v32[MAX_K * DIM];
    double e64[EMB], w64[DENSE], wg64[DENSE], v64[MAX_K * DIM];
} run;

typedef struct gcase {
    char name[64], spec[256];
    dsc_dtype dtype;
    int dense, steps;
    run r[2]; /* 0: fast kernels, 1: reference loops */
    double init_e[EMB];
} gcase;

static double *parse_hex(char *text, double *out, int n)
{
    char *s = text;
    for (int i = 0; i < n; i++) {
        char *end;
        out[i] = strtod(s, &end);
        if (end == s) fail_msg("expected %d numbers in '%.60s'", n, text);
        s = end;
    }
    return out;
}

static void put(dsc_dtype dt, void *dst, const double *v, int n)
{
    for (int i = 0; i < n; i++) {
        if (dt == DSC_F32) ((float *)dst)[i] = (float)v[i];
        else ((double *)dst)[i] = v[i];
    }
}

static double get(dsc_dtype dt, const void *src, int i)
{
    return dt == DSC_F32 ? (double)((const float *)src)[i] : ((const double *)src)[i];
}

static void *emb_of(gcase *c, int k) { return c->dtype == DSC_F32 ? (void *)c->r[k].e32 : (void *)c->r[k].e64; }
static void *w_of(gcase *c, int k) { return c->dtype == DSC_F32 ? (void *)c->r[k].w32 : (void *)c->r[k].w64; }

static void create_runs(gcase *c)
{
    for (int k = 0; k < 2; k++) {
        run *r = &c->r[k];
        dsc_param ps[2] = {
            {.name = "emb", .data = emb_of(c, k), .n = EMB, .dtype = c->dtype, .flags = DSC_SPARSE_GRAD,
             .ndim = 2, .shape = {ROWS, DIM}},
            {.name = "w", .data = w_of(c, k), .grad = c->dtype == DSC_F32 ? (void *)r->wg32 : (void *)r->wg64,
             .n = DENSE, .dtype = c->dtype},
        };
        if (dsc_optim_create_spec(&r->opt, c->spec, ps, c->dense ? 2 : 1))
            fail_msg("%s: %s", c->spec, dsc_last_error());
        dsc_optim_use_reference(r->opt, k == 1);
    }
}

/* "grad STEP K rows... values..." into both runs, then the step. */
static void do_step(gcase *c, char *line, const char *wline)
{
    int step, k, used;
    if (sscanf(line, "grad %d %d%n", &step, &k, &used) != 2 || k > MAX_K) fail_msg("bad line '%.60s'", line);
    char *s = line + used;
    int64_t rows[MAX_K];
    for (int j = 0; j < k; j++) rows[j] = strtoll(s, &s, 10);
    double v[MAX_K * DIM], wg[DENSE];
    parse_hex(s, v, k * DIM);
    if (c->dense) parse_hex((char *)wline + strcspn(wline + 6, " ") + 6, wg, DENSE);
    for (int r = 0; r < 2; r++) {
        run *x = &c->r[r];
        void *vals = c->dtype == DSC_F32 ? (void *)x->v32 : (void *)x->v64;
        put(c->dtype, vals, v, k * DIM);
        if (c->dense) put(c->dtype, c->dtype == DSC_F32 ? (void *)x->wg32 : (void *)x->wg64, wg, DENSE);
        assert_int_equal(dsc_optim_set_sparse_grad(x->opt, 0, rows, (size_t)k, vals), DSC_OK);
        if (dsc_optim_step(x->opt)) fail_msg("%s step %d: %s", c->name, step, dsc_last_error());
    }
}

static double rms(const double *v, int n)
{
    double s = 0;
    for (int i = 0; i < n; i++) s += v[i] * v[i];
    return sqrt(s / n);
}

/* "param NAME v..." or "state NAME BUFFER v...": both runs against torch, and the fast
 * run against the reference bit for bit. */
static void check_line(gcase *c, char *line, int step)
{
    char what[16], tname[16], buf[32] = "";
    int used;
    if (sscanf(line, "%15s %15s%n", what, tname, &used) != 2) fail_msg("bad line '%.60s'", line);
    int is_state = !strcmp(what, "state");
    if (is_state) {
        int more;
        sscanf(line + used, "%31s%n", buf, &more);
        used += more;
    }
    int ti = !strcmp(tname, "w"), n = ti ? DENSE : EMB;
    double want[EMB];
    parse_hex(line + used, want, n);
    double floor = rms(want, n), tol = c->dtype == DSC_F32 ? 1e-6 : 1e-12;
    if (!is_state && floor < rms(c->init_e, EMB)) floor = rms(c->init_e, EMB);
    const void *got[2];
    for (int r = 0; r < 2; r++) {
        got[r] = ti ? w_of(c, r) : emb_of(c, r);
        for (size_t k = 0; is_state && k < dsc_optim_state_count(c->r[r].opt, (size_t)ti); k++) {
            const char *nm;
            void *data;
            assert_int_equal(dsc_optim_state(c->r[r].opt, (size_t)ti, k, &nm, &data), DSC_OK);
            if (!strcmp(nm, buf)) got[r] = data;
        }
        if (is_state && got[r] == (ti ? w_of(c, r) : emb_of(c, r))) fail_msg("%s: no state %s", c->name, buf);
        for (int i = 0; i < n; i++) {
            double g = get(c->dtype, got[r], i);
            if (!(fabs(g - want[i]) <= tol * fmax(fabs(want[i]), floor)))
                fail_msg("%s step %d %s %s %s[%d]: got %.17g, torch %.17g", c->name,
                         step, r ? "reference" : "fast", what, tname, i, g, want[i]);
        }
    }
    if (memcmp(got[0], got[1], (size_t)n * (c->dtype == DSC_F32 ? 4 : 8)))
        fail_msg("%s step %d: fast and reference %s of %s differ", c->name, step, what,
                 tname);
}

/* Rows 6 and 7 are never named: bit for bit their initial values, state at its start. */
static void check_untouched(gcase *c)
{
    for (int i = 6 * DIM; i < EMB; i++)
        if (get(c->dtype, emb_of(c, 0), i) != c->init_e[i] || get(c->dtype, emb_of(c, 1), i) != c->init_e[i])
            fail_msg("%s: row %d was never named but changed", c->name, i / DIM);
}

static void test_golden(void **state)
{
    (void)state;
    FILE *f = fopen(DSC_TEST_DATA "/golden/sparse_adam.txt", "r");
    assert_non_null(f);
    static char line[LINE_LEN], wline[LINE_LEN];
    static gcase c;
    int cases = 0, step = 0;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = 0;
        char dt[8];
        int rows, dim;
        if (sscanf(line, "case %63s %7s", c.name, dt) == 2) {
            memset(&c.r, 0, sizeof c.r);
            strcpy(c.name + strlen(c.name), strcmp(dt, "f32") ? " f64" : " f32");
            c.dtype = strcmp(dt, "f32") ? DSC_F64 : DSC_F32;
        } else if (!strncmp(line, "spec ", 5)) {
            snprintf(c.spec, sizeof c.spec, "%.255s", line + 5);
        } else if (sscanf(line, "emb %d %d dense %d steps %d", &rows, &dim, &c.dense, &c.steps) == 4) {
            assert_true(rows == ROWS && dim == DIM && (c.dense == 0 || c.dense == DENSE));
        } else if (!strncmp(line, "init emb ", 9)) {
            parse_hex(line + 9, c.init_e, EMB);
            for (int r = 0; r < 2; r++) put(c.dtype, emb_of(&c, r), c.init_e, EMB);
            if (!c.dense) create_runs(&c);
        } else if (!strncmp(line, "init w ", 7)) {
            double w[DENSE];
            parse_hex(line + 7, w, DENSE);
            for (int r = 0; r < 2; r++) put(c.dtype, w_of(&c, r), w, DENSE);
            create_runs(&c);
        } else if (!strncmp(line, "grad ", 5)) {
            sscanf(line, "grad %d", &step);
            if (c.dense) {
                if (!fgets(wline, sizeof wline, f)) fail_msg("%s: no wgrad after step %d", c.name, step);
            }
            do_step(&c, line, wline);
        } else if (!strncmp(line, "param ", 6) || !strncmp(line, "state ", 6)) {
            check_line(&c, line, step);
        } else if (!strcmp(line, "end")) {
            check_untouched(&c);
            for (int r = 0; r < 2; r++) dsc_optim_destroy(c.r[r].opt);
            cases++;
        }
    }
    fclose(f);
    assert_int_equal(cases, 18); /* 9 cases x 2 dtypes */
}

/* ---------------------------------------------------------------- by hand */

typedef struct table {
    float data[EMB], w[DENSE], wg[DENSE];
    dsc_param ps[2];
} table;

static void table_init(table *t)
{
    for (int i = 0; i < EMB; i++) t->data[i] = 0.1f * (float)(i + 1);
    for (int i = 0; i < DENSE; i++) t->w[i] = 1.0f, t->wg[i] = 0.5f;
    t->ps[0] = (dsc_param){.name = "emb", .data = t->data, .n = EMB, .dtype = DSC_F32, .flags = DSC_SPARSE_GRAD,
                           .ndim = 2, .shape = {ROWS, DIM}};
    t->ps[1] = (dsc_param){.name = "w", .data = t->w, .grad = t->wg, .n = DENSE, .dtype = DSC_F32};
}

/* sgd(lr=0.5): row 2 named twice is moved by the sum, row 0 once; no rows: nothing. */
static void test_sgd_by_hand(void **state)
{
    (void)state;
    table t;
    table_init(&t);
    dsc_optim *opt;
    assert_int_equal(dsc_optim_create_spec(&opt, "sgd(lr=0.5)", t.ps, 2), DSC_OK);
    assert_int_equal(dsc_optim_step(opt), DSC_OK); /* no rows yet: emb keeps its values */
    assert_true(t.data[0] == 0.1f && t.w[0] == 0.75f);
    const int64_t rows[] = {2, 0, 2};
    const float v[] = {1, 2, 3, 4, 4, 4, 0.5f, 0.5f, 0.5f};
    assert_int_equal(dsc_optim_set_sparse_grad(opt, 0, rows, 3, v), DSC_OK);
    float before[EMB];
    memcpy(before, t.data, sizeof before);
    assert_int_equal(dsc_optim_step(opt), DSC_OK);
    for (int i = 0; i < EMB; i++) {
        float want = before[i];
        if (i / DIM == 2) want = before[i] + -0.5f * (v[i % DIM] + v[6 + i % DIM]);
        if (i / DIM == 0) want = before[i] + -0.5f * v[3 + i % DIM];
        assert_true(t.data[i] == want);
    }
    dsc_optim_zero_grad(opt); /* clears the rows */
    memcpy(before, t.data, sizeof before);
    assert_int_equal(dsc_optim_step(opt), DSC_OK);
    assert_memory_equal(before, t.data, sizeof before);
    assert_int_equal(dsc_optim_step_count(opt), 3);
    dsc_optim_destroy(opt);
}

/* sparse_adam's first step on one row: m = (1-b1) g, v = (1-b2) g^2, and the step is
 * lr * sqrt(1-b2)/(1-b1) * m / (sqrt(v) + eps), about lr * sign(g). */
static void test_sparse_adam_first_step(void **state)
{
    (void)state;
    double data[EMB] = {0};
    dsc_param p = {.name = "emb", .data = data, .n = EMB, .dtype = DSC_F64, .flags = DSC_SPARSE_GRAD, .ndim = 2,
                   .shape = {ROWS, DIM}};
    dsc_optim *opt;
    assert_int_equal(dsc_optim_create_spec(&opt, "sparse_adam(lr=0.1)", &p, 1), DSC_OK);
    const int64_t row = 5;
    const double g[DIM] = {2, -3, 0};
    assert_int_equal(dsc_optim_set_sparse_grad(opt, 0, &row, 1, g), DSC_OK);
    assert_int_equal(dsc_optim_step(opt), DSC_OK);
    for (int j = 0; j < DIM; j++) {
        double m = 0.1 * g[j], v = 0.001 * g[j] * g[j];
        double want = -(0.1 * sqrt(0.001) / 0.1) * (m / (sqrt(v) + 1e-8));
        assert_true(fabs(data[5 * DIM + j] - want) <= 1e-15);
    }
    for (int i = 0; i < EMB; i++)
        if (i / DIM != 5) assert_true(data[i] == 0);
    /* torch's state names, a whole table each */
    const char *name;
    double *m;
    assert_int_equal(dsc_optim_state_count(opt, 0), 2);
    assert_int_equal(dsc_optim_state(opt, 0, 0, &name, (void **)&m), DSC_OK);
    assert_string_equal(name, "exp_avg");
    assert_true(m[5 * DIM] == (1 - 0.9) * 2 && m[0] == 0);
    assert_int_equal(dsc_optim_state(opt, 0, 1, &name, NULL), DSC_OK);
    assert_string_equal(name, "exp_avg_sq");
    assert_int_equal(dsc_optim_state_bytes(opt), 2 * EMB * sizeof(double));
    dsc_optim_destroy(opt);
}

/* ---------------------------------------------------------------- checkpoints */

static void fill_grad(float *v, int64_t *rows, int step)
{
    for (int j = 0; j < 4; j++) rows[j] = (step * 3 + j * 5) % 6; /* repeats, rows 6 and 7 never */
    for (int j = 0; j < 4 * DIM; j++) v[j] = (float)sin(step * 7.0 + j) * 0.3f;
}

/* Saved after 5 steps and restored into a fresh optimizer, 5 more steps give the bits
 * the uninterrupted run gives: sparse_adam alone, and adagrad with a dense tensor. */
static void resume_case(const char *spec, int ntensors)
{
    table a, b;
    table_init(&a);
    table_init(&b);
    dsc_optim *oa, *ob;
    assert_int_equal(dsc_optim_create_spec(&oa, spec, a.ps, (size_t)ntensors), DSC_OK);
    assert_int_equal(dsc_optim_create_spec(&ob, spec, b.ps, (size_t)ntensors), DSC_OK);
    float v[4 * DIM];
    int64_t rows[4];
    for (int s = 0; s < 5; s++) {
        fill_grad(v, rows, s);
        assert_int_equal(dsc_optim_set_sparse_grad(oa, 0, rows, 4, v), DSC_OK);
        assert_int_equal(dsc_optim_step(oa), DSC_OK);
    }
    size_t len;
    assert_int_equal(dsc_checkpoint_save_mem(oa, NULL, 0, &len, NULL), DSC_OK);
    void *buf = malloc(len);
    assert_non_null(buf);
    assert_int_equal(dsc_checkpoint_save_mem(oa, buf, len, &len, NULL), DSC_OK);
    if (dsc_checkpoint_load_mem(ob, buf, len, NULL)) fail_msg("%s: %s", spec, dsc_last_error());
    free(buf);
    assert_int_equal(dsc_optim_step_count(ob), 5);
    for (int s = 5; s < 10; s++) {
        fill_grad(v, rows, s);
        assert_int_equal(dsc_optim_set_sparse_grad(oa, 0, rows, 4, v), DSC_OK);
        assert_int_equal(dsc_optim_set_sparse_grad(ob, 0, rows, 4, v), DSC_OK);
        assert_int_equal(dsc_optim_step(oa), DSC_OK);
        assert_int_equal(dsc_optim_step(ob), DSC_OK);
    }
    assert_memory_equal(a.data, b.data, sizeof a.data);
    assert_memory_equal(a.w, b.w, sizeof a.w);
    for (size_t k = 0; k < dsc_optim_state_count(oa, 0); k++) {
        void *x, *y;
        assert_int_equal(dsc_optim_state(oa, 0, k, NULL, &x), DSC_OK);
        assert_int_equal(dsc_optim_state(ob, 0, k, NULL, &y), DSC_OK);
        assert_memory_equal(x, y, sizeof a.data);
    }
    dsc_optim_destroy(oa);
    dsc_optim_destroy(ob);
}

static void test_checkpoint_resume(void **state)
{
    (void)state;
    resume_case("sparse_adam(lr=0.01)", 1);
    resume_case("adagrad(lr=0.1, initial_accumulator_value=0.1)", 2);
    resume_case("sgd(lr=0.1)", 2);
    resume_case("sgd(lr=0.1, momentum=0.9, nesterov=true)", 2);
}

/* ---------------------------------------------------------------- SGD's momentum */

/* SGD with momentum on a sparse gradient is the dense rule on the summed rows with zeros
 * elsewhere, bit for bit: a table of 500 rows x 70 (so that two threads split it),
 * rows repeating within a step, a step without rows, rows 450.. never named (they and
 * their momentum stay exactly as they were), through the fast kernels and the reference
 * loops; then momentum switched off and on again (a fresh buffer) on both. */
#define BIG_ROWS 500
#define NAMED 450 /* rows from here on are never named */
#define BIG_DIM 70
#define BIG_K 40
static void dense_twin_case(const char *spec, dsc_dtype dt, int reference)
{
    size_t n = BIG_ROWS * BIG_DIM, es = dsc_dtype_size(dt);
    unsigned char *ps = calloc(n, es), *pd = calloc(n, es), *gd = calloc(n, es), *vals = calloc(BIG_K * BIG_DIM, es);
    assert_true(ps && pd && gd && vals);
    for (size_t i = 0; i < n; i++) {
        double x = sin(0.37 * (double)i);
        if (dt == DSC_F32) ((float *)ps)[i] = ((float *)pd)[i] = (float)x;
        else ((double *)ps)[i] = ((double *)pd)[i] = x;
    }
    dsc_param sp = {.name = "emb", .data = ps, .n = n, .dtype = dt, .flags = DSC_SPARSE_GRAD, .ndim = 2,
                    .shape = {BIG_ROWS, BIG_DIM}};
    dsc_param dp = {.name = "emb", .data = pd, .grad = gd, .n = n, .dtype = dt, .ndim = 2, .shape = {BIG_ROWS, BIG_DIM}};
    dsc_optim *os, *od;
    if (dsc_optim_create_spec(&os, spec, &sp, 1)) fail_msg("%s: %s", spec, dsc_last_error());
    assert_int_equal(dsc_optim_create_spec(&od, spec, &dp, 1), DSC_OK);
    assert_int_equal(dsc_optim_set_threads(os, 2), DSC_OK);
    dsc_optim_use_reference(os, reference);
    dsc_optim_use_reference(od, reference);
    int64_t rows[BIG_K];
    int nesterov = strstr(spec, "nesterov") != NULL;
    for (int s = 0; s < 12; s++) {
        /* momentum off and on again: a fresh buffer, whose next step is its first */
        const char *keys = s == 6 ? (nesterov ? "nesterov=false, momentum=0" : "momentum=0")
                         : s == 8 ? (nesterov ? "momentum=0.8, nesterov=true" : "momentum=0.8") : NULL;
        if (keys && (dsc_optim_set_group_spec(os, 0, keys) || dsc_optim_set_group_spec(od, 0, keys)))
            fail_msg("%s: %s: %s", spec, keys, dsc_last_error());
        int k = s == 3 ? 0 : BIG_K;
        memset(gd, 0, n * es);
        for (int j = 0; j < k; j++) {
            rows[j] = (int64_t)((s * 37 + j * j * 11) % NAMED); /* repeats */
            for (size_t e = 0; e < BIG_DIM; e++) {
                double v = cos(1.3 * s + 0.7 * j + 0.11 * (double)e);
                size_t at = (size_t)rows[j] * BIG_DIM + e;
                if (dt == DSC_F32) {
                    ((float *)vals)[j * BIG_DIM + e] = (float)v;
                    ((float *)gd)[at] += (float)v; /* in order, as the sparse sum */
                } else {
                    ((double *)vals)[j * BIG_DIM + e] = v;
                    ((double *)gd)[at] += v;
                }
            }
        }
        assert_int_equal(dsc_optim_set_sparse_grad(os, 0, rows, (size_t)k, vals), DSC_OK);
        assert_int_equal(dsc_optim_step(os), DSC_OK);
        assert_int_equal(dsc_optim_step(od), DSC_OK);
        if (memcmp(ps, pd, n * es)) fail_msg("%s %s: the sparse step %d differs from the dense one", spec,
                                             dsc_dtype_name(dt), s);
        for (size_t i = NAMED * BIG_DIM; i < n; i++)
            assert_true(dt == DSC_F32 ? ((float *)ps)[i] == (float)sin(0.37 * (double)i)
                                      : ((double *)ps)[i] == sin(0.37 * (double)i));
    }
    void *bs, *bd;
    assert_int_equal(dsc_optim_state(os, 0, 0, NULL, &bs), DSC_OK);
    assert_int_equal(dsc_optim_state(od, 0, 0, NULL, &bd), DSC_OK);
    /* equal values: the dense rule's momentum of a row never named can be -0 (maximize: the
     * first step copies the negated zero gradient), the sparse one leaves it at +0 */
    for (size_t i = 0; i < n; i++)
        if (dt == DSC_F32 ? ((float *)bs)[i] != ((float *)bd)[i] : ((double *)bs)[i] != ((double *)bd)[i])
            fail_msg("%s %s: momentum %zu differs", spec, dsc_dtype_name(dt), i);
    for (size_t i = NAMED * BIG_DIM; i < n; i++)
        assert_true(dt == DSC_F32 ? ((float *)bs)[i] == 0 : ((double *)bs)[i] == 0);
    dsc_optim_destroy(os);
    dsc_optim_destroy(od);
    free(ps), free(pd), free(gd), free(vals);
}

static void test_momentum_is_the_dense_rule(void **state)
{
    (void)state;
    static const char *const specs[] = {
        "sgd(lr=0.1, momentum=0.9)", "sgd(lr=0.05, momentum=0.5, dampening=0.3, maximize=true)",
        "sgd(lr=0.1, momentum=0.9, nesterov=true)", "sgd(lr=0.1, momentum=0.9, lr_in_buffer=true)",
    };
    for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++)
        for (int ref = 0; ref < 2; ref++) {
            dense_twin_case(specs[i], DSC_F32, ref);
            dense_twin_case(specs[i], DSC_F64, ref);
        }
}

/* ---------------------------------------------------------------- refusals */

static void expect_create_fails(const char *spec, const dsc_param *ps, size_t n, dsc_status want, const char *text)
{
    dsc_optim *opt = (dsc_optim *)1;
    dsc_status st = dsc_optim_create_spec(&opt, spec, ps, n);
    if (st != want || !strstr(dsc_last_error(), text))
        fail_msg("%s: got %d '%s', wanted %d with '%s'", spec, st, dsc_last_error(), want, text);
    assert_null(opt);
}

static void test_kinds_refuse(void **state)
{
    (void)state;
    table t;
    table_init(&t);
    /* as torch: "Adam does not support sparse gradients", "SparseAdam does not support dense gradients" */
    expect_create_fails("adam", t.ps, 2, DSC_ERR_UNSUPPORTED, "adam: sparse gradients are not supported");
    expect_create_fails("rmsprop", t.ps, 1, DSC_ERR_UNSUPPORTED, "use sparse_adam");
    expect_create_fails("sparse_adam", t.ps, 2, DSC_ERR_UNSUPPORTED, "sparse_adam: dense gradients are not supported");
    expect_create_fails("sparse_adam", &t.ps[1], 1, DSC_ERR_UNSUPPORTED, "use adam");
    /* torch: "weight_decay option is not compatible with sparse gradients" */
    expect_create_fails("adagrad(weight_decay=0.1)", t.ps, 2, DSC_ERR_UNSUPPORTED, "not compatible with sparse");
    expect_create_fails("sgd(weight_decay=0.1)", t.ps, 2, DSC_ERR_UNSUPPORTED, "not compatible with sparse");
    expect_create_fails("sgd(l1=0.1)", t.ps, 1, DSC_ERR_UNSUPPORTED, "not compatible with sparse");
    expect_create_fails("sparse_adam(weight_decay=0.1)", t.ps, 1, DSC_ERR_UNSUPPORTED, "not compatible");
    expect_create_fails("lookahead(inner=sgd)", t.ps, 1, DSC_ERR_UNSUPPORTED, "lookahead");
    expect_create_fails("sgd(accumulate=2)", t.ps, 1, DSC_ERR_UNSUPPORTED, "accumulate");
    expect_create_fails("sparse_adam(eps=0)", t.ps, 1, DSC_ERR_RANGE, "sparse_adam: eps must be > 0");
    /* a DSC_NO_DECAY table may sit in a group with decay */
    t.ps[0].flags |= DSC_NO_DECAY;
    dsc_optim *opt;
    assert_int_equal(dsc_optim_create_spec(&opt, "adagrad(weight_decay=0.1)", t.ps, 2), DSC_OK);
    dsc_optim_destroy(opt);
    t.ps[0].flags &= ~(unsigned)DSC_NO_DECAY;
    /* a group turning decay on later is refused the same way, and keeps its values */
    assert_int_equal(dsc_optim_create_spec(&opt, "sgd(lr=0.1, momentum=0.9)", t.ps, 2), DSC_OK);
    assert_int_equal(dsc_optim_set_group_spec(opt, 0, "weight_decay=0.1"), DSC_ERR_UNSUPPORTED);
    dsc_hparams hp;
    assert_int_equal(dsc_optim_get_group_hparams(opt, 0, &hp), DSC_OK);
    assert_true(hp.weight_decay == 0 && hp.momentum == 0.9);
    dsc_optim_destroy(opt);
}

static void test_bad_tensors(void **state)
{
    (void)state;
    table t;
    table_init(&t);
    t.ps[0].ndim = 1; /* wrong dim: a table is [rows, dim] */
    t.ps[0].shape[0] = EMB;
    expect_create_fails("sparse_adam", t.ps, 1, DSC_ERR_ARG, "2-D [rows, dim], got 1 dimensions");
    table_init(&t);
    t.ps[0].grad = t.wg; /* its gradient comes from set_sparse_grad */
    expect_create_fails("sparse_adam", t.ps, 1, DSC_ERR_ARG, "NULL grad");
    table_init(&t);
    dsc_optim *opt;
    assert_int_equal(dsc_optim_create_spec(&opt, "adagrad", t.ps, 2), DSC_OK);
    const int64_t bad[] = {1, ROWS}, neg[] = {-1};
    float v[2 * DIM] = {0};
    assert_int_equal(dsc_optim_set_sparse_grad(opt, 0, bad, 2, v), DSC_ERR_ARG);
    assert_non_null(strstr(dsc_last_error(), "row 8 (index 1) of 'emb' is out of range [0, 8)"));
    assert_int_equal(dsc_optim_set_sparse_grad(opt, 0, neg, 1, v), DSC_ERR_ARG);
    assert_int_equal(dsc_optim_set_sparse_grad(opt, 1, bad, 1, v), DSC_ERR_ARG); /* w is dense */
    assert_non_null(strstr(dsc_last_error(), "not flagged DSC_SPARSE_GRAD"));
    assert_int_equal(dsc_optim_set_sparse_grad(opt, 0, NULL, 1, v), DSC_ERR_ARG);
    assert_int_equal(dsc_optim_set_sparse_grad(opt, 2, bad, 1, v), DSC_ERR_ARG);
    assert_int_equal(dsc_optim_bind(opt, 0, NULL, t.wg), DSC_ERR_ARG);
    dsc_optim_destroy(opt);
}

/* A refused gradient changes nothing: the one set before still applies. */
static void test_refused_rows_keep_the_gradient(void **state)
{
    (void)state;
    table t;
    table_init(&t);
    dsc_optim *opt;
    assert_int_equal(dsc_optim_create_spec(&opt, "sgd(lr=1)", t.ps, 1), DSC_OK);
    const int64_t good[] = {1}, bad[] = {0, 9};
    const float v[2 * DIM] = {1, 1, 1, 1, 1, 1};
    assert_int_equal(dsc_optim_set_sparse_grad(opt, 0, good, 1, v), DSC_OK);
    assert_int_equal(dsc_optim_set_sparse_grad(opt, 0, bad, 2, v), DSC_ERR_ARG);
    assert_int_equal(dsc_optim_step(opt), DSC_OK);
    assert_true(t.data[0] == 0.1f && t.data[DIM] == 0.4f - 1.0f);
    dsc_optim_destroy(opt);
}

/* NaN in a row: skipped under skip (nothing changes), DSC_ERR_NONFINITE under error; a
 * NaN in a repeat that the sum hides as Inf - Inf counts too. */
static void test_nonfinite(void **state)
{
    (void)state;
    const char *specs[] = {"sparse_adam", "sparse_adam(nonfinite=error)"};
    for (int e = 0; e < 2; e++) {
        table t;
        table_init(&t);
        dsc_optim *opt;
        assert_int_equal(dsc_optim_create_spec(&opt, specs[e], t.ps, 1), DSC_OK);
        const int64_t rows[] = {3, 1, 3};
        float v[3 * DIM] = {1, 1, 1, 1, 1, NAN, 2, 2, 2};
        float before[EMB];
        memcpy(before, t.data, sizeof before);
        assert_int_equal(dsc_optim_set_sparse_grad(opt, 0, rows, 3, v), DSC_OK);
        assert_int_equal(dsc_optim_step(opt), e ? DSC_ERR_NONFINITE : DSC_OK);
        assert_memory_equal(before, t.data, sizeof before);
        assert_int_equal(dsc_optim_step_count(opt), 0);
        v[5] = 1;
        v[0] = INFINITY, v[6] = -INFINITY; /* row 3: inf + -inf */
        assert_int_equal(dsc_optim_step(opt), e ? DSC_ERR_NONFINITE : DSC_OK);
        assert_memory_equal(before, t.data, sizeof before);
        v[0] = 1, v[6] = 2;
        assert_int_equal(dsc_optim_step(opt), DSC_OK);
        assert_int_equal(dsc_optim_step_count(opt), 1);
        dsc_optim_destroy(opt);
    }
}

/* Clipping sees the summed rows: g = 3 in one row (a repeat of 1 and 2), the norm 3*sqrt(3),
 * so sgd(lr=1, clip_norm=1) moves each element by 3 / (3 sqrt 3 + 1e-6). */
static void test_clip_norm(void **state)
{
    (void)state;
    table t;
    table_init(&t);
    dsc_optim *opt;
    assert_int_equal(dsc_optim_create_spec(&opt, "sgd(lr=1, clip_norm=1)", t.ps, 1), DSC_OK);
    const int64_t rows[] = {4, 4};
    const float v[2 * DIM] = {1, 1, 1, 2, 2, 2};
    assert_int_equal(dsc_optim_set_sparse_grad(opt, 0, rows, 2, v), DSC_OK);
    assert_int_equal(dsc_optim_step(opt), DSC_OK);
    assert_true(fabs(dsc_optim_grad_norm(opt) - 3 * sqrt(3)) < 1e-6);
    float want = 1.3f - 3.0f * (float)(1 / (3 * sqrt(3) + 1e-6));
    assert_true(fabsf(t.data[4 * DIM] - want) < 1e-6f);
    dsc_optim_destroy(opt);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden),
        cmocka_unit_test(test_sgd_by_hand),
        cmocka_unit_test(test_sparse_adam_first_step),
        cmocka_unit_test(test_checkpoint_resume),
        cmocka_unit_test(test_momentum_is_the_dense_rule),
        cmocka_unit_test(test_kinds_refuse),
        cmocka_unit_test(test_bad_tensors),
        cmocka_unit_test(test_refused_rows_keep_the_gradient),
        cmocka_unit_test(test_nonfinite),
        cmocka_unit_test(test_clip_norm),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
