/* regression.c: see regression.h. */
#include "regression.h"

#include <math.h>
#include <string.h>

/* A small LCG: the same numbers on every platform, no global state. */
static float next(unsigned *s)
{
    *s = *s * 1664525u + 1013904223u;
    return (float)((*s >> 8) & 0xffff) / 65536.0f * 2.0f - 1.0f;
}

void reg_make_data(reg_data *data, unsigned seed)
{
    unsigned s = seed;
    float w[REG_OUT][REG_IN];
    for (int o = 0; o < REG_OUT; o++)
        for (int i = 0; i < REG_IN; i++) w[o][i] = next(&s);
    for (int e = 0; e < REG_EXAMPLES; e++) {
        for (int i = 0; i < REG_IN; i++) data->x[e][i] = next(&s);
        for (int o = 0; o < REG_OUT; o++) {
            float y = 0.1f * next(&s) + 0.5f;
            for (int i = 0; i < REG_IN; i++) y += w[o][i] * data->x[e][i];
            data->t[e][o] = y;
        }
    }
}

void reg_init(reg_model *m, unsigned seed)
{
    unsigned s = seed * 7919u + 1u;
    memset(m, 0, sizeof *m);
    for (int k = 0; k < REG_N; k++) m->param[k] = 0.3f * next(&s);
    m->tensors[0] = (dsc_param){.name = "w", .data = m->param, .grad = m->grad, .n = REG_OUT * REG_IN,
                                .dtype = DSC_F32, .ndim = 2, .shape = {REG_OUT, REG_IN}};
    m->tensors[1] = (dsc_param){.name = "b", .data = m->param + REG_OUT * REG_IN,
                                .grad = m->grad + REG_OUT * REG_IN, .n = REG_OUT, .dtype = DSC_F32,
                                .flags = DSC_NO_DECAY, .group = 1};
}

double reg_grad(reg_model *m, const reg_data *data, int step, size_t batch, size_t lo, size_t hi)
{
    const float *w = m->param, *b = m->param + REG_OUT * REG_IN;
    float *gw = m->grad, *gb = m->grad + REG_OUT * REG_IN;
    double loss = 0;
    for (size_t k = lo; k < hi; k++) {
        size_t e = ((size_t)step * batch + k) % REG_EXAMPLES;
        for (int o = 0; o < REG_OUT; o++) {
            double y = b[o];
            for (int i = 0; i < REG_IN; i++) y += (double)w[o * REG_IN + i] * data->x[e][i];
            double r = y - data->t[e][o];
            loss += 0.5 * r * r / (double)batch;
            gb[o] += (float)(r / (double)batch);
            for (int i = 0; i < REG_IN; i++) gw[o * REG_IN + i] += (float)(r * data->x[e][i] / (double)batch);
        }
    }
    return loss;
}

double reg_train_local(dsc_optim *opt, reg_model *m, const reg_data *data, int first, int steps, size_t batch,
                       int nan_step)
{
    double loss = 0;
    for (int s = first; s < first + steps; s++) {
        memset(m->grad, 0, sizeof m->grad);
        loss = reg_grad(m, data, s, batch, 0, batch);
        if (s == nan_step) m->grad[3] = NAN;
        if (dsc_optim_step(opt) != DSC_OK) return NAN;
    }
    return loss;
}

double reg_train_dist(dsc_dist *d, reg_model *m, const reg_data *data, int first, int steps, size_t batch,
                      int nan_step)
{
    return reg_train_on(d, MPI_COMM_WORLD, m, data, first, steps, batch, nan_step);
}

double reg_train_on(dsc_dist *d, MPI_Comm comm, reg_model *m, const reg_data *data, int first, int steps,
                    size_t batch, int nan_step)
{
    int rank = dsc_dist_rank(d), size = dsc_dist_size(d);
    size_t lo, hi;
    dsc_dist_split(batch, rank, size, &lo, &hi);
    double loss = 0;
    for (int s = first; s < first + steps; s++) {
        dsc_dist_zero_grad(d);
        double mine = reg_grad(m, data, s, batch, lo, hi);
        if (s == nan_step && rank == size - 1) m->grad[3] = NAN;
        MPI_Allreduce(&mine, &loss, 1, MPI_DOUBLE, MPI_SUM, comm);
        if (dsc_dist_step(d) != DSC_OK) return NAN;
    }
    return loss;
}

dsc_dist *reg_dist(const char *spec, int zero, reg_model *m) { return reg_dist_buckets(spec, zero, m, 13); }

dsc_dist *reg_dist_buckets(const char *spec, int zero, reg_model *m, size_t bucket_elems)
{
    dsc_hparams hp;
    if (dsc_hparams_parse(spec, &hp) != DSC_OK) return NULL;
    dsc_dist_config cfg = dsc_dist_config_default();
    cfg.zero = zero;
    cfg.reduce = DSC_DIST_SUM;
    cfg.bucket_bytes = bucket_elems * sizeof(float);
    dsc_dist *d = NULL;
    dsc_dist_create(&d, MPI_COMM_WORLD, &hp, m->tensors, 2, &cfg);
    return d;
}

double reg_max_diff(const float *a, const float *b, size_t n)
{
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        double e = fabs((double)a[i] - (double)b[i]);
        if (!(e <= worst)) worst = e; /* NaN wins */
    }
    return worst;
}
