/*
 * hparams.c: optimizer kinds, their defaults (PyTorch's), validation and the
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
#define K_EPS (K_ADAMS | K(DSC_ADAGRAD) | K(DSC_RMSPROP) | K(DSC_ADADELTA))

static const char *const kind_names[DSC_KIND_COUNT] = {
    "sgd", "adagrad", "rmsprop", "adadelta", "adam", "adamw",
    "adamax", "nadam", "radam", "adabelief",
};

const char *dsc_kind_name(dsc_kind kind)
{
    return (unsigned)kind < DSC_KIND_COUNT ? kind_names[kind] : NULL;
}

dsc_status dsc_kind_from_name(const char *name, dsc_kind *out)
{
    if (!name || !out) return dsc__fail(DSC_ERR_ARG, "dsc_kind_from_name: NULL argument");
    for (int k = 0; k < DSC_KIND_COUNT; k++)
        if (!strcmp(name, kind_names[k])) { *out = (dsc_kind)k; return DSC_OK; }
    return dsc__fail(DSC_ERR_SPEC,
                     "unknown optimizer '%s' (known: sgd, sgdm, sgdnm, adagrad, rmsprop, adadelta, "
                     "adam, adamw, amsgrad, adamax, nadam, radam, adabelief)", name);
}

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
    hp.accumulate = 1;
    switch (kind) {
    case DSC_ADAGRAD: hp.lr = 1e-2; hp.eps = 1e-10; break;
    case DSC_RMSPROP: hp.lr = 1e-2; break;
    case DSC_ADADELTA: hp.lr = 1.0; hp.eps = 1e-6; break;
    case DSC_ADAMW: hp.weight_decay = 1e-2; hp.decoupled_weight_decay = 1; break;
    case DSC_ADAMAX: hp.lr = 2e-3; break;
    case DSC_NADAM: hp.lr = 2e-3; break;
    /* adabelief-pytorch 0.2: eps 1e-16, weight_decouple=True */
    case DSC_ADABELIEF: hp.eps = 1e-16; hp.decoupled_weight_decay = 1; break;
    default: break;
    }
    return hp;
}

/* ---------------------------------------------------------------- the key table */

typedef enum { T_DOUBLE, T_BOOL, T_INT64, T_NONFINITE } ftype;

enum {
    LO_OPEN = 1,   /* lo is excluded */
    HI_OPEN = 2,   /* hi is excluded */
    INF_OK = 4     /* +infinity is allowed (norm type) */
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
    {"lr", T_DOUBLE, OFF(lr), K_ALL, 0, INFINITY, LO_OPEN | HI_OPEN},
    {"momentum", T_DOUBLE, OFF(momentum), K(DSC_SGD) | K(DSC_RMSPROP), 0, 1, HI_OPEN},
    {"dampening", T_DOUBLE, OFF(dampening), K(DSC_SGD), 0, 1, 0},
    {"nesterov", T_BOOL, OFF(nesterov), K(DSC_SGD), 0, 1, 0},
    {"lr_in_buffer", T_BOOL, OFF(lr_in_buffer), K(DSC_SGD), 0, 1, 0},
    {"lr_decay", T_DOUBLE, OFF(lr_decay), K(DSC_ADAGRAD), 0, INFINITY, HI_OPEN},
    {"initial_accumulator_value", T_DOUBLE, OFF(initial_accumulator_value), K(DSC_ADAGRAD), 0, INFINITY, HI_OPEN},
    {"alpha", T_DOUBLE, OFF(alpha), K(DSC_RMSPROP), 0, 1, 0},
    {"centered", T_BOOL, OFF(centered), K(DSC_RMSPROP), 0, 1, 0},
    {"rho", T_DOUBLE, OFF(rho), K(DSC_ADADELTA), 0, 1, 0},
    {"beta1", T_DOUBLE, OFF(beta1), K_ADAMS, 0, 1, HI_OPEN},
    {"beta2", T_DOUBLE, OFF(beta2), K_ADAMS, 0, 1, HI_OPEN},
    {"eps", T_DOUBLE, OFF(eps), K_EPS, 0, INFINITY, LO_OPEN | HI_OPEN},
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
    {"accumulate", T_INT64, OFF(accumulate), K_ALL, 1, 1e9, 0},
};
#define NFIELDS (sizeof fields / sizeof fields[0])

/* The seeds' spellings. rho means alpha for RMSprop and itself for Adadelta. */
typedef struct alias { const char *alias, *key; unsigned kinds; } alias;
static const alias aliases[] = {
    {"learning_rate", "lr", K_ALL},
    {"epsilon", "eps", K_EPS},
    {"decay1", "beta1", K_ADAMS},
    {"decay2", "beta2", K_ADAMS},
    {"rho", "alpha", K(DSC_RMSPROP)},
    {"decay", "alpha", K(DSC_RMSPROP)},
    {"decay_rate", "alpha", K(DSC_RMSPROP)},
    {"norm_type", "clip_norm_type", K_ALL},
};

static const char *const nonfinite_names[] = {"skip", "error", "ignore"};

static double get_num(const dsc_hparams *hp, const field *f)
{
    const char *base = (const char *)hp + f->off;
    switch (f->type) {
    case T_DOUBLE: { double v; memcpy(&v, base, sizeof v); return v; }
    case T_BOOL: { int v; memcpy(&v, base, sizeof v); return v; }
    case T_INT64: { int64_t v; memcpy(&v, base, sizeof v); return (double)v; }
    case T_NONFINITE: { dsc_nonfinite v; memcpy(&v, base, sizeof v); return (double)v; }
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
    if (kind != DSC_SGD && kind != DSC_ADAGRAD && kind != DSC_RMSPROP && kind != DSC_ADADELTA)
        len += (size_t)snprintf(buf + len, size - len, "betas, ");
    for (size_t i = 0; i < NFIELDS && len < size; i++)
        if (fields[i].kinds & K(kind))
            len += (size_t)snprintf(buf + len, size - len, "%s%s", fields[i].key,
                                    i + 1 < NFIELDS ? ", " : "");
}

static dsc_status check_range(const char *who, const field *f, double v)
{
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
    char hi[32];
    if (isinf(f->hi)) snprintf(hi, sizeof hi, "%s", (f->flags & INF_OK) ? "inf]" : "inf)");
    else snprintf(hi, sizeof hi, "%g%c", f->hi, (f->flags & HI_OPEN) ? ')' : ']');
    return dsc__fail(DSC_ERR_RANGE, "%s: %s must be in %c%g, %s, got %.17g", who, f->key,
                     (f->flags & LO_OPEN) ? '(' : '[', f->lo, hi, v);
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

static dsc_status set_key(dsc_hparams *hp, const char *who, const char *key, const char *value)
{
    char keys[512];
    if (!strcmp(key, "betas") && (hp->kind == DSC_ADAM || hp->kind == DSC_ADAMW || hp->kind == DSC_ADAMAX ||
                                  hp->kind == DSC_NADAM || hp->kind == DSC_RADAM || hp->kind == DSC_ADABELIEF)) {
        double b[2];
        int n;
        dsc_status st = dsc__spec_list(who, key, value, b, 2, &n);
        if (st) return st;
        if (n != 2) return dsc__fail(DSC_ERR_SPEC, "%s: betas must be a pair (beta1, beta2), got '%s'", who, value);
        if ((st = check_range(who, find_field("beta1"), b[0]))) return st;
        if ((st = check_range(who, find_field("beta2"), b[1]))) return st;
        hp->beta1 = b[0];
        hp->beta2 = b[1];
        return DSC_OK;
    }
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
    double v = 0;
    dsc_status st = DSC_OK;
    if (f->type == T_BOOL) {
        int b;
        st = dsc__spec_bool(who, key, value, &b);
        v = b;
    } else if (f->type == T_NONFINITE) {
        int found = 0;
        for (int i = 0; i < 3; i++)
            if (!strcmp(value, nonfinite_names[i])) { v = i; found = 1; }
        if (!found)
            return dsc__fail(DSC_ERR_SPEC, "%s: nonfinite must be skip, error or ignore, got '%s'", who, value);
    } else if (f->type == T_INT64) {
        int64_t i;
        st = dsc__spec_int64(who, key, value, &i);
        v = (double)i;
    } else {
        st = dsc__spec_double(who, key, value, &v);
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
    for (int i = 0; i < sp->count; i++) {
        const dsc__spec_item *it = &sp->items[i];
        if (!it->key[0])
            return dsc__fail(DSC_ERR_SPEC, "%s: expected key=value, got '%s'", who, it->value);
        for (int j = 0; j < i; j++)
            if (!strcmp(sp->items[j].key, it->key))
                return dsc__fail(DSC_ERR_SPEC, "%s: key '%s' given twice", who, it->key);
        dsc_status st = set_key(hp, who, it->key, it->value);
        if (st) return st;
    }
    return dsc_hparams_validate(hp);
}

dsc_status dsc_hparams_parse(const char *spec, dsc_hparams *out)
{
    if (!spec || !out) return dsc__fail(DSC_ERR_ARG, "dsc_hparams_parse: NULL argument");
    dsc__spec sp;
    dsc_status st = dsc__spec_split(spec, "optimizer", &sp);
    if (st) return st;
    dsc_hparams hp;
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

size_t dsc_hparams_format(const dsc_hparams *hp, char *buf, size_t size)
{
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
            else if (f->type == T_NONFINITE)
                len += (size_t)snprintf(tmp + len, sizeof tmp - len, "%s%s=%s", sep, f->key, nonfinite_names[(int)v]);
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
