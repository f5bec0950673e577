/*
 * sched.c: the schedule object: the kind registry, spec parsing against each kind's
 * key table (the value parsers of src/core/spec.c, so messages match the optimizer's)
 * and the children of composite kinds, and the named state that checkpoints save. A
 * position moves in advance.c; the rates a schedule can reach are range.c's.
 */
#include "sched_internal.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const dsc__sched_kind *const kinds[] = {
    &dsc__sched_step,        &dsc__sched_multistep,      &dsc__sched_exponential,
    &dsc__sched_cosine,      &dsc__sched_cosine_restarts, &dsc__sched_linear,
    &dsc__sched_constant,    &dsc__sched_polynomial,     &dsc__sched_onecycle,
    &dsc__sched_cyclic,      &dsc__sched_plateau,        &dsc__sched_sequential,
    &dsc__sched_noam,        &dsc__sched_exponential_stages, &dsc__sched_king,
    &dsc__sched_lambda,      &dsc__sched_multiplicative, &dsc__sched_chained,
};
#define NKINDS (sizeof kinds / sizeof kinds[0])

static const dsc__sched_kind *find_kind(const char *name)
{
    for (size_t i = 0; i < NKINDS; i++)
        if (!strcmp(kinds[i]->name, name)) return kinds[i];
    return NULL;
}

/* ---------------------------------------------------------------- parsing */

static void key_names(const dsc__sched_kind *k, char *buf, size_t size)
{
    size_t len = 0;
    buf[0] = '\0';
    for (int i = 0; i < k->nkeys && len < size; i++)
        len += (size_t)snprintf(buf + len, size - len, "%s%s", i ? ", " : "", k->keys[i].key);
    if (!k->nkeys) snprintf(buf, size, "none");
}

static dsc_status check_key_range(const char *who, const dsc__sched_key *k, double v)
{
    int ok = isfinite(v); /* no key takes infinity or NaN */
    if (ok) ok = (k->flags & SK_LO_OPEN) ? v > k->lo : v >= k->lo;
    if (ok && !isinf(k->hi)) ok = (k->flags & SK_HI_OPEN) ? v < k->hi : v <= k->hi;
    if (ok) return DSC_OK;
    char hi[32];
    if (isinf(k->hi)) snprintf(hi, sizeof hi, "inf)");
    else snprintf(hi, sizeof hi, "%g%c", k->hi, (k->flags & SK_HI_OPEN) ? ')' : ']');
    return dsc__fail(DSC_ERR_RANGE, "%s: %s must be in %c%g, %s, got %.17g", who, k->key,
                     (k->flags & SK_LO_OPEN) ? '(' : '[', k->lo, hi, v);
}

static dsc_status parse_enum(const char *who, const dsc__sched_key *k, const char *text, double *out)
{
    const char *c = k->choices;
    for (int i = 0; *c; i++) {
        const char *bar = strchr(c, '|');
        size_t len = bar ? (size_t)(bar - c) : strlen(c);
        if (strlen(text) == len && !strncmp(text, c, len)) { *out = i; return DSC_OK; }
        if (!bar) break;
        c = bar + 1;
    }
    char opts[128];
    snprintf(opts, sizeof opts, "%s", k->choices);
    for (char *p = opts; *p; p++) if (*p == '|') *p = ',';
    return dsc__fail(DSC_ERR_SPEC, "%s: %s must be one of %s, got '%s'", who, k->key, opts, text);
}

static dsc_status parse_milestones(dsc_sched *s, const char *who, const dsc__sched_key *k,
                                   const char *text)
{
    double v[DSC__SCHED_MAX_MILESTONES];
    int n;
    dsc_status st = dsc__spec_list(who, k->key, text, v, DSC__SCHED_MAX_MILESTONES, &n);
    if (st) return st;
    for (int i = 0; i < n; i++) {
        if (v[i] != floor(v[i]) || v[i] < k->lo || v[i] > 9e15)
            return dsc__fail(DSC_ERR_RANGE, "%s: %s must hold integers >= %g, got '%s'", who, k->key,
                             k->lo, text);
        s->ms[i] = (int64_t)v[i];
    }
    s->nms = n;
    return DSC_OK;
}

static dsc_status parse_value(dsc_sched *s, const char *who, int idx, const char *text)
{
    const dsc__sched_key *k = &s->kind->keys[idx];
    double v;
    dsc_status st;
    if (k->flags & SK_LIST) return parse_milestones(s, who, k, text);
    if (k->flags & SK_ENUM) {
        st = parse_enum(who, k, text, &v);
    } else if (k->flags & SK_BOOL) {
        int b = 0;
        st = dsc__spec_bool(who, k->key, text, &b);
        v = b;
    } else if (k->flags & SK_INT) {
        int64_t i = 0;
        st = dsc__spec_int64(who, k->key, text, &i);
        v = (double)i;
    } else {
        st = dsc__spec_double(who, k->key, text, &v);
    }
    if (st) return st;
    if (!(k->flags & (SK_ENUM | SK_BOOL)) && (st = check_key_range(who, k, v))) return st;
    s->p[idx] = v;
    return DSC_OK;
}

/* Keyed items into s->p; positional items are the children of a sequential. */
static dsc_status parse_items(dsc_sched *s, const dsc__spec *sp)
{
    const dsc__sched_kind *kind = s->kind;
    const char *who = kind->name;
    int given[DSC__SCHED_MAX_KEYS] = {0};
    for (int i = 0; i < sp->count; i++) {
        const dsc__spec_item *it = &sp->items[i];
        if (!it->key[0]) {
            if (kind != &dsc__sched_sequential && kind != &dsc__sched_chained)
                return dsc__fail(DSC_ERR_SPEC, "%s: expected key=value, got '%s'", who, it->value);
            continue;
        }
        int idx = -1;
        for (int j = 0; j < kind->nkeys; j++)
            if (!strcmp(kind->keys[j].key, it->key)) idx = j;
        if (idx < 0) {
            char keys[256];
            key_names(kind, keys, sizeof keys);
            return dsc__fail(DSC_ERR_SPEC, "%s: unknown key '%s' (keys: %s)", who, it->key, keys);
        }
        given[idx] = 1;
        dsc_status st = parse_value(s, who, idx, it->value);
        if (st) return st;
    }
    for (int j = 0; j < kind->nkeys; j++)
        if ((kind->keys[j].flags & SK_REQUIRED) && !given[j])
            return dsc__fail(DSC_ERR_SPEC, "%s: %s is required", who, kind->keys[j].key);
    return DSC_OK;
}

/* Names of the state scalars of s (and its children, prefixed), for the API. */
static dsc_status add_names(dsc_sched *top, dsc_sched *s, const char *prefix)
{
    size_t need = 2 + (size_t)s->kind->nstate;
    struct dsc__sched_name *nn = realloc(top->names, (top->nnames + need) * sizeof *nn);
    if (!nn) return dsc__fail(DSC_ERR_NOMEM, "schedule: out of memory");
    top->names = nn;
    for (int f = -2; f < s->kind->nstate; f++) {
        struct dsc__sched_name *e = &top->names[top->nnames++];
        const char *base = f == -2 ? "position" : f == -1 ? "lr" : s->kind->state_names[f];
        snprintf(e->name, sizeof e->name, "%s%s", prefix, base);
        e->owner = s;
        e->field = f;
    }
    for (int c = 0; c < s->nchild; c++) {
        char pre[16];
        snprintf(pre, sizeof pre, "%d.", c);
        dsc_status st = add_names(top, s->child[c], pre);
        if (st) return st;
    }
    return DSC_OK;
}

/* The schedules a composite kind (sequential, chained) holds: its positional items. */
static dsc_status build_children(dsc_sched *s)
{
    dsc__spec sp;
    dsc_status st = dsc__spec_split(s->spec, "schedule", &sp);
    for (int i = 0; i < sp.count && !st; i++) {
        if (sp.items[i].key[0]) continue;
        if (s->nchild == DSC__SCHED_MAX_CHILDREN)
            return dsc__fail(DSC_ERR_SPEC, "%s: at most %d schedules", s->kind->name, DSC__SCHED_MAX_CHILDREN);
        dsc__spec csp;
        if ((st = dsc__spec_split(sp.items[i].value, "schedule", &csp))) return st;
        dsc_sched *c;
        if (!(st = dsc__sched_build(&c, &csp, sp.items[i].value, s->base))) s->child[s->nchild++] = c;
    }
    if (!st && s->nchild == 0)
        return dsc__fail(DSC_ERR_SPEC, "%s: give the schedules as positional items", s->kind->name);
    return st;
}

dsc_status dsc__sched_build(dsc_sched **out, const dsc__spec *sp, const char *text, double base)
{
    *out = NULL;
    const dsc__sched_kind *kind = find_kind(sp->name);
    if (!kind)
        return dsc__fail(DSC_ERR_SPEC,
                         "unknown schedule '%s' (known: step, multistep, exponential, cosine, "
                         "cosine_restarts, linear, constant, polynomial, onecycle, cyclic, plateau, "
                         "sequential, noam, exponential_stages, king, lambda, multiplicative, chained)", sp->name);
    dsc_sched *s = calloc(1, sizeof *s);
    if (!s) return dsc__fail(DSC_ERR_NOMEM, "schedule: out of memory");
    s->kind = kind;
    s->base = base;
    s->spec = dsc__strdup(text);
    dsc_status st = s->spec ? DSC_OK : dsc__fail(DSC_ERR_NOMEM, "schedule: out of memory");
    for (int j = 0; j < kind->nkeys; j++) s->p[j] = kind->keys[j].def;
    if (!st) st = parse_items(s, sp);
    if (!st && kind->composite) st = build_children(s);
    if (!st && kind->check) st = kind->check(s);
    if (st) {
        dsc__sched_free(s);
        return st;
    }
    dsc__sched_start(s, 0);
    *out = s;
    return DSC_OK;
}

void dsc__sched_free(dsc_sched *s)
{
    if (!s) return;
    for (int c = 0; c < s->nchild; c++) dsc__sched_free(s->child[c]);
    free(s->hist);
    free(s->names);
    free(s->spec);
    free(s);
}

/* ---------------------------------------------------------------- the public API */

/* unbound: a spec with fn=callback may come without its function (a checkpoint's
 * scratch copy, whose rates are not used) */
static dsc_status create(dsc_sched **out, const char *spec, double base_lr, dsc_sched_fn fn, void *ctx, int unbound)
{
    if (!out || !spec) return dsc__fail(DSC_ERR_ARG, "dsc_sched_create: NULL argument");
    *out = NULL;
    if (!(base_lr >= 0) || !isfinite(base_lr)) /* 0: a frozen group, as torch allows */
        return dsc__fail(DSC_ERR_RANGE, "schedule: the base learning rate must be in [0, inf), got %.17g",
                         base_lr);
    dsc__spec sp;
    dsc_status st = dsc__spec_split(spec, "schedule", &sp);
    if (st) return st;
    dsc_sched *s;
    if ((st = dsc__sched_build(&s, &sp, spec, base_lr))) return st;
    if ((st = add_names(s, s, ""))) {
        dsc__sched_free(s);
        return st;
    }
    if (dsc__sched_wants_fn(s) != (fn != NULL) && !(unbound && !fn)) {
        dsc__sched_free(s);
        return dsc__fail(DSC_ERR_SPEC, fn ? "%s: a C function needs the spec %s(fn=callback), got '%s'"
                                          : "%s: '%s' needs its C function (dsc_sched_create_fn, "
                                            "dsc_optim_set_schedule_fn)",
                         sp.name, fn ? "lambda or multiplicative" : spec, spec);
    }
    if (fn) {
        s->fn = fn;
        s->fn_ctx = ctx;
        dsc__sched_start(s, 0);
    }
    *out = s;
    return DSC_OK;
}

dsc_status dsc_sched_create(dsc_sched **out, const char *spec, double base_lr)
{
    return create(out, spec, base_lr, NULL, NULL, 0);
}

dsc_status dsc_sched_create_fn(dsc_sched **out, const char *spec, double base_lr, dsc_sched_fn fn, void *ctx)
{
    return create(out, spec, base_lr, fn, ctx, 0);
}

dsc_status dsc__sched_create_unbound(dsc_sched **out, const char *spec, double base_lr)
{
    return create(out, spec, base_lr, NULL, NULL, 1);
}

void dsc_sched_destroy(dsc_sched *s) { dsc__sched_free(s); }

double dsc_sched_lr(const dsc_sched *s) { return s ? s->lr : NAN; }
int64_t dsc_sched_position(const dsc_sched *s) { return s ? s->pos : 0; }
double dsc_sched_base_lr(const dsc_sched *s) { return s ? s->base : NAN; }
const char *dsc_sched_spec(const dsc_sched *s) { return s ? s->spec : NULL; }
int dsc_sched_needs_loss(const dsc_sched *s) { return s ? s->kind->needs_loss : 0; }

dsc_sched_fn dsc_sched_function(const dsc_sched *s, void **ctx)
{
    if (ctx) *ctx = s ? s->fn_ctx : NULL;
    return s ? s->fn : NULL;
}

dsc_status dsc_sched_step_loss(dsc_sched *s, double loss)
{
    if (!s) return dsc__fail(DSC_ERR_ARG, "dsc_sched_step: NULL schedule");
    dsc_status st = dsc__sched_can_step(s);
    if (st) return st;
    dsc__sched_advance(s, loss);
    return DSC_OK;
}

dsc_status dsc_sched_step(dsc_sched *s)
{
    if (s && s->kind->needs_loss)
        return dsc__fail(DSC_ERR_ARG, "%s: this schedule needs the loss of every step "
                         "(dsc_sched_step_loss)", s->kind->name);
    return dsc_sched_step_loss(s, NAN);
}

/* ---------------------------------------------------------------- state */

size_t dsc_sched_state_count(const dsc_sched *s) { return s ? s->nnames : 0; }

static double *field_ptr(dsc_sched *s, int field)
{
    return field == -1 ? &s->lr : &s->st[field];
}

dsc_status dsc_sched_get_state(const dsc_sched *s, size_t k, const char **name, double *value)
{
    if (!s || k >= s->nnames)
        return dsc__fail(DSC_ERR_ARG, "dsc_sched_get_state: no state scalar %zu", k);
    const struct dsc__sched_name *e = &s->names[k];
    if (name) *name = e->name;
    if (value) *value = e->field == -2 ? (double)e->owner->pos : *field_ptr(e->owner, e->field);
    return DSC_OK;
}

static int is_count(double v) { return isfinite(v) && v >= 0 && v == floor(v) && v <= 9e15; }

dsc_status dsc_sched_set_state(dsc_sched *s, const char *name, double value)
{
    if (!s || !name) return dsc__fail(DSC_ERR_ARG, "dsc_sched_set_state: NULL argument");
    for (size_t k = 0; k < s->nnames; k++) {
        struct dsc__sched_name *e = &s->names[k];
        if (strcmp(e->name, name)) continue;
        int flag = e->field == -2 ? SS_COUNT : e->field == -1 ? SS_REAL : e->owner->kind->state_flags[e->field];
        int ok = flag == SS_COUNT ? is_count(value)
                 : flag == SS_POSITIVE_COUNT ? is_count(value) && value >= 1
                 : flag == SS_NOT_NAN ? !isnan(value)
                 : isfinite(value);
        double lo, hi;
        dsc__sched_rate_range(e->owner, &lo, &hi);
        if (ok && e->field == -1 && !(value >= lo && value <= hi))
            return dsc__fail(DSC_ERR_RANGE, "%s: state %s must be in [%.17g, %.17g] (the rates this schedule "
                             "reaches), got %.17g", s->kind->name, name, lo, hi, value);
        if (!ok)
            return dsc__fail(DSC_ERR_RANGE, "%s: state %s must be %s, got %.17g", s->kind->name, name,
                             flag == SS_COUNT ? "an integer >= 0" : flag == SS_POSITIVE_COUNT ? "an integer >= 1"
                             : flag == SS_NOT_NAN ? "a number" : "finite", value);
        if (e->field == -2) e->owner->pos = (int64_t)value;
        else *field_ptr(e->owner, e->field) = value;
        return DSC_OK;
    }
    return dsc__fail(DSC_ERR_ARG, "%s: no state scalar named '%s'", s->kind->name, name);
}

size_t dsc_sched_history(const dsc_sched *s, const double **values)
{
    if (values) *values = s ? s->hist : NULL;
    return s ? s->nhist : 0;
}

dsc_status dsc_sched_set_history(dsc_sched *s, const double *values, size_t len)
{
    if (!s || (!values && len)) return dsc__fail(DSC_ERR_ARG, "dsc_sched_set_history: NULL argument");
    if (len > s->cap)
        return dsc__fail(DSC_ERR_RANGE, "%s: the loss history holds at most %zu values, got %zu",
                         s->kind->name, s->cap, len);
    if (len) memcpy(s->hist, values, len * sizeof *values);
    s->nhist = len;
    return DSC_OK;
}
