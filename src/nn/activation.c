/*
 * activation.c: activation functions and their derivatives, written once over the
 * element type T. The backward passes use only the outputs a (every function here
 * has a derivative expressible through its output), so the forward pass works in
 * place and no pre-activation buffer is kept. The file is read once plain, then its
 * typed part once per element type (core/typed.h).
 */
#ifndef T
#include "nn.h"

#include <math.h>

static const char *const names[DSC_ACT_COUNT] = {
    "linear", "relu", "leaky_relu", "elu", "selu", "tanh", "sigmoid", "softmax",
};

DSC__NAMED_ENUM(dsc_activation, dsc_activation_name, dsc_activation_from_name, names, DSC_ACT_COUNT, "activation")

/* SELU's constants (Klambauer et al. 2017) */
#define SELU_L 1.0507009873554804934193349852946
#define SELU_A 1.6732632423543772848170429916717

/* the float function for a float x: exp would compute in double and round */
#define EXP(x) _Generic((x), float: expf, default: exp)(x)
#define TANH(x) _Generic((x), float: tanhf, default: tanh)(x)

#define DSC_TYPED_FILE "../nn/activation.c" /* relative to typed.h */
#include "../core/typed.h"
#endif

#ifdef T
/* ---- the kernels, for element type T */

static void FN(forward)(dsc_activation act, const dsc__act_params *p, T *a, size_t n, size_t k)
{
    size_t len = n * k;
    const T s = (T)p->leaky_slope, al = (T)p->elu_alpha;
    switch (act) {
    case DSC_ACT_RELU:
        for (size_t i = 0; i < len; i++) a[i] = a[i] > 0 ? a[i] : 0;
        break;
    case DSC_ACT_LEAKY_RELU:
        for (size_t i = 0; i < len; i++) a[i] = a[i] > 0 ? a[i] : s * a[i];
        break;
    case DSC_ACT_ELU:
        for (size_t i = 0; i < len; i++) a[i] = a[i] > 0 ? a[i] : al * (EXP(a[i]) - 1);
        break;
    case DSC_ACT_SELU:
        for (size_t i = 0; i < len; i++)
            a[i] = (T)SELU_L * (a[i] > 0 ? a[i] : (T)SELU_A * (EXP(a[i]) - 1));
        break;
    case DSC_ACT_TANH:
        for (size_t i = 0; i < len; i++) a[i] = TANH(a[i]);
        break;
    case DSC_ACT_SIGMOID: /* never exp of a large positive number */
        for (size_t i = 0; i < len; i++) {
            T e = EXP(a[i] > 0 ? -a[i] : a[i]);
            a[i] = a[i] > 0 ? 1 / (1 + e) : e / (1 + e);
        }
        break;
    case DSC_ACT_SOFTMAX: /* shifted by the row's maximum */
        for (size_t r = 0; r < n; r++) {
            T *row = a + r * k, mx = row[0], sum = 0;
            for (size_t j = 1; j < k; j++) mx = row[j] > mx ? row[j] : mx;
            for (size_t j = 0; j < k; j++) sum += (row[j] = EXP(row[j] - mx));
            for (size_t j = 0; j < k; j++) row[j] /= sum;
        }
        break;
    default:
        break;
    }
}

static void FN(backward)(dsc_activation act, const dsc__act_params *p, const T *a, T *d, size_t n,
                         size_t k)
{
    size_t len = n * k;
    const T s = (T)p->leaky_slope, al = (T)p->elu_alpha;
    switch (act) {
    case DSC_ACT_RELU:
        for (size_t i = 0; i < len; i++) d[i] = a[i] > 0 ? d[i] : 0;
        break;
    case DSC_ACT_LEAKY_RELU:
        for (size_t i = 0; i < len; i++) d[i] = a[i] > 0 ? d[i] : s * d[i];
        break;
    case DSC_ACT_ELU: /* f' = f + alpha below 0 */
        for (size_t i = 0; i < len; i++) d[i] = a[i] > 0 ? d[i] : (a[i] + al) * d[i];
        break;
    case DSC_ACT_SELU:
        for (size_t i = 0; i < len; i++)
            d[i] = a[i] > 0 ? (T)SELU_L * d[i] : (a[i] + (T)(SELU_L * SELU_A)) * d[i];
        break;
    case DSC_ACT_TANH:
        for (size_t i = 0; i < len; i++) d[i] = (1 - a[i] * a[i]) * d[i];
        break;
    case DSC_ACT_SIGMOID:
        for (size_t i = 0; i < len; i++) d[i] = a[i] * (1 - a[i]) * d[i];
        break;
    case DSC_ACT_SOFTMAX: /* J^T d = a * (d - <a, d>) per row */
        for (size_t r = 0; r < n; r++) {
            const T *ar = a + r * k;
            T *dr = d + r * k, dot = 0;
            for (size_t j = 0; j < k; j++) dot += ar[j] * dr[j];
            for (size_t j = 0; j < k; j++) dr[j] = ar[j] * (dr[j] - dot);
        }
        break;
    default:
        break;
    }
}
#endif

#ifndef T
void dsc__act_forward(dsc_activation act, dsc_dtype dt, const dsc__act_params *p, void *a,
                      size_t n, size_t k)
{
    if (dt == DSC_F32) forward_f32(act, p, a, n, k);
    else forward_f64(act, p, a, n, k);
}

void dsc__act_backward(dsc_activation act, dsc_dtype dt, const dsc__act_params *p,
                       const void *a, void *d, size_t n, size_t k)
{
    if (dt == DSC_F32) backward_f32(act, p, a, d, n, k);
    else backward_f64(act, p, a, d, n, k);
}
#endif
