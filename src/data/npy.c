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
#include <unistd.h>

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

/* Enough of a file's start for header_span: the magic, the version and the longest
 * header length field. */
#define NPY_PREFIX 12

/* Checks the magic and version in buf (len bytes: the first NPY_PREFIX of a file of size
 * bytes, or all of it) and finds the header text: n bytes from start. */
static dsc_status header_span(const unsigned char *buf, size_t len, size_t size, const char *name, size_t *start,
                              size_t *n)
{
    if (len < 10 || memcmp(buf, "\x93NUMPY", 6))
        return dsc__fail(DSC_ERR_FORMAT, "npy: %s is not a .npy file (bad magic)", name);
    size_t lenbytes = buf[6] == 1 ? 2 : buf[6] == 2 || buf[6] == 3 ? 4 : 0;
    if (!lenbytes) return dsc__fail(DSC_ERR_UNSUPPORTED, "npy: %s: format version %d", name, buf[6]);
    if (len < 8 + lenbytes) return dsc__fail(DSC_ERR_FORMAT, "npy: %s: header is truncated", name);
    *n = (size_t)load_le(buf + 8, lenbytes);
    *start = 8 + lenbytes;
    if (*n > size - *start) return dsc__fail(DSC_ERR_FORMAT, "npy: %s: header is truncated", name);
    return DSC_OK;
}

/* The header text h (n bytes, not terminated): the element type and the shape. */
static dsc_status parse_text(const unsigned char *h, size_t n, const char *name, npy_type *t, dsc__npy *out)
{
    char *text = malloc(n + 1);
    if (!text) return dsc__fail(DSC_ERR_NOMEM, "npy: out of memory");
    memcpy(text, h, n);
    text[n] = 0;
    dsc_status st = parse_descr(text, name, t);
    if (st == DSC_OK) {
        const char *f = find_key(text, "fortran_order");
        if (!f || strncmp(f, "False", 5))
            st = dsc__fail(f ? DSC_ERR_UNSUPPORTED : DSC_ERR_FORMAT,
                           f ? "npy: %s: Fortran order (save with np.ascontiguousarray)" : "npy: %s: header has no 'fortran_order'",
                           name);
    }
    if (st == DSC_OK) st = parse_shape(text, name, out);
    free(text);
    return st;
}

/* The data after the header must be exactly the shape's. */
static dsc_status check_data_bytes(const dsc__npy *out, npy_type t, size_t bytes, const char *name)
{
    if (out->count > bytes / t.size || bytes != out->count * t.size)
        return dsc__fail(DSC_ERR_FORMAT, "npy: %s: shape needs %zu bytes of data, the file has %zu", name,
                         out->count * t.size, bytes);
    return DSC_OK;
}

/* Whether float32 holds every value of the type exactly. */
static int exact_in_float(npy_type t)
{
    return t.kind == NPY_FLOAT ? t.size == 4 : t.size <= 2;
}

static int little_endian(void)
{
    const uint16_t one = 1;
    unsigned char first;
    memcpy(&first, &one, 1);
    return first == 1;
}

/* Where the values go (float32 with f32 when it holds them exactly, else double) and
 * whether the file's bytes are already those values: then they are copied, not converted. */
static int held_as_float(npy_type t, int f32) { return f32 && exact_in_float(t); }
static int bytes_are_values(npy_type t, int f32)
{
    return t.kind == NPY_FLOAT && t.size == (held_as_float(t, f32) ? sizeof(float) : sizeof(double)) && little_endian();
}

/* Memory for out's count values (fvalues or values, as held_as_float says). */
static dsc_status alloc_values(dsc__npy *out, npy_type t, int f32)
{
    size_t n = out->count ? out->count : 1;
    void *p = dsc__alloc_big(n * (held_as_float(t, f32) ? sizeof(float) : sizeof(double)));
    if (!p) return dsc__fail(DSC_ERR_NOMEM, "npy: out of memory for %zu values", out->count);
    if (held_as_float(t, f32)) out->fvalues = p;
    else out->values = p;
    return DSC_OK;
}

/* out's values from the file's data (count elements of type t), converted. */
static void convert(dsc__npy *out, const unsigned char *data, npy_type t)
{
    if (out->fvalues)
        for (size_t i = 0; i < out->count; i++) out->fvalues[i] = (float)to_double(data + i * t.size, t);
    else
        for (size_t i = 0; i < out->count; i++) out->values[i] = to_double(data + i * t.size, t);
}

dsc_status dsc__npy_parse(dsc__npy *out, const unsigned char *buf, size_t len, const char *name)
{
    return dsc__npy_parse_as(out, buf, len, name, 0);
}

dsc_status dsc__npy_parse_as(dsc__npy *out, const unsigned char *buf, size_t len, const char *name, int f32)
{
    size_t start = 0, n = 0;
    npy_type t = {NPY_FLOAT, 8};
    memset(out, 0, sizeof *out);
    dsc_status st = header_span(buf, len, len, name, &start, &n);
    if (st == DSC_OK) st = parse_text(buf + start, n, name, &t, out);
    if (st == DSC_OK) st = check_data_bytes(out, t, len - start - n, name);
    if (st == DSC_OK) st = alloc_values(out, t, f32);
    if (st != DSC_OK) return st;
    const unsigned char *data = buf + start + n;
    if (bytes_are_values(t, f32)) memcpy(out->fvalues ? (void *)out->fvalues : (void *)out->values, data, out->count * t.size);
    else convert(out, data, t);
    return DSC_OK;
}

/* A .npy file's array: the header first, then the data, read straight into the values
 * when they are the file's bytes (float32 or float64 as stored), else through a buffer
 * and converted; one pass over the data either way, and no copy of the whole file. */
static dsc_status read_npy(const char *path, int fd, size_t size, dsc__npy *a, int f32)
{
    unsigned char prefix[NPY_PREFIX], *buf = NULL;
    size_t plen = size < NPY_PREFIX ? size : NPY_PREFIX, start = 0, n = 0;
    npy_type t = {NPY_FLOAT, 8};
    dsc_status st = dsc__read_at("npy", path, fd, 0, prefix, plen);
    if (st == DSC_OK) st = header_span(prefix, plen, size, path, &start, &n);
    if (st == DSC_OK && !(buf = malloc(n ? n : 1))) st = dsc__fail(DSC_ERR_NOMEM, "npy: out of memory");
    if (st == DSC_OK) st = dsc__read_at("npy", path, fd, start, buf, n);
    if (st == DSC_OK) st = parse_text(buf, n, path, &t, a);
    free(buf);
    buf = NULL;
    size_t at = start + n, bytes = size - at;
    if (st == DSC_OK) st = check_data_bytes(a, t, bytes, path);
    if (st == DSC_OK) st = alloc_values(a, t, f32);
    if (st != DSC_OK) return st;
    if (bytes_are_values(t, f32))
        return dsc__read_at("npy", path, fd, at, a->fvalues ? (void *)a->fvalues : (void *)a->values, bytes);
    if (!(buf = dsc__alloc_big(bytes))) return dsc__fail(DSC_ERR_NOMEM, "npy: out of memory for %zu bytes", bytes);
    st = dsc__read_at("npy", path, fd, at, buf, bytes);
    if (st == DSC_OK) convert(a, buf, t);
    free(buf);
    return st;
}

static dsc_status load_one(const char *path, dsc__npy *a, int f32)
{
    int fd;
    size_t size;
    memset(a, 0, sizeof *a);
    dsc_status st = dsc__open_regular("npy", path, &fd, &size);
    if (st != DSC_OK) return st;
    st = read_npy(path, fd, size, a, f32);
    close(fd);
    if (st != DSC_OK) {
        free(a->values);
        free(a->fvalues);
        a->values = NULL;
        a->fvalues = NULL;
    }
    return st;
}

/* Values at a time in the finiteness scan: a block is tested without a branch (an
 * exponent of all ones is an infinity or a NaN), which the compiler vectorises; only a
 * block that holds one is searched for it. */
#define NONFINITE_BLOCK 4096

static int any_nonfinite_f32(const float *v, size_t n)
{
    const uint32_t exponent = 0x7f800000u;
    uint32_t bad = 0, b;
    for (size_t i = 0; i < n; i++) memcpy(&b, &v[i], sizeof b), bad |= (b & exponent) == exponent;
    return bad != 0;
}

static int any_nonfinite_f64(const double *v, size_t n)
{
    const uint64_t exponent = 0x7ff0000000000000u;
    uint64_t bad = 0, b;
    for (size_t i = 0; i < n; i++) memcpy(&b, &v[i], sizeof b), bad |= (b & exponent) == exponent;
    return bad != 0;
}

/* The index of the first infinity or NaN among a's values, or a->count. */
static size_t first_nonfinite(const dsc__npy *a)
{
    for (size_t s = 0; s < a->count; s += NONFINITE_BLOCK) {
        size_t e = a->count - s < NONFINITE_BLOCK ? a->count : s + NONFINITE_BLOCK;
        int bad = a->fvalues ? any_nonfinite_f32(a->fvalues + s, e - s) : any_nonfinite_f64(a->values + s, e - s);
        for (size_t i = s; bad && i < e; i++)
            if (!isfinite(a->fvalues ? a->fvalues[i] : a->values[i])) return i;
    }
    return a->count;
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
    size_t i = first_nonfinite(x);
    if (i < x->count)
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
    /* Zero targets only once the pair is checked: a header may claim billions of rows of
     * width 0, which holds no bytes but would ask for gigabytes here. */
    double *targets = y ? y->values : st == DSC_OK ? calloc(x->shape[0], sizeof *targets) : NULL;
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
