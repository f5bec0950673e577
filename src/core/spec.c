/*
 * spec.c: the spec-string tokenizer shared by optimizers and schedules.
 *
 *   spec  := name [ "(" [ item { "," item } ] ")" ]
 *   item  := [ key "=" ] value        value: text with balanced () and []
 *
 * Splitting is generic so that a value may itself be a tuple, a list or a nested
 * spec (SequentialLR takes schedules as positional items); each consumer parses the
 * values of its own keys with the helpers below.
 */
#include "internal.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *skip_space(const char *s)
{
    while (*s && isspace((unsigned char)*s)) s++;
    return s;
}

static int is_ident_start(int c) { return isalpha(c) || c == '_'; }
static int is_ident(int c) { return isalnum(c) || c == '_'; }

/* Copies [b, e) trimmed into dst of size cap; 0 when it does not fit. */
static int copy_trim(char *dst, size_t cap, const char *b, const char *e)
{
    while (b < e && isspace((unsigned char)*b)) b++;
    while (e > b && isspace((unsigned char)e[-1])) e--;
    if ((size_t)(e - b) >= cap) return 0;
    memcpy(dst, b, (size_t)(e - b));
    dst[e - b] = '\0';
    return 1;
}

/* One item [b, e): "key = value" when it starts with an identifier and '='. */
static dsc_status split_item(const char *what, const char *name, const char *b, const char *e,
                             dsc__spec_item *it)
{
    const char *k = skip_space(b);
    const char *ke = k;
    while (ke < e && is_ident((unsigned char)*ke)) ke++;
    const char *eq = skip_space(ke);
    it->key[0] = '\0';
    if (ke > k && is_ident_start((unsigned char)*k) && eq < e && *eq == '=') {
        if (!copy_trim(it->key, sizeof it->key, k, ke))
            return dsc__fail(DSC_ERR_SPEC, "%s: key too long in '%s'", name, what);
        b = eq + 1;
    }
    if (!copy_trim(it->value, sizeof it->value, b, e))
        return dsc__fail(DSC_ERR_SPEC, "%s: value too long", name);
    if (it->value[0] == '\0') {
        if (it->key[0])
            return dsc__fail(DSC_ERR_SPEC, "%s: missing value for key '%s'", name, it->key);
        return dsc__fail(DSC_ERR_SPEC, "%s: empty item in the argument list", name);
    }
    return DSC_OK;
}

/* A key given twice is an error for every kind of spec (optimizer, schedule,
 * average, wrapper), so the split refuses it once for all of them. */
static dsc_status unique_keys(const dsc__spec *sp)
{
    for (int i = 0; i < sp->count; i++)
        for (int j = 0; sp->items[i].key[0] && j < i; j++)
            if (!strcmp(sp->items[j].key, sp->items[i].key))
                return dsc__fail(DSC_ERR_SPEC, "%s: key '%s' given twice", sp->name, sp->items[i].key);
    return DSC_OK;
}

dsc_status dsc__spec_split(const char *text, const char *what, dsc__spec *out)
{
    if (!text || !out) return dsc__fail(DSC_ERR_ARG, "%s spec: NULL argument", what);
    memset(out, 0, sizeof *out);
    const char *s = skip_space(text);
    if (!*s) return dsc__fail(DSC_ERR_SPEC, "%s spec is empty", what);
    const char *n = s;
    if (!is_ident_start((unsigned char)*s))
        return dsc__fail(DSC_ERR_SPEC, "%s spec must start with a name, got '%s'", what, text);
    while (is_ident((unsigned char)*s)) s++;
    if ((size_t)(s - n) >= sizeof out->name)
        return dsc__fail(DSC_ERR_SPEC, "%s name too long in '%s'", what, text);
    memcpy(out->name, n, (size_t)(s - n));
    for (char *c = out->name; *c; c++) *c = (char)tolower((unsigned char)*c);
    s = skip_space(s);
    if (!*s) return DSC_OK;
    if (*s != '(')
        return dsc__fail(DSC_ERR_SPEC, "%s: expected '(' after the name, got '%s'", out->name, s);
    s++;
    const char *item = s;
    int depth = 0;
    for (;; s++) {
        char c = *s;
        if (c == '\0')
            return dsc__fail(DSC_ERR_SPEC, "%s: missing ')' at the end of '%s'", out->name, text);
        if (c == '(' || c == '[') { depth++; continue; }
        if ((c == ')' || c == ']') && depth > 0) { depth--; continue; }
        if (c == ']') return dsc__fail(DSC_ERR_SPEC, "%s: unbalanced ']' in '%s'", out->name, text);
        if (c == ',' && depth == 0) {
            if (out->count == DSC__SPEC_MAX_ITEMS)
                return dsc__fail(DSC_ERR_SPEC, "%s: more than %d items", out->name, DSC__SPEC_MAX_ITEMS);
            dsc_status st = split_item(text, out->name, item, s, &out->items[out->count]);
            if (st) return st;
            out->count++;
            item = s + 1;
            continue;
        }
        if (c == ')' && depth == 0) break;
    }
    /* the closing ')' */
    if (skip_space(item) != s || out->count > 0) {
        if (out->count == DSC__SPEC_MAX_ITEMS)
            return dsc__fail(DSC_ERR_SPEC, "%s: more than %d items", out->name, DSC__SPEC_MAX_ITEMS);
        dsc_status st = split_item(text, out->name, item, s, &out->items[out->count]);
        if (st) return st;
        out->count++;
    }
    s = skip_space(s + 1);
    if (*s)
        return dsc__fail(DSC_ERR_SPEC, "%s: unexpected text after ')': '%s'", out->name, s);
    return unique_keys(out);
}

dsc_status dsc__spec_double(const char *who, const char *key, const char *text, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (end == text || *skip_space(end) != '\0')
        return dsc__fail(DSC_ERR_SPEC, "%s: %s must be a number, got '%s'", who, key, text);
    if (errno == ERANGE && isinf(v))
        return dsc__fail(DSC_ERR_RANGE, "%s: %s is out of the range of a double, got '%s'", who, key, text);
    *out = v;
    return DSC_OK;
}

dsc_status dsc__spec_bool(const char *who, const char *key, const char *text, int *out)
{
    if (!strcasecmp(text, "true") || !strcmp(text, "1")) { *out = 1; return DSC_OK; }
    if (!strcasecmp(text, "false") || !strcmp(text, "0")) { *out = 0; return DSC_OK; }
    return dsc__fail(DSC_ERR_SPEC, "%s: %s must be true, false, 1 or 0, got '%s'", who, key, text);
}

dsc_status dsc__spec_int64(const char *who, const char *key, const char *text, int64_t *out)
{
    double v;
    dsc_status st = dsc__spec_double(who, key, text, &v);
    if (st) return st;
    if (!isfinite(v) || v != floor(v) || fabs(v) > 9.0e15)
        return dsc__fail(DSC_ERR_RANGE, "%s: %s must be an integer, got '%s'", who, key, text);
    *out = (int64_t)v;
    return DSC_OK;
}

dsc_status dsc__spec_list(const char *who, const char *key, const char *text, double *out,
                          int max, int *count)
{
    size_t len = strlen(text);
    char open = text[0], close = len ? text[len - 1] : '\0';
    if (len < 2 || !((open == '(' && close == ')') || (open == '[' && close == ']')))
        return dsc__fail(DSC_ERR_SPEC, "%s: %s must be a list like (a, b) or [a, b], got '%s'",
                         who, key, text);
    char buf[DSC__SPEC_MAX_TEXT];
    memcpy(buf, text + 1, len - 2);
    buf[len - 2] = '\0';
    *count = 0;
    if (*skip_space(buf) == '\0') return DSC_OK;
    char *save = buf;
    for (;;) {
        char *comma = strchr(save, ',');
        if (comma) *comma = '\0';
        char item[DSC__SPEC_MAX_TEXT];
        if (!copy_trim(item, sizeof item, save, save + strlen(save)) || !item[0])
            return dsc__fail(DSC_ERR_SPEC, "%s: %s has an empty element in '%s'", who, key, text);
        if (*count == max)
            return dsc__fail(DSC_ERR_SPEC, "%s: %s takes at most %d values, got '%s'", who, key, max, text);
        dsc_status st = dsc__spec_double(who, key, item, &out[*count]);
        if (st) return st;
        (*count)++;
        if (!comma) break;
        save = comma + 1;
    }
    return DSC_OK;
}
