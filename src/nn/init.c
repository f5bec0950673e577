/*
 * init.c: weight initialisation. He (Kaiming) keeps the variance of ReLU layers'
 * outputs constant, Xavier (Glorot) that of symmetric activations; both in their
 * normal and uniform forms, drawn from the model's seeded generator.
 */
#include "nn.h"

#include <math.h>
#include <string.h>

static const char *const names[DSC_INIT_COUNT] = {
    "auto", "he_normal", "he_uniform", "xavier_normal", "xavier_uniform",
};

DSC__NAMED_ENUM(dsc_init, dsc_init_name, dsc_init_from_name, names, DSC_INIT_COUNT, "init")

static dsc_init resolve(dsc_init init, dsc_activation act)
{
    if (init != DSC_INIT_AUTO) return init;
    int relu_family = act == DSC_ACT_RELU || act == DSC_ACT_LEAKY_RELU || act == DSC_ACT_ELU ||
                      act == DSC_ACT_SELU;
    return relu_family ? DSC_INIT_HE_NORMAL : DSC_INIT_XAVIER_UNIFORM;
}

void dsc__init_layer(dsc_init init, dsc_activation act, dsc_dtype dt, dsc__rng *rng, size_t fan_in,
                     size_t fan_out, size_t n, void *w, size_t nb, void *b)
{
    init = resolve(init, act);
    int he = init == DSC_INIT_HE_NORMAL || init == DSC_INIT_HE_UNIFORM;
    int normal = init == DSC_INIT_HE_NORMAL || init == DSC_INIT_XAVIER_NORMAL;
    double var = he ? 2.0 / (double)fan_in : 2.0 / (double)(fan_in + fan_out);
    /* a uniform on [-l, l] has variance l^2 / 3 */
    double scale = normal ? sqrt(var) : sqrt(3 * var);
    for (size_t i = 0; i < n; i++) {
        double v = normal ? scale * dsc__rng_normal(rng) : scale * (2 * dsc__rng_uniform(rng) - 1);
        if (dt == DSC_F32) ((float *)w)[i] = (float)v;
        else ((double *)w)[i] = v;
    }
    memset(b, 0, nb * dsc_dtype_size(dt));
}
