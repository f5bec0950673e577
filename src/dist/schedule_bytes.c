/*
 * schedule_bytes.c: a group's learning-rate schedule (spec, base rate, named state, loss
 * history) as one byte string, so a checkpoint gather or scatter can send it from the
 * rank that has the group to the ranks that need it. Every rank runs the same binary:
 * the bytes are the host's own (no byte-order conversion).
 */
#include "dist.h"

#include "../checkpoint/checkpoint.h"

#include <stdlib.h>
#include <string.h>

typedef struct writer {
    unsigned char *buf;
    size_t len, cap;
    int failed;
} writer;

static void put(writer *w, const void *p, size_t n)
{
    if (w->failed || n == 0) return;
    if (w->len + n > w->cap) {
        size_t cap = (w->len + n) * 2 + 64;
        unsigned char *b = realloc(w->buf, cap);
        if (!b) {
            w->failed = 1;
            return;
        }
        w->buf = b;
        w->cap = cap;
    }
    memcpy(w->buf + w->len, p, n);
    w->len += n;
}

static void put_size(writer *w, size_t v) { put(w, &v, sizeof v); }

static void put_text(writer *w, const char *s)
{
    size_t n = s ? strlen(s) + 1 : 0; /* 0: no text */
    put_size(w, n);
    put(w, s, n);
}

dsc_status dsc__dist_pack_schedule(const dsc_optim *opt, int g, unsigned char **out, size_t *len)
{
    dsc__sched_snap s;
    memset(&s, 0, sizeof s);
    dsc_status st = dsc__sched_snap_take(opt, g, &s);
    writer w = {0};
    if (!st) {
        put_text(&w, s.spec);
        put(&w, &s.base, sizeof s.base);
        put_size(&w, s.n);
        for (size_t k = 0; k < s.n; k++) {
            put_text(&w, s.names[k]);
            put(&w, &s.values[k], sizeof s.values[k]);
        }
        put_size(&w, s.nhist);
        put(&w, s.hist, s.nhist * sizeof *s.hist);
        if (w.failed) st = dsc__fail(DSC_ERR_NOMEM, "dist: out of memory for a schedule");
    }
    dsc__sched_snap_free(&s);
    if (st) free(w.buf);
    *out = st ? NULL : w.buf;
    *len = st ? 0 : w.len;
    return st;
}

typedef struct reader {
    unsigned char *p, *end;
} reader;

static int take(reader *r, void *dst, size_t n)
{
    if ((size_t)(r->end - r->p) < n) return 0;
    if (n) memcpy(dst, r->p, n);
    r->p += n;
    return 1;
}

/* A text (inside the buffer, NUL-terminated) or NULL. */
static int take_text(reader *r, char **s)
{
    size_t n;
    *s = NULL;
    if (!take(r, &n, sizeof n) || (size_t)(r->end - r->p) < n || (n && r->p[n - 1] != '\0')) return 0;
    if (n) *s = (char *)r->p;
    r->p += n;
    return 1;
}

dsc_status dsc__dist_apply_schedule(dsc_optim *opt, int g, unsigned char *buf, size_t len)
{
    reader r = {buf, buf + len};
    dsc__sched_snap s;
    memset(&s, 0, sizeof s);
    int ok = take_text(&r, &s.spec) && take(&r, &s.base, sizeof s.base) && take(&r, &s.n, sizeof s.n) &&
             s.n <= len;
    char **names = ok ? calloc(s.n + 1, sizeof *names) : NULL;
    double *values = ok ? calloc(s.n + 1, sizeof *values) : NULL;
    int nomem = ok && (!names || !values); /* not the bytes' fault */
    ok = ok && !nomem;
    for (size_t k = 0; ok && k < s.n; k++) ok = take_text(&r, &names[k]) && names[k] && take(&r, &values[k], sizeof *values);
    ok = ok && take(&r, &s.nhist, sizeof s.nhist) && s.nhist <= len / sizeof(double);
    double *hist = ok ? malloc((s.nhist + 1) * sizeof *hist) : NULL;
    nomem = nomem || (ok && !hist);
    ok = ok && hist && take(&r, hist, s.nhist * sizeof *hist) && r.p == r.end;
    dsc_status st = nomem ? DSC_ERR_NOMEM : DSC_ERR_FORMAT;
    if (ok) {
        s.names = names;
        s.values = values;
        s.hist = hist;
        st = dsc__sched_snap_apply(opt, g, &s);
    } else if (nomem) {
        dsc__fail(st, "dist: out of memory for a schedule");
    } else {
        dsc__fail(st, "dist: a schedule arrived malformed");
    }
    free(names);
    free(values);
    free(hist);
    return st;
}
