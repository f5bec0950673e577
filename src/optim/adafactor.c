/*
 * adafactor.c: torch.optim.Adafactor as torch 2.5 publishes it (its documentation and
 * torch/optim/_adafactor.py, read without a torch 2.5 to run: docs/optimizers.md).
 * Step t of one tensor, g its effective gradient:
 *   w = t^beta2_decay (1 - beta2_t);  rho = min(lr, 1/sqrt(t))
 *   alpha = max(eps2, RMS(p)) * rho                  (p before the decay)
 *   p *= 1 - lr*wd                                   (decoupled, torch's only form)
 *   >= 2 dimensions, the last two rows x cols, the leading ones a batch of matrices:
 *     row_var = lerp(row_var, mean over the columns of g^2, w)
 *     col_var = lerp(col_var, mean over the rows of g^2, w)
 *     v = row_var * col_var / max(mean over the rows of row_var, eps1)
 *   fewer:  variance = lerp(variance, g^2, w);  v = variance
 *   u = g / sqrt(max(v, eps1^2));  p -= alpha / max(1, RMS(u) / d) * u
 * lerp is torch's: a + w (b - a) for |w| < 0.5, else b - (b - a)(1 - w). eps1 None
 * (DSC_EPS1_DTYPE) is the element type's machine epsilon. torch's relative step and
 * the paper's first moment are not part of it.
 * The state is sublinear: rows + columns per matrix instead of rows x columns.
 * Three passes over a matrix (the squares' means and |p|, then |u|, then the update;
 * a vector needs two) with the sums of squares in double; the whole tensor goes in
 * one call (whole_tensor), the reference and the fast path alike.
 * Read once plain, then its typed part once per element type (rule_types.h).
 */
#ifndef T
#include "kernel.h"

#include <float.h>

struct adafactor_scalars {
    double w;    /* t^beta2_decay: the weight of this step's squares in the averages */
    double rho;  /* min(lr, 1/sqrt(t)) */
    double eps1; /* DSC_EPS1_DTYPE: the element type's machine epsilon */
    double eps2;
    double d;
};
DSC__SCALARS_FIT(struct adafactor_scalars);

static int adafactor_state(const dsc_hparams *hp, const char **names)
{
    (void)hp;
    names[0] = "row_var";
    names[1] = "col_var";
    return 2;
}

static int adafactor_tensor_state(const dsc_hparams *hp, const dsc_param *p, const char **names)
{
    if (p->ndim >= 2) return adafactor_state(hp, names);
    names[0] = "variance";
    return 1;
}

/* row_var: the tensor's shape with its last dimension 1; col_var: with the one before
 * it 1 (torch's keepdim shapes). */
static int adafactor_state_shape(const dsc_param *p, const char *name, size_t *shape)
{
    int row = !strcmp(name, "row_var"), col = !strcmp(name, "col_var");
    if (!row && !col) return 0;
    memcpy(shape, p->shape, (size_t)p->ndim * sizeof *shape);
    shape[p->ndim - (row ? 1 : 2)] = 1;
    return p->ndim;
}

/* A matrix sums its columns' squares in doubles: cols of them, in elements of its dtype. */
static size_t adafactor_scratch(const dsc_hparams *hp, const dsc_param *p)
{
    (void)hp;
    if (p->ndim < 2) return 0;
    return p->shape[p->ndim - 1] * (sizeof(double) / dsc_dtype_size(p->dtype));
}

static void adafactor_prepare(const dsc_hparams *hp, dsc__gstate *gs, int64_t t, dsc__scal *s)
{
    (void)gs;
    const double rho = 1.0 / sqrt((double)t);
    const struct adafactor_scalars k = {
        .w = pow((double)t, hp->beta2_decay),
        .rho = s->lr < rho ? s->lr : rho,
        .eps1 = hp->eps1,
        .eps2 = hp->eps2,
        .d = hp->d,
    };
    dsc__scalars_put(s, &k, sizeof k);
}

static struct adafactor_scalars adafactor_scalars_of(const dsc__scal *s)
{
    struct adafactor_scalars k;
    dsc__scalars_get(s, &k, sizeof k);
    return k;
}

/* A tensor's batch of matrices: the last two dimensions rows x cols, the others a batch. */
struct adafactor_dims {
    size_t batch, rows, cols;
};

static struct adafactor_dims adafactor_dims_of(const dsc_param *p)
{
    struct adafactor_dims m = {1, p->shape[p->ndim - 2], p->shape[p->ndim - 1]};
    for (int d = 0; d < p->ndim - 2; d++) m.batch *= p->shape[d];
    return m;
}

/* The step's multiplier of u: -alpha / max(1, RMS(u) / d). */
static double adafactor_step(const struct adafactor_scalars *k, double p_sq, double u_sq, size_t n)
{
    const double alpha = fmax(k->eps2, sqrt(p_sq) / sqrt((double)n)) * k->rho;
    return -alpha / fmax(1.0, sqrt(u_sq) / (sqrt((double)n) * k->d));
}
#endif

#ifdef T
/* ---- the rule, for element type T */

/* torch's lerp, in its two forms (both computed, so a loop has no branch). */
static inline T FN(lerp)(T a, T b, T w)
{
    const T diff = b - a, from_a = a + w * diff, from_b = b - diff * ((T)1 - w);
    return DSC__ABS(w) < (T)0.5 ? from_a : from_b;
}

/* eps1 in double (None: the element type's epsilon) and the estimates' floor eps1^2 in
 * T, squared in double first as torch squares the Python float. */
static inline double FN(eps1_of)(const struct adafactor_scalars *k)
{
    if (k->eps1 != DSC_EPS1_DTYPE) return k->eps1;
    return sizeof(T) == sizeof(float) ? FLT_EPSILON : DBL_EPSILON;
}

/* u of one element: its gradient over the root of its floored estimate. */
static inline T FN(u_of)(T d, T v, T floor)
{
    v = v > floor ? v : floor;
    return ((T)1 / DSC__SQRT(v)) * d;
}

/* ---- fewer than 2 dimensions: the variance of each element */

/* Pass 1: |p|^2 and |u|^2 into sums, the variance updated. */
DSC__ALWAYS_INLINE void FN(vector_sums)(const dsc__scal *s, const T *restrict p, const T *restrict g,
                                        T *restrict var, size_t n, double *sums, const int gen)
{
    const struct adafactor_scalars k = adafactor_scalars_of(s);
    const struct FN(dsc__grad_consts) gc = FN(dsc__grad_consts_of)(s);
    const double eps1 = FN(eps1_of)(&k);
    const T w = (T)k.w, floor = (T)(eps1 * eps1);
    double p_sq = 0, u_sq = 0;
    DSC__SIMD_SUM2(p_sq, u_sq)
    for (size_t i = 0; i < n; i++) {
        const T pi = p[i], d = FN(dsc__grad_fast)(&gc, gen, pi, g[i]);
        const T vi = FN(lerp)(var[i], d * d, w);
        var[i] = vi;
        const T u = FN(u_of)(d, vi, floor);
        p_sq += (double)pi * (double)pi;
        u_sq += (double)u * (double)u;
    }
    sums[0] = p_sq;
    sums[1] = u_sq;
}

/* Pass 2: the update, u again from the new variance. */
DSC__ALWAYS_INLINE void FN(vector_update)(const dsc__scal *s, T *restrict p, const T *restrict g,
                                          const T *restrict var, size_t n, T step, const int gen)
{
    const struct adafactor_scalars k = adafactor_scalars_of(s);
    const struct FN(dsc__grad_consts) gc = FN(dsc__grad_consts_of)(s);
    const double eps1 = FN(eps1_of)(&k);
    const T floor = (T)(eps1 * eps1);
    DSC__SIMD
    for (size_t i = 0; i < n; i++) {
        const T pi = p[i], d = FN(dsc__grad_fast)(&gc, gen, pi, g[i]);
        const T u = FN(u_of)(d, var[i], floor);
        p[i] = (gen ? pi * gc.decay : pi) + step * u;
    }
}

DSC__CLONES static void FN(vector_sums_of)(const dsc__scal *s, const T *p, const T *g, T *var, size_t n,
                                           double *sums, int gen)
{
    switch (gen) {
    case 0: FN(vector_sums)(s, p, g, var, n, sums, 0); break;
    case 1: FN(vector_sums)(s, p, g, var, n, sums, 1); break;
    default: FN(vector_sums)(s, p, g, var, n, sums, 2); break;
    }
}

DSC__CLONES_WIDE static void FN(vector_update_of)(const dsc__scal *s, T *p, const T *g, const T *var, size_t n,
                                                  T step, int gen)
{
    switch (gen) {
    case 0: FN(vector_update)(s, p, g, var, n, step, 0); break;
    case 1: FN(vector_update)(s, p, g, var, n, step, 1); break;
    default: FN(vector_update)(s, p, g, var, n, step, 2); break;
    }
}

static void FN(vector_rule)(const dsc__scal *s, T *p, const T *g, T *var, size_t n, int gen)
{
    const struct adafactor_scalars k = adafactor_scalars_of(s);
    double sums[2];
    FN(vector_sums_of)(s, p, g, var, n, sums, gen);
    FN(vector_update_of)(s, p, g, var, n, (T)adafactor_step(&k, sums[0], sums[1], n), gen);
}

/* ---- >= 2 dimensions: row and column factors of each matrix */

/* The floor of a matrix's estimates' divisor: the mean of its row factors, at least eps1. */
static inline T FN(row_mean)(const T *row, size_t rows, T eps1)
{
    double sum = 0;
    for (size_t i = 0; i < rows; i++) sum += (double)row[i];
    const T mean = (T)(sum / (double)rows);
    return mean > eps1 ? mean : eps1;
}

/* Pass 1 over one matrix: |p|^2 into *p_sq, the factors updated from the squares' means
 * (col_sum: cols doubles of workspace). */
DSC__ALWAYS_INLINE void FN(matrix_factors)(const dsc__scal *s, const T *restrict p, const T *restrict g,
                                           T *restrict row, T *restrict col, double *restrict col_sum,
                                           struct adafactor_dims m, double *p_sq, const int gen)
{
    const struct adafactor_scalars k = adafactor_scalars_of(s);
    const struct FN(dsc__grad_consts) gc = FN(dsc__grad_consts_of)(s);
    const T w = (T)k.w;
    for (size_t j = 0; j < m.cols; j++) col_sum[j] = 0;
    double psq = *p_sq;
    for (size_t i = 0; i < m.rows; i++) {
        const T *restrict pr = p + i * m.cols, *restrict gr = g + i * m.cols;
        double row_sum = 0, prow = 0;
        DSC__SIMD_SUM2(row_sum, prow)
        for (size_t j = 0; j < m.cols; j++) {
            const T d = FN(dsc__grad_fast)(&gc, gen, pr[j], gr[j]);
            const double sq = (double)d * (double)d;
            row_sum += sq;
            col_sum[j] += sq;
            prow += (double)pr[j] * (double)pr[j];
        }
        psq += prow;
        row[i] = FN(lerp)(row[i], (T)(row_sum / (double)m.cols), w);
    }
    for (size_t j = 0; j < m.cols; j++) col[j] = FN(lerp)(col[j], (T)(col_sum[j] / (double)m.rows), w);
    *p_sq = psq;
}

DSC__CLONES static void FN(matrix_factors_of)(const dsc__scal *s, const T *p, const T *g, T *row, T *col,
                                              double *col_sum, struct adafactor_dims m, double *p_sq, int gen)
{
    switch (gen) {
    case 0: FN(matrix_factors)(s, p, g, row, col, col_sum, m, p_sq, 0); break;
    case 1: FN(matrix_factors)(s, p, g, row, col, col_sum, m, p_sq, 1); break;
    default: FN(matrix_factors)(s, p, g, row, col, col_sum, m, p_sq, 2); break;
    }
}

/* The sum of a row's u^2, the lanes those of the code's vectorised sum. */
DSC__CLONES static double FN(sum_sq)(const T *restrict u, size_t n)
{
    double sum = 0;
    DSC__SIMD_SUM(sum)
    for (size_t j = 0; j < n; j++) sum += (double)u[j] * (double)u[j];
    return sum;
}

/* A matrix row's u (passes 2 and 3): two divisions and a square root an element,
 * which bound those passes; each element alone, so these loops go as wide as the
 * machine does (DSC__CLONES_WIDE) and their results stay the same bits. */
struct FN(row_args) {
    const struct FN(dsc__grad_consts) *gc;
    const T *col;
    T ri, mean, floor;
    size_t cols;
};

DSC__ALWAYS_INLINE void FN(row_u_loop)(const struct FN(row_args) *a, const T *restrict pr, const T *restrict gr,
                                       T *restrict u, const int gen)
{
    const T *restrict col = a->col;
    const T ri = a->ri, mean = a->mean, floor = a->floor;
    DSC__SIMD
    for (size_t j = 0; j < a->cols; j++) {
        const T d = FN(dsc__grad_fast)(a->gc, gen, pr[j], gr[j]);
        u[j] = FN(u_of)(d, (ri * col[j]) / mean, floor);
    }
}

DSC__CLONES_WIDE static void FN(row_u)(const struct FN(row_args) *a, const T *pr, const T *gr, T *u, int gen)
{
    switch (gen) {
    case 0: FN(row_u_loop)(a, pr, gr, u, 0); break;
    case 1: FN(row_u_loop)(a, pr, gr, u, 1); break;
    default: FN(row_u_loop)(a, pr, gr, u, 2); break;
    }
}

DSC__ALWAYS_INLINE void FN(row_update_loop)(const struct FN(row_args) *a, T *restrict pr, const T *restrict gr,
                                            T step, const int gen)
{
    const struct FN(dsc__grad_consts) *gc = a->gc;
    const T *restrict col = a->col;
    const T ri = a->ri, mean = a->mean, floor = a->floor;
    DSC__SIMD
    for (size_t j = 0; j < a->cols; j++) {
        const T pj = pr[j], d = FN(dsc__grad_fast)(gc, gen, pj, gr[j]);
        const T u = FN(u_of)(d, (ri * col[j]) / mean, floor);
        pr[j] = (gen ? pj * gc->decay : pj) + step * u;
    }
}

DSC__CLONES_WIDE static void FN(row_update)(const struct FN(row_args) *a, T *pr, const T *gr, T step, int gen)
{
    switch (gen) {
    case 0: FN(row_update_loop)(a, pr, gr, step, 0); break;
    case 1: FN(row_update_loop)(a, pr, gr, step, 1); break;
    default: FN(row_update_loop)(a, pr, gr, step, 2); break;
    }
}

/* Pass 2 over one matrix: |u|^2 into *u_sq, each row's u made first into u_row (cols
 * elements: the workspace of pass 1's column sums), then summed. */
static void FN(matrix_u_sq)(const dsc__scal *s, const T *p, const T *g, const T *row, const T *col, T *u_row,
                            struct adafactor_dims m, double *u_sq, int gen)
{
    const struct adafactor_scalars k = adafactor_scalars_of(s);
    const struct FN(dsc__grad_consts) gc = FN(dsc__grad_consts_of)(s);
    const double eps1 = FN(eps1_of)(&k);
    struct FN(row_args) a = {.gc = &gc, .col = col, .floor = (T)(eps1 * eps1), .cols = m.cols,
                             .mean = FN(row_mean)(row, m.rows, (T)eps1)};
    double usq = *u_sq;
    for (size_t i = 0; i < m.rows; i++) {
        a.ri = row[i];
        FN(row_u)(&a, p + i * m.cols, g + i * m.cols, u_row, gen);
        usq += FN(sum_sq)(u_row, m.cols);
    }
    *u_sq = usq;
}

/* Pass 3 over one matrix: the update, u again. */
static void FN(matrix_update)(const dsc__scal *s, T *p, const T *g, const T *row, const T *col,
                              struct adafactor_dims m, T step, int gen)
{
    const struct adafactor_scalars k = adafactor_scalars_of(s);
    const struct FN(dsc__grad_consts) gc = FN(dsc__grad_consts_of)(s);
    const double eps1 = FN(eps1_of)(&k);
    struct FN(row_args) a = {.gc = &gc, .col = col, .floor = (T)(eps1 * eps1), .cols = m.cols,
                             .mean = FN(row_mean)(row, m.rows, (T)eps1)};
    for (size_t i = 0; i < m.rows; i++) {
        a.ri = row[i];
        FN(row_update)(&a, p + i * m.cols, g + i * m.cols, step, gen);
    }
}

static void FN(matrix_rule)(const dsc__scal *s, T *p, const T *g, T *row, T *col, int gen)
{
    const struct adafactor_scalars k = adafactor_scalars_of(s);
    const struct adafactor_dims m = adafactor_dims_of(s->param);
    const size_t size = m.rows * m.cols;
    double p_sq = 0, u_sq = 0;
    for (size_t b = 0; b < m.batch; b++)
        FN(matrix_factors_of)(s, p + b * size, g + b * size, row + b * m.rows, col + b * m.cols, s->scratch, m,
                              &p_sq, gen);
    for (size_t b = 0; b < m.batch; b++) /* pass 1's column sums are spent: the rows' u go there */
        FN(matrix_u_sq)(s, p + b * size, g + b * size, row + b * m.rows, col + b * m.cols, s->scratch, m, &u_sq,
                        gen);
    const T step = (T)adafactor_step(&k, p_sq, u_sq, s->param->n);
    for (size_t b = 0; b < m.batch; b++)
        FN(matrix_update)(s, p + b * size, g + b * size, row + b * m.rows, col + b * m.cols, m, step, gen);
}

/* One kernel for both paths (its sums' order is the code's, so the two agree by
 * construction). It is not cloned itself: its loops are, each for the widest vectors
 * that leave its bits alone (a call from a clone would go to the clone of the same
 * target), the gradient prologue a constant in each. */
static void FN(adafactor_kernel)(const dsc__scal *s, void *p, const void *g, void *const *st, size_t n)
{
    const int gen = dsc__variant(0, s);
    if (s->param->ndim >= 2) FN(matrix_rule)(s, p, g, st[0], st[1], gen);
    else FN(vector_rule)(s, p, g, st[0], n, gen);
}
#else
#define DSC_RULE_FILE "adafactor.c"
#include "rule_types.h"

const dsc__ops dsc__ops_adafactor = {
    .kind = DSC_ADAFACTOR,
    .state_names = adafactor_state,
    .prepare = adafactor_prepare,
    .reference = {adafactor_kernel_f32, adafactor_kernel_f64},
    .fast = {adafactor_kernel_f32, adafactor_kernel_f64},
    .whole_tensor = 1,
    .tensor_state = adafactor_tensor_state,
    .scratch_elems = adafactor_scratch,
    .state_shape = adafactor_state_shape,
};
#endif
