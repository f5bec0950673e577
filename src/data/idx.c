/*
 * idx.c: the IDX format of MNIST (LeCun et al.): two zero bytes, a type byte, the
 * number of dimensions, big-endian 32-bit sizes, then big-endian values. Files are
 * often distributed gzip-compressed (.gz), so we inflate them in memory with zlib.
 */
#include "data.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define DSC__IDX_MAX_BYTES ((size_t)4 << 30) /* refuse to inflate past 4 GiB */

/* Inflates the gzip data in into out[0..cap), stopping when it is full; *n is what
 * came out, *ended whether the stream ended there (with its checksum verified). */
static dsc_status inflate_into(const unsigned char *in, size_t len, const char *name, unsigned char *out,
                               size_t cap, size_t *n, int *ended)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (inflateInit2(&z, 15 + 16) != Z_OK) return dsc__fail(DSC_ERR_NOMEM, "idx: zlib init failed");
    int rc = Z_OK;
    z.next_in = (unsigned char *)in;
    z.next_out = out;
    while (rc == Z_OK) {
        size_t in_left = len - (size_t)(z.next_in - in), out_left = cap - (size_t)(z.next_out - out);
        if (out_left == 0 || (in_left == 0 && z.avail_in == 0)) break;
        z.avail_in = in_left > UINT32_MAX ? UINT32_MAX : (uInt)in_left;
        z.avail_out = out_left > UINT32_MAX ? UINT32_MAX : (uInt)out_left;
        rc = inflate(&z, Z_NO_FLUSH);
    }
    *n = (size_t)(z.next_out - out);
    inflateEnd(&z);
    *ended = rc == Z_STREAM_END;
    if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR)
        return dsc__fail(DSC_ERR_FORMAT, "idx: %s: corrupt gzip data", name);
    return DSC_OK;
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Element size of an IDX type code, 0 if unknown. */
static size_t type_size(unsigned t)
{
    switch (t) {
    case 0x08: case 0x09: return 1;
    case 0x0B: return 2;
    case 0x0C: case 0x0D: return 4;
    case 0x0E: return 8;
    }
    return 0;
}

static double value(const unsigned char *p, unsigned t)
{
    uint64_t v = 0;
    for (size_t i = 0; i < type_size(t); i++) v = v << 8 | p[i];
    switch (t) {
    case 0x08: return (double)v;
    case 0x09: return (double)(int8_t)(uint8_t)v;
    case 0x0B: return (double)(int16_t)(uint16_t)v;
    case 0x0C: return (double)(int32_t)(uint32_t)v;
    case 0x0D: {
        float f;
        uint32_t b = (uint32_t)v;
        memcpy(&f, &b, 4);
        return f;
    }
    default: {
        double d;
        memcpy(&d, &v, 8);
        return d;
    }
    }
}

#define IDX_MAX_HEADER (4 + 4 * 8)

/* The magic and dims of an IDX header (len bytes of it available); *start is where
 * the values begin, *es their size. */
static dsc_status parse_header(dsc__idx *out, const unsigned char *b, size_t len, const char *name, size_t *start,
                               size_t *es)
{
    if (len < 4 || b[0] || b[1])
        return dsc__fail(DSC_ERR_FORMAT, "idx: %s is not an IDX file (bad magic)", name);
    unsigned t = b[2], nd = b[3];
    *es = type_size(t);
    if (!*es) return dsc__fail(DSC_ERR_FORMAT, "idx: %s: unknown element type 0x%02x", name, t);
    if (nd < 1 || nd > 8) return dsc__fail(DSC_ERR_FORMAT, "idx: %s: %u dimensions (want 1 to 8)", name, nd);
    if (len < 4 + 4 * (size_t)nd) return dsc__fail(DSC_ERR_FORMAT, "idx: %s: header is truncated", name);
    size_t count = 1;
    for (unsigned i = 0; i < nd; i++) {
        out->dims[i] = be32(b + 4 + 4 * i);
        if (out->dims[i] && count > SIZE_MAX / 8 / out->dims[i])
            return dsc__fail(DSC_ERR_FORMAT, "idx: %s: dimensions too large", name);
        count *= out->dims[i];
    }
    out->ndim = (int)nd;
    out->count = count;
    *start = 4 + 4 * (size_t)nd;
    return DSC_OK;
}

/* Whether float32 holds every value of the element type exactly. */
static int exact_in_float(unsigned t) { return t == 0x08 || t == 0x09 || t == 0x0B || t == 0x0D; }

static dsc_status parse_raw(dsc__idx *out, const unsigned char *b, size_t len, const char *name, int f32)
{
    size_t start, es;
    dsc_status st = parse_header(out, b, len, name, &start, &es);
    if (st != DSC_OK) return st;
    size_t count = out->count;
    if (len - start != count * es)
        return dsc__fail(DSC_ERR_FORMAT, "idx: %s: dimensions need %zu bytes of data, the file has %zu", name,
                         count * es, len - start);
    unsigned t = b[2];
    f32 = f32 && exact_in_float(t);
    if (f32) out->fvalues = dsc__alloc_big(count * sizeof(float));
    else out->values = dsc__alloc_big(count * sizeof(double));
    if (!out->values && !out->fvalues) return dsc__fail(DSC_ERR_NOMEM, "idx: out of memory for %zu values", count);
    for (size_t i = 0; i < count; i++) {
        double v = value(b + start + i * es, t);
        if (f32) out->fvalues[i] = (float)v;
        else out->values[i] = v;
        if (!isfinite(v)) {
            free(out->values);
            free(out->fvalues);
            out->values = NULL;
            out->fvalues = NULL;
            return dsc__fail(DSC_ERR_FORMAT, "idx: %s: value %zu is not finite", name, i);
        }
    }
    return DSC_OK;
}

static int gzipped(const unsigned char *buf, size_t len) { return len >= 2 && buf[0] == 0x1f && buf[1] == 0x8b; }

/* parse_header on a file, inflating only the header's bytes of a gzip file. */
static dsc_status any_header(dsc__idx *out, const unsigned char *buf, size_t len, const char *name, size_t *start,
                             size_t *es)
{
    memset(out, 0, sizeof *out);
    if (!gzipped(buf, len)) return parse_header(out, buf, len, name, start, es);
    unsigned char h[IDX_MAX_HEADER];
    size_t n;
    int ended;
    dsc_status st = inflate_into(buf, len, name, h, sizeof h, &n, &ended);
    if (st == DSC_OK && n < sizeof h && !ended)
        st = dsc__fail(DSC_ERR_FORMAT, "idx: %s: corrupt or truncated gzip data", name);
    return st != DSC_OK ? st : parse_header(out, h, n, name, start, es);
}

dsc_status dsc__idx_header(dsc__idx *out, const unsigned char *buf, size_t len, const char *name)
{
    size_t start, es;
    return any_header(out, buf, len, name, &start, &es);
}

dsc_status dsc__idx_parse(dsc__idx *out, const unsigned char *buf, size_t len, const char *name,
                          size_t max_bytes)
{
    return dsc__idx_parse_as(out, buf, len, name, max_bytes, 0);
}

dsc_status dsc__idx_parse_as(dsc__idx *out, const unsigned char *buf, size_t len, const char *name,
                             size_t max_bytes, int f32)
{
    memset(out, 0, sizeof *out);
    if (!gzipped(buf, len)) return parse_raw(out, buf, len, name, f32);
    /* the header says how large the data is: inflate into exactly that (and one byte
     * more, to notice a longer stream), never into a buffer grown by guesswork */
    dsc__idx h;
    size_t start, es;
    dsc_status st = any_header(&h, buf, len, name, &start, &es);
    if (st != DSC_OK) return st;
    if (max_bytes < start || h.count > (max_bytes - start) / es)
        return dsc__fail(DSC_ERR_FORMAT, "idx: %s inflates past %zu bytes", name, max_bytes);
    size_t need = start + h.count * es;
    int ended;
    unsigned char *raw = malloc(need + 1);
    if (!raw) return dsc__fail(DSC_ERR_NOMEM, "idx: out of memory inflating %s", name);
    size_t n;
    st = inflate_into(buf, len, name, raw, need + 1, &n, &ended);
    if (st == DSC_OK && (n != need || !ended))
        st = n > need ? dsc__fail(DSC_ERR_FORMAT, "idx: %s: dimensions need %zu bytes of data, the file has more", name,
                                  need - start)
                      : dsc__fail(DSC_ERR_FORMAT, "idx: %s: corrupt or truncated gzip data", name);
    if (st == DSC_OK) st = parse_raw(out, raw, n, name, f32);
    free(raw);
    return st;
}

/* Reads a file and checks its header; the values are parsed later, by load_values. */
static dsc_status load_header(const char *path, unsigned char **buf, size_t *len, dsc__idx *h)
{
    dsc_status st = dsc__read_whole_file("idx", path, buf, len);
    if (st == DSC_OK) st = dsc__idx_header(h, *buf, *len, path);
    return st;
}

dsc_status dsc_dataset_load_idx(dsc_dataset **out, const char *images_path,
                                const char *labels_path)
{
    return dsc__load_idx_as(out, images_path, labels_path, 0);
}

dsc_status dsc__load_idx_as(dsc_dataset **out, const char *images_path, const char *labels_path, int f32)
{
    if (!out) return dsc__fail(DSC_ERR_ARG, "idx: out must not be NULL");
    dsc__idx x = {0}, y = {0};
    unsigned char *xb = NULL, *yb = NULL;
    size_t xl = 0, yl = 0;
    /* both headers first: a count mismatch is refused before anything is inflated */
    dsc_status st = load_header(images_path, &xb, &xl, &x);
    if (st == DSC_OK && labels_path) st = load_header(labels_path, &yb, &yl, &y);
    if (st == DSC_OK && labels_path && y.ndim != 1)
        st = dsc__fail(DSC_ERR_MISMATCH, "idx: %s: labels must have 1 dimension, got %d", labels_path, y.ndim);
    if (st == DSC_OK && labels_path && x.dims[0] != y.dims[0])
        st = dsc__fail(DSC_ERR_MISMATCH, "idx: %s has %zu images but %s has %zu labels", images_path,
                       x.dims[0], labels_path, y.dims[0]);
    size_t cols = x.dims[0] ? x.count / x.dims[0] : 0;
    if (st == DSC_OK && (x.dims[0] == 0 || cols == 0))
        st = dsc__fail(DSC_ERR_FORMAT, "idx: %s holds no images", images_path);
    if (st == DSC_OK) st = dsc__idx_parse_as(&x, xb, xl, images_path, DSC__IDX_MAX_BYTES, f32);
    if (st == DSC_OK && labels_path) st = dsc__idx_parse(&y, yb, yl, labels_path, DSC__IDX_MAX_BYTES);
    free(xb);
    free(yb);
    if (st == DSC_OK && !labels_path && !(y.values = calloc(x.dims[0], sizeof *y.values)))
        st = dsc__fail(DSC_ERR_NOMEM, "idx: out of memory");
    if (st == DSC_OK && x.fvalues) st = dsc__dataset_adopt_f32(out, x.dims[0], cols, "pixel", "label", &x.fvalues, &y.values);
    else if (st == DSC_OK) st = dsc__dataset_adopt(out, x.dims[0], cols, "pixel", "label", &x.values, &y.values);
    if (st == DSC_OK) (*out)->has_target = labels_path != NULL;
    if (st == DSC_OK) dsc__dataset_set_shape(*out, x.ndim - 1, x.dims + 1);
    free(x.values);
    free(x.fvalues);
    free(y.values);
    return st;
}
