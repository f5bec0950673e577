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

static dsc_status gunzip(const unsigned char *in, size_t len, const char *name, size_t max_bytes,
                         unsigned char **out, size_t *outlen)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (inflateInit2(&z, 15 + 16) != Z_OK) return dsc__fail(DSC_ERR_NOMEM, "idx: zlib init failed");
    size_t cap = len * 4 + 1024, n = 0;
    unsigned char *buf = malloc(cap);
    int rc = Z_OK;
    z.next_in = (unsigned char *)in;
    while (buf && rc != Z_STREAM_END) {
        if (n == cap) {
            unsigned char *nb = cap <= max_bytes ? realloc(buf, cap * 2) : NULL;
            if (!nb) break;
            buf = nb;
            cap *= 2;
        }
        size_t in_left = len - (size_t)(z.next_in - in);
        z.avail_in = in_left > UINT32_MAX ? UINT32_MAX : (uInt)in_left;
        z.next_out = buf + n;
        z.avail_out = cap - n > UINT32_MAX ? UINT32_MAX : (uInt)(cap - n);
        rc = inflate(&z, Z_NO_FLUSH);
        n = (size_t)(z.next_out - buf);
        if (rc != Z_OK && rc != Z_STREAM_END && !(rc == Z_BUF_ERROR && z.avail_out == 0)) break;
        if (rc == Z_OK && z.avail_in == 0 && z.avail_out > 0) break; /* truncated */
    }
    inflateEnd(&z);
    if (!buf) return dsc__fail(DSC_ERR_NOMEM, "idx: out of memory inflating %s", name);
    if (rc != Z_STREAM_END || n > max_bytes) {
        free(buf);
        return n > max_bytes || cap > max_bytes
                   ? dsc__fail(DSC_ERR_FORMAT, "idx: %s inflates past %zu bytes", name, max_bytes)
                   : dsc__fail(DSC_ERR_FORMAT, "idx: %s: corrupt or truncated gzip data", name);
    }
    *out = buf;
    *outlen = n;
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

static dsc_status parse_raw(dsc__idx *out, const unsigned char *b, size_t len, const char *name)
{
    if (len < 4 || b[0] || b[1])
        return dsc__fail(DSC_ERR_FORMAT, "idx: %s is not an IDX file (bad magic)", name);
    unsigned t = b[2], nd = b[3];
    size_t es = type_size(t);
    if (!es) return dsc__fail(DSC_ERR_FORMAT, "idx: %s: unknown element type 0x%02x", name, t);
    if (nd < 1 || nd > 8) return dsc__fail(DSC_ERR_FORMAT, "idx: %s: %u dimensions (want 1 to 8)", name, nd);
    if (len < 4 + 4 * (size_t)nd) return dsc__fail(DSC_ERR_FORMAT, "idx: %s: header is truncated", name);
    size_t count = 1;
    for (unsigned i = 0; i < nd; i++) {
        out->dims[i] = be32(b + 4 + 4 * i);
        if (out->dims[i] && count > SIZE_MAX / 8 / out->dims[i])
            return dsc__fail(DSC_ERR_FORMAT, "idx: %s: dimensions too large", name);
        count *= out->dims[i];
    }
    size_t start = 4 + 4 * (size_t)nd;
    if (len - start != count * es)
        return dsc__fail(DSC_ERR_FORMAT, "idx: %s: dimensions need %zu bytes of data, the file has %zu", name,
                         count * es, len - start);
    out->ndim = (int)nd;
    out->count = count;
    out->values = malloc((count ? count : 1) * sizeof(double));
    if (!out->values) return dsc__fail(DSC_ERR_NOMEM, "idx: out of memory for %zu values", count);
    for (size_t i = 0; i < count; i++) {
        out->values[i] = value(b + start + i * es, t);
        if (!isfinite(out->values[i])) {
            free(out->values);
            out->values = NULL;
            return dsc__fail(DSC_ERR_FORMAT, "idx: %s: value %zu is not finite", name, i);
        }
    }
    return DSC_OK;
}

dsc_status dsc__idx_parse(dsc__idx *out, const unsigned char *buf, size_t len, const char *name,
                          size_t max_bytes)
{
    memset(out, 0, sizeof *out);
    if (len < 2 || buf[0] != 0x1f || buf[1] != 0x8b) return parse_raw(out, buf, len, name);
    unsigned char *raw = NULL;
    size_t rawlen = 0;
    dsc_status st = gunzip(buf, len, name, max_bytes, &raw, &rawlen);
    if (st != DSC_OK) return st;
    st = parse_raw(out, raw, rawlen, name);
    free(raw);
    return st;
}

static dsc_status load_one(const char *path, dsc__idx *a)
{
    unsigned char *buf;
    size_t len;
    dsc_status st = dsc__read_whole_file("idx", path, &buf, &len);
    if (st != DSC_OK) return st;
    st = dsc__idx_parse(a, buf, len, path, DSC__IDX_MAX_BYTES);
    free(buf);
    return st;
}

dsc_status dsc_dataset_load_idx(dsc_dataset **out, const char *images_path,
                                const char *labels_path)
{
    if (!out) return dsc__fail(DSC_ERR_ARG, "idx: out must not be NULL");
    dsc__idx x = {0}, y = {0};
    dsc_status st = load_one(images_path, &x);
    if (st == DSC_OK) st = load_one(labels_path, &y);
    if (st == DSC_OK && y.ndim != 1)
        st = dsc__fail(DSC_ERR_MISMATCH, "idx: %s: labels must have 1 dimension, got %d", labels_path, y.ndim);
    if (st == DSC_OK && x.dims[0] != y.dims[0])
        st = dsc__fail(DSC_ERR_MISMATCH, "idx: %s has %zu images but %s has %zu labels", images_path,
                       x.dims[0], labels_path, y.dims[0]);
    size_t cols = x.dims[0] ? x.count / x.dims[0] : 0;
    if (st == DSC_OK && (x.dims[0] == 0 || cols == 0))
        st = dsc__fail(DSC_ERR_FORMAT, "idx: %s holds no images", images_path);
    if (st == DSC_OK) st = dsc__dataset_adopt(out, x.dims[0], cols, "pixel", "label", &x.values, &y.values);
    if (st == DSC_OK) dsc__dataset_set_shape(*out, x.ndim - 1, x.dims + 1);
    free(x.values);
    free(y.values);
    return st;
}
