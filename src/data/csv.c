/*
 * csv.c: delimited text files (comma, tab or semicolon) of numbers, with a header row
 * or without, a numeric or a textual (class label) target column, and missing values
 * refused, dropped or filled in. Every failure names the file, the line and the column,
 * so a user can go straight to the bad cell.
 *
 * Two passes: the first checks that every line has the header's fields and gathers the
 * target column's texts, so memory is allocated once, for rows that exist (a file of
 * blank or short lines cannot make it allocate more than its own size in values).
 */
#include "data.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define DSC__CSV_MAX_LABELS 1000 /* more distinct texts than this are not class labels */

/* A field of a line: [s, e) after trimming blanks and one pair of double quotes. */
typedef struct field {
    const char *s, *e;
} field;

static field trim(const char *s, const char *e)
{
    while (s < e && (*s == ' ' || *s == '\t')) s++;
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r')) e--;
    if (e - s >= 2 && *s == '"' && e[-1] == '"') {
        s++;
        e--;
    }
    return (field){s, e};
}

static size_t flen(field f) { return (size_t)(f.e - f.s); }

/* The next line of [*p, end) without its newline; advances *p past it. */
static field next_line(const char **p, const char *end)
{
    const char *s = *p;
    const char *nl = memchr(s, '\n', (size_t)(end - s));
    const char *e = nl ? nl : end;
    *p = nl ? nl + 1 : end;
    return (field){s, e};
}

static int blank(field l)
{
    for (const char *c = l.s; c < l.e; c++)
        if (*c != ' ' && *c != '\t' && *c != '\r') return 0;
    return 1;
}

/* Splits a line at sep into at most max fields; returns the number of fields (which
 * may exceed max: the caller reports ragged rows). */
static size_t split(field l, char sep, field *out, size_t max)
{
    size_t n = 0;
    const char *s = l.s;
    for (;;) {
        const char *c = memchr(s, sep, (size_t)(l.e - s));
        const char *e = c ? c : l.e;
        if (n < max) out[n] = trim(s, e);
        n++;
        if (!c) return n;
        s = c + 1;
    }
}

/* 0: a finite number into *v; 1: a number that is not finite; -1: not a number. */
static int read_number(field f, double *v)
{
    char buf[64];
    size_t n = flen(f);
    if (n == 0 || n >= sizeof buf) return -1;
    memcpy(buf, f.s, n);
    buf[n] = 0;
    char *end;
    *v = strtod(buf, &end);
    if (end != buf + n) return -1;
    return isfinite(*v) ? 0 : 1;
}

static int parse_number(field f, double *v) { return read_number(f, v) == 0 ? 0 : -1; }

/* An empty cell or NaN (any case), the way pandas writes a missing value. */
static int is_missing(field f)
{
    if (flen(f) == 0) return 1;
    if (flen(f) != 3) return 0;
    return (f.s[0] | 0x20) == 'n' && (f.s[1] | 0x20) == 'a' && (f.s[2] | 0x20) == 'n';
}

/* Byte order of two texts, like strcmp (and NumPy's sort of strings). */
static int cmp_text(const char *a, size_t na, const char *b, size_t nb)
{
    int c = memcmp(a, b, na < nb ? na : nb);
    return c ? c : (na > nb) - (na < nb);
}

/* A given label and its class, for looking labels up by text. */
typedef struct given {
    const char *text;
    size_t k;
} given;

static int cmp_given(const void *a, const void *b)
{
    return strcmp(((const given *)a)->text, ((const given *)b)->text);
}

typedef struct csv {
    const char *name;
    const dsc_load_options *opt;
    size_t cols;        /* fields per line */
    size_t target;      /* index of the target field; cols when there is none */
    size_t first_line;  /* line number of the first data line's predecessor */
    const char *data;   /* where the data lines start */
    field *fields;      /* cols + 1 scratch fields */
    size_t rows;        /* non-blank data lines */
    field *texts;       /* distinct target texts, sorted (up to the label limit + 1) */
    size_t ntexts;
    size_t numbers;     /* target cells that are numbers (finite or not) */
    int textual;        /* a target column of texts, none of them a number: class labels */
    int headerless;     /* the first line is data */
    given *by_text;     /* the given labels ordered by text, else NULL */
} csv;

static void csv_free(csv *c)
{
    free(c->fields);
    free(c->texts);
    free(c->by_text);
}

/* Position of f among the sorted texts (or where it would go); *found says which. */
static size_t find_text(const csv *c, field f, int *found)
{
    size_t lo = 0, hi = c->ntexts;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int k = cmp_text(c->texts[mid].s, flen(c->texts[mid]), f.s, flen(f));
        if (k == 0) {
            *found = 1;
            return mid;
        }
        if (k < 0) lo = mid + 1;
        else hi = mid;
    }
    *found = 0;
    return lo;
}

/* Remembers a target cell's text among the distinct ones (stops past the limit). */
static void note_text(csv *c, field f)
{
    double v;
    if (is_missing(f)) return;
    if (read_number(f, &v) >= 0) c->numbers++;
    int found;
    size_t at = find_text(c, f, &found);
    if (found || c->ntexts > DSC__CSV_MAX_LABELS) return;
    memmove(c->texts + at + 1, c->texts + at, (c->ntexts - at) * sizeof *c->texts);
    c->texts[at] = f;
    c->ntexts++;
}

/* The column layout from the first non-blank line: header or data, which field is
 * the target. */
static dsc_status layout(csv *c, field first, int *headerless)
{
    const dsc_load_options *o = c->opt;
    size_t n = split(first, o->sep, NULL, 0);
    c->cols = n;
    c->fields = malloc((n + 1) * sizeof *c->fields);
    c->texts = malloc((DSC__CSV_MAX_LABELS + 2) * sizeof *c->texts);
    if (!c->fields || !c->texts) return dsc__fail(DSC_ERR_NOMEM, "csv: out of memory");
    split(first, o->sep, c->fields, n);
    *headerless = 1;
    for (size_t j = 0; j < n && *headerless; j++) {
        double v;
        *headerless = parse_number(c->fields[j], &v) == 0;
    }
    if (o->features && n != o->features && n != o->features + 1)
        return dsc__fail(DSC_ERR_MISMATCH, "csv: %s has %zu columns, the model takes %zu features (and a target)",
                         c->name, n, o->features);
    if (o->no_target || (o->features && n == o->features)) {
        c->target = n;
        return DSC_OK;
    }
    if (n < 2)
        return dsc__fail(DSC_ERR_FORMAT, "csv: %s line %zu: the %s needs at least 2 columns (features and a target), got %zu",
                         c->name, c->first_line, *headerless ? "first row" : "header", n);
    c->target = n - 1;
    const char *t = o->target;
    if (t && strcmp(t, "last") && *headerless)
        return dsc__fail(DSC_ERR_ARG, "csv: %s has no header row (its first row is numbers), so no column named '%s'",
                         c->name, t);
    if (!t || !strcmp(t, "last")) return DSC_OK;
    for (size_t j = 0; j < n; j++)
        if (cmp_text(c->fields[j].s, flen(c->fields[j]), t, strlen(t)) == 0) {
            c->target = j;
            return DSC_OK;
        }
    return dsc__fail(DSC_ERR_ARG, "csv: %s has no column named '%s'", c->name, t);
}

/* The header's names into ds: features in order, the target apart. */
static dsc_status take_names(const csv *c, field header, dsc_dataset *ds)
{
    split(header, c->opt->sep, c->fields, c->cols);
    for (size_t j = 0, k = 0; j < c->cols; j++) {
        field f = c->fields[j];
        if (f.s == f.e)
            return dsc__fail(DSC_ERR_FORMAT, "csv: %s line %zu, column %zu: empty column name", c->name,
                             c->first_line, j + 1);
        char *s = malloc(flen(f) + 1);
        if (!s) return dsc__fail(DSC_ERR_NOMEM, "csv: out of memory");
        memcpy(s, f.s, flen(f));
        s[flen(f)] = 0;
        char **slot = j == c->target ? &ds->target : &ds->names[k++];
        free(*slot);
        *slot = s;
    }
    return DSC_OK;
}

/* Pass 1: every data line has the header's fields; counts them and notes the target's texts. */
static dsc_status survey(csv *c, const char *end)
{
    size_t lineno = c->first_line;
    for (const char *p = c->data; p < end;) {
        field line = next_line(&p, end);
        lineno++;
        if (blank(line)) continue;
        size_t n = split(line, c->opt->sep, c->fields, c->cols + 1);
        if (n != c->cols)
            return dsc__fail(DSC_ERR_FORMAT, "csv: %s line %zu has %zu fields, the %s has %zu", c->name, lineno, n,
                             c->headerless ? "first row" : "header", c->cols);
        if (c->target < c->cols) note_text(c, c->fields[c->target]);
        c->rows++;
    }
    if (c->rows == 0) return dsc__fail(DSC_ERR_FORMAT, "csv: %s has a header but no data rows", c->name);
    /* one number among texts is more likely a typo than a class: then the texts are errors */
    c->textual = c->ntexts > 0 && c->numbers == 0;
    return DSC_OK;
}

/* The classes of a textual target: the given labels (ordered by text for lookups), or
 * the file's distinct texts. */
static dsc_status choose_labels(csv *c, dsc_dataset *ds)
{
    const dsc_load_options *o = c->opt;
    if (o->labels && o->nlabels) {
        c->by_text = malloc(o->nlabels * sizeof *c->by_text);
        if (!c->by_text) return dsc__fail(DSC_ERR_NOMEM, "csv: out of memory");
        for (size_t k = 0; k < o->nlabels; k++) c->by_text[k] = (given){o->labels[k], k};
        qsort(c->by_text, o->nlabels, sizeof *c->by_text, cmp_given);
        return dsc__dataset_set_labels(ds, o->labels, o->nlabels);
    }
    if (c->ntexts > DSC__CSV_MAX_LABELS)
        return dsc__fail(DSC_ERR_FORMAT, "csv: %s: the target column '%s' holds text in more than %d distinct values "
                         "(class labels are fewer)", c->name, ds->target, DSC__CSV_MAX_LABELS);
    for (size_t k = 0; k < c->ntexts; k++) {
        char *s = malloc(flen(c->texts[k]) + 1);
        if (!s) return dsc__fail(DSC_ERR_NOMEM, "csv: out of memory");
        memcpy(s, c->texts[k].s, flen(c->texts[k]));
        s[flen(c->texts[k])] = 0;
        ds->labels = ds->labels ? ds->labels : calloc(c->ntexts, sizeof *ds->labels);
        if (!ds->labels) {
            free(s);
            return dsc__fail(DSC_ERR_NOMEM, "csv: out of memory");
        }
        ds->labels[ds->nlabels++] = s;
    }
    return DSC_OK;
}

/* The class of a target text, or -1 with the failure recorded. */
static long label_of(const csv *c, field f, size_t lineno)
{
    if (c->by_text) {
        size_t lo = 0, hi = c->opt->nlabels;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            const char *l = c->by_text[mid].text;
            int k = cmp_text(l, strlen(l), f.s, flen(f));
            if (k == 0) return (long)c->by_text[mid].k;
            if (k < 0) lo = mid + 1;
            else hi = mid;
        }
        dsc__fail(DSC_ERR_MISMATCH, "csv: %s line %zu, column %zu: unknown class label '%.*s' (the model knows %zu: '%s'%s)",
                  c->name, lineno, c->target + 1, (int)(flen(f) < 32 ? flen(f) : 32), f.s, c->opt->nlabels,
                  c->opt->labels[0], c->opt->nlabels > 1 ? ", ..." : "");
        return -1;
    }
    int found;
    size_t k = find_text(c, f, &found);
    (void)found; /* every text was noted in pass 1 */
    return (long)k;
}

/* One data line into x and *y; *keep is 0 for a row that --missing drop drops. A
 * missing feature under mean is stored as NAN for fill_means. */
static dsc_status row(const csv *c, field line, size_t lineno, double *x, double *y, int *keep)
{
    dsc_missing miss = c->opt->missing;
    split(line, c->opt->sep, c->fields, c->cols);
    *keep = 1;
    *y = 0;
    for (size_t j = 0, k = 0; j < c->cols; j++) {
        field f = c->fields[j];
        int is_target = j == c->target;
        double v = NAN;
        if (is_missing(f)) {
            if (miss == DSC_MISSING_DROP) {
                *keep = 0;
                return DSC_OK;
            }
            if (miss == DSC_MISSING_ERROR || is_target)
                return dsc__fail(DSC_ERR_FORMAT, "csv: %s line %zu, column %zu: %s (a missing %s%s)", c->name, lineno,
                                 j + 1, flen(f) ? "NaN" : "empty cell", is_target ? "target" : "value",
                                 is_target ? ": drop the row" : "");
        } else if (is_target && (c->textual || c->by_text)) {
            long cls = label_of(c, f, lineno);
            if (cls < 0) return DSC_ERR_MISMATCH;
            v = (double)cls;
        } else if (parse_number(f, &v)) {
            return dsc__fail(DSC_ERR_FORMAT, "csv: %s line %zu, column %zu: '%.*s' is not a finite number", c->name,
                             lineno, j + 1, (int)(flen(f) < 32 ? flen(f) : 32), f.s);
        }
        if (is_target) *y = v;
        else x[k++] = v;
    }
    return DSC_OK;
}

/* DSC_MISSING_MEAN: every NAN becomes its column's fill value. */
static dsc_status fill_means(const csv *c, dsc_dataset *ds)
{
    size_t d = ds->cols, n = ds->rows;
    for (size_t j = 0; j < d; j++) {
        double sum = 0, fill;
        size_t count = 0;
        for (size_t i = 0; i < n; i++)
            if (!isnan(ds->x[i * d + j])) {
                sum += ds->x[i * d + j];
                count++;
            }
        if (count == n) continue;
        if (c->opt->fill) fill = c->opt->fill[j];
        else if (count) fill = sum / (double)count;
        else
            return dsc__fail(DSC_ERR_FORMAT, "csv: %s: column '%s' has no values to take the mean of", c->name,
                             ds->names[j]);
        for (size_t i = 0; i < n; i++)
            if (isnan(ds->x[i * d + j])) ds->x[i * d + j] = fill;
    }
    return DSC_OK;
}

/* Pass 2: the values. */
static dsc_status parse_rows(const csv *c, const char *end, dsc_dataset *ds)
{
    size_t lineno = c->first_line, r = 0;
    for (const char *p = c->data; p < end;) {
        field line = next_line(&p, end);
        lineno++;
        if (blank(line)) continue;
        int keep;
        dsc_status st = row(c, line, lineno, ds->x + r * ds->cols, ds->y + r, &keep);
        if (st != DSC_OK) return st;
        r += (size_t)keep;
    }
    if (r == 0) return dsc__fail(DSC_ERR_FORMAT, "csv: %s: every row has a missing value", c->name);
    ds->rows = r;
    return c->opt->missing == DSC_MISSING_MEAN ? fill_means(c, ds) : DSC_OK;
}

dsc_status dsc__csv_parse(dsc_dataset **out, const char *text, size_t len, const char *name,
                          const dsc_load_options *opt, int labels)
{
    const char *p = text, *end = text + len;
    if (len >= 3 && !memcmp(p, "\xEF\xBB\xBF", 3)) p += 3; /* UTF-8 byte order mark */
    csv c = {.name = name, .opt = opt};
    field first = {p, p};
    while (p < end) {
        first = next_line(&p, end);
        c.first_line++;
        if (!blank(first)) break;
    }
    if (blank(first)) return dsc__fail(DSC_ERR_FORMAT, "csv: %s is empty", name);
    dsc_dataset *ds = NULL;
    dsc_status st = layout(&c, first, &c.headerless);
    c.data = c.headerless ? first.s : p;
    if (c.headerless) c.first_line--;
    if (st == DSC_OK) st = survey(&c, end);
    if (!labels) c.textual = 0;
    size_t has_target = c.target < c.cols;
    if (st == DSC_OK) st = dsc__dataset_new(&ds, c.rows, c.cols - has_target, "x", "y", 1);
    if (st == DSC_OK) ds->has_target = (int)has_target;
    if (st == DSC_OK && !c.headerless) st = take_names(&c, first, ds);
    if (st == DSC_OK && has_target && (c.textual || (opt->labels && opt->nlabels))) st = choose_labels(&c, ds);
    if (st == DSC_OK) st = parse_rows(&c, end, ds);
    csv_free(&c);
    if (st != DSC_OK) {
        dsc_dataset_destroy(ds);
        return st;
    }
    *out = ds;
    return DSC_OK;
}
