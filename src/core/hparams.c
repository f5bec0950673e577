/*
 * hparams.c: the optimizer kinds' defaults (PyTorch's), validation and the
 * optimizer spec string. One table describes every key: its type, which kinds take
 * it and its allowed range, so parsing, validation and formatting agree.
 */
#include "internal.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define K(kind) (1u << (kind))
#define K_ALL ((1u << DSC_KIND_COUNT) - 1u)
#define K_ADAMS (K(DSC_ADAM) | K(DSC_ADAMW) | K(DSC_ADAMAX) | K(DSC_NADAM) | K(DSC_RADAM) | K(DSC_ADABELIEF))
#define K_EPS (K_ADAMS | K(DSC_ADAGRAD) | K(DSC_RMSPROP) | K(DSC_ADADELTA) | K(DSC_LAMB) | K(DSC_LARS) | \
               K(DSC_SCHEDULEFREE_ADAMW) | K(DSC_MUON) | K(DSC_SPARSE_ADAM))
#define K_BETAS (K_ADAMS | K(DSC_LION) | K(DSC_LAMB) | K(DSC_SCHEDULEFREE_ADAMW) | K(DSC_SPARSE_ADAM))


dsc_hparams dsc_hparams_default(dsc_kind kind)
{
    dsc_hparams hp;
    memset(&hp, 0, sizeof hp);
    hp.kind = kind;
    hp.lr = 1e-3;
    hp.alpha = 0.99;
    hp.rho = 0.9;
    hp.beta1 = 0.9;
    hp.beta2 = 0.999;
    hp.eps = 1e-8;
    hp.momentum_decay = 4e-3;
    hp.clip_norm_type = 2.0;
    hp.nonfinite = DSC_NONFINITE_SKIP;
    hp.bias_correction = 1;
    hp.trust_coefficient = 1e-3;
    hp.weight_lr_power = 2.0;
    hp.ns_steps = 5;
    hp.adamw_lr = 3e-4;
    hp.adamw_beta1 = 0.9;
    hp.adamw_beta2 = 0.95;
    hp.adamw_eps = 1e-10;
    hp.lookahead_alpha = 0.5;
    hp.accumulate = 1;
    hp.eta_minus = 0.5;
    hp.eta_plus = 1.2;
    hp.step_size_min = 1e-6;
    hp.step_size_max = 50;
    hp.lambd = 1e-4;
    hp.t0 = 1e6;
    hp.max_iter = 20;
    hp.tolerance_grad = 1e-7;
    hp.tolerance_change = 1e-9;
    hp.history_size = 100;
    hp.beta2_decay = -0.8;
    hp.eps1 = DSC_EPS1_DTYPE;
    hp.eps2 = 1e-3;
    hp.d = 1.0;
    switch (kind) {
    case DSC_ADAGRAD: hp.lr = 1e-2; hp.eps = 1e-10; break;
    case DSC_RMSPROP: hp.lr = 1e-2; break;
    case DSC_ADADELTA: hp.lr = 1.0; hp.eps = 1e-6; break;
    case DSC_ADAMW: hp.weight_decay = 1e-2; hp.decoupled_weight_decay = 1; break;
    case DSC_ADAMAX: hp.lr = 2e-3; break;
    case DSC_NADAM: hp.lr = 2e-3; break;
    /* adabelief-pytorch 0.2: eps 1e-16, weight_decouple=True */
    case DSC_ADABELIEF: hp.eps = 1e-16; hp.decoupled_weight_decay = 1; break;
    /* google/automl lion_pytorch.py */
    case DSC_LION: hp.lr = 1e-4; hp.beta2 = 0.99; hp.decoupled_weight_decay = 1; break;
    /* NVIDIA apex FusedLAMB and timm Lamb */
    case DSC_LAMB: hp.eps = 1e-6; hp.weight_decay = 1e-2; break;
    /* timm Lars (lr 1, trust 1e-3, eps 1e-8); momentum 0.9 as in the paper */
    case DSC_LARS: hp.lr = 1.0; hp.momentum = 0.9; break;
    /* facebookresearch/schedule_free AdamWScheduleFree */
    case DSC_SCHEDULEFREE_ADAMW: hp.lr = 2.5e-3; break;
    /* torch.optim.Muon */
    case DSC_MUON: hp.momentum = 0.95; hp.nesterov = 1; hp.eps = 1e-7; hp.weight_decay = 0.1;
        hp.decoupled_weight_decay = 1; break;
    /* torch.optim.Rprop and torch.optim.ASGD */
    case DSC_RPROP: hp.lr = 1e-2; break;
    case DSC_ASGD: hp.lr = 1e-2; hp.alpha = 0.75; break;
    /* torch.optim.LBFGS (max_eval 0: max_iter * 5 / 4, its None) */
    case DSC_LBFGS: hp.lr = 1.0; break;
    /* torch.optim.Adafactor (2.5): its weight decay is decoupled (p *= 1 - lr*wd) */
    case DSC_ADAFACTOR: hp.lr = 1e-2; hp.decoupled_weight_decay = 1; break;
    default: break;
    }
    return hp;
}

/* ---------------------------------------------------------------- the key table */

typedef enum { T_DOUBLE, T_BOOL, T_INT64, T_NONFINITE, T_ADJUST, T_STATE_DTYPE, T_LINE_SEARCH } ftype;

enum {
    LO_OPEN = 1,   /* lo is excluded */
    HI_OPEN = 2,   /* hi is excluded */
    INF_OK = 4,    /* +infinity is allowed (norm type) */
    NONE_OK = 8    /* DSC_EPS1_DTYPE is allowed, written None (adafactor's eps1) */
};

typedef struct field {
    const char *key;
    ftype type;
    size_t off;
    unsigned kinds;
    double lo, hi;
    unsigned flags;
} field;

#define OFF(f) offsetof(dsc_hparams, f)

static const field fields[] = {
    /* lr 0 and eps 0 as torch takes them (0 <= lr, 0 <= eps): a frozen group, the end of a
     * cosine or polynomial schedule; Muon alone refuses eps 0 (muon.c) */
    {"lr", T_DOUBLE, OFF(lr), K_ALL, 0, INFINITY, HI_OPEN},
    {"momentum", T_DOUBLE, OFF(momentum), K(DSC_SGD) | K(DSC_RMSPROP) | K(DSC_LARS) | K(DSC_MUON), 0, 1, HI_OPEN},
    {"dampening", T_DOUBLE, OFF(dampening), K(DSC_SGD), 0, 1, 0},
    {"nesterov", T_BOOL, OFF(nesterov), K(DSC_SGD) | K(DSC_MUON), 0, 1, 0},
    {"lr_in_buffer", T_BOOL, OFF(lr_in_buffer), K(DSC_SGD), 0, 1, 0},
    {"lr_decay", T_DOUBLE, OFF(lr_decay), K(DSC_ADAGRAD), 0, INFINITY, HI_OPEN},
    {"initial_accumulator_value", T_DOUBLE, OFF(initial_accumulator_value), K(DSC_ADAGRAD), 0, INFINITY, HI_OPEN},
    {"alpha", T_DOUBLE, OFF(alpha), K(DSC_RMSPROP) | K(DSC_ASGD), 0, 1, 0},
    {"centered", T_BOOL, OFF(centered), K(DSC_RMSPROP), 0, 1, 0},
    {"rho", T_DOUBLE, OFF(rho), K(DSC_ADADELTA), 0, 1, 0},
    {"beta1", T_DOUBLE, OFF(beta1), K_BETAS, 0, 1, HI_OPEN},
    {"beta2", T_DOUBLE, OFF(beta2), K_BETAS, 0, 1, HI_OPEN},
    {"eps", T_DOUBLE, OFF(eps), K_EPS, 0, INFINITY, HI_OPEN},
    {"amsgrad", T_BOOL, OFF(amsgrad), K(DSC_ADAM) | K(DSC_ADAMW) | K(DSC_ADABELIEF), 0, 1, 0},
    {"momentum_decay", T_DOUBLE, OFF(momentum_decay), K(DSC_NADAM), 0, INFINITY, HI_OPEN},
    {"weight_decay", T_DOUBLE, OFF(weight_decay), K_ALL, 0, INFINITY, HI_OPEN},
    {"decoupled_weight_decay", T_BOOL, OFF(decoupled_weight_decay), K_ALL, 0, 1, 0},
    {"l1", T_DOUBLE, OFF(l1), K_ALL, 0, INFINITY, HI_OPEN},
    {"maximize", T_BOOL, OFF(maximize), K_ALL, 0, 1, 0},
    {"clip_norm", T_DOUBLE, OFF(clip_norm), K_ALL, 0, INFINITY, HI_OPEN},
    {"clip_norm_type", T_DOUBLE, OFF(clip_norm_type), K_ALL, 0, INFINITY, LO_OPEN | INF_OK},
    {"clip_per_tensor", T_BOOL, OFF(clip_per_tensor), K_ALL, 0, 1, 0},
    {"clip_value", T_DOUBLE, OFF(clip_value), K_ALL, 0, INFINITY, HI_OPEN},
    {"nonfinite", T_NONFINITE, OFF(nonfinite), K_ALL, 0, 2, 0},
    {"max_consecutive_skips", T_INT64, OFF(max_consecutive_skips), K_ALL, 0, 9e15, 0},
    {"bias_correction", T_BOOL, OFF(bias_correction), K(DSC_LAMB), 0, 1, 0},
    {"trust_coefficient", T_DOUBLE, OFF(trust_coefficient), K(DSC_LARS), 0, INFINITY, LO_OPEN | HI_OPEN},
    {"warmup_steps", T_INT64, OFF(warmup_steps), K(DSC_SCHEDULEFREE_ADAMW), 0, 9e15, 0},
    {"r", T_DOUBLE, OFF(r), K(DSC_SCHEDULEFREE_ADAMW), 0, INFINITY, HI_OPEN},
    {"weight_lr_power", T_DOUBLE, OFF(weight_lr_power), K(DSC_SCHEDULEFREE_ADAMW), 0, INFINITY, HI_OPEN},
    {"ns_steps", T_INT64, OFF(ns_steps), K(DSC_MUON), 1, 99, 0},
    {"adjust_lr", T_ADJUST, OFF(adjust_lr), K(DSC_MUON), 0, 1, 0},
    {"adamw_lr", T_DOUBLE, OFF(adamw_lr), K(DSC_MUON), 0, INFINITY, HI_OPEN},
    {"adamw_beta1", T_DOUBLE, OFF(adamw_beta1), K(DSC_MUON), 0, 1, HI_OPEN},
    {"adamw_beta2", T_DOUBLE, OFF(adamw_beta2), K(DSC_MUON), 0, 1, HI_OPEN},
    {"adamw_eps", T_DOUBLE, OFF(adamw_eps), K(DSC_MUON), 0, INFINITY, HI_OPEN},
    {"adamw_weight_decay", T_DOUBLE, OFF(adamw_weight_decay), K(DSC_MUON), 0, INFINITY, HI_OPEN},
    /* rprop's bounds: the multipliers positive, the step sizes 0 <= min <= max (rprop.c) */
    {"eta_minus", T_DOUBLE, OFF(eta_minus), K(DSC_RPROP), 0, 1, LO_OPEN | HI_OPEN},
    {"eta_plus", T_DOUBLE, OFF(eta_plus), K(DSC_RPROP), 1, INFINITY, LO_OPEN | HI_OPEN},
    {"step_size_min", T_DOUBLE, OFF(step_size_min), K(DSC_RPROP), 0, INFINITY, HI_OPEN},
    {"step_size_max", T_DOUBLE, OFF(step_size_max), K(DSC_RPROP), 0, INFINITY, HI_OPEN},
    {"lambd", T_DOUBLE, OFF(lambd), K(DSC_ASGD), 0, INFINITY, HI_OPEN},
    {"t0", T_DOUBLE, OFF(t0), K(DSC_ASGD), 0, INFINITY, HI_OPEN},
    {"max_iter", T_INT64, OFF(max_iter), K(DSC_LBFGS), 1, 1e9, 0},
    {"max_eval", T_INT64, OFF(max_eval), K(DSC_LBFGS), 0, 1e9, 0},
    {"tolerance_grad", T_DOUBLE, OFF(tolerance_grad), K(DSC_LBFGS), 0, INFINITY, HI_OPEN},
    {"tolerance_change", T_DOUBLE, OFF(tolerance_change), K(DSC_LBFGS), 0, INFINITY, HI_OPEN},
    {"history_size", T_INT64, OFF(history_size), K(DSC_LBFGS), 1, 1e6, 0},
    {"line_search_fn", T_LINE_SEARCH, OFF(line_search_fn), K(DSC_LBFGS), 0, 1, 0},
    /* adafactor's bounds as torch.optim.Adafactor checks them */
    {"beta2_decay", T_DOUBLE, OFF(beta2_decay), K(DSC_ADAFACTOR), -INFINITY, 0, 0},
    {"eps1", T_DOUBLE, OFF(eps1), K(DSC_ADAFACTOR), 0, INFINITY, HI_OPEN | NONE_OK},
    {"eps2", T_DOUBLE, OFF(eps2), K(DSC_ADAFACTOR), 0, INFINITY, HI_OPEN},
    {"d", T_DOUBLE, OFF(d), K(DSC_ADAFACTOR), 1, INFINITY, HI_OPEN},
    {"lookahead_k", T_INT64, OFF(lookahead_k), K_ALL, 0, 1e9, 0},
    {"lookahead_alpha", T_DOUBLE, OFF(lookahead_alpha), K_ALL, 0, 1, LO_OPEN},
    {"accumulate", T_INT64, OFF(accumulate), K_ALL, 1, 1e9, 0},
    {"state_dtype", T_STATE_DTYPE, OFF(state_dtype), K(DSC_ADAM) | K(DSC_ADAMW), 0, 1, 0},
};
#define NFIELDS (sizeof fields / sizeof fields[0])

/* The seeds' spellings. rho means alpha for RMSprop and itself for Adadelta. */
typedef struct alias { const char *alias, *key; unsigned kinds; } alias;
static const alias aliases[] = {
    {"learning_rate", "lr", K_ALL},
    {"epsilon", "eps", K_EPS},
    {"decay1", "beta1", K_BETAS},
    {"decay2", "beta2", K_BETAS},
    {"rho", "alpha", K(DSC_RMSPROP)},
    {"decay", "alpha", K(DSC_RMSPROP)},
    {"decay_rate", "alpha", K(DSC_RMSPROP)},
    {"norm_type", "clip_norm_type", K_ALL},
    {"trust_coeff", "trust_coefficient", K(DSC_LARS)},
    {"adjust_lr_fn", "adjust_lr", K(DSC_MUON)},
    {"line_search", "line_search_fn", K(DSC_LBFGS)},
};

static const char *const nonfinite_names[] = {"skip", "error", "ignore"};
static const char *const state_dtype_names[] = {"param", "bf16"};
static const char *const adjust_names[] = {"original", "match_rms_adamw"};
static const char *const line_search_names[] = {"none", "strong_wolfe"};

/* The value names of an enum-typed field. */
static const char *const *enum_names(ftype t)
{
    if (t == T_LINE_SEARCH) return line_search_names;
    return t == T_ADJUST ? adjust_names : t == T_STATE_DTYPE ? state_dtype_names : nonfinite_names;
}

static double get_num(const dsc_hparams *hp, const field *f)
{
    const char *base = (const char *)hp + f->off;
    switch (f->type) {
    case T_DOUBLE: { double v; memcpy(&v, base, sizeof v); return v; }
    case T_BOOL: { int v; memcpy(&v, base, sizeof v); return v; }
    case T_INT64: { int64_t v; memcpy(&v, base, sizeof v); return (double)v; }
    case T_NONFINITE: { dsc_nonfinite v; memcpy(&v, base, sizeof v); return (double)v; }
    case T_ADJUST: { dsc_muon_adjust v; memcpy(&v, base, sizeof v); return (double)v; }
    case T_STATE_DTYPE: { dsc_state_dtype v; memcpy(&v, base, sizeof v); return (double)v; }
    case T_LINE_SEARCH: { dsc_line_search v; memcpy(&v, base, sizeof v); return (double)v; }
    }
    return 0;
}

static void set_num(dsc_hparams *hp, const field *f, double v)
{
    char *base = (char *)hp + f->off;
    switch (f->type) {
    case T_DOUBLE: memcpy(base, &v, sizeof v); break;
    case T_BOOL: { int i = v != 0; memcpy(base, &i, sizeof i); break; }
    case T_INT64: { int64_t i = (int64_t)v; memcpy(base, &i, sizeof i); break; }
    case T_NONFINITE: { dsc_nonfinite i = (dsc_nonfinite)(int)v; memcpy(base, &i, sizeof i); break; }
    case T_ADJUST: { dsc_muon_adjust i = (dsc_muon_adjust)(int)v; memcpy(base, &i, sizeof i); break; }
    case T_STATE_DTYPE: { dsc_state_dtype i = (dsc_state_dtype)(int)v; memcpy(base, &i, sizeof i); break; }
    case T_LINE_SEARCH: { dsc_line_search i = (dsc_line_search)(int)v; memcpy(base, &i, sizeof i); break; }
    }
}

static const field *find_field(const char *key)
{
    for (size_t i = 0; i < NFIELDS; i++)
        if (!strcmp(fields[i].key, key)) return &fields[i];
    return NULL;
}

/* The keys a kind takes, for error messages. */
static void list_keys(dsc_kind kind, char *buf, size_t size)
{
    size_t len = 0;
    buf[0] = '\0';
    if (K(kind) & K_BETAS) len += (size_t)snprintf(buf + len, size - len, "betas, ");
    if (kind == DSC_RPROP) len += (size_t)snprintf(buf + len, size - len, "etas, step_sizes, ");
    if (kind == DSC_MUON) len += (size_t)snprintf(buf + len, size - len, "adamw_betas, ");
    if (kind == DSC_ADAFACTOR) len += (size_t)snprintf(buf + len, size - len, "eps, ");
    const char *sep = "";
    for (size_t i = 0; i < NFIELDS && len < size; i++)
        if (fields[i].kinds & K(kind)) {
            len += (size_t)snprintf(buf + len, size - len, "%s%s", sep, fields[i].key);
            sep = ", ";
        }
}

static dsc_status check_range(const char *who, const field *f, double v)
{
    if ((f->flags & NONE_OK) && v == DSC_EPS1_DTYPE) return DSC_OK;
    int ok = !isnan(v);
    if (ok && isinf(v)) ok = (f->flags & INF_OK) && v > 0;
    else if (ok) {
        ok = (f->flags & LO_OPEN) ? v > f->lo : v >= f->lo;
        if (ok && !isinf(f->hi)) ok = (f->flags & HI_OPEN) ? v < f->hi : v <= f->hi;
    }
    if (ok) return DSC_OK;
    if (f->type == T_BOOL) return dsc__fail(DSC_ERR_RANGE, "%s: %s must be 0 or 1, got %g", who, f->key, v);
    if (f->type == T_NONFINITE)
        return dsc__fail(DSC_ERR_RANGE, "%s: nonfinite must be skip, error or ignore, got %g", who, v);
    if (f->type == T_ADJUST)
        return dsc__fail(DSC_ERR_RANGE, "%s: adjust_lr must be original or match_rms_adamw, got %g", who, v);
    if (f->type == T_STATE_DTYPE)
        return dsc__fail(DSC_ERR_RANGE, "%s: state_dtype must be param or bf16, got %g", who, v);
    if (f->type == T_LINE_SEARCH)
        return dsc__fail(DSC_ERR_RANGE, "%s: line_search_fn must be none or strong_wolfe, got %g", who, v);
    if ((f->flags & NONE_OK) && !isnan(v))
        return dsc__fail(DSC_ERR_RANGE, "%s: %s must be >= 0 or None, got %.17g", who, f->key, v);
    char hi[32];
    if (isinf(f->hi)) snprintf(hi, sizeof hi, "%s", (f->flags & INF_OK) ? "inf]" : "inf)");
    else snprintf(hi, sizeof hi, "%g%c", f->hi, (f->flags & HI_OPEN) ? ')' : ']');
    return dsc__fail(DSC_ERR_RANGE, "%s: %s must be in %c%g, %s, got %.17g", who, f->key,
                     (f->flags & LO_OPEN) || isinf(f->lo) ? '(' : '[', f->lo, hi, v);
}

dsc_status dsc_hparams_validate(const dsc_hparams *hp)
{
    if (!hp) return dsc__fail(DSC_ERR_ARG, "dsc_hparams_validate: NULL hparams");
    const char *who = dsc_kind_name(hp->kind);
    if (!who) return dsc__fail(DSC_ERR_ARG, "invalid optimizer kind %d", (int)hp->kind);
    dsc_hparams def = dsc_hparams_default(hp->kind);
    for (size_t i = 0; i < NFIELDS; i++) {
        const field *f = &fields[i];
        double v = get_num(hp, f);
        if (!(f->kinds & K(hp->kind))) {
            if (memcmp((const char *)hp + f->off, (const char *)&def + f->off,
                       f->type == T_DOUBLE ? sizeof(double) : f->type == T_INT64 ? sizeof(int64_t) : sizeof(int)))
                return dsc__fail(DSC_ERR_RANGE, "%s: %s is not a hyperparameter of %s (got %g)", who,
                                 f->key, who, v);
            continue;
        }
        dsc_status st = check_range(who, f, v);
        if (st) return st;
    }
    if (hp->kind == DSC_SGD && hp->nesterov && (hp->momentum <= 0 || hp->dampening != 0))
        return dsc__fail(DSC_ERR_RANGE,
                         "sgd: nesterov needs momentum > 0 and dampening 0, got momentum %g, dampening %g",
                         hp->momentum, hp->dampening);
    if (hp->kind == DSC_SGD && hp->lr_in_buffer && hp->dampening != 0)
        return dsc__fail(DSC_ERR_RANGE, "sgd: lr_in_buffer takes no dampening, got %g", hp->dampening);
    if (hp->clip_per_tensor && hp->clip_norm == 0)
        return dsc__fail(DSC_ERR_RANGE, "%s: clip_per_tensor needs clip_norm > 0", who);
    const dsc__ops *ops = dsc__ops_for(hp->kind);
    return ops->validate ? ops->validate(hp) : DSC_OK;
}

/* ---------------------------------------------------------------- parsing */

/* Which item of a spec set each field. The splitter refuses a key written twice; a
 * field reached through two spellings (beta1 and betas, lr and learning_rate, alpha and
 * rho) is refused here, rather than the last one winning. */
typedef struct given { const char *by[NFIELDS]; } given;

static dsc_status mark_given(given *gv, const char *who, const field *f, const char *key)
{
    size_t i = (size_t)(f - fields);
    if (gv->by[i])
        return dsc__fail(DSC_ERR_SPEC, "%s: %s is given twice (as '%s' and '%s')", who, f->key, gv->by[i], key);
    gv->by[i] = key;
    return DSC_OK;
}

/* "betas=(b1, b2)" into the fields k1 and k2 ("beta1", "beta2"). */
static dsc_status set_pair(dsc_hparams *hp, given *gv, const char *who, const char *key, const char *value,
                           const char *k1, const char *k2)
{
    double b[2];
    int n;
    dsc_status st = dsc__spec_list(who, key, value, b, 2, &n);
    if (st) return st;
    if (n != 2) return dsc__fail(DSC_ERR_SPEC, "%s: %s must be a pair (%s, %s), got '%s'", who, key, k1, k2, value);
    const field *f1 = find_field(k1), *f2 = find_field(k2);
    if ((st = mark_given(gv, who, f1, key)) || (st = mark_given(gv, who, f2, key))) return st;
    if ((st = check_range(who, f1, b[0]))) return st;
    if ((st = check_range(who, f2, b[1]))) return st;
    set_num(hp, f1, b[0]);
    set_num(hp, f2, b[1]);
    return DSC_OK;
}

/* Whether text is torch's None (adafactor's eps1 default). */
static int is_none(const char *text)
{
    return !strcmp(text, "None") || !strcmp(text, "none");
}

/* adafactor's "eps=(eps1, eps2)" (torch's spelling), eps1 a number >= 0 or None (the
 * dtype's epsilon): None is read as a 0 written over it, then set. */
static dsc_status set_adafactor_eps(dsc_hparams *hp, given *gv, const char *who, const char *key,
                                    const char *value)
{
    char text[DSC__SPEC_MAX_TEXT];
    snprintf(text, sizeof text, "%s", value);
    char *comma = strchr(text, ','), *b = text + 1, *e = comma;
    int none = 0;
    if (comma) {
        while (*b == ' ') b++;
        while (e > b && e[-1] == ' ') e--;
        none = e - b == 4 && (!strncmp(b, "None", 4) || !strncmp(b, "none", 4));
        if (none) memcpy(b, "0   ", 4);
    }
    dsc_status st = set_pair(hp, gv, who, key, text, "eps1", "eps2");
    if (st) return st;
    if (none) hp->eps1 = DSC_EPS1_DTYPE;
    else if (hp->eps1 < 0)
        return dsc__fail(DSC_ERR_RANGE, "%s: eps1 must be >= 0 or None, got %.17g", who, hp->eps1);
    return DSC_OK;
}

static dsc_status set_key(dsc_hparams *hp, given *gv, const char *who, const char *key, const char *value)
{
    char keys[512];
    const char *written = key;
    if (!strcmp(key, "betas") && (K(hp->kind) & K_BETAS))
        return set_pair(hp, gv, who, key, value, "beta1", "beta2");
    if (!strcmp(key, "adamw_betas") && hp->kind == DSC_MUON)
        return set_pair(hp, gv, who, key, value, "adamw_beta1", "adamw_beta2");
    if (!strcmp(key, "etas") && hp->kind == DSC_RPROP)
        return set_pair(hp, gv, who, key, value, "eta_minus", "eta_plus");
    if (!strcmp(key, "eps") && hp->kind == DSC_ADAFACTOR) return set_adafactor_eps(hp, gv, who, key, value);
    if (!strcmp(key, "step_sizes") && hp->kind == DSC_RPROP)
        return set_pair(hp, gv, who, key, value, "step_size_min", "step_size_max");
    for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++)
        if (!strcmp(key, aliases[i].alias) && (aliases[i].kinds & K(hp->kind))) {
            key = aliases[i].key;
            break;
        }
    const field *f = find_field(key);
    if (!f || !(f->kinds & K(hp->kind))) {
        list_keys(hp->kind, keys, sizeof keys);
        return dsc__fail(DSC_ERR_SPEC, "%s: unknown key '%s' (keys: %s)", who, key, keys);
    }
    dsc_status st = mark_given(gv, who, f, written);
    if (st) return st;
    double v = 0;
    if (f->type == T_BOOL) {
        int b;
        st = dsc__spec_bool(who, key, value, &b);
        v = b;
    } else if (f->type == T_NONFINITE || f->type == T_ADJUST || f->type == T_STATE_DTYPE || f->type == T_LINE_SEARCH) {
        int found = 0;
        for (int i = 0; i <= (int)f->hi; i++)
            if (!strcmp(value, enum_names(f->type)[i])) { v = i; found = 1; }
        if (!found && f->type == T_ADJUST)
            return dsc__fail(DSC_ERR_SPEC, "%s: adjust_lr must be original or match_rms_adamw, got '%s'", who, value);
        if (!found && f->type == T_STATE_DTYPE)
            return dsc__fail(DSC_ERR_SPEC, "%s: state_dtype must be param or bf16, got '%s'", who, value);
        if (!found && f->type == T_LINE_SEARCH)
            return dsc__fail(DSC_ERR_SPEC, "%s: line_search_fn must be none or strong_wolfe, got '%s'", who, value);
        if (!found)
            return dsc__fail(DSC_ERR_SPEC, "%s: nonfinite must be skip, error or ignore, got '%s'", who, value);
    } else if (f->type == T_INT64) {
        int64_t i;
        st = dsc__spec_int64(who, key, value, &i);
        v = (double)i;
    } else if ((f->flags & NONE_OK) && is_none(value)) {
        v = DSC_EPS1_DTYPE;
    } else {
        st = dsc__spec_double(who, key, value, &v);
        if (!st && (f->flags & NONE_OK) && v < 0) /* a number: >= 0 (None is written None) */
            return dsc__fail(DSC_ERR_RANGE, "%s: %s must be >= 0 or None, got %.17g", who, key, v);
    }
    if (st) return st;
    if ((st = check_range(who, f, v))) return st;
    set_num(hp, f, v);
    return DSC_OK;
}

/* Applies keyed items over *hp (which already holds its kind's values). */
static dsc_status apply_items(dsc_hparams *hp, const dsc__spec *sp)
{
    const char *who = dsc_kind_name(hp->kind);
    given gv = {{NULL}};
    for (int i = 0; i < sp->count; i++) {
        const dsc__spec_item *it = &sp->items[i];
        if (!it->key[0])
            return dsc__fail(DSC_ERR_SPEC, "%s: expected key=value, got '%s'", who, it->value);
        dsc_status st = set_key(hp, &gv, who, it->key, it->value);
        if (st) return st;
    }
    return dsc_hparams_validate(hp);
}

/* "lookahead(inner=SPEC, k=5, alpha=0.5)": the inner kind with lookahead_k and
 * lookahead_alpha set (Lookahead is a wrapper, not a kind of its own). */
static dsc_status parse_lookahead(const dsc__spec *sp, dsc_hparams *out)
{
    const char *inner = NULL;
    int64_t k = 5;
    double alpha = 0.5;
    dsc_status st = DSC_OK;
    for (int i = 0; i < sp->count && !st; i++) {
        const dsc__spec_item *it = &sp->items[i];
        if (!strcmp(it->key, "inner")) inner = it->value;
        else if (!strcmp(it->key, "k")) st = dsc__spec_int64("lookahead", "k", it->value, &k);
        else if (!strcmp(it->key, "alpha")) st = dsc__spec_double("lookahead", "alpha", it->value, &alpha);
        else
            return dsc__fail(DSC_ERR_SPEC, "lookahead: unknown key '%s' (keys: inner, k, alpha)",
                             it->key[0] ? it->key : it->value);
    }
    if (st) return st;
    if (!inner)
        return dsc__fail(DSC_ERR_SPEC, "lookahead: inner=SPEC is required, e.g. lookahead(inner=adam(lr=1e-3), k=5)");
    if (k < 1 || k > 1000000000)
        return dsc__fail(DSC_ERR_RANGE, "lookahead: k must be in [1, 1e9], got %lld", (long long)k);
    if (!(alpha > 0 && alpha <= 1))
        return dsc__fail(DSC_ERR_RANGE, "lookahead: alpha must be in (0, 1], got %.17g", alpha);
    dsc_hparams hp;
    if ((st = dsc_hparams_parse(inner, &hp))) return st;
    if (hp.lookahead_k > 0) return dsc__fail(DSC_ERR_SPEC, "lookahead: the inner optimizer already has lookahead");
    hp.lookahead_k = k;
    hp.lookahead_alpha = alpha;
    if ((st = dsc_hparams_validate(&hp))) return st;
    *out = hp;
    return DSC_OK;
}

dsc_status dsc_hparams_parse(const char *spec, dsc_hparams *out)
{
    if (!spec || !out) return dsc__fail(DSC_ERR_ARG, "dsc_hparams_parse: NULL argument");
    dsc__spec sp;
    dsc_status st = dsc__spec_split(spec, "optimizer", &sp);
    if (st) return st;
    dsc_hparams hp;
    if (!strcmp(sp.name, "lookahead")) return parse_lookahead(&sp, out);
    if (!strcmp(sp.name, "sgdm") || !strcmp(sp.name, "sgdnm")) {
        hp = dsc_hparams_default(DSC_SGD);
        hp.momentum = 0.9;
        hp.nesterov = sp.name[3] == 'n';
    } else if (!strcmp(sp.name, "amsgrad")) {
        hp = dsc_hparams_default(DSC_ADAM);
        hp.amsgrad = 1;
    } else {
        dsc_kind kind;
        if ((st = dsc_kind_from_name(sp.name, &kind))) return st;
        hp = dsc_hparams_default(kind);
    }
    if ((st = apply_items(&hp, &sp))) return st;
    *out = hp;
    return DSC_OK;
}

dsc_status dsc__hparams_apply_keys(dsc_hparams *hp, const char *keys)
{
    /* "lr=1e-4, weight_decay=0" is parsed as the arguments of the group's kind */
    char text[DSC__SPEC_MAX_TEXT + 16];
    if (strlen(keys) > DSC__SPEC_MAX_TEXT) return dsc__fail(DSC_ERR_SPEC, "group keys too long");
    snprintf(text, sizeof text, "%s(%s)", dsc_kind_name(hp->kind), keys);
    dsc__spec sp;
    dsc_status st = dsc__spec_split(text, "group", &sp);
    if (st) return st;
    dsc_hparams tmp = *hp;
    if ((st = apply_items(&tmp, &sp))) return st;
    *hp = tmp;
    return DSC_OK;
}

/* A lookahead spec is written as the wrapper around the inner kind's spec. */
static size_t format_lookahead(const dsc_hparams *hp, char *buf, size_t size)
{
    char inner[1024], tmp[1100];
    dsc_hparams plain = *hp;
    plain.lookahead_k = 0;
    plain.lookahead_alpha = dsc_hparams_default(hp->kind).lookahead_alpha;
    dsc_hparams_format(&plain, inner, sizeof inner);
    int len = snprintf(tmp, sizeof tmp, "lookahead(inner=%s, k=%lld, alpha=%.17g)", inner,
                       (long long)hp->lookahead_k, hp->lookahead_alpha);
    if (buf && size) snprintf(buf, size, "%s", tmp);
    return len > 0 ? (size_t)len : 0;
}

size_t dsc_hparams_format(const dsc_hparams *hp, char *buf, size_t size)
{
    if (hp && dsc_kind_name(hp->kind) && hp->lookahead_k > 0) return format_lookahead(hp, buf, size);
    char tmp[1024];
    size_t len = 0;
    const char *name = hp ? dsc_kind_name(hp->kind) : NULL;
    if (!name) name = "invalid";
    len += (size_t)snprintf(tmp + len, sizeof tmp - len, "%s", name);
    int n = 0;
    if (hp && dsc_kind_name(hp->kind)) {
        dsc_hparams def = dsc_hparams_default(hp->kind);
        for (size_t i = 0; i < NFIELDS && len < sizeof tmp; i++) {
            const field *f = &fields[i];
            double v = get_num(hp, f);
            if (!(f->kinds & K(hp->kind)) || v == get_num(&def, f)) continue;
            const char *sep = n++ ? ", " : "(";
            if (f->type == T_BOOL)
                len += (size_t)snprintf(tmp + len, sizeof tmp - len, "%s%s=%s", sep, f->key, v ? "true" : "false");
            else if (f->type == T_NONFINITE || f->type == T_ADJUST || f->type == T_STATE_DTYPE || f->type == T_LINE_SEARCH)
                len += (size_t)snprintf(tmp + len, sizeof tmp - len, "%s%s=%s", sep, f->key, enum_names(f->type)[(int)v]);
            else if ((f->flags & NONE_OK) && v == DSC_EPS1_DTYPE)
                len += (size_t)snprintf(tmp + len, sizeof tmp - len, "%s%s=None", sep, f->key);
            else
                len += (size_t)snprintf(tmp + len, sizeof tmp - len, "%s%s=%.17g", sep, f->key, v);
        }
    }
    if (n && len < sizeof tmp) len += (size_t)snprintf(tmp + len, sizeof tmp - len, ")");
    if (len >= sizeof tmp) len = sizeof tmp - 1;
    if (buf && size) {
        size_t c = len < size - 1 ? len : size - 1;
        memcpy(buf, tmp, c);
        buf[c] = '\0';
    }
    return len;
}
