/*
 * parallel.c: the step's passes over all tensors at once. An optimizer step is
 * memory-bound, so what matters is that every thread streams an equal share of the
 * bytes: the tensors are laid end to end and the threads take equal ranges of that
 * concatenation (split at cache-line multiples, so no two threads write one line),
 * in one parallel region per pass. The state is first written by the same
 * partition, so its pages live next to the thread that updates them.
 *
 * The gradient norm is summed in fixed blocks combined in block order: the same
 * bits for any thread count.
 */
#include "internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

/* Below this many elements per thread a thread costs more to start than it saves. */
#define MIN_PER_THREAD 16384
/* Elements per measurement block (a multiple of every cache line's element count). */
#define BLOCK 8192
#define LINE 64

static size_t esize(const dsc__task *t) { return dsc_dtype_size(t->dtype); }

dsc_status dsc__plan_create(dsc__plan *pl, size_t count)
{
    memset(pl, 0, sizeof *pl);
    pl->count = count;
    pl->threads = dsc__threads_available();
    pl->tasks = calloc(count, sizeof *pl->tasks);
    pl->start = calloc(count + 1, sizeof *pl->start);
    pl->block0 = calloc(count + 1, sizeof *pl->block0);
    if (!pl->tasks || !pl->start || !pl->block0)
        return dsc__fail(DSC_ERR_NOMEM, "optimizer: out of memory for %zu tensors", count);
    return DSC_OK;
}

dsc_status dsc__plan_finish(dsc__plan *pl)
{
    for (size_t i = 0; i < pl->count; i++) {
        pl->start[i + 1] = pl->start[i] + pl->tasks[i].n;
        pl->block0[i + 1] = pl->block0[i] + (pl->tasks[i].n + BLOCK - 1) / BLOCK;
    }
    pl->blocks = calloc(2 * (pl->block0[pl->count] ? pl->block0[pl->count] : 1), sizeof *pl->blocks);
    if (!pl->blocks) return dsc__fail(DSC_ERR_NOMEM, "optimizer: out of memory");
    return DSC_OK;
}

void dsc__plan_free(dsc__plan *pl)
{
    free(pl->tasks);
    free(pl->start);
    free(pl->block0);
    free(pl->blocks);
    memset(pl, 0, sizeof *pl);
}

int dsc__threads_available(void)
{
#ifdef _OPENMP
    int t = omp_get_max_threads();
    return t > 0 ? t : 1;
#else
    return 1;
#endif
}

void dsc__plan_set_threads(dsc__plan *pl, int threads)
{
#ifdef _OPENMP
    pl->threads = threads > 0 ? threads : dsc__threads_available();
#else
    (void)threads;
    pl->threads = 1;
#endif
}

/* ---------------------------------------------------------------- partition */

/* The last index i with v[i] <= x in the non-decreasing v[0..count]. */
static size_t find(const size_t *v, size_t count, size_t x)
{
    size_t lo = 0, hi = count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo + 1) / 2;
        if (v[mid] <= x) lo = mid;
        else hi = mid - 1;
    }
    return lo;
}

/* Where share k of nthreads begins: k/nthreads of the elements, rounded down to a
 * cache line of the tensor it falls in. Non-decreasing in k. */
static size_t split(const dsc__plan *pl, int k, int nthreads)
{
    size_t total = pl->start[pl->count];
    if (k >= nthreads || total == 0) return total; /* 0: every tensor is row-sparse (sparse.c) */
    size_t q = total / (size_t)nthreads, r = total % (size_t)nthreads;
    size_t target = q * (size_t)k + r * (size_t)k / (size_t)nthreads;
    size_t i = find(pl->start, pl->count, target);
    size_t line = LINE / esize(&pl->tasks[i]);
    size_t local = target - pl->start[i];
    return pl->start[i] + local / line * line;
}

/* Threads for a pass over total elements. */
static int threads_for(const dsc__plan *pl, size_t total)
{
    size_t most = total / MIN_PER_THREAD;
    if (most < 1) most = 1;
    return (size_t)pl->threads < most ? pl->threads : (int)most;
}

typedef void (*range_fn)(const dsc__plan *pl, size_t i, size_t off, size_t len);

/* Calls fn on every piece of tensor that the elements [begin, end) cover, but for
 * the tasks that go whole. */
static void walk(const dsc__plan *pl, size_t begin, size_t end, range_fn fn)
{
    if (begin >= end) return;
    for (size_t i = find(pl->start, pl->count, begin); begin < end; i++) {
        size_t stop = pl->start[i + 1] < end ? pl->start[i + 1] : end;
        if (stop > begin && !pl->tasks[i].whole) fn(pl, i, begin - pl->start[i], stop - begin);
        begin = stop;
    }
}

/* Runs fn over share k of the elements, for each thread k of one parallel region.
 * Tasks whose kernel needs the whole tensor (the reference loops of LAMB and LARS,
 * Muon's matrices on one shared workspace, whose products CBLAS threads itself) go
 * first, a tensor a call on this thread. */
static void run_shares(const dsc__plan *pl, range_fn fn)
{
    for (size_t i = 0; i < pl->count; i++)
        if (pl->tasks[i].whole) fn(pl, i, 0, pl->tasks[i].n);
    int nt = threads_for(pl, pl->start[pl->count]);
#ifdef _OPENMP
    if (nt > 1) {
#pragma omp parallel num_threads(nt)
        {
            int k = omp_get_thread_num(), all = omp_get_num_threads();
            walk(pl, split(pl, k, all), split(pl, k + 1, all), fn);
        }
        return;
    }
#endif
    (void)nt;
    walk(pl, split(pl, 0, 1), split(pl, 1, 1), fn);
}

/* ---------------------------------------------------------------- update */

/* Pointers of task t at element off: parameter, gradient, state; s->offset = off. */
static void locate(const dsc__task *t, size_t off, dsc__scal *s, void **p, const void **g, void **st)
{
    size_t es = esize(t);
    for (int k = 0; k < t->nstate; k++) st[k] = (char *)t->st[k] + off * t->st_es;
    *s = t->s;
    s->offset = off;
    *p = (char *)t->p + off * es;
    *g = (const char *)t->g + off * es;
}

static void update_range(const dsc__plan *pl, size_t i, size_t off, size_t len)
{
    const dsc__task *t = &pl->tasks[i];
    size_t piece = t->la_sync && t->la_piece ? t->la_piece : len;
    for (size_t done = 0; done < len; done += piece) {
        size_t m = len - done < piece ? len - done : piece;
        void *st[DSC__MAX_STATE], *p;
        const void *g;
        dsc__scal s;
        locate(t, off + done, &s, &p, &g, st);
        t->kernel(&s, p, g, st, m);
        if (t->la_sync) dsc__lookahead_sync(t->dtype, p, st[t->nstate - 1], m, t->la_alpha);
    }
}

void dsc__plan_update(const dsc__plan *pl) { run_shares(pl, update_range); }

static void fill_range(const dsc__plan *pl, size_t i, size_t off, size_t len)
{
    const dsc__task *t = &pl->tasks[i];
    for (int k = 0; k < t->nstate; k++) {
        /* factored state (ops->state_shape) is filled whole: its task goes whole, in one call */
        const int whole = t->st_n[k] != t->n;
        const size_t o = whole ? 0 : off, m = whole ? t->st_n[k] : len;
        if (t->st_es == 2) {
            uint16_t *b = (uint16_t *)t->st[k] + o, v = dsc__f32_to_bf16((float)t->init[k]);
            for (size_t e = 0; e < m; e++) b[e] = v;
        } else if (t->dtype == DSC_F32) {
            float *b = (float *)t->st[k] + o, v = (float)t->init[k];
            for (size_t e = 0; e < m; e++) b[e] = v;
        } else {
            double *b = (double *)t->st[k] + o, v = t->init[k];
            for (size_t e = 0; e < m; e++) b[e] = v;
        }
    }
}

void dsc__plan_fill_state(const dsc__plan *pl) { run_shares(pl, fill_range); }

/* ---------------------------------------------------------------- measurement */

/* Block b of task t: its first gradient element and its length. */
static const void *block_at(const dsc__task *t, size_t b, size_t *len)
{
    size_t off = b * BLOCK;
    *len = t->n - off < BLOCK ? t->n - off : BLOCK;
    return (const char *)t->g + off * esize(t);
}

static double block_value(const dsc__task *t, size_t b, double p)
{
    size_t len;
    const void *g = block_at(t, b, &len);
    return dsc__grad_partial(t->dtype, g, len, p);
}

static int block_finite(const dsc__task *t, size_t b)
{
    size_t len;
    const void *g = block_at(t, b, &len);
    return dsc__grad_finite(t->dtype, g, len);
}

typedef void (*block_fn)(dsc__plan *pl, size_t i, size_t b, double p);

/* Calls fn on the blocks [begin, end), each with its task. */
static void walk_blocks(dsc__plan *pl, size_t begin, size_t end, block_fn fn, double p)
{
    if (begin >= end) return;
    for (size_t i = find(pl->block0, pl->count, begin); begin < end; i++)
        for (; begin < end && begin < pl->block0[i + 1]; begin++) fn(pl, i, begin, p);
}

/* Runs fn over every block, the blocks dealt out to the threads in equal ranges. */
static void run_blocks(dsc__plan *pl, block_fn fn, double p)
{
    size_t nb = pl->block0[pl->count];
    int nt = threads_for(pl, pl->start[pl->count]);
#ifdef _OPENMP
    if (nt > 1) {
#pragma omp parallel num_threads(nt)
        {
            size_t k = (size_t)omp_get_thread_num(), all = (size_t)omp_get_num_threads();
            walk_blocks(pl, nb * k / all, nb * (k + 1) / all, fn, p);
        }
        return;
    }
#endif
    (void)nt;
    walk_blocks(pl, 0, nb, fn, p);
}

static void measure_block(dsc__plan *pl, size_t i, size_t b, double p)
{
    pl->blocks[b] = block_value(&pl->tasks[i], b - pl->block0[i], p);
}

/* Combines tensor i's blocks in order; a block that is not finite may still hold
 * only finite values (squares overflow), so it is scanned to be sure. */
static double combine(const dsc__plan *pl, size_t i, double p, int *finite)
{
    double acc = 0;
    for (size_t b = pl->block0[i]; b < pl->block0[i + 1]; b++) {
        double v = pl->blocks[b];
        acc = dsc__norm_combine(acc, v, p);
        if (!isfinite(v) && *finite) *finite = block_finite(&pl->tasks[i], b - pl->block0[i]);
    }
    return acc;
}

int dsc__plan_measure(dsc__plan *pl, double p, double *partial)
{
    run_blocks(pl, measure_block, p);
    int finite = 1;
    for (size_t i = 0; i < pl->count; i++) partial[i] = combine(pl, i, p, &finite);
    return finite;
}

/* ---------------------------------------------------------------- per-tensor norms */

/* Block b of task i through its norms pass: two sums into blocks[2b], blocks[2b + 1]. */
static void norms_block(dsc__plan *pl, size_t i, size_t b, double unused)
{
    (void)unused;
    const dsc__task *t = &pl->tasks[i];
    double *sums = pl->blocks + 2 * b;
    sums[0] = sums[1] = 0;
    if (!t->norms) return;
    size_t off = (b - pl->block0[i]) * BLOCK, len = t->n - off < BLOCK ? t->n - off : BLOCK;
    void *st[DSC__MAX_STATE], *p;
    const void *g;
    dsc__scal s;
    locate(t, off, &s, &p, &g, st);
    t->norms(&s, p, g, st, len, sums);
}

/* The blocks' sums are combined in block order: the same bits for any thread count. */
void dsc__plan_norms(dsc__plan *pl, void (*finish)(dsc__scal *s, const double *sums))
{
    run_blocks(pl, norms_block, 0);
    for (size_t i = 0; i < pl->count; i++) {
        if (!pl->tasks[i].norms) continue;
        double sums[2] = {0, 0};
        for (size_t b = pl->block0[i]; b < pl->block0[i + 1]; b++) {
            sums[0] += pl->blocks[2 * b];
            sums[1] += pl->blocks[2 * b + 1];
        }
        finish(&pl->tasks[i].s, sums);
    }
}
