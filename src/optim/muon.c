/*
 * muon.c: Muon (Jordan 2024) as torch.optim.Muon defines it, on the 2-D tensors:
 *   b = mu b + (1-mu) g  (b starts at 0);  u = nesterov ? (1-mu) g + mu b : b
 *   O = NewtonSchulz5(u);  p *= 1 - lr*wd;  p -= lr_adj * O
 * NewtonSchulz5 works on X = u (transposed when rows > cols, so X X^T is the small
 * Gram matrix), scaled to Frobenius norm 1 (divided by max(|u|, eps)), then ns_steps
 * times:  A = X X^T;  B = b A + c A A;  X = a X + B X,  (a, b, c) = (3.4445, -4.7750,
 * 2.0315). lr_adj for an A x B matrix: original lr sqrt(max(1, A/B)),
 * match_rms_adamw lr 0.2 sqrt(max(A, B)).
 * torch runs the iteration in bfloat16; we run it in the tensor's dtype (CBLAS gemm).
 * Every other tensor (ndim != 2) gets AdamW with adamw_lr, adamw_betas, adamw_eps and
 * adamw_weight_decay (KellerJordan/Muon's MuonWithAuxAdam).
 * Read once plain, then its typed part once per element type (rule_types.h).
 */
#ifndef T
#include "kernel.h"

#include <cblas.h>
#include <string.h>

#define NS_A 3.4445
#define NS_B (-4.7750)
#define NS_C 2.0315

static int muon_state(const dsc_hparams *hp, const char **names)
{
    (void)hp;
    names[0] = "momentum_buffer";
    return 1;
}

static int muon_tensor_state(const dsc_hparams *hp, const dsc_param *p, const char **names)
{
    if (p->ndim == 2) return muon_state(hp, names);
    names[0] = "exp_avg";
    names[1] = "exp_avg_sq";
    return 2;
}

/* X and its next iterate (m x n each, m <= n), A and B (m x m each). */
static size_t muon_scratch(const dsc_hparams *hp, const dsc_param *p)
{
    (void)hp;
    if (p->ndim != 2) return 0;
    size_t m = p->shape[0] < p->shape[1] ? p->shape[0] : p->shape[1];
    return 2 * p->n + 2 * m * m;
}

/* The matrices read their values from s->hp; the AdamW fallback's scalars are made
 * per tensor from the step (adamw_scalars). */
struct muon_scalars {
    int64_t step;
};
DSC__SCALARS_FIT(struct muon_scalars);

static void muon_prepare(const dsc_hparams *hp, dsc__gstate *gs, int64_t t, dsc__scal *s)
{
    (void)hp;
    (void)gs;
    const struct muon_scalars k = {.step = t};
    dsc__scalars_put(s, &k, sizeof k);
}

static double adjusted_lr(const dsc_hparams *hp, double rows, double cols)
{
    if (hp->adjust_lr == DSC_MUON_MATCH_RMS_ADAMW) return hp->lr * 0.2 * sqrt(rows > cols ? rows : cols);
    return hp->lr * sqrt(rows > cols ? rows / cols : 1.0);
}

/* C = alpha A B^T (tb) or alpha A B, plus beta C; row-major, A m x k. */
static void gemm_f32(int tb, int m, int n, int k, double alpha, const float *a, const float *b, double beta,
                     float *c)
{
    cblas_sgemm(CblasRowMajor, CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m, n, k, (float)alpha, a, k, b,
                tb ? k : n, (float)beta, c, n);
}

static void gemm_f64(int tb, int m, int n, int k, double alpha, const double *a, const double *b, double beta,
                     double *c)
{
    cblas_dgemm(CblasRowMajor, CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m, n, k, alpha, a, k, b,
                tb ? k : n, beta, c, n);
}

/* Other tensors: AdamW with the adamw_* values (decay unless DSC_NO_DECAY), through
 * Adam's own kernels: q holds Adam's scalars for them. */
static dsc__scal adamw_scalars(const dsc__scal *s)
{
    const dsc_hparams *hp = s->hp;
    dsc__scal q = dsc__without_l2(s);
    q.decay = (s->param->flags & DSC_NO_DECAY) ? 1.0 : 1.0 - hp->adamw_lr * hp->adamw_weight_decay;
    struct muon_scalars k;
    dsc__scalars_get(s, &k, sizeof k);
    dsc__adam_scalars_set(&q, hp->adamw_beta1, hp->adamw_beta2, hp->adamw_lr, hp->adamw_eps, 0, k.step);
    return q;
}

#endif

#ifdef T
/* ---- the rule, for element type T */

/* The orthogonalised X (m x n) of ns_steps iterations, in one of the two X buffers. */
static T *FN(newton_schulz)(T *x, T *xn, T *a, T *bm, int m, int n, int steps, double eps)
{
    double norm = 0;
    for (size_t i = 0; i < (size_t)m * (size_t)n; i++) norm += (double)x[i] * (double)x[i];
    norm = sqrt(norm);
    const T inv = (T)(1.0 / (norm > eps ? norm : eps));
    for (size_t i = 0; i < (size_t)m * (size_t)n; i++) x[i] = x[i] * inv;
    for (int k = 0; k < steps; k++) {
        FN(gemm)(1, m, m, n, 1.0, x, x, 0.0, a);
        memcpy(bm, a, (size_t)m * (size_t)m * sizeof(T));
        FN(gemm)(0, m, m, m, NS_C, a, a, NS_B, bm);
        memcpy(xn, x, (size_t)m * (size_t)n * sizeof(T));
        FN(gemm)(0, m, n, m, 1.0, bm, x, NS_A, xn);
        T *tmp = x;
        x = xn;
        xn = tmp;
    }
    return x;
}

/* 2-D: momentum into the buffer, the update into X (transposed when rows > cols),
 * Newton-Schulz, then the step. dsc__grad applies the decay to p on the way. */
static void FN(muon_matrix)(const dsc__scal *s, T *p, const T *g, T *b, size_t n)
{
    const dsc_hparams *hp = s->hp;
    const size_t rows = s->param->shape[0], cols = s->param->shape[1];
    const int tr = rows > cols;
    const size_t m = tr ? cols : rows, w = tr ? rows : cols;
    T *x = s->scratch, *xn = x + n, *a = xn + n, *bm = a + m * m;
    const T mu = (T)hp->momentum, ommu = (T)(1.0 - hp->momentum);
    for (size_t i = 0; i < n; i++) {
        T d = FN(dsc__grad)(s, &p[i], g[i]);
        b[i] = b[i] * mu + ommu * d;
        T u = hp->nesterov ? d * ommu + mu * b[i] : b[i];
        x[tr ? (i % cols) * rows + i / cols : i] = u;
    }
    T *o = FN(newton_schulz)(x, xn, a, bm, (int)m, (int)w, (int)hp->ns_steps, hp->eps);
    const T step = (T)(-adjusted_lr(hp, (double)rows, (double)cols));
    for (size_t i = 0; i < n; i++) p[i] = p[i] + step * o[tr ? (i % cols) * rows + i / cols : i];
}

/* The matrices alike on both paths (their cost is the products, which CBLAS runs);
 * the other tensors through Adam's reference or fast kernel, the fast one taking any
 * piece of a tensor, so only the matrices go whole. */
static void FN(muon_ref)(const dsc__scal *s, void *p, const void *g, void *const *st, size_t n)
{
    if (s->param->ndim == 2) {
        FN(muon_matrix)(s, p, g, st[0], n);
        return;
    }
    const dsc__scal q = adamw_scalars(s);
    dsc__ops_adam.reference[sizeof(T) == sizeof(double)](&q, p, g, st, n); /* [1]: f64 */
}

static void FN(muon_fast)(const dsc__scal *s, void *p, const void *g, void *const *st, size_t n)
{
    if (s->param->ndim == 2) {
        FN(muon_matrix)(s, p, g, st[0], n);
        return;
    }
    const dsc__scal q = adamw_scalars(s);
    dsc__ops_adam.fast[sizeof(T) == sizeof(double)](&q, p, g, st, n);
}
#else
#define DSC_RULE_FILE "muon.c"
#include "rule_types.h"

static int muon_whole(const dsc_param *p) { return p->ndim == 2; }

/* eps is the whole divisor of a zero update (X / max(|X|, eps)): 0 would make it 0/0.
 * The other kinds add eps to a root and take eps 0 as torch does. */
static dsc_status muon_validate(const dsc_hparams *hp)
{
    if (hp->eps > 0) return DSC_OK;
    return dsc__fail(DSC_ERR_RANGE, "muon: eps must be > 0 (a zero update is divided by max(|X|, eps)), got %.17g",
                     hp->eps);
}

const dsc__ops dsc__ops_muon = {
    .kind = DSC_MUON,
    .state_names = muon_state,
    .validate = muon_validate,
    .prepare = muon_prepare,
    .reference = {muon_ref_f32, muon_ref_f64},
    .fast = {muon_fast_f32, muon_fast_f64},
    .whole_tensor = 1,
    .tensor_whole = muon_whole,
    .tensor_state = muon_tensor_state,
    .scratch_elems = muon_scratch,
};
#endif
