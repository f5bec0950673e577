/*
 * bench.c: descent bench --optimizer SPEC --params N [--tensors K] [--dtype f32|f64]
 *                        [--threads T] [--reps R] [--json]
 *
 * Times one optimizer step on K tensors totalling N parameters, and in the same run a
 * plain read-modify-write loop that moves the same bytes (reads the gradient, reads
 * and writes the parameter and each state buffer; plus one read of the gradient when
 * the step measures it for clipping or the non-finite check). A step is memory-bound,
 * so the plain loop is the speed to reach. The two alternate rep by rep, so noise
 * from a shared machine hits both; the medians are reported.
 */
#include "cli.h"

#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#define MAX_RW (1 + 4) /* the parameter and up to four state buffers */

typedef struct bench {
    const char *spec;
    int64_t n, k, threads, reps;
    dsc_dtype dtype;
    int json;
    /* results */
    int used_threads, nrw, measured;
    size_t st_es;
    double step_ns, plain_ns, step_min, plain_min; /* per parameter */
    volatile double sink; /* the plain loop's read pass, kept */
} bench;

static void help(FILE *f)
{
    fprintf(f,
            "usage: descent bench --optimizer SPEC [--params N] [--tensors K] [--dtype f32|f64]\n"
            "                     [--threads T] [--reps R] [--json]\n"
            "  --optimizer  spec, e.g. 'adam' or 'sgd(momentum=0.9)'\n"
            "  --params     parameters in all (default 10000000)\n"
            "  --tensors    split into this many tensors of equal size (default 1)\n"
            "  --dtype      f32 or f64 (default f32)\n"
            "  --threads    threads (default 0: the OpenMP default)\n"
            "  --reps       timed steps after two warm-up steps (default 10); medians reported\n"
            "  --json       one JSON object: ns_per_param, gb_per_s, bytes_per_param,\n"
            "               reference_ns_per_param (the plain loop), fraction_of_reference\n");
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
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

/* x = x*h + g over n elements for nrw buffers, the same bytes as a step, with the
 * same restrict treatment as the kernels. */
#define RMW(x) x[i] = x[i] * h + v
#define PLAIN_LOOP(...)                   \
    for (size_t i = 0; i < n; i++) {      \
        const elem v = g[i];              \
        __VA_ARGS__;                      \
    }
#define PLAIN(T, SFX)                                                                    \
    static void plain_##SFX(T *const *rw, int nrw, const T *restrict g, size_t n)       \
    {                                                                                    \
        typedef T elem;                                                                  \
        const elem h = (elem)0.5;                                                        \
        T *restrict a = rw[0], *restrict b = nrw > 1 ? rw[1] : NULL;                     \
        T *restrict c = nrw > 2 ? rw[2] : NULL, *restrict d = nrw > 3 ? rw[3] : NULL;    \
        T *restrict e = nrw > 4 ? rw[4] : NULL;                                          \
        switch (nrw) {                                                                   \
        case 1: PLAIN_LOOP(RMW(a)); break;                                               \
        case 2: PLAIN_LOOP(RMW(a); RMW(b)); break;                                       \
        case 3: PLAIN_LOOP(RMW(a); RMW(b); RMW(c)); break;                               \
        case 4: PLAIN_LOOP(RMW(a); RMW(b); RMW(c); RMW(d)); break;                       \
        default: PLAIN_LOOP(RMW(a); RMW(b); RMW(c); RMW(d); RMW(e));                     \
        }                                                                                \
    }                                                                                    \
    static double read_##SFX(const T *restrict g, size_t n)                             \
    {                                                                                    \
        double acc[16] = {0};                                                            \
        size_t i = 0;                                                                    \
        for (; i + 16 <= n; i += 16)                                                     \
            for (int j = 0; j < 16; j++) acc[j] += (double)g[i + j] * (double)g[i + j];  \
        for (; i < n; i++) acc[0] += (double)g[i] * (double)g[i];                        \
        for (int j = 1; j < 16; j++) acc[0] += acc[j];                                   \
        return acc[0];                                                                   \
    }
PLAIN(float, f32)
PLAIN(double, f64)

/* The same for f32 parameters with bf16 state (two or three 2-byte buffers). */
#define RMW16(x) x[i] = (uint16_t)(x[i] * 3u + 1u)
static void plain_bf16(void *const *rw, int nrw, const float *restrict g, size_t n)
{
    typedef float elem;
    const elem h = 0.5f;
    float *restrict a = rw[0];
    uint16_t *restrict b = rw[1], *restrict c = rw[2], *restrict d = nrw > 3 ? rw[3] : NULL;
    if (nrw > 3) PLAIN_LOOP(RMW(a); RMW16(b); RMW16(c); RMW16(d))
    else PLAIN_LOOP(RMW(a); RMW16(b); RMW16(c))
}

typedef struct plain {
    dsc_dtype dtype;
    int nrw, measured, threads;
    size_t n, st_es; /* st_es: bytes of a state element */
    void *rw[MAX_RW];
    const void *g;
} plain;

/* Share k of all threads' elements, split at 64-byte multiples. */
static void share(const plain *pl, int k, int all, size_t *b, size_t *e)
{
    size_t line = pl->dtype == DSC_F32 ? 16 : 8, q = pl->n / (size_t)all;
    *b = q * (size_t)k / line * line;
    *e = k + 1 == all ? pl->n : q * (size_t)(k + 1) / line * line;
}

static double plain_read(const plain *pl, size_t b, size_t e)
{
    if (pl->dtype == DSC_F32) return read_f32((const float *)pl->g + b, e - b);
    return read_f64((const double *)pl->g + b, e - b);
}

static void plain_update(const plain *pl, size_t b, size_t e)
{
    size_t es = dsc_dtype_size(pl->dtype);
    void *rw[MAX_RW] = {0};
    for (int j = 0; j < pl->nrw; j++) rw[j] = (char *)pl->rw[j] + b * (j ? pl->st_es : es);
    const void *g = (const char *)pl->g + b * es;
    if (pl->st_es == 2) plain_bf16(rw, pl->nrw, g, e - b);
    else if (pl->dtype == DSC_F32) plain_f32((float *const *)rw, pl->nrw, g, e - b);
    else plain_f64((double *const *)rw, pl->nrw, g, e - b);
}

/* One pass of the plain loop; a measurement's read pass ends before the update pass
 * starts, as in a step. */
static double plain_run(const plain *pl)
{
    double acc = 0;
#ifdef _OPENMP
    if (pl->threads > 1) {
#pragma omp parallel num_threads(pl->threads) reduction(+ : acc)
        {
            size_t b, e;
            share(pl, omp_get_thread_num(), omp_get_num_threads(), &b, &e);
            if (pl->measured) acc += plain_read(pl, b, e);
#pragma omp barrier
            plain_update(pl, b, e);
        }
        return acc;
    }
#endif
    size_t b, e;
    share(pl, 0, 1, &b, &e);
    if (pl->measured) acc = plain_read(pl, b, e);
    plain_update(pl, b, e);
    return acc;
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

/* Allocations of one run, freed together. */
typedef struct buffers {
    void *p, *g;
    void *rw[MAX_RW];
    dsc_param *params;
    double *times;
    dsc_optim *opt;
} buffers;

static void buffers_free(buffers *b)
{
    dsc_optim_destroy(b->opt);
    free(b->p);
    free(b->g);
    for (int j = 0; j < MAX_RW; j++) free(b->rw[j]);
    free(b->params);
    free(b->times);
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
        off += len;
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
    r->nrw = 1 + (int)dsc_optim_state_count(b->opt, 0);
    r->st_es = dsc_optim_state_dtype(b->opt) == DSC_STATE_BF16 ? 2 : es;
    r->measured = hp.clip_norm > 0 || hp.nonfinite != DSC_NONFINITE_IGNORE;
    *pl = (plain){.dtype = r->dtype, .nrw = r->nrw, .measured = r->measured, .st_es = r->st_es,
                  .threads = r->used_threads, .n = n, .g = b->g};
    for (int j = 0; j < r->nrw; j++) {
        b->rw[j] = alloc_buf(n, j ? r->st_es : es);
        if (!b->rw[j]) return cli_fail("bench", "out of memory for the plain loop's buffers");
        pl->rw[j] = b->rw[j];
    }
    /* written by the threads that will stream them, like the optimizer's state */
    fill(r->dtype, b->rw[0], n, 1.0, 3);
    for (int j = 1; j < r->nrw; j++) {
        if (r->st_es == 2) memset(b->rw[j], 0, n * 2);
        else fill(r->dtype, b->rw[j], n, 1.0, 3 + (uint64_t)j);
    }
    return 0;
}

static int measure(bench *r)
{
    buffers b;
    plain pl;
    memset(&b, 0, sizeof b);
    int rc = setup(r, &b, &pl);
    for (int w = 0; !rc && w < 2; w++) {
        if (dsc_optim_step(b.opt)) rc = cli_lib_error("bench", DSC_ERR_NONFINITE);
        r->sink += plain_run(&pl);
    }
    double *ts = b.times, *tp = b.times + r->reps;
    for (int64_t i = 0; !rc && i < r->reps; i++) {
        double t0 = now();
        dsc_status st = dsc_optim_step(b.opt);
        double t1 = now();
        r->sink += plain_run(&pl);
        double t2 = now();
        if (st) rc = cli_lib_error("bench", st);
        ts[i] = (t1 - t0) * 1e9 / (double)r->n;
        tp[i] = (t2 - t1) * 1e9 / (double)r->n;
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
    size_t es = dsc_dtype_size(r->dtype);
    /* g read (twice when measured), p and each state buffer read and written */
    double bytes = (double)(es * (size_t)(3 + r->measured) + r->st_es * 2 * (size_t)(r->nrw - 1));
    double frac = r->plain_ns / r->step_ns;
    if (!r->json) {
        printf("%s: %lld %s parameters in %lld tensor%s, %d thread%s, median of %lld steps\n", r->spec,
               (long long)r->n, dsc_dtype_name(r->dtype), (long long)r->k, r->k == 1 ? "" : "s",
               r->used_threads, r->used_threads == 1 ? "" : "s", (long long)r->reps);
        printf("  step        %8.3f ns/param  %7.2f GB/s  (%g bytes/param%s)\n", r->step_ns,
               bytes / r->step_ns, bytes, r->measured ? ", gradient measured first" : "");
        printf("  plain loop  %8.3f ns/param  %7.2f GB/s\n", r->plain_ns, bytes / r->plain_ns);
        printf("  step at %.1f %% of the plain loop's speed (fastest reps: %.3f vs %.3f ns/param)\n",
               100.0 * frac, r->step_min, r->plain_min);
        return 0;
    }
    cJSON *o = cJSON_CreateObject();
    if (!o) return CLI_EXIT_FAIL;
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
    return cli_print_json(o);
}

int cmd_bench(int argc, char **argv)
{
    static const struct option opts[] = {
        {"optimizer", required_argument, 0, 'o'}, {"params", required_argument, 0, 'n'},
        {"tensors", required_argument, 0, 'k'},   {"dtype", required_argument, 0, 'd'},
        {"threads", required_argument, 0, 't'},   {"reps", required_argument, 0, 'r'},
        {"json", no_argument, 0, 'j'},            {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    bench r = {.n = 10000000, .k = 1, .reps = 10, .dtype = DSC_F32};
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
    int rc = measure(&r);
    return rc ? rc : report(&r);
}
