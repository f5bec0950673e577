/*
 * schedule_meta.c: the schedules of a checkpoint. A group's schedule is saved as its spec,
 * its base learning rate, its named state scalars and its loss history:
 *
 *   group.<g>.schedule                 the spec ("cosine(T_max=100)"); absent: none
 *   group.<g>.schedule.base_lr         %.17g
 *   group.<g>.schedule.state.<name>    %.17g each (position, lr, best, T_cur, ...)
 *   group.<g>.schedule.history         King's losses, %.17g separated by commas
 *
 * Restoring rebuilds the schedule as saved (replacing or removing the optimizer's
 * own): detach, set the group's rate to the base, attach the spec, set the state.
 * The values are first checked on a scratch schedule, so applying them cannot be
 * refused; the same snapshot type undoes a restore that fails later.
 */
#include "checkpoint.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void dsc__sched_snap_free(dsc__sched_snap *s)
{
    for (size_t k = 0; s->names && k < s->n; k++) free(s->names[k]); /* names NULL: its calloc failed */
    free(s->spec);
    free(s->names);
    free(s->values);
    free(s->hist);
    memset(s, 0, sizeof *s);
}

/* Copies sc (NULL: no schedule) into s. */
static dsc_status snap_of(const dsc_sched *sc, dsc__sched_snap *s)
{
    memset(s, 0, sizeof *s);
    if (!sc) return DSC_OK;
    const double *hist;
    s->n = dsc_sched_state_count(sc);
    s->nhist = dsc_sched_history(sc, &hist);
    s->spec = dsc__strdup(dsc_sched_spec(sc));
    s->base = dsc_sched_base_lr(sc);
    s->names = calloc(s->n + 1, sizeof *s->names);
    s->values = calloc(s->n + 1, sizeof *s->values);
    s->hist = malloc((s->nhist + 1) * sizeof *s->hist);
    int ok = s->spec && s->names && s->values && s->hist;
    for (size_t k = 0; ok && k < s->n; k++) {
        const char *name;
        dsc_sched_get_state(sc, k, &name, &s->values[k]);
        ok = (s->names[k] = dsc__strdup(name)) != NULL;
    }
    if (ok && s->nhist) memcpy(s->hist, hist, s->nhist * sizeof *hist);
    if (ok) return DSC_OK;
    dsc__sched_snap_free(s);
    return dsc__fail(DSC_ERR_NOMEM, "out of memory");
}

dsc_status dsc__sched_snap_take(const dsc_optim *opt, int g, dsc__sched_snap *s)
{
    return snap_of(dsc_optim_schedule(opt, g), s);
}

dsc_status dsc__sched_snap_apply(dsc_optim *opt, int g, const dsc__sched_snap *s)
{
    /* a schedule of the caller's C function keeps it when the file has the same spec */
    const dsc_sched *had = dsc_optim_schedule(opt, g);
    void *ctx = NULL;
    dsc_sched_fn fn = had && s->spec && !strcmp(dsc_sched_spec(had), s->spec) ? dsc_sched_function(had, &ctx) : NULL;
    dsc_status st = dsc_optim_set_schedule(opt, g, NULL);
    if (st || !s->spec) return st;
    if ((st = dsc_optim_set_lr(opt, g, s->base)) || (st = dsc_optim_set_schedule_fn(opt, g, s->spec, fn, ctx)))
        return st;
    dsc_sched *sc = dsc_optim_schedule(opt, g);
    for (size_t k = 0; !st && k < s->n; k++) st = dsc_sched_set_state(sc, s->names[k], s->values[k]);
    return st ? st : dsc_sched_set_history(sc, s->hist, s->nhist);
}

/* ---------------------------------------------------------------- save */

static int add_double(cJSON *meta, const char *key, double v)
{
    char text[40];
    snprintf(text, sizeof text, "%.17g", v);
    return cJSON_AddStringToObject(meta, key, text) != NULL;
}

static int add_history(cJSON *meta, const char *key, const double *v, size_t n)
{
    char *text = malloc(n * 26 + 1);
    if (!text) return 0;
    size_t len = 0;
    text[0] = '\0';
    for (size_t i = 0; i < n; i++) len += (size_t)sprintf(text + len, "%s%.17g", i ? "," : "", v[i]);
    int ok = cJSON_AddStringToObject(meta, key, text) != NULL;
    free(text);
    return ok;
}

int dsc__ckpt_save_schedules(cJSON *meta, const dsc_optim *opt)
{
    for (int g = 0; g < dsc_optim_group_count(opt); g++) {
        const dsc_sched *sc = dsc_optim_schedule(opt, g);
        if (!sc) continue;
        char key[160];
        const double *hist;
        size_t nhist = dsc_sched_history(sc, &hist);
        snprintf(key, sizeof key, "group.%d.schedule", g);
        if (!cJSON_AddStringToObject(meta, key, dsc_sched_spec(sc))) return 0;
        snprintf(key, sizeof key, "group.%d.schedule.base_lr", g);
        if (!add_double(meta, key, dsc_sched_base_lr(sc))) return 0;
        for (size_t k = 0; k < dsc_sched_state_count(sc); k++) {
            const char *name;
            double v;
            dsc_sched_get_state(sc, k, &name, &v);
            snprintf(key, sizeof key, "group.%d.schedule.state.%.100s", g, name);
            if (!add_double(meta, key, v)) return 0;
        }
        snprintf(key, sizeof key, "group.%d.schedule.history", g);
        if (!add_history(meta, key, hist, nhist)) return 0;
    }
    int64_t count;
    double loss;
    dsc_optim_get_accum(opt, &count, &loss);
    char text[40];
    snprintf(text, sizeof text, "%lld", (long long)count);
    return cJSON_AddStringToObject(meta, "accumulate.count", text) && add_double(meta, "accumulate.loss_sum", loss);
}

/* ---------------------------------------------------------------- load */

/* "a,b,c" (or "") into a fresh array. */
static dsc_status parse_history(const char *key, const char *text, double **out, size_t *n)
{
    size_t cap = 1;
    for (const char *p = text; *p; p++) cap += *p == ',';
    *out = malloc(cap * sizeof **out);
    *n = 0;
    if (!*out) return dsc__fail(DSC_ERR_NOMEM, "out of memory");
    for (const char *p = text; *p;) {
        char *end;
        double v = strtod(p, &end);
        if (end == p || (*end && *end != ',') || isnan(v))
            return dsc__fail(DSC_ERR_FORMAT, "__metadata__ '%s' must be numbers separated by commas", key);
        (*out)[(*n)++] = v;
        p = *end ? end + 1 : end;
    }
    return DSC_OK;
}

/* Without a spec for group g, no key may hold its schedule's state: such a key is
 * what is left of a damaged spec key, and restoring without it would drop the
 * schedule the file describes. */
static dsc_status check_orphans(const dsc_ckpt *ck, int g)
{
    char prefix[64];
    int len = snprintf(prefix, sizeof prefix, "group.%d.schedule.", g);
    for (size_t i = 0; i < dsc_ckpt_meta_count(ck); i++) {
        const char *key;
        dsc_ckpt_meta_at(ck, i, &key, NULL);
        if (!strncmp(key, prefix, (size_t)len))
            return dsc__fail(DSC_ERR_FORMAT, "__metadata__ '%.100s' belongs to a schedule, but the file has no "
                             "'group.%d.schedule'", key, g);
    }
    return DSC_OK;
}

/* The saved schedule of group g into s, checked on a scratch schedule. */
static dsc_status read_one(const dsc_ckpt *ck, int g, dsc__sched_snap *s)
{
    char key[160];
    memset(s, 0, sizeof *s);
    snprintf(key, sizeof key, "group.%d.schedule", g);
    const char *spec = dsc_ckpt_meta(ck, key);
    if (!spec) return check_orphans(ck, g);
    double base = 0;
    snprintf(key, sizeof key, "group.%d.schedule.base_lr", g);
    dsc_status st = dsc__ckpt_meta_double(ck, key, &base);
    if (st) return st;
    dsc_sched *tmp;
    if ((st = dsc__sched_create_unbound(&tmp, spec, base))) {
        snprintf(key, sizeof key, "__metadata__ 'group.%d.schedule'", g);
        return dsc__fail_prefix(st == DSC_ERR_NOMEM ? st : DSC_ERR_FORMAT, key);
    }
    for (size_t k = 0; !st && k < dsc_sched_state_count(tmp); k++) {
        const char *name;
        double v = 0;
        dsc_sched_get_state(tmp, k, &name, NULL);
        snprintf(key, sizeof key, "group.%d.schedule.state.%.100s", g, name);
        if (!(st = dsc__ckpt_meta_double(ck, key, &v)) && (st = dsc_sched_set_state(tmp, name, v)))
            st = dsc__fail_prefix(DSC_ERR_FORMAT, key);
    }
    double *hist = NULL;
    size_t nhist = 0;
    snprintf(key, sizeof key, "group.%d.schedule.history", g);
    const char *text = dsc_ckpt_meta(ck, key);
    if (!st && !text) st = dsc__fail(DSC_ERR_FORMAT, "__metadata__ lacks '%s'", key);
    if (!st) st = parse_history(key, text, &hist, &nhist);
    if (!st && (st = dsc_sched_set_history(tmp, hist, nhist))) st = dsc__fail_prefix(DSC_ERR_FORMAT, key);
    free(hist);
    if (!st) st = snap_of(tmp, s);
    dsc_sched_destroy(tmp);
    return st;
}

dsc_status dsc__ckpt_read_schedules(const dsc_ckpt *ck, int ngroups, dsc__sched_snap *snaps)
{
    for (int g = 0; g < ngroups; g++) {
        dsc_status st = read_one(ck, g, &snaps[g]);
        if (st) return st;
    }
    return DSC_OK;
}
