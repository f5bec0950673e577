/*
 * npy.c: NumPy .npy arrays (format versions 1 to 3): little-endian float32/float64
 * and (u)int8..64 in C order. The header is a Python dict literal; we read only the
 * three keys the format defines and reject anything we cannot interpret exactly.
 */
#include "data.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum { NPY_FLOAT, NPY_INT, NPY_UINT } npy_kind;

typedef struct npy_type {
    npy_kind kind;
    size_t size;
} npy_type;

static uint64_t load_le(const unsigned char *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = n; i-- > 0;) v = v << 8 | p[i];
    return v;
}

static double to_double(const unsigned char *p, npy_type t)
{
    uint64_t bits = load_le(p, t.size);
    if (t.kind == NPY_FLOAT && t.size == 4) {
        float f;
        uint32_t b = (uint32_t)bits;
        memcpy(&f, &b, 4);
        return f;
    }
    if (t.kind == NPY_FLOAT) {
        double d;
        memcpy(&d, &bits, 8);
        return d;
    }
    if (t.kind == NPY_UINT) return (double)bits;
    unsigned shift = (unsigned)(64 - 8 * t.size); /* sign-extend */
    return (double)((int64_t)(bits << shift) >> shift);
}

/* The text after 'key': in the header, or NULL. */
static const char *find_key(const char *h, const char *key)
{
    char pat[32];
    snprintf(pat, sizeof pat, "'%s'", key);
    const char *p = strstr(h, pat);
    if (!p) return NULL;
    p += strlen(pat);
    while (*p == ' ') p++;
    if (*p != ':') return NULL;
    p++;
    while (*p == ' ') p++;
    return p;
}

static dsc_status parse_descr(const char *h, const char *name, npy_type *t)
{
    const char *p = find_key(h, "descr");
    if (!p || *p != '\'') return dsc__fail(DSC_ERR_FORMAT, "npy: %s: header has no 'descr'", name);
    char d[8] = {0};
    size_t n = strcspn(p + 1, "'");
    if (n >= sizeof d || p[1 + n] != '\'')
        return dsc__fail(DSC_ERR_FORMAT, "npy: %s: unsupported dtype '%.16s'", name, p + 1);
    memcpy(d, p + 1, n);
    int size = d[2] >= '1' && d[2] <= '8' && d[3] == 0 ? d[2] - '0' : 0;
    if (d[0] == '>' && size > 1)
        return dsc__fail(DSC_ERR_UNSUPPORTED, "npy: %s: big-endian dtype '%s' (convert with .astype('<%s'))",
                         name, d, d + 1);
    int order_ok = d[0] == '<' || d[0] == '|' || (d[0] == '>' && size == 1);
    if (order_ok && d[1] == 'f' && (size == 4 || size == 8)) *t = (npy_type){NPY_FLOAT, (size_t)size};
    else if (order_ok && (d[1] == 'i' || d[1] == 'u') && (size == 1 || size == 2 || size == 4 || size == 8))
        *t = (npy_type){d[1] == 'i' ? NPY_INT : NPY_UINT, (size_t)size};
    else
        return dsc__fail(DSC_ERR_UNSUPPORTED, "npy: %s: unsupported dtype '%s' (want float32/64 or (u)int8..64)",
                         name, d);
    return DSC_OK;
}

static dsc_status parse_shape(const char *h, const char *name, dsc__npy *out)
{
    const char *p = find_key(h, "shape");
    if (!p || *p != '(') return dsc__fail(DSC_ERR_FORMAT, "npy: %s: header has no 'shape'", name);
    p++;
    size_t dims[5], nd = 0;
    for (;;) {
        while (*p == ' ' || *p == ',') p++;
        if (*p == ')') break;
        if (*p < '0' || *p > '9' || nd == 5)
            return dsc__fail(DSC_ERR_FORMAT, "npy: %s: bad shape (want 1 to 4 dimensions)", name);
        size_t v = 0;
        for (; *p >= '0' && *p <= '9'; p++) {
            if (v > (SIZE_MAX - 9) / 10) return dsc__fail(DSC_ERR_FORMAT, "npy: %s: shape too large", name);
            v = v * 10 + (size_t)(*p - '0');
        }
        dims[nd++] = v;
    }
    if (nd < 1 || nd > 4)
        return dsc__fail(DSC_ERR_FORMAT, "npy: %s: shape has %zu dimensions, want 1 to 4", name, nd);
    out->ndim = (int)nd;
    out->shape[0] = dims[0];
    out->shape[1] = 1; /* an image row (n, [c,] h, w) is c*h*w values */
    for (size_t i = 1; i < nd; i++) {
        if (dims[i] && out->shape[1] > SIZE_MAX / 8 / dims[i])
            return dsc__fail(DSC_ERR_FORMAT, "npy: %s: shape too large", name);
        out->shape[1] *= dims[i];
        out->row[i - 1] = dims[i];
    }
    if (out->shape[1] && out->shape[0] > SIZE_MAX / 8 / out->shape[1])
        return dsc__fail(DSC_ERR_FORMAT, "npy: %s: shape too large", name);
    out->count = out->shape[0] * out->shape[1];
    return DSC_OK;
}

/* Splits off the magic, version and header text; *data points after the header. */
static dsc_status header(const unsigned char *buf, size_t len, const char *name, char **text,
                         size_t *hlen)
{
    if (len < 10 || memcmp(buf, "\x93NUMPY", 6))
        return dsc__fail(DSC_ERR_FORMAT, "npy: %s is not a .npy file (bad magic)", name);
    size_t lenbytes = buf[6] == 1 ? 2 : buf[6] == 2 || buf[6] == 3 ? 4 : 0;
    if (!lenbytes) return dsc__fail(DSC_ERR_UNSUPPORTED, "npy: %s: format version %d", name, buf[6]);
    if (len < 8 + lenbytes) return dsc__fail(DSC_ERR_FORMAT, "npy: %s: header is truncated", name);
    size_t n = (size_t)load_le(buf + 8, lenbytes), start = 8 + lenbytes;
    if (len < start || n > len - start)
        return dsc__fail(DSC_ERR_FORMAT, "npy: %s: header is truncated", name);
    *text = malloc(n + 1);
    if (!*text) return dsc__fail(DSC_ERR_NOMEM, "npy: out of memory");
    memcpy(*text, buf + start, n);
    (*text)[n] = 0;
    *hlen = start + n;
    return DSC_OK;
}

/* Whether float32 holds every value of the type exactly. */
static int exact_in_float(npy_type t)
{
    return t.kind == NPY_FLOAT ? t.size == 4 : t.size <= 2;
}

dsc_status dsc__npy_parse(dsc__npy *out, const unsigned char *buf, size_t len, const char *name)
{
    return dsc__npy_parse_as(out, buf, len, name, 0);
}

dsc_status dsc__npy_parse_as(dsc__npy *out, const unsigned char *buf, size_t len, const char *name, int f32)
{
    char *h = NULL;
    size_t hlen = 0;
    npy_type t = {NPY_FLOAT, 8};
    memset(out, 0, sizeof *out);
    dsc_status st = header(buf, len, name, &h, &hlen);
    if (st == DSC_OK) st = parse_descr(h, name, &t);
    if (st == DSC_OK) {
        const char *f = find_key(h, "fortran_order");
        if (!f || strncmp(f, "False", 5))
            st = dsc__fail(f ? DSC_ERR_UNSUPPORTED : DSC_ERR_FORMAT,
                           f ? "npy: %s: Fortran order (save with np.ascontiguousarray)" : "npy: %s: header has no 'fortran_order'",
                           name);
    }
    if (st == DSC_OK) st = parse_shape(h, name, out);
    free(h);
    if (st != DSC_OK) return st;
    if (out->count > (len - hlen) / t.size || len - hlen != out->count * t.size)
        return dsc__fail(DSC_ERR_FORMAT, "npy: %s: shape needs %zu bytes of data, the file has %zu", name,
                         out->count * t.size, len - hlen);
    size_t n = out->count ? out->count : 1;
    if (f32 && exact_in_float(t)) {
        if (!(out->fvalues = malloc(n * sizeof(float))))
            return dsc__fail(DSC_ERR_NOMEM, "npy: out of memory for %zu values", out->count);
        for (size_t i = 0; i < out->count; i++) out->fvalues[i] = (float)to_double(buf + hlen + i * t.size, t);
        return DSC_OK;
    }
    if (!(out->values = malloc(n * sizeof(double))))
        return dsc__fail(DSC_ERR_NOMEM, "npy: out of memory for %zu values", out->count);
    for (size_t i = 0; i < out->count; i++) out->values[i] = to_double(buf + hlen + i * t.size, t);
    return DSC_OK;
}

static dsc_status load_one(const char *path, dsc__npy *a, int f32)
{
    unsigned char *buf;
    size_t len;
    dsc_status st = dsc__read_whole_file("npy", path, &buf, &len);
    if (st != DSC_OK) return st;
    st = dsc__npy_parse_as(a, buf, len, path, f32);
    free(buf);
    return st;
}

static dsc_status check_pair(const dsc__npy *x, const dsc__npy *y, const char *xp, const char *yp)
{
    if (y && (y->ndim > 2 || (y->ndim == 2 && y->shape[1] != 1)))
        return dsc__fail(DSC_ERR_MISMATCH, "npy: %s: targets must be 1-D or (n, 1), got (%zu, %zu)", yp,
                         y->shape[0], y->shape[1]);
    if (y && x->shape[0] != y->shape[0])
        return dsc__fail(DSC_ERR_MISMATCH, "npy: %s has %zu rows but %s has %zu targets", xp, x->shape[0],
                         yp, y->shape[0]);
    if (x->shape[0] == 0 || x->shape[1] == 0)
        return dsc__fail(DSC_ERR_FORMAT, "npy: %s is empty (%zu x %zu)", xp, x->shape[0], x->shape[1]);
    for (size_t i = 0; i < x->count; i++)
        if (!isfinite(x->fvalues ? x->fvalues[i] : x->values[i]))
            return dsc__fail(DSC_ERR_FORMAT, "npy: %s: value %zu (row %zu) is not finite", xp, i, i / x->shape[1]);
    for (size_t i = 0; y && i < y->count; i++)
        if (!isfinite(y->values[i]))
            return dsc__fail(DSC_ERR_FORMAT, "npy: %s: target %zu is not finite", yp, i);
    return DSC_OK;
}

dsc_status dsc__npy_dataset(dsc_dataset **out, dsc__npy *x, dsc__npy *y, const char *xname,
                            const char *yname)
{
    dsc_status st = check_pair(x, y, xname, yname);
    double *targets = y ? y->values : calloc(x->shape[0] ? x->shape[0] : 1, sizeof *targets);
    if (y) y->values = NULL;
    if (st == DSC_OK && !targets) st = dsc__fail(DSC_ERR_NOMEM, "npy: out of memory");
    if (st == DSC_OK && x->fvalues)
        st = dsc__dataset_adopt_f32(out, x->shape[0], x->shape[1], "x", "y", &x->fvalues, &targets);
    else if (st == DSC_OK)
        st = dsc__dataset_adopt(out, x->shape[0], x->shape[1], "x", "y", &x->values, &targets);
    if (st == DSC_OK) (*out)->has_target = y != NULL;
    if (st == DSC_OK) dsc__dataset_set_shape(*out, x->ndim - 1, x->row); /* images: (n, h, w) or (n, c, h, w) */
    free(x->values);
    free(x->fvalues);
    x->values = NULL;
    x->fvalues = NULL;
    free(targets);
    return st;
}

dsc_status dsc_dataset_load_npy(dsc_dataset **out, const char *features_path,
                                const char *targets_path)
{
    return dsc__load_npy_as(out, features_path, targets_path, 0);
}

dsc_status dsc__load_npy_as(dsc_dataset **out, const char *features_path, const char *targets_path, int f32)
{
    if (!out) return dsc__fail(DSC_ERR_ARG, "npy: out must not be NULL");
    dsc__npy x = {0}, y = {0};
    dsc_status st = load_one(features_path, &x, f32);
    if (st == DSC_OK && targets_path) st = load_one(targets_path, &y, 0);
    if (st == DSC_OK) st = dsc__npy_dataset(out, &x, targets_path ? &y : NULL, features_path, targets_path);
    free(x.values);
    free(x.fvalues);
    free(y.values);
    return st;
}

/* The 64-byte aligned header of a little-endian float64 array in C order. */
static size_t write_header(char *h, size_t cap, size_t rows, size_t cols)
{
    char shape[64];
    if (cols) snprintf(shape, sizeof shape, "(%zu, %zu)", rows, cols);
    else snprintf(shape, sizeof shape, "(%zu,)", rows);
    int n = snprintf(h + 10, cap - 10, "{'descr': '<f8', 'fortran_order': False, 'shape': %s, }", shape);
    size_t total = 10 + (size_t)n + 1, padded = (total + 63) / 64 * 64;
    memset(h + 10 + n, ' ', padded - total);
    h[padded - 1] = '\n';
    memcpy(h, "\x93NUMPY\x01\x00", 8);
    h[8] = (char)((padded - 10) & 0xff);
    h[9] = (char)((padded - 10) >> 8);
    return padded;
}

dsc_status dsc_npy_write(const char *path, const double *v, size_t rows, size_t cols)
{
    char h[256];
    size_t hlen = write_header(h, sizeof h, rows, cols), count = rows * (cols ? cols : 1);
    /* whole or not at all: a failed write leaves the file that was there */
    dsc__outfile out;
    dsc_status st = dsc__outfile_open("npy", path, &out);
    if (st) return st;
    int ok = fwrite(h, 1, hlen, out.f) == hlen;
    for (size_t i = 0; ok && i < count; i++) {
        unsigned char b[8];
        uint64_t bits;
        memcpy(&bits, &v[i], 8);
        for (int k = 0; k < 8; k++) b[k] = (unsigned char)(bits >> (8 * k));
        ok = fwrite(b, 1, 8, out.f) == 8;
    }
    if (!ok) {
        st = dsc__io_fail("npy", "write", path);
        dsc__outfile_finish("npy", &out, 0);
        return st;
    }
    return dsc__outfile_finish("npy", &out, 1);
}
