/* keys.c: the numeric keys of a problem's spec, read and checked for the problems' files. */
#include "problems.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static const dsc__problem_key *find_key(const dsc__problem_key *keys, size_t nkeys, const char *key)
{
    for (size_t k = 0; k < nkeys; k++)
        if (!strcmp(keys[k].key, key)) return &keys[k];
    return NULL;
}

static void key_list(const dsc__problem_key *keys, size_t nkeys, const char *text_key, char *buf, size_t cap)
{
    buf[0] = '\0';
    for (size_t k = 0; k < nkeys; k++) {
        size_t len = strlen(buf);
        snprintf(buf + len, cap - len, "%s%s", k ? ", " : "", keys[k].key);
    }
    if (text_key) {
        size_t len = strlen(buf);
        snprintf(buf + len, cap - len, "%s%s", nkeys ? ", " : "", text_key);
    }
    if (!buf[0]) snprintf(buf, cap, "none");
}

dsc_status dsc__problem_keys(const char *who, const dsc__spec *sp, const dsc__problem_key *keys,
                             size_t nkeys, double *values, const char *text_key, const char **text)
{
    for (size_t k = 0; k < nkeys; k++) values[k] = keys[k].def;
    if (text) *text = NULL;
    for (int i = 0; i < sp->count; i++) {
        const dsc__spec_item *it = &sp->items[i];
        if (text_key && !strcmp(it->key, text_key)) {
            *text = it->value;
            continue;
        }
        const dsc__problem_key *pk = find_key(keys, nkeys, it->key);
        if (!pk) {
            char list[256];
            key_list(keys, nkeys, text_key, list, sizeof list);
            return dsc__fail(DSC_ERR_SPEC, "%s: unknown key '%s' (keys: %s)", who,
                             it->key[0] ? it->key : it->value, list);
        }
        double v;
        dsc_status st = dsc__spec_double(who, pk->key, it->value, &v);
        if (st) return st;
        if (!(v >= pk->min && v <= pk->max) || (pk->integer && v != floor(v)))
            return dsc__fail(DSC_ERR_RANGE, "%s: %s must be %s in [%g, %g], got %s", who, pk->key,
                             pk->integer ? "an integer" : "a number", pk->min, pk->max, it->value);
        values[pk - keys] = v;
    }
    return DSC_OK;
}

dsc_status dsc__problem_dim_key(const char *who, dsc_problem *pb, const dsc__spec *sp, double min_n)
{
    const dsc__problem_key keys[] = {{"n", 2, min_n, 1e8, 1}};
    double n;
    dsc_status st = dsc__problem_keys(who, sp, keys, 1, &n, NULL, NULL);
    pb->dim = (size_t)n;
    return st;
}
