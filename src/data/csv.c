/*
 * csv.c: CSV with a header row and numeric cells. Every failure names the file, the
 * line and the column, so a user can go straight to the bad cell.
 */
#include "data.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

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

/* Splits a line at commas into at most max fields; returns the number of fields
 * (which may exceed max: the caller reports ragged rows). */
static size_t split(field l, field *out, size_t max)
{
    size_t n = 0;
    const char *s = l.s;
    for (;;) {
        const char *c = memchr(s, ',', (size_t)(l.e - s));
        const char *e = c ? c : l.e;
        if (n < max) out[n] = trim(s, e);
        n++;
        if (!c) return n;
        s = c + 1;
    }
}

static int parse_number(field f, double *v)
{
    char buf[64];
    size_t n = (size_t)(f.e - f.s);
    if (n == 0 || n >= sizeof buf) return -1;
    memcpy(buf, f.s, n);
    buf[n] = 0;
    char *end;
    *v = strtod(buf, &end);
    return end == buf + n && isfinite(*v) ? 0 : -1;
}

static size_t count_lines(const char *p, const char *end)
{
    size_t n = 1;
    for (; (p = memchr(p, '\n', (size_t)(end - p))) != NULL; p++) n++;
    return n;
}

typedef struct csv {
    const char *name;
    size_t cols;   /* fields per line, target included */
    size_t target; /* index of the target field */
    size_t hline;  /* line number of the header */
    field *fields; /* cols + 1 scratch fields */
} csv;

static dsc_status header(csv *c, field line, const char *target, char ***names)
{
    size_t n = split(line, NULL, 0);
    if (n < 2)
        return dsc__fail(DSC_ERR_FORMAT, "csv: %s line %zu: the header needs at least 2 columns (features and a target), got %zu",
                         c->name, c->hline, n);
    c->cols = n;
    c->fields = malloc((n + 1) * sizeof *c->fields);
    *names = calloc(n, sizeof **names);
    if (!c->fields || !*names) return dsc__fail(DSC_ERR_NOMEM, "csv: out of memory");
    split(line, c->fields, n);
    c->target = n - 1;
    int found = !target || !strcmp(target, "last");
    for (size_t j = 0; j < n; j++) {
        field f = c->fields[j];
        if (f.s == f.e)
            return dsc__fail(DSC_ERR_FORMAT, "csv: %s line %zu, column %zu: empty column name", c->name,
                             c->hline, j + 1);
        char *s = malloc((size_t)(f.e - f.s) + 1);
        if (!s) return dsc__fail(DSC_ERR_NOMEM, "csv: out of memory");
        memcpy(s, f.s, (size_t)(f.e - f.s));
        s[f.e - f.s] = 0;
        (*names)[j] = s;
        if (!found && !strcmp(s, target)) {
            c->target = j;
            found = 1;
        }
    }
    if (!found) return dsc__fail(DSC_ERR_ARG, "csv: %s has no column named '%s'", c->name, target);
    return DSC_OK;
}

static dsc_status row(const csv *c, field line, size_t lineno, double *x, double *y)
{
    size_t n = split(line, c->fields, c->cols + 1);
    if (n != c->cols)
        return dsc__fail(DSC_ERR_FORMAT, "csv: %s line %zu has %zu fields, the header has %zu", c->name,
                         lineno, n, c->cols);
    for (size_t j = 0, k = 0; j < n; j++) {
        double v;
        field f = c->fields[j];
        if (f.s == f.e)
            return dsc__fail(DSC_ERR_FORMAT, "csv: %s line %zu, column %zu: empty cell", c->name, lineno, j + 1);
        if (parse_number(f, &v))
            return dsc__fail(DSC_ERR_FORMAT, "csv: %s line %zu, column %zu: '%.*s' is not a finite number",
                             c->name, lineno, j + 1, (int)(f.e - f.s < 32 ? f.e - f.s : 32), f.s);
        if (j == c->target) *y = v;
        else x[k++] = v;
    }
    return DSC_OK;
}

/* Moves the header names into ds: features in order, the target apart. */
static void take_names(dsc_dataset *ds, char **names, const csv *c)
{
    for (size_t j = 0, k = 0; j < c->cols; j++) {
        if (j == c->target) {
            free(ds->target);
            ds->target = names[j];
        } else {
            free(ds->names[k]);
            ds->names[k++] = names[j];
        }
        names[j] = NULL;
    }
}

static dsc_status parse_rows(const csv *c, const char *p, const char *end, dsc_dataset *ds)
{
    size_t lineno = c->hline, r = 0;
    while (p < end) {
        field line = next_line(&p, end);
        lineno++;
        if (blank(line)) continue;
        dsc_status st = row(c, line, lineno, ds->x + r * ds->cols, ds->y + r);
        if (st != DSC_OK) return st;
        r++;
    }
    if (r == 0) return dsc__fail(DSC_ERR_FORMAT, "csv: %s has a header but no data rows", c->name);
    ds->rows = r;
    return DSC_OK;
}

dsc_status dsc__csv_parse(dsc_dataset **out, const char *text, size_t len, const char *name,
                          const char *target)
{
    const char *p = text, *end = text + len;
    if (len >= 3 && !memcmp(p, "\xEF\xBB\xBF", 3)) p += 3; /* UTF-8 byte order mark */
    csv c = {.name = name};
    field first = {p, p};
    while (p < end) {
        first = next_line(&p, end);
        c.hline++;
        if (!blank(first)) break;
    }
    if (blank(first)) return dsc__fail(DSC_ERR_FORMAT, "csv: %s is empty", name);
    char **names = NULL;
    dsc_dataset *ds = NULL;
    dsc_status st = header(&c, first, target, &names);
    if (st == DSC_OK) st = dsc__dataset_new(&ds, count_lines(p, end), c.cols - 1, "x", "y", 1);
    if (st == DSC_OK) st = parse_rows(&c, p, end, ds);
    if (st == DSC_OK) take_names(ds, names, &c);
    for (size_t j = 0; names && j < c.cols; j++) free(names[j]);
    free(names);
    free(c.fields);
    if (st != DSC_OK) {
        dsc_dataset_destroy(ds);
        return st;
    }
    *out = ds;
    return DSC_OK;
}

dsc_status dsc_dataset_load_csv(dsc_dataset **out, const char *path, const char *target)
{
    if (!out) return dsc__fail(DSC_ERR_ARG, "csv: out must not be NULL");
    unsigned char *buf;
    size_t len;
    dsc_status st = dsc__read_whole_file("csv", path, &buf, &len);
    if (st != DSC_OK) return st;
    st = dsc__csv_parse(out, (const char *)buf, len, path, target);
    free(buf);
    return st;
}
