/*
 * model.c: a network as a sequence of layers. It reads a model spec
 * ("conv2d(16,k=5,pad=2),relu,maxpool2d(2),flatten,dense(10)") or an MLP
 * configuration (a dense stack: fc1, activation, dropout, fc2, ...) into the same
 * list, follows the shape of a row through it (every error names the layer and the
 * shape it met), names the tensors like PyTorch's modules and lays them out in the
 * one parameter buffer. Planning allocates nothing, so a checkpoint's description
 * is checked before the model it asks for is created.
 */
#include "nn.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* Per-kind counters name the layers: conv1, conv2, fc1, bn1, ... */
typedef struct planner {
    dsc__layer *layers;
    int n;
    int count[DSC__KIND_COUNT + DSC_ACT_COUNT];
    int image;             /* the current row is an image */
    size_t c, h, w;        /* its shape (flat: c values) */
    size_t nweights, nstats;
    int nparams;
    const dsc_mlp_config *cfg;
} planner;

#define MAX_EXTENT ((size_t)1 << 24)

static const char *const kind_names[DSC__KIND_COUNT] = {
    "fc", "conv", "maxpool", "avgpool", "flatten", "bn", "dropout", "act",
};

static size_t rows_of(const planner *p) { return p->image ? p->c * p->h * p->w : p->c; }

static void shape_text(const planner *p, char *buf, size_t size)
{
    if (p->image) snprintf(buf, size, "%zux%zux%zu", p->c, p->h, p->w);
    else snprintf(buf, size, "%zu features", p->c);
}

/* A new layer of kind at the current shape, named <kind><count>. */
static dsc_status add_layer(planner *p, dsc__kind kind, dsc_activation act, dsc__layer **out)
{
    if (p->n == DSC__MAX_NET_LAYERS)
        return dsc__fail(DSC_ERR_RANGE, "model: at most %d layers", DSC__MAX_NET_LAYERS);
    dsc__layer *l = &p->layers[p->n++];
    memset(l, 0, sizeof *l);
    l->kind = kind;
    l->act = act;
    l->param = -1;
    int *count = &p->count[kind == DSC__ACT ? DSC__KIND_COUNT + (int)act : (int)kind];
    ++*count;
    snprintf(l->name, sizeof l->name, "%s%d", kind == DSC__ACT ? dsc_activation_name(act) : kind_names[kind], *count);
    l->image_in = p->image;
    l->ic = p->c, l->ih = p->image ? p->h : 1, l->iw = p->image ? p->w : 1;
    l->in = rows_of(p);
    *out = l;
    return DSC_OK;
}

/* Sets the layer's output shape and moves the planner to it. */
static dsc_status set_output(planner *p, dsc__layer *l, int image, size_t c, size_t h, size_t w)
{
    p->image = image, p->c = c, p->h = image ? h : 1, p->w = image ? w : 1;
    l->image_out = image;
    l->oc = c, l->oh = p->h, l->ow = p->w;
    l->out = rows_of(p);
    if (c > MAX_EXTENT || l->out > MAX_EXTENT)
        return dsc__fail(DSC_ERR_RANGE, "model: %s gives rows of %zu values (at most 2^24)", l->name, l->out);
    return DSC_OK;
}

/* Weight and bias tensors of nw and nb values. */
static void add_params(planner *p, dsc__layer *l, size_t nw, size_t nb)
{
    l->param = p->nparams;
    p->nparams += 2;
    l->w_off = p->nweights;
    p->nweights += nw;
    l->b_off = p->nweights;
    p->nweights += nb;
}

static dsc_status dense(planner *p, size_t out)
{
    dsc__layer *l = NULL;
    dsc_status st = add_layer(p, DSC__DENSE, DSC_ACT_LINEAR, &l);
    if (st) return st;
    if (p->image) {
        char s[64];
        shape_text(p, s, sizeof s);
        return dsc__fail(DSC_ERR_MISMATCH, "model: %s takes flat rows, got %s images (add flatten before it)", l->name, s);
    }
    if (out < 1 || out > MAX_EXTENT)
        return dsc__fail(DSC_ERR_RANGE, "model: %s: out must be in [1, 2^24], got %zu", l->name, out);
    if (l->in > MAX_EXTENT / out || p->nweights > SIZE_MAX / 4 - l->in * out)
        return dsc__fail(DSC_ERR_RANGE, "model: %s has too many weights (%zu x %zu)", l->name, out, l->in);
    add_params(p, l, l->in * out, out);
    return set_output(p, l, 0, out, 1, 1);
}

/* The output extent of a window of k at stride s over n padded by pad on each side. */
static dsc_status window(const dsc__layer *l, const char *axis, size_t n, size_t k, size_t s, size_t pad, size_t *out)
{
    if (k < 1 || s < 1 || k > MAX_EXTENT || s > MAX_EXTENT || pad > MAX_EXTENT)
        return dsc__fail(DSC_ERR_RANGE, "model: %s: kernel and stride must be >= 1, got %zu and %zu", l->name, k, s);
    if (k > n + 2 * pad)
        return dsc__fail(DSC_ERR_MISMATCH, "model: %s: kernel %zu is larger than its input's %s %zu (padded: %zu)",
                         l->name, k, axis, n, n + 2 * pad);
    *out = (n + 2 * pad - k) / s + 1;
    return DSC_OK;
}

static dsc_status need_image(const planner *p, const dsc__layer *l)
{
    if (p->image) return DSC_OK;
    return dsc__fail(DSC_ERR_MISMATCH, "model: %s takes C x H x W images, got flat rows of %zu features (give the "
                     "input's shape)", l->name, p->c);
}

static dsc_status conv(planner *p, size_t out, size_t k, size_t s, size_t pad)
{
    dsc__layer *l = NULL;
    dsc_status st = add_layer(p, DSC__CONV, DSC_ACT_LINEAR, &l);
    if (!st) st = need_image(p, l);
    if (!st && (out < 1 || out > MAX_EXTENT))
        st = dsc__fail(DSC_ERR_RANGE, "model: %s: out channels must be in [1, 2^24], got %zu", l->name, out);
    size_t oh = 0, ow = 0;
    if (!st) st = window(l, "height", p->h, k, s, pad, &oh);
    if (!st) st = window(l, "width", p->w, k, s, pad, &ow);
    if (!st && (k * k > MAX_EXTENT / p->c || out > MAX_EXTENT / (p->c * k * k)))
        st = dsc__fail(DSC_ERR_RANGE, "model: %s has too many weights", l->name);
    if (!st && pad >= k)
        st = dsc__fail(DSC_ERR_RANGE, "model: %s: pad must be smaller than the kernel, got %zu and %zu", l->name, pad,
                       k);
    if (st) return st;
    l->k = k, l->stride = s, l->pad = pad;
    add_params(p, l, out * p->c * k * k, out);
    return set_output(p, l, 1, out, oh, ow);
}

static dsc_status pool(planner *p, dsc__kind kind, size_t k, size_t s, size_t pad)
{
    dsc__layer *l = NULL;
    dsc_status st = add_layer(p, kind, DSC_ACT_LINEAR, &l);
    if (!st) st = need_image(p, l);
    if (!st && 2 * pad > k)
        st = dsc__fail(DSC_ERR_RANGE, "model: %s: pad must be at most half the kernel, got %zu and %zu", l->name, pad, k);
    size_t oh = 0, ow = 0;
    if (!st) st = window(l, "height", p->h, k, s, pad, &oh);
    if (!st) st = window(l, "width", p->w, k, s, pad, &ow);
    if (st) return st;
    l->k = k, l->stride = s, l->pad = pad;
    return set_output(p, l, 1, p->c, oh, ow);
}

static dsc_status batchnorm(planner *p, int dims, double eps, double momentum)
{
    dsc__layer *l = NULL;
    dsc_status st = add_layer(p, DSC__BATCHNORM, DSC_ACT_LINEAR, &l);
    if (st) return st;
    if (dims && (dims == 2) != p->image) {
        char s[64];
        shape_text(p, s, sizeof s);
        return dsc__fail(DSC_ERR_MISMATCH, "model: %s: batchnorm%dd takes %s, got %s", l->name, dims,
                         dims == 2 ? "images" : "flat rows", s);
    }
    if (!(eps > 0 && eps < 1)) return dsc__fail(DSC_ERR_RANGE, "model: %s: eps must be in (0, 1), got %g", l->name, eps);
    if (!(momentum >= 0 && momentum <= 1))
        return dsc__fail(DSC_ERR_RANGE, "model: %s: momentum must be in [0, 1], got %g", l->name, momentum);
    l->eps = eps, l->momentum = momentum;
    add_params(p, l, p->c, p->c);
    l->s_off = p->nstats;
    p->nstats += 2 * p->c;
    return set_output(p, l, p->image, p->c, p->h, p->w);
}

static dsc_status simple(planner *p, dsc__kind kind, dsc_activation act, double prob)
{
    dsc__layer *l = NULL;
    dsc_status st = add_layer(p, kind, act, &l);
    if (st) return st;
    if (kind == DSC__DROPOUT && !(prob >= 0 && prob < 1))
        return dsc__fail(DSC_ERR_RANGE, "model: %s: p must be in [0, 1), got %g", l->name, prob);
    l->p = prob;
    if (kind == DSC__FLATTEN) return set_output(p, l, 0, rows_of(p), 1, 1);
    return set_output(p, l, p->image, p->c, p->h, p->w);
}

/* ---------------------------------------------------------------- the spec */

/* An argument given by its key only. */
#define KEY_ONLY (-1)

/* The positional item pos or the keyed one (positional first), as a size; def when absent. */
static dsc_status size_arg(const dsc__spec *sp, int pos, const char *key, long long def, size_t *out)
{
    const char *text = NULL;
    int npos = 0;
    for (int i = 0; i < sp->count; i++) {
        if (!sp->items[i].key[0] && npos++ == pos) text = sp->items[i].value;
        if (!strcmp(sp->items[i].key, key)) {
            if (text) return dsc__fail(DSC_ERR_SPEC, "model: %s: %s given twice", sp->name, key);
            text = sp->items[i].value;
        }
    }
    if (!text) {
        if (def < 0) return dsc__fail(DSC_ERR_SPEC, "model: %s needs %s", sp->name, key);
        *out = (size_t)def;
        return DSC_OK;
    }
    int64_t v;
    dsc_status st = dsc__spec_int64(sp->name, key, text, &v);
    if (st) return st;
    if (v < 0 || (uint64_t)v > MAX_EXTENT)
        return dsc__fail(DSC_ERR_RANGE, "model: %s: %s must be in [0, 2^24], got %lld", sp->name, key, (long long)v);
    *out = (size_t)v;
    return DSC_OK;
}

static dsc_status double_arg(const dsc__spec *sp, int pos, const char *key, double def, double *out)
{
    *out = def;
    int npos = 0;
    for (int i = 0; i < sp->count; i++)
        if ((!sp->items[i].key[0] && npos++ == pos) || !strcmp(sp->items[i].key, key))
            return dsc__spec_double(sp->name, key, sp->items[i].value, out);
    return DSC_OK;
}

/* Every item is one the layer takes: positional ones up to npos, keys from keys. */
static dsc_status known_args(const dsc__spec *sp, int npos, const char *const *keys)
{
    int pos = 0;
    for (int i = 0; i < sp->count; i++) {
        const char *k = sp->items[i].key;
        if (!k[0]) {
            if (++pos > npos)
                return dsc__fail(DSC_ERR_SPEC, "model: %s takes at most %d positional argument%s", sp->name, npos,
                                 npos == 1 ? "" : "s");
            continue;
        }
        int ok = 0;
        for (int j = 0; keys[j]; j++) ok |= !strcmp(k, keys[j]);
        if (!ok) return dsc__fail(DSC_ERR_SPEC, "model: %s has no argument '%s'", sp->name, k);
    }
    return DSC_OK;
}

static dsc_status layer_from_spec(planner *p, const dsc__spec *sp)
{
    static const char *const conv_keys[] = {"out", "k", "stride", "pad", NULL};
    static const char *const pool_keys[] = {"k", "stride", "pad", NULL};
    static const char *const bn_keys[] = {"eps", "momentum", NULL};
    static const char *const p_keys[] = {"p", NULL};
    static const char *const out_keys[] = {"out", NULL};
    static const char *const none[] = {NULL};
    const char *n = sp->name;
    dsc_status st;
    size_t out, k, s, pad;
    if (!strcmp(n, "conv2d")) {
        if ((st = known_args(sp, 2, conv_keys)) || (st = size_arg(sp, 0, "out", -1, &out)) ||
            (st = size_arg(sp, 1, "k", -1, &k)) || (st = size_arg(sp, KEY_ONLY, "stride", 1, &s)) ||
            (st = size_arg(sp, KEY_ONLY, "pad", 0, &pad)))
            return st;
        return conv(p, out, k, s, pad);
    }
    if (!strcmp(n, "maxpool2d") || !strcmp(n, "avgpool2d")) {
        if ((st = known_args(sp, 1, pool_keys)) || (st = size_arg(sp, 0, "k", -1, &k)) ||
            (st = size_arg(sp, KEY_ONLY, "stride", (long long)k, &s)) || (st = size_arg(sp, KEY_ONLY, "pad", 0, &pad)))
            return st;
        return pool(p, n[0] == 'm' ? DSC__MAXPOOL : DSC__AVGPOOL, k, s, pad);
    }
    if (!strcmp(n, "dense") || !strcmp(n, "linear")) {
        if ((st = known_args(sp, 1, out_keys)) || (st = size_arg(sp, 0, "out", -1, &out))) return st;
        return dense(p, out);
    }
    if (!strcmp(n, "batchnorm") || !strcmp(n, "batchnorm1d") || !strcmp(n, "batchnorm2d")) {
        double eps, momentum;
        if ((st = known_args(sp, 0, bn_keys)) || (st = double_arg(sp, KEY_ONLY, "eps", 1e-5, &eps)) ||
            (st = double_arg(sp, KEY_ONLY, "momentum", 0.1, &momentum)))
            return st;
        return batchnorm(p, n[9] ? n[9] - '0' : 0, eps, momentum);
    }
    if (!strcmp(n, "dropout")) {
        double prob;
        if ((st = known_args(sp, 1, p_keys)) || (st = double_arg(sp, 0, "p", 0.5, &prob))) return st;
        return simple(p, DSC__DROPOUT, DSC_ACT_LINEAR, prob);
    }
    if ((st = known_args(sp, 0, none))) return st;
    if (!strcmp(n, "flatten")) return simple(p, DSC__FLATTEN, DSC_ACT_LINEAR, 0);
    dsc_activation act;
    if (dsc_activation_from_name(n, &act) == DSC_OK) return simple(p, DSC__ACT, act, 0);
    return dsc__fail(DSC_ERR_SPEC, "model: unknown layer '%s' (conv2d, maxpool2d, avgpool2d, flatten, dense, "
                     "batchnorm, dropout or an activation)", n);
}

/* Splits the spec at its top-level commas and plans each layer. */
static dsc_status plan_spec(planner *p, const char *text)
{
    const char *item = text;
    int depth = 0;
    for (const char *s = text;; s++) {
        if (*s == '(' || *s == '[') depth++;
        if ((*s == ')' || *s == ']') && depth > 0) depth--;
        if (*s && (*s != ',' || depth > 0)) continue;
        char buf[DSC__SPEC_MAX_TEXT];
        size_t len = (size_t)(s - item);
        if (len >= sizeof buf) return dsc__fail(DSC_ERR_SPEC, "model: layer %d is too long", p->n + 1);
        memcpy(buf, item, len);
        buf[len] = '\0';
        dsc__spec sp;
        dsc_status st = dsc__spec_split(buf, "model layer", &sp);
        if (!st) st = layer_from_spec(p, &sp);
        if (st) return st;
        if (!*s) return DSC_OK;
        item = s + 1;
    }
}

/* The dense stack of an MLP configuration: fc1, activation, dropout, fc2, ... */
static dsc_status plan_mlp(planner *p, const dsc_mlp_config *c)
{
    for (int i = 0; i < c->layers; i++) {
        int last = i == c->layers - 1;
        dsc_activation act = last ? c->output : c->hidden;
        dsc_status st = dense(p, c->sizes[i + 1]);
        if (!st && act != DSC_ACT_LINEAR) st = simple(p, DSC__ACT, act, 0);
        if (!st && !last && c->dropout > 0) st = simple(p, DSC__DROPOUT, DSC_ACT_LINEAR, c->dropout);
        if (st) return st;
    }
    return DSC_OK;
}

dsc_status dsc__net_plan(const dsc_mlp_config *cfg, dsc__layer *layers, int *nlayers, size_t *nweights,
                         size_t *nstats, int *nparams)
{
    planner p = {.layers = layers, .cfg = cfg};
    dsc_status st;
    if (cfg->model) {
        const size_t *s = cfg->shape;
        p.image = s[1] > 0 || s[2] > 0;
        p.c = s[0], p.h = p.image ? s[1] : 1, p.w = p.image ? s[2] : 1;
        if (s[0] < 1 || (p.image && (s[1] < 1 || s[2] < 1)) || s[0] > MAX_EXTENT || s[1] > MAX_EXTENT ||
            s[2] > MAX_EXTENT || rows_of(&p) > MAX_EXTENT)
            return dsc__fail(DSC_ERR_RANGE, "model: the input shape must be C x H x W (or C features) with at most "
                             "2^24 values, got %zux%zux%zu", s[0], s[1], s[2]);
        st = plan_spec(&p, cfg->model);
    } else {
        p.c = cfg->sizes[0], p.h = p.w = 1;
        st = plan_mlp(&p, cfg);
    }
    if (st) return st;
    if (p.n == 0) return dsc__fail(DSC_ERR_SPEC, "model: no layers");
    /* dense and conv weights are drawn for the activation that follows them */
    for (int i = 0; i + 1 < p.n; i++)
        if ((layers[i].kind == DSC__DENSE || layers[i].kind == DSC__CONV) && layers[i + 1].kind == DSC__ACT)
            layers[i].act = layers[i + 1].act;
    *nlayers = p.n;
    *nweights = p.nweights;
    *nstats = p.nstats;
    *nparams = p.nparams;
    return DSC_OK;
}

void dsc__layer_tensor(const dsc__layer *l, int j, const char **suffix, int *ndim, size_t shape[4])
{
    *suffix = j ? "bias" : "weight";
    memset(shape, 0, 4 * sizeof *shape);
    *ndim = 1;
    shape[0] = l->oc;
    if (j || l->kind == DSC__BATCHNORM) return;
    if (l->kind == DSC__DENSE) {
        *ndim = 2;
        shape[1] = l->in;
        return;
    }
    *ndim = 4;
    shape[1] = l->ic, shape[2] = l->k, shape[3] = l->k;
}

dsc_status dsc__net_check(const dsc__layer *layers, int nlayers, int nparams)
{
    if (layers[nlayers - 1].image_out || !nparams)
        return dsc__fail(DSC_ERR_MISMATCH, "model: the network must have a layer with weights and end in flat rows%s",
                         layers[nlayers - 1].image_out ? " (add flatten)" : "");
    return DSC_OK;
}

dsc_activation dsc__net_output_act(const dsc_mlp *m)
{
    const dsc__layer *l = &m->layer[m->nlayers - 1];
    return l->kind == DSC__ACT ? l->act : DSC_ACT_LINEAR;
}
