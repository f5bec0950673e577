/*
 * sparse.c: row-sparse gradients (DSC_SPARSE_GRAD tensors, dsc_optim_set_sparse_grad),
 * what torch.optim does with the sparse COO gradient of nn.Embedding(sparse=True).
 *
 * Such a tensor stays out of the step's dense plan (parallel.c): its gradient is a
 * list of rows, and a step applies the kind's kernel to each distinct row alone, a
 * call of dim elements per row, so rows not named are not read or written. For
 * sparse_adam, sgd and adagrad that is torch's sparse rule: the per-element rule on
 * the coalesced rows (their moments, sums and parameters), nothing elsewhere. SGD with
 * momentum (ops->sparse_all_rows) moves every row whose momentum is not 0, with a zero
 * gradient where the step names none: torch's sparse buffer keeps every row it ever
 * named (sgd.c).
 *
 * Coalescing (torch's grad.coalesce()): set_sparse_grad finds the distinct rows with a
 * hash table of twice the rows named (O(nrows), no sort, and small enough to stay in
 * cache where a slot per row of the table would miss it) and links each row's repeats; the
 * step sums the repeats in order into a buffer sized at set, so a step allocates
 * nothing. A row named once is read from the caller's values in place.
 */
#include "internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define NONE SIZE_MAX
/* Below this many elements a step's rows stay on one thread (as parallel.c's tasks). */
#define MIN_PER_THREAD 16384

struct dsc__sparse {
    size_t rows, dim, esize;
    size_t cap;         /* occurrences the arrays below hold */
    size_t nrows;       /* occurrences of the current gradient */
    size_t nuniq;       /* its distinct rows */
    size_t ndup;        /* distinct rows named more than once */
    size_t *row;        /* [nuniq] the distinct rows, in order of first appearance */
    size_t *first;      /* [nuniq] the occurrence of each one's first values */
    size_t *next;       /* [nrows] the next occurrence of the same row, or NONE */
    size_t *sum_at;     /* [nuniq] its row in sums when repeated, else NONE */
    const void **val;   /* [nuniq] its coalesced values (set by dsc__sparse_gather) */
    void *sums;         /* cap / 2 x dim elements: the repeated rows' sums */
    size_t *slot;       /* [nslot] open addressing: 1 + index into row[], 0 empty; all 0
                           between calls */
    size_t nslot;       /* a power of two >= 2 cap */
    const void *values; /* the caller's values */
    struct named { size_t row, u; } *sorted; /* [nuniq] the distinct rows by row (all_rows steps) */
    void *zeros;        /* dim zero elements: the gradient of a row not named */
};

dsc_status dsc__sparse_check(const dsc__ops *ops, const dsc_hparams *hp, const dsc_param *p, size_t i)
{
    const char *who = dsc_kind_name(ops->kind), *nm = p->name ? p->name : "(unnamed)";
    int sparse = (p->flags & DSC_SPARSE_GRAD) != 0;
    if (!sparse) {
        if (ops->sparse != DSC__SPARSE_ONLY) return DSC_OK;
        return dsc__fail(DSC_ERR_UNSUPPORTED, "%s: dense gradients are not supported (tensor %zu '%s'); flag it "
                         "DSC_SPARSE_GRAD and pass its rows with dsc_optim_set_sparse_grad, or use adam", who, i, nm);
    }
    if (ops->sparse == DSC__SPARSE_NO)
        return dsc__fail(DSC_ERR_UNSUPPORTED, "%s: sparse gradients are not supported (tensor %zu '%s'); use "
                         "sparse_adam, sgd or adagrad", who, i, nm);
    if (p->ndim != 2)
        return dsc__fail(DSC_ERR_ARG, "param %zu '%s': a DSC_SPARSE_GRAD tensor is 2-D [rows, dim], got %d "
                         "dimensions", i, nm, p->ndim);
    int decays = !(p->flags & DSC_NO_DECAY) && (hp->weight_decay != 0 || hp->l1 != 0);
    if (decays) /* torch: "weight_decay option is not compatible with sparse gradients" */
        return dsc__fail(DSC_ERR_UNSUPPORTED, "%s: weight_decay and l1 are not compatible with sparse gradients "
                         "(tensor '%s'; flag it DSC_NO_DECAY or give its group no decay)", who, nm);
    if (hp->lookahead_k > 0 || hp->accumulate > 1)
        return dsc__fail(DSC_ERR_UNSUPPORTED, "%s: lookahead and accumulate are not supported with sparse "
                         "gradients (tensor '%s')", who, nm);
    return ops->sparse_check ? ops->sparse_check(hp) : DSC_OK;
}

dsc_status dsc__sparse_create(dsc__sparse **out, const dsc_param *p)
{
    dsc__sparse *sp = calloc(1, sizeof *sp);
    if (!sp) return dsc__fail(DSC_ERR_NOMEM, "optimizer: out of memory for the sparse gradient of '%s'", p->name);
    sp->rows = p->shape[0];
    sp->dim = p->shape[1];
    sp->esize = dsc_dtype_size(p->dtype);
    if (!(sp->zeros = calloc(sp->dim, sp->esize))) {
        free(sp);
        return dsc__fail(DSC_ERR_NOMEM, "optimizer: out of memory for the sparse gradient of '%s'", p->name);
    }
    *out = sp;
    return DSC_OK;
}

void dsc__sparse_destroy(dsc__sparse *sp)
{
    if (!sp) return;
    free(sp->row);
    free(sp->first);
    free(sp->next);
    free(sp->sum_at);
    free(sp->val);
    free(sp->sums);
    free(sp->slot);
    free(sp->sorted);
    free(sp->zeros);
    free(sp);
}

void dsc__sparse_clear(dsc__sparse *sp)
{
    sp->nrows = sp->nuniq = sp->ndup = 0;
}

/* Grows the occurrence arrays to hold n, and sums to the n / 2 rows that can repeat:
 * every array or none, so that nothing after it can fail. */
static dsc_status reserve(dsc__sparse *sp, size_t n, const char *name)
{
    if (n <= sp->cap) return DSC_OK;
    if (n > SIZE_MAX / 4 / sizeof(size_t) / (sp->dim * sp->esize))
        return dsc__fail(DSC_ERR_ARG, "dsc_optim_set_sparse_grad: %zu rows of '%s' are too many", n, name);
    size_t nslot = 16;
    while (nslot < 2 * n) nslot *= 2;
    size_t *row = malloc(n * sizeof *row), *first = malloc(n * sizeof *first), *next = malloc(n * sizeof *next);
    size_t *sum_at = malloc(n * sizeof *sum_at), *slot = calloc(nslot, sizeof *slot);
    const void **val = malloc(n * sizeof *val);
    struct named *sorted = malloc(n * sizeof *sorted);
    void *sums = n / 2 ? malloc(n / 2 * sp->dim * sp->esize) : NULL;
    if (!row || !first || !next || !sum_at || !slot || !val || !sorted || (n / 2 && !sums)) {
        free(row), free(first), free(next), free(sum_at), free(slot), free((void *)val), free(sorted), free(sums);
        return dsc__fail(DSC_ERR_NOMEM, "dsc_optim_set_sparse_grad: out of memory for %zu rows of '%s'", n, name);
    }
    free(sp->row), free(sp->first), free(sp->next), free(sp->sum_at), free(sp->slot), free((void *)sp->val);
    free(sp->sorted), free(sp->sums);
    sp->row = row, sp->first = first, sp->next = next, sp->sum_at = sum_at, sp->val = val, sp->sums = sums;
    sp->sorted = sorted;
    sp->slot = slot, sp->nslot = nslot;
    sp->cap = n;
    return DSC_OK;
}

/* The slot of row r: its own, or the empty one where it goes (linear probing from a
 * Fibonacci hash; the table is at most half full). */
static size_t slot_of(const dsc__sparse *sp, size_t r)
{
    size_t mask = sp->nslot - 1, h = (size_t)(((uint64_t)r * UINT64_C(0x9E3779B97F4A7C15)) >> 20) & mask;
    for (;; h = (h + 1) & mask) {
        size_t u = sp->slot[h];
        if (!u || sp->row[u - 1] == r) return h;
    }
}

dsc_status dsc__sparse_set(dsc__sparse *sp, const dsc_param *p, const int64_t *rows, size_t nrows,
                           const void *values)
{
    if (nrows && (!rows || !values))
        return dsc__fail(DSC_ERR_ARG, "dsc_optim_set_sparse_grad: NULL rows or values for %zu rows of '%s'", nrows,
                         p->name);
    for (size_t k = 0; k < nrows; k++)
        if (rows[k] < 0 || (uint64_t)rows[k] >= sp->rows)
            return dsc__fail(DSC_ERR_ARG, "dsc_optim_set_sparse_grad: row %lld (index %zu) of '%s' is out of range "
                             "[0, %zu)", (long long)rows[k], k, p->name, sp->rows);
    dsc_status st = reserve(sp, nrows, p->name);
    if (st) return st;
    /* the distinct rows and each one's chain of occurrences: last[] reuses sum_at */
    size_t nuniq = 0, ndup = 0, *last = sp->sum_at;
    for (size_t k = 0; k < nrows; k++) {
        size_t r = (size_t)rows[k], h = slot_of(sp, r), u = sp->slot[h];
        sp->next[k] = NONE;
        if (!u) {
            sp->slot[h] = ++nuniq;
            sp->row[nuniq - 1] = r;
            sp->first[nuniq - 1] = last[nuniq - 1] = k;
            continue;
        }
        if (sp->next[sp->first[u - 1]] == NONE) ndup++;
        sp->next[last[u - 1]] = k;
        last[u - 1] = k;
    }
    if (nuniq) memset(sp->slot, 0, sp->nslot * sizeof *sp->slot); /* (clearing slot by slot would cut probe chains) */
    for (size_t u = 0, d = 0; u < nuniq; u++)
        sp->sum_at[u] = sp->next[sp->first[u]] == NONE ? NONE : d++;
    sp->nrows = nrows;
    sp->nuniq = nuniq;
    sp->ndup = ndup;
    sp->values = values;
    return DSC_OK;
}

/* dst = the sum of the row's occurrences, in order (torch's coalesce). */
static void sum_row(const dsc__sparse *sp, dsc_dtype dt, size_t u, void *dst)
{
    size_t k = sp->first[u], dim = sp->dim;
    memcpy(dst, (const char *)sp->values + k * dim * sp->esize, dim * sp->esize);
    for (k = sp->next[k]; k != NONE; k = sp->next[k])
        dsc__grad_accumulate(dt, dst, (const char *)sp->values + k * dim * sp->esize, dim);
}

void dsc__sparse_gather(dsc__sparse *sp, dsc_dtype dt)
{
    for (size_t u = 0; u < sp->nuniq; u++) {
        if (sp->sum_at[u] == NONE) {
            sp->val[u] = (const char *)sp->values + sp->first[u] * sp->dim * sp->esize;
            continue;
        }
        void *dst = (char *)sp->sums + sp->sum_at[u] * sp->dim * sp->esize;
        sum_row(sp, dt, u, dst);
        sp->val[u] = dst;
    }
}

int dsc__sparse_measure(const dsc__sparse *sp, dsc_dtype dt, double p, double *partial)
{
    double acc = 0;
    int finite = 1;
    for (size_t u = 0; u < sp->nuniq; u++) {
        double v = dsc__grad_partial(dt, sp->val[u], sp->dim, p);
        acc = dsc__norm_combine(acc, v, p);
        if (!isfinite(v) && finite) finite = dsc__grad_finite(dt, sp->val[u], sp->dim);
    }
    *partial = acc;
    return finite;
}

/* Row r of the table through the task's kernel with gradient g: parameters and state
 * of its row. The scalars go as they are (s->offset 0): only bf16 state reads the
 * offset, and no kind that takes sparse gradients has it; a copy per row would cost
 * what a short row's update does. */
static void update_at(const dsc__sparse *sp, const dsc__task *t, size_t r, const void *g)
{
    size_t off = r * sp->dim;
    void *st[DSC__MAX_STATE];
    for (int k = 0; k < t->nstate; k++) st[k] = (char *)t->st[k] + off * t->st_es;
    t->kernel(&t->s, (char *)t->p + off * sp->esize, g, st, sp->dim);
}

static void update_row(const dsc__sparse *sp, const dsc__task *t, size_t u)
{
    update_at(sp, t, sp->row[u], sp->val[u]);
}

/* Rows lie anywhere in a large table: each is a cache and TLB miss that a plain loop
 * waits for. Asking for the lines of the row AHEAD rows on (its first PREFETCH_LINES
 * of the parameter and of each state buffer; the hardware follows a row past them)
 * keeps that many misses in flight instead of one. */
#define AHEAD 8
#define PREFETCH_LINES 8
static void prefetch_row(const dsc__sparse *sp, const dsc__task *t, size_t u)
{
#if defined(__GNUC__)
    size_t off = sp->row[u] * sp->dim, lines = (sp->dim * sp->esize + 63) / 64;
    if (lines > PREFETCH_LINES) lines = PREFETCH_LINES;
    for (size_t l = 0; l < lines; l++) {
        __builtin_prefetch((char *)t->p + off * sp->esize + 64 * l, 1);
        for (int k = 0; k < t->nstate; k++) __builtin_prefetch((char *)t->st[k] + off * t->st_es + 64 * l, 1);
    }
#else
    (void)sp, (void)t, (void)u;
#endif
}

static void update_rows(const dsc__sparse *sp, const dsc__task *t, size_t u)
{
    if (u + AHEAD < sp->nuniq) prefetch_row(sp, t, u + AHEAD);
    update_row(sp, t, u);
}

/* ---- every row (all_rows) */

static int by_row(const void *a, const void *b)
{
    size_t x = ((const struct named *)a)->row, y = ((const struct named *)b)->row;
    return (x > y) - (x < y);
}

/* Whether every state element of row r is 0: a row never named, which a zero gradient
 * leaves at rest (SGD's momentum 0 stays 0 and moves nothing). */
static int at_rest(const dsc__sparse *sp, const dsc__task *t, size_t r)
{
    for (int k = 0; k < t->nstate; k++) {
        const char *row = (const char *)t->st[k] + r * sp->dim * t->st_es;
        for (size_t e = 0; e < sp->dim; e++)
            if (t->dtype == DSC_F32 ? ((const float *)row)[e] != 0 : ((const double *)row)[e] != 0) return 0;
    }
    return 1;
}

/* Rows [lo, hi) of the table: a named one with its gradient, another with zeros unless
 * it is at rest. */
static void update_range(const dsc__sparse *sp, const dsc__task *t, size_t lo, size_t hi)
{
    size_t k = 0, n = sp->nuniq; /* the first named row >= lo, by bisection */
    for (size_t top = n; k < top;) {
        size_t mid = k + (top - k) / 2;
        if (sp->sorted[mid].row < lo) k = mid + 1;
        else top = mid;
    }
    for (size_t r = lo; r < hi; r++) {
        if (k < n && sp->sorted[k].row == r) update_row(sp, t, sp->sorted[k++].u);
        else if (!at_rest(sp, t, r)) update_at(sp, t, r, sp->zeros);
    }
}

static void update_all_rows(dsc__sparse *sp, const dsc__task *t, int threads)
{
    for (size_t u = 0; u < sp->nuniq; u++) sp->sorted[u] = (struct named){.row = sp->row[u], .u = u};
    if (sp->nuniq) qsort(sp->sorted, sp->nuniq, sizeof *sp->sorted, by_row);
#ifdef _OPENMP
    size_t most = sp->rows * sp->dim / MIN_PER_THREAD;
    int nt = (size_t)threads < most ? threads : (int)most;
    if (nt > 1) {
        /* each thread its share of the rows: the same bits for any count */
#pragma omp parallel for num_threads(nt) schedule(static)
        for (int c = 0; c < nt; c++)
            update_range(sp, t, sp->rows * (size_t)c / (size_t)nt, sp->rows * (size_t)(c + 1) / (size_t)nt);
        return;
    }
#endif
    (void)threads;
    update_range(sp, t, 0, sp->rows);
}

void dsc__sparse_update(dsc__sparse *sp, const dsc__task *t, int threads, int all_rows)
{
    if (all_rows) {
        update_all_rows(sp, t, threads);
        return;
    }
    size_t n = sp->nuniq;
    for (size_t u = 0; u < AHEAD && u < n; u++) prefetch_row(sp, t, u);
#ifdef _OPENMP
    size_t most = n * sp->dim / MIN_PER_THREAD;
    int nt = (size_t)threads < most ? threads : (int)most;
    if (nt > 1) {
        /* rows are distinct, so threads never share a row: the same bits for any count */
#pragma omp parallel for num_threads(nt) schedule(static)
        for (size_t u = 0; u < n; u++) update_rows(sp, t, u);
        return;
    }
#endif
    (void)threads;
    for (size_t u = 0; u < n; u++) update_rows(sp, t, u);
}

void dsc__sparse_fill_state(const dsc__task *t, size_t n)
{
    for (int k = 0; k < t->nstate; k++) {
        if (t->dtype == DSC_F32) {
            float *b = t->st[k], v = (float)t->init[k];
            for (size_t e = 0; e < n; e++) b[e] = v;
        } else {
            double *b = t->st[k], v = t->init[k];
            for (size_t e = 0; e < n; e++) b[e] = v;
        }
    }
}
