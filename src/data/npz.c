/*
 * npz.c: NumPy .npz archives (np.savez, np.savez_compressed): a zip file of .npy
 * members. We read the zip's central directory (ZIP64 included, as NumPy writes it),
 * find the members "<key>.npy", and take each either in place (stored) or inflated
 * with zlib (deflated), checking its CRC-32.
 *
 * Memory stays bounded by the archive: a member is inflated into a buffer of the size
 * the directory declares, and only when that size is one deflate can produce from the
 * member's compressed bytes (at most DEFLATE_MAX_RATIO times them) and within max_bytes.
 */
#include "data.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define EOCD_SIG 0x06054b50u
#define EOCD_SIZE 22
#define ZIP64_LOCATOR_SIG 0x07064b50u
#define ZIP64_LOCATOR_SIZE 20
#define ZIP64_EOCD_SIG 0x06064b50u
#define CDIR_SIG 0x02014b50u
#define CDIR_SIZE 46
#define LOCAL_SIG 0x04034b50u
#define LOCAL_SIZE 30
#define ZIP64_EXTRA_ID 0x0001u
#define MAX_COMMENT 65535
#define METHOD_STORED 0
#define METHOD_DEFLATE 8
#define FLAG_ENCRYPTED 1u
#define DEFLATE_MAX_RATIO 1032 /* the most one deflate stream can expand */

static uint64_t le(const unsigned char *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = n; i-- > 0;) v = v << 8 | p[i];
    return v;
}

/* One member as the central directory describes it. */
typedef struct member {
    unsigned method, flags;
    uint32_t crc;
    uint64_t csize, usize, offset;
} member;

typedef struct zip {
    const unsigned char *buf;
    size_t len;
    const char *name;
    uint64_t cdir, cdir_size, entries;
} zip;

/* The end of central directory record (and its ZIP64 successor when a field overflowed). */
static dsc_status find_directory(zip *z)
{
    const unsigned char *b = z->buf;
    size_t len = z->len;
    if (len < EOCD_SIZE) return dsc__fail(DSC_ERR_FORMAT, "npz: %s is not a zip archive (too short)", z->name);
    size_t lowest = len - EOCD_SIZE > MAX_COMMENT ? len - EOCD_SIZE - MAX_COMMENT : 0;
    size_t at = len - EOCD_SIZE + 1;
    do {
        at--;
        if (le(b + at, 4) == EOCD_SIG && at + EOCD_SIZE + le(b + at + 20, 2) == len) break;
    } while (at > lowest);
    if (le(b + at, 4) != EOCD_SIG)
        return dsc__fail(DSC_ERR_FORMAT, "npz: %s is not a zip archive (no end of central directory)", z->name);
    z->entries = le(b + at + 10, 2);
    z->cdir_size = le(b + at + 12, 4);
    z->cdir = le(b + at + 16, 4);
    if (z->entries == 0xFFFF || z->cdir_size == 0xFFFFFFFF || z->cdir == 0xFFFFFFFF) {
        if (at < ZIP64_LOCATOR_SIZE || le(b + at - ZIP64_LOCATOR_SIZE, 4) != ZIP64_LOCATOR_SIG)
            return dsc__fail(DSC_ERR_FORMAT, "npz: %s: ZIP64 archive without its locator", z->name);
        uint64_t e64 = le(b + at - ZIP64_LOCATOR_SIZE + 8, 8);
        if (e64 > len || len - e64 < 56 || le(b + e64, 4) != ZIP64_EOCD_SIG)
            return dsc__fail(DSC_ERR_FORMAT, "npz: %s: bad ZIP64 end of central directory", z->name);
        z->entries = le(b + e64 + 32, 8);
        z->cdir_size = le(b + e64 + 40, 8);
        z->cdir = le(b + e64 + 48, 8);
    }
    if (z->cdir > len || z->cdir_size > len - z->cdir)
        return dsc__fail(DSC_ERR_FORMAT, "npz: %s: the central directory lies outside the file", z->name);
    return DSC_OK;
}

/* The ZIP64 extra field of a directory entry: the 64-bit values of the fields that overflowed. */
static dsc_status zip64_extra(const zip *z, const unsigned char *x, size_t xlen, member *m)
{
    uint64_t *want[3] = {m->usize == 0xFFFFFFFF ? &m->usize : NULL, m->csize == 0xFFFFFFFF ? &m->csize : NULL,
                         m->offset == 0xFFFFFFFF ? &m->offset : NULL};
    if (!want[0] && !want[1] && !want[2]) return DSC_OK;
    for (size_t p = 0; p + 4 <= xlen;) {
        size_t id = (size_t)le(x + p, 2), n = (size_t)le(x + p + 2, 2);
        if (n > xlen - p - 4) break;
        if (id == ZIP64_EXTRA_ID) {
            size_t q = p + 4;
            for (int i = 0; i < 3; i++) {
                if (!want[i]) continue;
                if (q + 8 > p + 4 + n) return dsc__fail(DSC_ERR_FORMAT, "npz: %s: short ZIP64 field", z->name);
                *want[i] = le(x + q, 8);
                q += 8;
            }
            return DSC_OK;
        }
        p += 4 + n;
    }
    return dsc__fail(DSC_ERR_FORMAT, "npz: %s: a member's sizes overflow without a ZIP64 field", z->name);
}

/* Looks up the member named file in the central directory; *found says whether it is there. */
static dsc_status find_member(const zip *z, const char *file, member *m, int *found)
{
    const unsigned char *p = z->buf + z->cdir, *end = p + z->cdir_size;
    size_t flen = strlen(file);
    *found = 0;
    for (uint64_t i = 0; i < z->entries; i++) {
        if ((size_t)(end - p) < CDIR_SIZE || le(p, 4) != CDIR_SIG)
            return dsc__fail(DSC_ERR_FORMAT, "npz: %s: central directory entry %llu is damaged", z->name,
                             (unsigned long long)i);
        size_t nlen = (size_t)le(p + 28, 2), xlen = (size_t)le(p + 30, 2), clen = (size_t)le(p + 32, 2);
        if ((size_t)(end - p) - CDIR_SIZE < nlen + xlen + clen)
            return dsc__fail(DSC_ERR_FORMAT, "npz: %s: central directory entry %llu is truncated", z->name,
                             (unsigned long long)i);
        if (nlen == flen && !memcmp(p + CDIR_SIZE, file, flen)) {
            *m = (member){.flags = (unsigned)le(p + 8, 2), .method = (unsigned)le(p + 10, 2),
                          .crc = (uint32_t)le(p + 16, 4), .csize = le(p + 20, 4), .usize = le(p + 24, 4),
                          .offset = le(p + 42, 4)};
            *found = 1;
            return zip64_extra(z, p + CDIR_SIZE + nlen, xlen, m);
        }
        p += CDIR_SIZE + nlen + xlen + clen;
    }
    return DSC_OK;
}

static uint32_t crc_of(const unsigned char *p, uint64_t n)
{
    uLong c = crc32(0L, Z_NULL, 0);
    while (n > 0) {
        uInt chunk = n > UINT32_MAX ? UINT32_MAX : (uInt)n;
        c = crc32(c, p, chunk);
        p += chunk;
        n -= chunk;
    }
    return (uint32_t)c;
}

/* Raw deflate of in into exactly usize bytes at out. */
static dsc_status inflate_member(const zip *z, const char *file, const unsigned char *in, uint64_t csize,
                                 unsigned char *out, uint64_t usize)
{
    z_stream s;
    memset(&s, 0, sizeof s);
    if (inflateInit2(&s, -15) != Z_OK) return dsc__fail(DSC_ERR_NOMEM, "npz: zlib init failed");
    int rc = Z_OK;
    s.next_in = (unsigned char *)in;
    s.next_out = out;
    while (rc == Z_OK) {
        uint64_t in_left = csize - (uint64_t)(s.next_in - in), out_left = usize - (uint64_t)(s.next_out - out);
        s.avail_in = in_left > UINT32_MAX ? UINT32_MAX : (uInt)in_left;
        s.avail_out = out_left > UINT32_MAX ? UINT32_MAX : (uInt)out_left;
        if (s.avail_in == 0 && s.avail_out == 0) break;
        rc = inflate(&s, Z_NO_FLUSH);
    }
    uint64_t got = (uint64_t)(s.next_out - out);
    inflateEnd(&s);
    if (rc != Z_STREAM_END || got != usize)
        return dsc__fail(DSC_ERR_FORMAT, "npz: %s: member %s is corrupt (inflates to %llu of %llu bytes)", z->name,
                         file, (unsigned long long)got, (unsigned long long)usize);
    return DSC_OK;
}

/* The bytes of a member: in place when stored (*owned NULL), else inflated into *owned. */
static dsc_status member_bytes(const zip *z, const char *file, const member *m, size_t max_bytes,
                               const unsigned char **data, unsigned char **owned)
{
    *owned = NULL;
    if (m->flags & FLAG_ENCRYPTED) return dsc__fail(DSC_ERR_UNSUPPORTED, "npz: %s: member %s is encrypted", z->name, file);
    if (m->offset > z->len || z->len - m->offset < LOCAL_SIZE || le(z->buf + m->offset, 4) != LOCAL_SIG)
        return dsc__fail(DSC_ERR_FORMAT, "npz: %s: member %s has no local header", z->name, file);
    uint64_t start = m->offset + LOCAL_SIZE + le(z->buf + m->offset + 26, 2) + le(z->buf + m->offset + 28, 2);
    if (start > z->len || m->csize > z->len - start)
        return dsc__fail(DSC_ERR_FORMAT, "npz: %s: member %s runs past the end of the file", z->name, file);
    const unsigned char *in = z->buf + start;
    if (m->method == METHOD_STORED) {
        if (m->usize != m->csize)
            return dsc__fail(DSC_ERR_FORMAT, "npz: %s: stored member %s has two sizes", z->name, file);
        *data = in;
    } else if (m->method == METHOD_DEFLATE) {
        if (m->usize > max_bytes || m->usize > m->csize * DEFLATE_MAX_RATIO + 64)
            return dsc__fail(DSC_ERR_FORMAT, "npz: %s: member %s claims %llu bytes from %llu compressed (at most %zu)",
                             z->name, file, (unsigned long long)m->usize, (unsigned long long)m->csize, max_bytes);
        if (!(*owned = dsc__alloc_big((size_t)m->usize)))
            return dsc__fail(DSC_ERR_NOMEM, "npz: out of memory inflating %s of %s", file, z->name);
        dsc_status st = inflate_member(z, file, in, m->csize, *owned, m->usize);
        if (st != DSC_OK) {
            free(*owned);
            *owned = NULL;
            return st;
        }
        *data = *owned;
    } else {
        return dsc__fail(DSC_ERR_UNSUPPORTED, "npz: %s: member %s uses compression method %u (want stored or deflate)",
                         z->name, file, m->method);
    }
    if (crc_of(*data, m->usize) != m->crc) {
        free(*owned);
        *owned = NULL;
        return dsc__fail(DSC_ERR_FORMAT, "npz: %s: member %s fails its CRC-32 check", z->name, file);
    }
    return DSC_OK;
}

/* The array key ("<key>.npy") of the archive into a. */
static dsc_status read_array(const zip *z, const char *key, size_t max_bytes, dsc__npy *a, int f32)
{
    char file[256], where[512];
    if (strlen(key) > sizeof file - 5) return dsc__fail(DSC_ERR_ARG, "npz: array name '%.32s...' is too long", key);
    snprintf(file, sizeof file, "%s.npy", key);
    member m;
    int found;
    dsc_status st = find_member(z, file, &m, &found);
    if (st != DSC_OK) return st;
    if (!found) return dsc__fail(DSC_ERR_ARG, "npz: %s has no array named '%s'", z->name, key);
    const unsigned char *data = NULL;
    unsigned char *owned = NULL;
    if ((st = member_bytes(z, file, &m, max_bytes, &data, &owned)) != DSC_OK) return st;
    snprintf(where, sizeof where, "%s[%s]", z->name, key);
    st = dsc__npy_parse_as(a, data, (size_t)m.usize, where, f32);
    free(owned);
    return st;
}

dsc_status dsc__npz_parse(dsc__npy *x, dsc__npy *y, const unsigned char *buf, size_t len,
                          const char *name, const char *x_key, const char *y_key, size_t max_bytes, int f32)
{
    zip z = {.buf = buf, .len = len, .name = name};
    memset(x, 0, sizeof *x);
    memset(y, 0, sizeof *y);
    dsc_status st = find_directory(&z);
    if (st == DSC_OK) st = read_array(&z, x_key, max_bytes, x, f32);
    if (st == DSC_OK && y_key) st = read_array(&z, y_key, max_bytes, y, 0);
    if (st != DSC_OK) {
        free(x->values);
        free(x->fvalues);
        free(y->values);
        x->values = y->values = NULL;
        x->fvalues = NULL;
    }
    return st;
}

/* Whether the archive holds an array named key (a failure to read it counts as yes). */
int dsc__npz_has(const unsigned char *buf, size_t len, const char *name, const char *key)
{
    zip z = {.buf = buf, .len = len, .name = name};
    char file[256];
    member m;
    int found = 1;
    if (strlen(key) > sizeof file - 5 || find_directory(&z) != DSC_OK) return 1;
    snprintf(file, sizeof file, "%s.npy", key);
    return find_member(&z, file, &m, &found) != DSC_OK || found;
}
