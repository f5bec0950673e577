/*
 * average.c: weight averaging in buffers of its own (torch.optim.swa_utils'
 * AveragedModel): an exponential moving average (get_ema_multi_avg_fn) or the
 * uniform SWA average. The first fold copies the parameters, as AveragedModel does
 * when n_averaged is 0; later folds apply
 *   ema: avg += (1 - decay) (p - avg)        swa: avg += (p - avg) / (n + 1)
 * The buffers start as a copy of the parameters (AveragedModel deep-copies the model),
 * so the average is usable before the first fold.
 * "ax" is ASGD's own average (torch.optim.ASGD's state['ax']): the optimizer folds it
 * in its step, so this average keeps no buffers of its own but borrows the state ax
 * (dsc_average_create_ax); update only counts, swap and checkpoints work as above.
 *
 * The file is read once plain, then its typed part (fold) once for float and once for
 * double (typed.h).
 */
#ifndef T
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum { AVG_EMA, AVG_SWA, AVG_AX } avg_kind;

struct dsc_average {
    avg_kind kind;
    double decay;
    int64_t every, start;
    int64_t updates, averaged;
    int swapped;
    size_t count;
    dsc_param *params; /* borrowed data pointers; names copied (checkpoints key by them) */
    void **avg; /* owned, but for ax: the optimizer's state buffers */
};

/* "ema(decay=0.999, every=1, start=0)", "swa(start=0, every=1)" or "ax" */
static dsc_status parse(dsc_average *a, const char *spec)
{
    dsc__spec sp;
    dsc_status st = dsc__spec_split(spec, "average", &sp);
    if (st) return st;
    if (!strcmp(sp.name, "ema")) a->kind = AVG_EMA;
    else if (!strcmp(sp.name, "swa")) a->kind = AVG_SWA;
    else if (!strcmp(sp.name, "ax")) a->kind = AVG_AX;
    else return dsc__fail(DSC_ERR_SPEC, "unknown average '%s' (known: ema, swa, ax)", sp.name);
    const char *who = sp.name;
    if (a->kind == AVG_AX && sp.count)
        return dsc__fail(DSC_ERR_SPEC, "ax: takes no keys (it is ASGD's average; its hyperparameter t0 is the "
                         "optimizer's), got '%s'", sp.items[0].key[0] ? sp.items[0].key : sp.items[0].value);
    a->decay = 0.999;
    a->every = 1;
    for (int i = 0; i < sp.count && !st; i++) {
        const dsc__spec_item *it = &sp.items[i];
        if (!strcmp(it->key, "decay") && a->kind == AVG_EMA) st = dsc__spec_double(who, "decay", it->value, &a->decay);
        else if (!strcmp(it->key, "every")) st = dsc__spec_int64(who, "every", it->value, &a->every);
        else if (!strcmp(it->key, "start")) st = dsc__spec_int64(who, "start", it->value, &a->start);
        else
            return dsc__fail(DSC_ERR_SPEC, "%s: unknown key '%s' (keys: %s)", who, it->key[0] ? it->key : it->value,
                             a->kind == AVG_EMA ? "decay, every, start" : "every, start");
    }
    if (st) return st;
    if (!(a->decay >= 0 && a->decay < 1))
        return dsc__fail(DSC_ERR_RANGE, "ema: decay must be in [0, 1), got %.17g", a->decay);
    if (a->every < 1) return dsc__fail(DSC_ERR_RANGE, "%s: every must be >= 1, got %lld", who, (long long)a->every);
    if (a->start < 0) return dsc__fail(DSC_ERR_RANGE, "%s: start must be >= 0, got %lld", who, (long long)a->start);
    return DSC_OK;
}

dsc_status dsc_average_create(dsc_average **out, const char *spec, const dsc_param *params, size_t count)
{
    if (!out || !spec || (!params && count)) return dsc__fail(DSC_ERR_ARG, "dsc_average_create: NULL argument");
    *out = NULL;
    if (!count) return dsc__fail(DSC_ERR_ARG, "dsc_average_create: no parameters");
    for (size_t i = 0; i < count; i++) {
        if (!params[i].data) return dsc__fail(DSC_ERR_ARG, "dsc_average_create: param %zu needs data", i);
        dsc_status st = dsc__param_check(&params[i], i);
        if (st) return st;
    }
    dsc_average *a = calloc(1, sizeof *a);
    if (!a) return dsc__fail(DSC_ERR_NOMEM, "average: out of memory");
    dsc_status st = parse(a, spec);
    if (!st && a->kind == AVG_AX)
        st = dsc__fail(DSC_ERR_ARG, "average: ax is ASGD's own average (its state ax); make it from the optimizer "
                       "with dsc_average_create_ax");
    if (!st) {
        a->params = calloc(count, sizeof *a->params);
        a->avg = calloc(count, sizeof *a->avg);
        if (!a->params || !a->avg) st = dsc__fail(DSC_ERR_NOMEM, "average: out of memory");
    }
    for (size_t i = 0; !st && i < count; i++) {
        a->count = i + 1;
        if ((st = dsc__param_copy(a->params, params, i))) break;
        size_t bytes = params[i].n * dsc_dtype_size(params[i].dtype);
        if (!(a->avg[i] = dsc__alloc(bytes))) st = dsc__fail(DSC_ERR_NOMEM, "average: out of memory for %zu bytes", bytes);
        else memcpy(a->avg[i], params[i].data, bytes);
    }
    if (st) {
        dsc_average_destroy(a);
        return st;
    }
    *out = a;
    return DSC_OK;
}

/* ASGD's ax of tensor i of opt, or NULL (another kind, or loaded without state). */
static void *ax_buffer(const dsc_optim *opt, size_t i)
{
    for (size_t k = 0; k < dsc_optim_state_count(opt, i); k++) {
        const char *name;
        void *data;
        if (!dsc_optim_state(opt, i, k, &name, &data) && !strcmp(name, "ax")) return data;
    }
    return NULL;
}

dsc_status dsc_average_create_ax(dsc_average **out, dsc_optim *opt)
{
    if (!out || !opt) return dsc__fail(DSC_ERR_ARG, "dsc_average_create_ax: NULL argument");
    *out = NULL;
    if (dsc_optim_kind(opt) != DSC_ASGD)
        return dsc__fail(DSC_ERR_ARG, "average: ax is ASGD's average of the parameters (its state ax); the optimizer "
                         "is %s", dsc_kind_name(dsc_optim_kind(opt)));
    size_t count = dsc_optim_param_count(opt);
    for (size_t i = 0; i < count; i++)
        if (!ax_buffer(opt, i))
            return dsc__fail(DSC_ERR_ARG, "average: ax is ASGD's state ax, and this optimizer holds none (loaded "
                             "without its state)");
    dsc_average *a = calloc(1, sizeof *a);
    if (!a) return dsc__fail(DSC_ERR_NOMEM, "average: out of memory");
    a->kind = AVG_AX;
    a->params = calloc(count, sizeof *a->params);
    a->avg = calloc(count, sizeof *a->avg);
    dsc_status st = a->params && a->avg ? DSC_OK : dsc__fail(DSC_ERR_NOMEM, "average: out of memory");
    for (size_t i = 0; !st && i < count; i++) {
        a->count = i + 1;
        a->params[i] = *dsc_optim_param(opt, i); /* named and shaped already (dsc__param_copy) */
        a->params[i].name = dsc__strdup(a->params[i].name);
        if (!a->params[i].name) st = dsc__fail(DSC_ERR_NOMEM, "average: out of memory");
        a->avg[i] = ax_buffer(opt, i);
    }
    if (st) {
        dsc_average_destroy(a);
        return st;
    }
    /* Before its first step ASGD's ax is zeros, and that step sets ax = p without
     * reading it: the parameters stand in, as an ema's or swa's buffers hold them
     * until their first fold. */
    if (dsc_optim_step_count(opt) == 0)
        for (size_t i = 0; i < count; i++)
            memcpy(a->avg[i], a->params[i].data, a->params[i].n * dsc_dtype_size(a->params[i].dtype));
    *out = a;
    return DSC_OK;
}

void dsc_average_destroy(dsc_average *a)
{
    if (!a) return;
    for (size_t i = 0; a->avg && i < a->count; i++) {
        if (a->kind != AVG_AX) dsc__free(a->avg[i]);
        free((char *)a->params[i].name);
    }
    free(a->avg);
    free(a->params);
    free(a);
}

#define DSC_TYPED_FILE "average.c"
#include "typed.h"
#endif

#ifdef T
/* avg += w (p - avg), with w = 1 - decay (ema) or 1 / (n + 1) (swa). */
static void FN(fold)(T *avg, const T *p, size_t n, T w)
{
    for (size_t i = 0; i < n; i++) avg[i] = avg[i] + w * (p[i] - avg[i]);
}
#endif

#ifndef T
dsc_status dsc_average_update(dsc_average *a)
{
    if (!a) return dsc__fail(DSC_ERR_ARG, "dsc_average_update: NULL average");
    if (a->swapped) return dsc__fail(DSC_ERR_ARG, "dsc_average_update: the average is swapped in; swap back first");
    int64_t t = ++a->updates;
    if (a->kind == AVG_AX) { /* the optimizer's step folded it */
        a->averaged = t;
        return DSC_OK;
    }
    if (t < a->start || t % a->every != 0) return DSC_OK;
    double w = a->averaged == 0 ? 1.0 : a->kind == AVG_EMA ? 1.0 - a->decay : 1.0 / (double)(a->averaged + 1);
    for (size_t i = 0; i < a->count; i++) {
        const dsc_param *p = &a->params[i];
        if (a->averaged == 0) memcpy(a->avg[i], p->data, p->n * dsc_dtype_size(p->dtype));
        else if (p->dtype == DSC_F32) fold_f32(a->avg[i], p->data, p->n, (float)w);
        else fold_f64(a->avg[i], p->data, p->n, w);
    }
    a->averaged++;
    return DSC_OK;
}

dsc_status dsc_average_copy_to(const dsc_average *a, size_t i, void *dst)
{
    if (!a || !dst || i >= a->count) return dsc__fail(DSC_ERR_ARG, "dsc_average_copy_to: NULL argument or no tensor %zu", i);
    memcpy(dst, a->swapped ? a->params[i].data : a->avg[i], a->params[i].n * dsc_dtype_size(a->params[i].dtype));
    return DSC_OK;
}

dsc_status dsc_average_swap(dsc_average *a)
{
    if (!a) return dsc__fail(DSC_ERR_ARG, "dsc_average_swap: NULL average");
    for (size_t i = 0; i < a->count; i++) {
        unsigned char *p = a->params[i].data, *q = a->avg[i];
        size_t bytes = a->params[i].n * dsc_dtype_size(a->params[i].dtype);
        for (size_t b = 0; b < bytes; b++) {
            unsigned char t = p[b];
            p[b] = q[b];
            q[b] = t;
        }
    }
    a->swapped = !a->swapped;
    return DSC_OK;
}

int dsc_average_swapped(const dsc_average *a) { return a ? a->swapped : 0; }
int64_t dsc_average_updates(const dsc_average *a) { return a ? a->updates : 0; }
int64_t dsc_average_averaged(const dsc_average *a) { return a ? a->averaged : 0; }

dsc_status dsc_average_buffer(const dsc_average *a, size_t i, const char **name, void **data)
{
    if (!a || i >= a->count) return dsc__fail(DSC_ERR_ARG, "dsc_average_buffer: no tensor %zu", i);
    if (name) *name = a->kind == AVG_EMA ? "ema" : a->kind == AVG_SWA ? "swa" : "ax";
    if (data) *data = a->swapped ? a->params[i].data : a->avg[i]; /* where the average is now */
    return DSC_OK;
}

dsc_status dsc_average_set_counters(dsc_average *a, int64_t updates, int64_t averaged)
{
    if (!a) return dsc__fail(DSC_ERR_ARG, "dsc_average_set_counters: NULL average");
    if (updates < 0 || averaged < 0 || averaged > updates || updates > DSC_MAX_COUNT)
        return dsc__fail(DSC_ERR_RANGE, "average counters must be in [0, 2^53] with averaged <= updates, got %lld, %lld",
                         (long long)updates, (long long)averaged);
    a->updates = updates;
    a->averaged = averaged;
    return DSC_OK;
}

size_t dsc_average_count(const dsc_average *a) { return a ? a->count : 0; }

int dsc__average_borrowed(const dsc_average *a) { return a && a->kind == AVG_AX; }

const dsc_param *dsc_average_param(const dsc_average *a, size_t i)
{
    return a && i < a->count ? &a->params[i] : NULL;
}

/* Every key, doubles with %.17g, so equal specs format to equal text. */
static size_t format(const dsc_average *a, char *buf, size_t size)
{
    if (a->kind == AVG_AX) return (size_t)snprintf(buf, size, "ax");
    int n = a->kind == AVG_EMA ? snprintf(buf, size, "ema(decay=%.17g, every=%lld, start=%lld)", a->decay,
                                          (long long)a->every, (long long)a->start)
                               : snprintf(buf, size, "swa(start=%lld, every=%lld)", (long long)a->start,
                                          (long long)a->every);
    return n < 0 ? 0 : (size_t)n;
}

size_t dsc_average_format(const dsc_average *a, char *buf, size_t size)
{
    if (!a) {
        if (buf && size) buf[0] = '\0';
        return 0;
    }
    return format(a, buf, size);
}

dsc_status dsc__average_canonical(const char *spec, char *buf, size_t size)
{
    dsc_average a;
    memset(&a, 0, sizeof a);
    dsc_status st = parse(&a, spec);
    if (!st) format(&a, buf, size);
    return st;
}
#endif
