/*
 * bench.c: descent bench --optimizer SPEC --params N [--tensors K] [--cols C]
 *                        [--dtype f32|f64] [--threads T] [--reps R] [--rows-touched F [--dim D]]
 *                        [--json]
 *
 * Times one optimizer step on K tensors totalling N parameters, and in the same run a
 * plain read-modify-write loop that moves the same bytes (reads the gradient, reads
 * and writes the parameter and each state buffer; plus one read of the gradient when
 * the step measures it for clipping or the non-finite check). Rules with per-tensor
 * norms (LAMB, LARS) need the norms before the update, so their plain loop makes the
 * same two passes, Adafactor's three over a matrix (|p| and the squares' means, |u|, the
 * update; --cols makes the tensors matrices) or two over a vector; lookahead is timed a cycle of k steps a rep, its slow weights read
 * and written in the cycle's last pass. A step is memory-bound, so the plain loop is
 * the speed to reach. The two alternate rep by rep, so noise from a shared machine
 * hits both; the medians are reported.
 *
 * With --rows-touched F the parameters are one embedding table [params/dim, dim] whose
 * gradient is row-sparse (DSC_SPARSE_GRAD): each step names F of its rows, distinct and
 * drawn afresh each rep, and is timed with its dsc_optim_set_sparse_grad; the plain loop
 * moves the same bytes of the same rows. Times are per touched parameter.
 */
#include "cli.h"

#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#define MAX_RW (1 + 4) /* the parameter and up to four state buffers */

typedef struct bench {
    const char *spec;
    int64_t n, k, cols, threads, reps;
    dsc_dtype dtype;
    int json;
    double touched; /* > 0: the fraction of a sparse table's rows each step names */
    int64_t dim;    /* that table's row length */
    size_t nt;      /* rows touched a step */
    /* results */
    int used_threads, measured;
    int64_t cycle; /* steps a rep: lookahead's k, else 1 */
    double bytes;  /* per parameter and step */
    double step_ns, plain_ns, step_min, plain_min; /* per parameter */
    volatile double sink; /* the plain loop's read pass, kept */
} bench;

static void help(FILE *f)
{
    fprintf(f,
            "usage: descent bench --optimizer SPEC [--params N] [--tensors K] [--cols C]\n"
            "                     [--dtype f32|f64] [--threads T] [--reps R] [--rows-touched F [--dim D]] [--json]\n"
            "  --optimizer  spec, e.g. 'adam' or 'sgd(momentum=0.9)'\n"
            "  --params     parameters in all (default 10000000)\n"
            "  --tensors    split into this many tensors of equal size (default 1)\n"
            "  --cols       each tensor a matrix of this many columns (default 0: vectors;\n"
            "               adafactor factors matrices)\n"
            "  --dtype      f32 or f64 (default f32)\n"
            "  --threads    threads (default 0: the OpenMP default)\n"
            "  --reps       timed steps after two warm-up steps (default 10; lookahead: cycles\n"
            "               of k steps); medians reported\n"
            "  --rows-touched F  one embedding table [params/dim, dim] with a row-sparse\n"
            "               gradient naming this fraction of its rows each step (times per\n"
            "               touched parameter)\n"
            "  --dim        the table's row length (default 64)\n"
            "  --json       one JSON object: ns_per_param, gb_per_s, bytes_per_param,\n"
            "               reference_ns_per_param (the plain loop), fraction_of_reference\n");
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int64_t n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* ---------------------------------------------------------------- the plain loop */

/* x = x*h + v over n elements for nrw buffers, v the sum of one or two read-only
 * buffers: the bytes of a pass of a step, with the same restrict treatment as the
 * kernels. A pass without buffers to write only reads (a norm's pass). */
#define RMW(x) x[i] = x[i] * h + v
#define PLAIN_LOOP(READ, ...)             \
    for (size_t i = 0; i < n; i++) {      \
        const elem v = READ;              \
        __VA_ARGS__;                      \
    }
#define PLAIN_SWITCH(READ)                                                               \
    switch (nrw) {                                                                       \
    case 1: PLAIN_LOOP(READ, RMW(a)); break;                                             \
    case 2: PLAIN_LOOP(READ, RMW(a); RMW(b)); break;                                     \
    case 3: PLAIN_LOOP(READ, RMW(a); RMW(b); RMW(c)); break;                             \
    case 4: PLAIN_LOOP(READ, RMW(a); RMW(b); RMW(c); RMW(d)); break;                     \
    default: PLAIN_LOOP(READ, RMW(a); RMW(b); RMW(c); RMW(d); RMW(e));                   \
    }
#define PLAIN(T, SFX)                                                                    \
    static double read_##SFX(const T *restrict g, const T *restrict q, size_t n)        \
    {                                                                                    \
        double acc[16] = {0};                                                            \
        size_t i = 0;                                                                    \
        for (; i + 16 <= n; i += 16)                                                     \
            for (int j = 0; j < 16; j++) acc[j] += (double)g[i + j] * (double)q[i + j];  \
        for (; i < n; i++) acc[0] += (double)g[i] * (double)q[i];                        \
        for (int j = 1; j < 16; j++) acc[0] += acc[j];                                   \
        return acc[0];                                                                   \
    }                                                                                    \
    static double plain_##SFX(void *const *rw, int nrw, const void *const *rd, int nrd, size_t n) \
    {                                                                                    \
        typedef T elem;                                                                  \
        const elem h = (elem)0.5;                                                        \
        const T *restrict g = rd[0], *restrict q = nrd > 1 ? rd[1] : rd[0];             \
        if (!nrw) return read_##SFX(g, q, n);                                            \
        T *restrict a = rw[0], *restrict b = nrw > 1 ? rw[1] : NULL;                     \
        T *restrict c = nrw > 2 ? rw[2] : NULL, *restrict d = nrw > 3 ? rw[3] : NULL;    \
        T *restrict e = nrw > 4 ? rw[4] : NULL;                                          \
        if (nrd > 1) PLAIN_SWITCH(g[i] + q[i])                                           \
        else PLAIN_SWITCH(g[i])                                                          \
        return 0;                                                                        \
    }
PLAIN(float, f32)
PLAIN(double, f64)

/* The same for f32 parameters with bf16 state (two or three 2-byte buffers). */
#define RMW16(x) x[i] = (uint16_t)(x[i] * 3u + 1u)
static double plain_bf16(void *const *rw, int nrw, const void *const *rd, int nrd, size_t n)
{
    (void)nrd;
    typedef float elem;
    const elem h = 0.5f;
    const float *restrict g = rd[0];
    float *restrict a = rw[0];
    uint16_t *restrict b = rw[1], *restrict c = rw[2], *restrict d = nrw > 3 ? rw[3] : NULL;
    if (nrw > 3) PLAIN_LOOP(g[i], RMW(a); RMW16(b); RMW16(c); RMW16(d))
    else PLAIN_LOOP(g[i], RMW(a); RMW16(b); RMW16(c))
    return 0;
}

/* One pass: read-only buffers (one or two) and buffers read and written, each with
 * its element size. */
typedef struct pass {
    int nrd, nrw;
    const void *rd[2];
    size_t rd_es[2];
    void *rw[MAX_RW + 1];
    size_t rw_es[MAX_RW + 1];
} pass;

typedef struct plain {
    dsc_dtype dtype;
    int measured, threads, npass, bf16;
    size_t n;
    const void *g;
    pass passes[3];
    void *slow; /* lookahead: the slow weights, read and written with a cycle's last pass */
    /* a sparse table: the rows this rep touches, of dim elements each (rows NULL: dense) */
    const int64_t *rows;
    size_t nrows, dim;
} plain;

/* The bytes per element a step moves: the passes' reads and read-writes, one more
 * gradient read when measured, the slow weights' read and write once in k steps. */
static double plain_bytes(const plain *pl, int64_t k)
{
    double es = (double)dsc_dtype_size(pl->dtype), bytes = pl->measured * es;
    for (int j = 0; j < pl->npass; j++) {
        const pass *ps = &pl->passes[j];
        for (int r = 0; r < ps->nrd; r++) bytes += (double)ps->rd_es[r];
        for (int w = 0; w < ps->nrw; w++) bytes += 2.0 * (double)ps->rw_es[w];
    }
    return pl->slow ? bytes + 2 * es / (double)k : bytes;
}

/* Share k of all threads' elements, split at 64-byte multiples. */
static void share(const plain *pl, int k, int all, size_t *b, size_t *e)
{
    size_t line = pl->dtype == DSC_F32 ? 16 : 8, q = pl->n / (size_t)all;
    *b = q * (size_t)k / line * line;
    *e = k + 1 == all ? pl->n : q * (size_t)(k + 1) / line * line;
}

/* Pass j over elements [b, e), the slow weights joining the last pass when sync. */
static double plain_pass(const plain *pl, int j, int sync, size_t b, size_t e)
{
    const pass *ps = &pl->passes[j];
    void *rw[MAX_RW + 1] = {0};
    const void *rd[2] = {0};
    int nrw = ps->nrw;
    for (int k = 0; k < nrw; k++) rw[k] = (char *)ps->rw[k] + b * ps->rw_es[k];
    if (j == pl->npass - 1 && sync && pl->slow) rw[nrw++] = (char *)pl->slow + b * dsc_dtype_size(pl->dtype);
    for (int k = 0; k < ps->nrd; k++) rd[k] = (const char *)ps->rd[k] + b * ps->rd_es[k];
    if (pl->bf16) return plain_bf16(rw, nrw, rd, ps->nrd, e - b);
    if (pl->dtype == DSC_F32) return plain_f32(rw, nrw, rd, ps->nrd, e - b);
    return plain_f64(rw, nrw, rd, ps->nrd, e - b);
}

/* The measurement's read, then each pass, with a barrier between them as in a step. */
static double plain_share(const plain *pl, int sync, int k, int all)
{
    size_t b, e;
    double acc = 0;
    share(pl, k, all, &b, &e);
    if (pl->measured) {
        const void *rd[2] = {(const char *)pl->g + b * dsc_dtype_size(pl->dtype)};
        acc += pl->dtype == DSC_F32 ? plain_f32(NULL, 0, rd, 1, e - b) : plain_f64(NULL, 0, rd, 1, e - b);
    }
    for (int j = 0; j < pl->npass; j++) {
#ifdef _OPENMP
        if (all > 1) {
#pragma omp barrier
        }
#endif
        acc += plain_pass(pl, j, sync, b, e);
    }
    return acc;
}

/* A sparse table's plain loop: the one pass over each touched row (its gradient is
 * the rep's values, row after row). */
static double plain_rows(const plain *pl, size_t u)
{
    const pass *ps = &pl->passes[0];
    void *rw[MAX_RW + 1] = {0};
    size_t off = (size_t)pl->rows[u] * pl->dim, es = dsc_dtype_size(pl->dtype);
    for (int k = 0; k < ps->nrw; k++) rw[k] = (char *)ps->rw[k] + off * ps->rw_es[k];
    const void *rd[2] = {(const char *)pl->g + u * pl->dim * es};
    double acc = 0;
    if (pl->measured) /* the gradient's norm and finiteness */
        acc = pl->dtype == DSC_F32 ? plain_f32(NULL, 0, rd, 1, pl->dim) : plain_f64(NULL, 0, rd, 1, pl->dim);
    if (pl->dtype == DSC_F32) return acc + plain_f32(rw, ps->nrw, rd, 1, pl->dim);
    return acc + plain_f64(rw, ps->nrw, rd, 1, pl->dim);
}

/* The same prefetch as the step's (src/core/sparse.c): the first 8 lines of row u's
 * buffers, 8 rows ahead, so the plain loop keeps as many misses in flight. */
static void plain_prefetch(const plain *pl, size_t u)
{
#if defined(__GNUC__)
    const pass *ps = &pl->passes[0];
    size_t off = (size_t)pl->rows[u] * pl->dim, lines = (pl->dim * dsc_dtype_size(pl->dtype) + 63) / 64;
    for (size_t l = 0; l < lines && l < 8; l++)
        for (int k = 0; k < ps->nrw; k++) __builtin_prefetch((char *)ps->rw[k] + off * ps->rw_es[k] + 64 * l, 1);
#else
    (void)pl, (void)u;
#endif
}

static double plain_sparse(const plain *pl)
{
    double acc = 0;
    long n = (long)pl->nrows;
    for (long u = 0; u < 8 && u < n; u++) plain_prefetch(pl, (size_t)u);
#ifdef _OPENMP
#pragma omp parallel for num_threads(pl->threads) reduction(+ : acc) schedule(static) if (pl->threads > 1)
#endif
    for (long u = 0; u < n; u++) {
        if (u + 8 < n) plain_prefetch(pl, (size_t)u + 8);
        acc += plain_rows(pl, (size_t)u);
    }
    return acc;
}

static double plain_run(const plain *pl, int sync)
{
    if (pl->rows) return plain_sparse(pl);
#ifdef _OPENMP
    if (pl->threads > 1) {
        double acc = 0;
#pragma omp parallel num_threads(pl->threads) reduction(+ : acc)
        acc += plain_share(pl, sync, omp_get_thread_num(), omp_get_num_threads());
        return acc;
    }
#endif
    return plain_share(pl, sync, 0, 1);
}

/* ---------------------------------------------------------------- the run */

static void fill(dsc_dtype dt, void *buf, size_t n, double scale, uint64_t seed)
{
    uint64_t x = seed * 2862933555777941757u + 3037000493u;
    for (size_t i = 0; i < n; i++) {
        x = x * 6364136223846793005u + 1442695040888963407u;
        double v = scale * ((double)(x >> 11) / 9007199254740992.0 - 0.5);
        if (dt == DSC_F32) ((float *)buf)[i] = (float)v;
        else ((double *)buf)[i] = v;
    }
}

static void *alloc_buf(size_t n, size_t es)
{
    size_t bytes = (n * es + 63) / 64 * 64;
    return aligned_alloc(64, bytes ? bytes : 64);
}

/* Allocations of one run, freed together. rw: the plain loop's parameter, its state
 * buffers and lookahead's slow weights. */
typedef struct buffers {
    void *p, *g;
    int64_t *rows; /* a sparse table: the rows each rep touches (reps + 2 sets of nt) */
    void *rw[MAX_RW + 1];
    dsc_param *params;
    double *times;
    dsc_optim *opt;
} buffers;

static void buffers_free(buffers *b)
{
    dsc_optim_destroy(b->opt);
    free(b->p);
    free(b->g);
    for (int j = 0; j <= MAX_RW; j++) free(b->rw[j]);
    free(b->params);
    free(b->times);
    free(b->rows);
}

/* A sparse table: nt distinct rows of rows for each rep (two of warm-up first), each
 * set a partial Fisher-Yates shuffle of a fresh identity, so reps touch new rows. */
static int draw_rows(bench *r, buffers *b, size_t rows)
{
    size_t sets = (size_t)r->reps + 2;
    size_t *perm = malloc(rows * sizeof *perm);
    b->rows = malloc(sets * r->nt * sizeof *b->rows);
    if (!perm || !b->rows) {
        free(perm);
        return cli_fail("bench", "out of memory for the touched rows");
    }
    uint64_t x = 12345;
    for (size_t s = 0; s < sets; s++) {
        for (size_t i = 0; i < rows; i++) perm[i] = i;
        for (size_t i = 0; i < r->nt; i++) {
            x = x * 6364136223846793005u + 1442695040888963407u;
            size_t j = i + (size_t)((x >> 11) % (rows - i)), t = perm[i];
            perm[i] = perm[j];
            perm[j] = t;
            b->rows[s * r->nt + i] = (int64_t)perm[i];
        }
    }
    free(perm);
    return 0;
}

static void add_read(pass *ps, const void *buf, size_t es)
{
    ps->rd[ps->nrd] = buf;
    ps->rd_es[ps->nrd++] = es;
}

static void add_rw(pass *ps, void *buf, size_t es)
{
    ps->rw[ps->nrw] = buf;
    ps->rw_es[ps->nrw++] = es;
}

/* The passes of the kind's step over the plain loop's buffers rw (the parameter, then
 * nstate state buffers). Per-tensor norms need two: LAMB updates its moments and reads
 * the parameter, then steps from the moments; LARS reads gradient and parameter, then
 * steps (with its momentum buffer). The others take one. */
static void plain_layout(plain *pl, dsc_kind kind, int matrices, void *const *rw, int nstate, size_t es,
                         size_t st_es)
{
    pass *p0 = &pl->passes[0], *p1 = &pl->passes[1], *p2 = &pl->passes[2];
    add_read(p0, pl->g, es);
    pl->npass = kind == DSC_LAMB || kind == DSC_LARS || kind == DSC_ADAFACTOR ? 2 : 1;
    if (kind == DSC_ADAFACTOR && matrices) { /* the factors are a few rows and columns */
        pl->npass = 3;
        add_read(p0, rw[0], es);
        add_read(p1, pl->g, es);
        add_read(p2, pl->g, es);
        add_rw(p2, rw[0], es);
    } else if (kind == DSC_ADAFACTOR) { /* the variance beside |p| and |u|, then the update */
        add_read(p0, rw[0], es);
        add_rw(p0, rw[1], st_es);
        add_read(p1, pl->g, es);
        add_read(p1, rw[1], st_es);
        add_rw(p1, rw[0], es);
    } else if (kind == DSC_LAMB) {
        add_read(p0, rw[0], es);
        for (int k = 1; k <= nstate; k++) add_rw(p0, rw[k], st_es);
        for (int k = 1; k <= nstate && k <= 2; k++) add_read(p1, rw[k], st_es);
        add_rw(p1, rw[0], es);
    } else if (kind == DSC_LARS) {
        add_read(p0, rw[0], es);
        add_read(p1, pl->g, es);
        for (int k = 0; k <= nstate; k++) add_rw(p1, rw[k], k ? st_es : es);
    } else {
        for (int k = 0; k <= nstate; k++) add_rw(p0, rw[k], k ? st_es : es);
    }
}

static int setup(bench *r, buffers *b, plain *pl)
{
    size_t n = (size_t)r->n, k = (size_t)r->k, es = dsc_dtype_size(r->dtype);
    b->p = alloc_buf(n, es);
    b->g = alloc_buf(n, es);
    b->params = calloc(k, sizeof *b->params);
    b->times = calloc(2 * (size_t)r->reps, sizeof *b->times);
    if (!b->p || !b->g || !b->params || !b->times) return cli_fail("bench", "out of memory for %zu parameters", n);
    fill(r->dtype, b->p, n, 1.0, 1);
    fill(r->dtype, b->g, n, 1e-3, 2);
    size_t off = 0;
    for (size_t i = 0; i < k; i++) {
        size_t len = n / k + (i < n % k);
        b->params[i] = (dsc_param){.data = (char *)b->p + off * es, .grad = (char *)b->g + off * es,
                                   .n = len, .dtype = r->dtype};
        if (r->cols && len % (size_t)r->cols)
            return cli_usage_error("bench", "--cols %lld does not divide a tensor of %zu parameters (--params / "
                                   "--tensors)", (long long)r->cols, len);
        if (r->cols) {
            b->params[i].ndim = 2;
            b->params[i].shape[0] = len / (size_t)r->cols;
            b->params[i].shape[1] = (size_t)r->cols;
        }
        off += len;
    }
    if (r->touched > 0) { /* one table, its gradient the values of nt rows */
        size_t rows = n / (size_t)r->dim;
        r->nt = (size_t)(r->touched * (double)rows + 0.5);
        if (r->nt < 1) r->nt = 1;
        b->params[0] = (dsc_param){.data = b->p, .n = n, .dtype = r->dtype, .flags = DSC_SPARSE_GRAD, .ndim = 2,
                                   .shape = {rows, (size_t)r->dim}};
        int rc = draw_rows(r, b, rows);
        if (rc) return rc;
    }
    dsc_status st = dsc_optim_create_spec(&b->opt, r->spec, b->params, k);
    if (!st) st = dsc_optim_set_threads(b->opt, (int)r->threads);
    if (st) { /* bf16 state with f64 parameters is bad input too */
        int rc = cli_lib_error("bench", st);
        return st == DSC_ERR_UNSUPPORTED ? CLI_EXIT_USAGE : rc;
    }
    dsc_hparams hp;
    dsc_optim_get_group_hparams(b->opt, 0, &hp);
    r->used_threads = dsc_optim_threads(b->opt);
    r->cycle = hp.lookahead_k > 0 ? hp.lookahead_k : 1;
    int nstate = (int)dsc_optim_state_count(b->opt, 0) - (hp.lookahead_k > 0);
    size_t st_es = dsc_optim_state_dtype(b->opt) == DSC_STATE_BF16 ? 2 : es;
    r->measured = hp.clip_norm > 0 || hp.nonfinite != DSC_NONFINITE_IGNORE;
    *pl = (plain){.dtype = r->dtype, .measured = r->measured, .bf16 = st_es == 2,
                  .threads = r->used_threads, .n = n, .g = b->g};
    for (int j = 0; j <= nstate; j++) {
        b->rw[j] = alloc_buf(n, j ? st_es : es);
        if (!b->rw[j]) return cli_fail("bench", "out of memory for the plain loop's buffers");
        if (j && st_es == 2) memset(b->rw[j], 0, n * 2);
        else fill(r->dtype, b->rw[j], n, 1.0, 3 + (uint64_t)j);
    }
    if (hp.lookahead_k > 0) {
        pl->slow = b->rw[MAX_RW] = alloc_buf(n, es);
        if (!pl->slow) return cli_fail("bench", "out of memory for the plain loop's buffers");
        fill(r->dtype, pl->slow, n, 1.0, 9);
    }
    plain_layout(pl, hp.kind, r->cols > 0, b->rw, nstate, es, st_es);
    r->bytes = plain_bytes(pl, r->cycle);
    pl->dim = (size_t)r->dim;
    pl->nrows = r->nt;
    return 0;
}

/* One rep: a lookahead cycle of steps (one step without lookahead), then the plain
 * loop's equivalent; times per parameter and step into *ts and *tp. */
static dsc_status rep(bench *r, const buffers *b, plain *pl, int64_t i, double *ts, double *tp)
{
    dsc_status st = DSC_OK;
    if (b->rows) pl->rows = b->rows + (size_t)(i + 2) * r->nt; /* this rep's rows */
    double t0 = cli_now();
    if (b->rows) st = dsc_optim_set_sparse_grad(b->opt, 0, pl->rows, r->nt, b->g);
    for (int64_t c = 0; c < r->cycle && !st; c++) st = dsc_optim_step(b->opt);
    double t1 = cli_now();
    for (int64_t c = 0; c < r->cycle; c++) r->sink += plain_run(pl, c == r->cycle - 1);
    double t2 = cli_now();
    double elems = b->rows ? (double)r->nt * (double)r->dim : (double)r->n;
    double per = 1e9 / (elems * (double)r->cycle);
    *ts = (t1 - t0) * per;
    *tp = (t2 - t1) * per;
    return st;
}

static int measure(bench *r)
{
    buffers b;
    plain pl;
    memset(&b, 0, sizeof b);
    int rc = setup(r, &b, &pl);
    double *ts = b.times, *tp = b.times + r->reps;
    for (int64_t i = -2; !rc && i < r->reps; i++) { /* two reps of warm-up */
        dsc_status st = rep(r, &b, &pl, i, &ts[i < 0 ? 0 : i], &tp[i < 0 ? 0 : i]);
        if (st) rc = cli_lib_error("bench", st);
    }
    if (!rc) {
        r->step_ns = median(ts, r->reps);
        r->plain_ns = median(tp, r->reps);
        r->step_min = ts[0];
        r->plain_min = tp[0];
    }
    buffers_free(&b);
    return rc;
}

static int report(const bench *r)
{
    double bytes = r->bytes;
    double frac = r->plain_ns / r->step_ns;
    double touched = (double)r->nt * (double)r->dim; /* a sparse table's parameters a step */
    if (!r->json && r->touched > 0) {
        printf("%s: table %lld x %lld %s, %zu rows touched a step (%g %%), %d thread%s, median of %lld step%s\n",
               r->spec, (long long)(r->n / r->dim), (long long)r->dim, dsc_dtype_name(r->dtype), r->nt,
               100.0 * r->touched, r->used_threads, cli_s(r->used_threads), (long long)r->reps, cli_s(r->reps));
        printf("  step        %8.3f us/step  (%.3f ns per touched parameter, %g bytes each)\n",
               r->step_ns * touched * 1e-3, r->step_ns, bytes);
        printf("  plain loop  %8.3f us/step  (%.3f ns per touched parameter)\n", r->plain_ns * touched * 1e-3,
               r->plain_ns);
        printf("  step at %.1f %% of the plain loop's speed\n", 100.0 * frac);
        return 0;
    }
    if (!r->json) {
        printf("%s: %lld %s parameter%s in %lld tensor%s, %d thread%s, median of %lld step%s\n", r->spec,
               (long long)r->n, dsc_dtype_name(r->dtype), cli_s(r->n), (long long)r->k, cli_s(r->k),
               r->used_threads, cli_s(r->used_threads), (long long)r->reps, cli_s(r->reps));
        printf("  step        %8.3f ns/param  %7.2f GB/s  (%g bytes/param%s)\n", r->step_ns,
               bytes / r->step_ns, bytes, r->measured ? ", gradient measured first" : "");
        printf("  plain loop  %8.3f ns/param  %7.2f GB/s\n", r->plain_ns, bytes / r->plain_ns);
        printf("  step at %.1f %% of the plain loop's speed (fastest reps: %.3f vs %.3f ns/param)\n",
               100.0 * frac, r->step_min, r->plain_min);
        return 0;
    }
    cJSON *o = cJSON_CreateObject();
    if (!o) return cli_print_json("bench", NULL); /* reports the failed allocation */
    cJSON_AddStringToObject(o, "optimizer", r->spec);
    cJSON_AddNumberToObject(o, "params", (double)r->n);
    cJSON_AddNumberToObject(o, "tensors", (double)r->k);
    cJSON_AddStringToObject(o, "dtype", dsc_dtype_name(r->dtype));
    cJSON_AddNumberToObject(o, "threads", r->used_threads);
    cJSON_AddNumberToObject(o, "reps", (double)r->reps);
    cJSON_AddNumberToObject(o, "ns_per_param", r->step_ns);
    cJSON_AddNumberToObject(o, "gb_per_s", bytes / r->step_ns);
    cJSON_AddNumberToObject(o, "bytes_per_param", bytes);
    cJSON_AddNumberToObject(o, "reference_ns_per_param", r->plain_ns);
    cJSON_AddNumberToObject(o, "fraction_of_reference", frac);
    cJSON_AddNumberToObject(o, "min_ns_per_param", r->step_min);
    cJSON_AddNumberToObject(o, "reference_min_ns_per_param", r->plain_min);
    if (r->touched > 0) { /* the ns figures are per touched parameter */
        cJSON_AddNumberToObject(o, "rows_touched", (double)r->nt);
        cJSON_AddNumberToObject(o, "dim", (double)r->dim);
        cJSON_AddNumberToObject(o, "us_per_step", r->step_ns * touched * 1e-3);
        cJSON_AddNumberToObject(o, "reference_us_per_step", r->plain_ns * touched * 1e-3);
    }
    return cli_print_json("bench", o);
}

int cmd_bench(int argc, char **argv)
{
    static const struct option opts[] = {
        {"optimizer", required_argument, 0, 'o'}, {"params", required_argument, 0, 'n'},
        {"tensors", required_argument, 0, 'k'},   {"dtype", required_argument, 0, 'd'},
        {"cols", required_argument, 0, 'c'},
        {"threads", required_argument, 0, 't'},   {"reps", required_argument, 0, 'r'},
        {"json", no_argument, 0, 'j'},            {"help", no_argument, 0, 'h'},
        {"rows-touched", required_argument, 0, 'f'}, {"dim", required_argument, 0, 'D'},
        {0, 0, 0, 0},
    };
    bench r = {.n = 10000000, .k = 1, .reps = 10, .dtype = DSC_F32, .dim = 64};
    size_t nvals;
    int c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case 'o': r.spec = optarg; break;
        case 'n':
            if (cli_parse_int64(optarg, 1, INT64_C(4000000000), &r.n))
                return cli_usage_error("bench", "--params must be an integer in [1, 4e9], got '%s'", optarg);
            break;
        case 'k':
            if (cli_parse_int64(optarg, 1, INT64_C(10000000), &r.k))
                return cli_usage_error("bench", "--tensors must be an integer in [1, 1e7], got '%s'", optarg);
            break;
        case 'c':
            if (cli_parse_int64(optarg, 0, INT64_C(4000000000), &r.cols))
                return cli_usage_error("bench", "--cols must be an integer in [0, 4e9], got '%s'", optarg);
            break;
        case 'd':
            if (cli_parse_dtype(optarg, &r.dtype))
                return cli_usage_error("bench", "--dtype must be f32 or f64, got '%s'", optarg);
            break;
        case 't':
            if (cli_parse_int64(optarg, 0, 4096, &r.threads))
                return cli_usage_error("bench", "--threads must be an integer in [0, 4096], got '%s'", optarg);
            break;
        case 'r':
            if (cli_parse_int64(optarg, 1, 100000, &r.reps))
                return cli_usage_error("bench", "--reps must be an integer in [1, 100000], got '%s'", optarg);
            break;
        case 'j': r.json = 1; break;
        case 'f':
            if (cli_parse_doubles(optarg, &r.touched, 1, &nvals) || nvals != 1 || !(r.touched > 0 && r.touched <= 1))
                return cli_usage_error("bench", "--rows-touched must be a fraction in (0, 1], got '%s'", optarg);
            break;
        case 'D':
            if (cli_parse_int64(optarg, 1, INT64_C(1000000), &r.dim))
                return cli_usage_error("bench", "--dim must be an integer in [1, 1e6], got '%s'", optarg);
            break;
        case 'h': help(stdout); return 0;
        case ':': return cli_usage_error("bench", "option %s needs a value", argv[optind - 1]);
        default: return cli_usage_error("bench", "unknown option '%s' (try --help)", argv[optind - 1]);
        }
    }
    if (optind < argc) return cli_usage_error("bench", "unexpected argument '%s'", argv[optind]);
    if (!r.spec) return cli_usage_error("bench", "--optimizer is required (e.g. --optimizer adam)");
    if (r.k > r.n)
        return cli_usage_error("bench", "--tensors (%lld) must not exceed --params (%lld)", (long long)r.k,
                               (long long)r.n);
    if (r.touched > 0 && (r.k != 1 || r.n % r.dim))
        return cli_usage_error("bench", "--rows-touched takes one table: --params (%lld) a multiple of --dim (%lld), "
                               "no --tensors", (long long)r.n, (long long)r.dim);
    dsc_hparams hp; /* a malformed spec is reported where the optimizer is made */
    if (dsc_hparams_parse(r.spec, &hp) == DSC_OK && hp.kind == DSC_LBFGS)
        return cli_usage_error("bench", "lbfgs steps with a closure that re-evaluates the loss; descent bench times "
                               "the per-element update of the other kinds against their plain loop");
    int rc = measure(&r);
    return rc ? rc : report(&r);
}
