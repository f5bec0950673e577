/*
 * reader.c: the dsc_ckpt object: a checked file and what it holds.
 *
 * Opening a path reads the 8-byte length and the header, checks them, and streams the
 * data section once through a bounded buffer to verify its checksum; the tensors' bytes
 * stay in the file and are read when asked for (pread), so a reader holds the header
 * and at most one buffer of DSC__CKPT_CHUNK bytes, never the file. Opening bytes in
 * memory reads from a copy of them.
 */
#include "checkpoint.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const who = "checkpoint";

/* len bytes of the file from offset at, all of them. */
static dsc_status pread_all(const dsc_ckpt *ck, size_t at, size_t len, unsigned char *dst)
{
    while (len) {
        ssize_t r = pread(ck->fd, dst, len, (off_t)at);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return dsc__io_fail(who, "read", ck->path);
        if (r == 0)
            return dsc__fail(DSC_ERR_IO, "checkpoint '%.256s' is shorter than when it was opened (truncated "
                             "since?)", ck->path);
        dst += r;
        at += (size_t)r;
        len -= (size_t)r;
    }
    return DSC_OK;
}

dsc_status dsc__ckpt_read_bytes(const dsc_ckpt *ck, size_t at, size_t len, void *dst)
{
    if (!len) return DSC_OK;
    if (ck->fd < 0) {
        memcpy(dst, ck->mem + at, len);
        return DSC_OK;
    }
    return pread_all(ck, 8 + ck->header_len + at, len, dst);
}

dsc_status dsc__ckpt_still_whole(const dsc_ckpt *ck)
{
    struct stat sb;
    if (ck->fd < 0) return DSC_OK;
    if (fstat(ck->fd, &sb)) return dsc__io_fail(who, "stat", ck->path);
    if ((uintmax_t)sb.st_size < 8 + ck->header_len + ck->data_len)
        return dsc__fail(DSC_ERR_IO, "checkpoint '%.256s' is %jd bytes, %zu when it was opened (truncated since?)",
                         ck->path, (intmax_t)sb.st_size, 8 + ck->header_len + ck->data_len);
    return DSC_OK;
}

/* The data section's CRC-32 against the metadata's "checksum", when it has one,
 * reading the section through one buffer of at most DSC__CKPT_CHUNK bytes. */
static dsc_status check_checksum(const dsc_ckpt *ck)
{
    const char *sum = dsc_ckpt_meta(ck, "checksum");
    if (!sum) return DSC_OK;
    int ok = !strncmp(sum, "crc32:", 6) && strlen(sum) == 14;
    for (int i = 6; ok && i < 14; i++) ok = isxdigit((unsigned char)sum[i]) != 0;
    if (!ok) return dsc__fail(DSC_ERR_FORMAT, "checksum must be crc32:<8 hex digits>, got '%.40s'", sum);
    unsigned long want = strtoul(sum + 6, NULL, 16);
    uint32_t got = 0;
    dsc_status st = DSC_OK;
    if (ck->fd < 0) {
        got = dsc__crc32(0, ck->mem, ck->data_len);
    } else {
        size_t cap = ck->data_len < DSC__CKPT_CHUNK ? ck->data_len : DSC__CKPT_CHUNK;
        unsigned char *buf = malloc(cap ? cap : 1);
        if (!buf) return dsc__fail(DSC_ERR_NOMEM, "out of memory for a %zu-byte read buffer", cap);
        for (size_t at = 0; !st && at < ck->data_len; at += cap) {
            size_t len = ck->data_len - at < cap ? ck->data_len - at : cap;
            if (!(st = dsc__ckpt_read_bytes(ck, at, len, buf))) got = dsc__crc32(got, buf, len);
        }
        free(buf);
    }
    if (!st && got != (uint32_t)want)
        st = dsc__fail(DSC_ERR_FORMAT, "checksum mismatch: the data section is corrupted (stored crc32:%08lx, "
                       "computed crc32:%08lx)", want, (unsigned long)got);
    return st;
}

dsc_status dsc__ckpt_parse_mem(dsc_ckpt *ck, const unsigned char *buf, size_t len)
{
    memset(ck, 0, sizeof *ck);
    ck->fd = -1;
    dsc_status st = dsc__ckpt_parse_header(ck, buf, len);
    if (st) return st;
    ck->mem = buf + 8 + ck->header_len;
    if ((st = check_checksum(ck))) dsc__ckpt_release(ck);
    return st;
}

/* The length and the header of the open file ck->fd of len bytes, parsed into ck. */
static dsc_status parse_file(dsc_ckpt *ck, size_t len)
{
    unsigned char first[8];
    size_t n = 0;
    dsc_status st = len < 8 ? DSC_OK : pread_all(ck, 0, 8, first);
    if (!st) st = dsc__ckpt_header_len(first, len, &n); /* too short, absurd or past the end: no allocation */
    if (st) return st;
    unsigned char *head = malloc(8 + n);
    if (!head) return dsc__fail(DSC_ERR_NOMEM, "out of memory for a %zu-byte header", n);
    memcpy(head, first, 8);
    st = pread_all(ck, 8, n, head + 8);
    if (!st) st = dsc__ckpt_parse_header(ck, head, len);
    free(head); /* the JSON tree holds copies of its strings */
    if (!st && (st = check_checksum(ck))) dsc__ckpt_release(ck);
    return st;
}

dsc_status dsc_ckpt_open(dsc_ckpt **out, const char *path)
{
    if (!out || !path) return dsc__fail(DSC_ERR_ARG, "dsc_ckpt_open: NULL argument");
    *out = NULL;
    dsc_ckpt *ck = calloc(1, sizeof *ck);
    if (!ck) return dsc__fail(DSC_ERR_NOMEM, "checkpoint: out of memory");
    size_t len = 0;
    dsc_status st = dsc__open_regular(who, path, &ck->fd, &len);
    if (st) { /* the message names the file already */
        free(ck);
        return st;
    }
    if (!(ck->path = dsc__strdup(path))) st = dsc__fail(DSC_ERR_NOMEM, "out of memory");
    if (!st) st = parse_file(ck, len);
    if (st) {
        char prefix[300];
        snprintf(prefix, sizeof prefix, "checkpoint '%.256s'", path);
        dsc_ckpt_close(ck);
        return dsc__ckpt_prefix(st, prefix);
    }
    *out = ck;
    return DSC_OK;
}

dsc_status dsc__ckpt_with_file(const char *path, const char *prefix_who,
                               dsc_status (*use)(const dsc_ckpt *, void *), void *ctx)
{
    dsc_ckpt *ck;
    dsc_status st = dsc_ckpt_open(&ck, path);
    if (st) return st;
    st = use(ck, ctx);
    dsc_ckpt_close(ck);
    if (st) {
        char prefix[300];
        snprintf(prefix, sizeof prefix, "%s '%.256s'", prefix_who, path);
        return dsc__ckpt_prefix(st, prefix);
    }
    return DSC_OK;
}

dsc_status dsc_ckpt_open_mem(dsc_ckpt **out, const void *buf, size_t len)
{
    if (!out || (!buf && len)) return dsc__fail(DSC_ERR_ARG, "dsc_ckpt_open_mem: NULL argument");
    *out = NULL;
    dsc_ckpt *ck = calloc(1, sizeof *ck);
    unsigned char *copy = malloc(len ? len : 1);
    if (!ck || !copy) {
        free(ck);
        free(copy);
        return dsc__fail(DSC_ERR_NOMEM, "checkpoint: out of memory for %zu bytes", len);
    }
    if (len) memcpy(copy, buf, len);
    dsc_status st = dsc__ckpt_parse_mem(ck, copy, len);
    ck->owned = copy;
    if (st) {
        dsc_ckpt_close(ck);
        return dsc__ckpt_prefix(st, "checkpoint");
    }
    *out = ck;
    return DSC_OK;
}

void dsc_ckpt_close(dsc_ckpt *ck)
{
    if (!ck) return;
    dsc__ckpt_release(ck);
    if (ck->fd >= 0) close(ck->fd);
    free(ck->path);
    free(ck->owned);
    free(ck);
}

size_t dsc_ckpt_meta_count(const dsc_ckpt *ck) { return ck ? ck->nm : 0; }

dsc_status dsc_ckpt_meta_at(const dsc_ckpt *ck, size_t i, const char **key, const char **value)
{
    if (!ck || i >= ck->nm) return dsc__fail(DSC_ERR_ARG, "dsc_ckpt_meta_at: no metadata entry %zu", i);
    if (key) *key = ck->mkey[i];
    if (value) *value = ck->mval[i];
    return DSC_OK;
}

const char *dsc_ckpt_extra(const dsc_ckpt *ck, const char *key)
{
    if (!ck || !key) return NULL;
    for (size_t i = 0; i < ck->nm; i++)
        if (!strncmp(ck->mkey[i], "extra.", 6) && !strcmp(ck->mkey[i] + 6, key)) return ck->mval[i];
    return NULL;
}

size_t dsc_ckpt_tensor_count(const dsc_ckpt *ck) { return ck ? ck->nt : 0; }

dsc_status dsc_ckpt_tensor_at(const dsc_ckpt *ck, size_t i, dsc_ckpt_tensor *out)
{
    if (!ck || !out || i >= ck->nt) return dsc__fail(DSC_ERR_ARG, "dsc_ckpt_tensor_at: no tensor %zu", i);
    const dsc__st_entry *e = &ck->t[i];
    memset(out, 0, sizeof *out);
    out->name = e->name;
    out->dtype = e->dtype;
    out->elem_size = e->esize;
    out->ndim = e->ndim;
    memcpy(out->shape, e->shape, sizeof out->shape);
    out->n = (e->end - e->begin) / e->esize;
    out->begin = e->begin;
    out->end = e->end;
    return DSC_OK;
}

dsc_status dsc_ckpt_find(const dsc_ckpt *ck, const char *name, dsc_ckpt_tensor *out)
{
    if (!ck || !name || !out) return dsc__fail(DSC_ERR_ARG, "dsc_ckpt_find: NULL argument");
    size_t i = dsc__ckpt_lookup(ck, name);
    if (i == SIZE_MAX) return dsc__fail(DSC_ERR_MISMATCH, "checkpoint: no tensor named '%s'", name);
    return dsc_ckpt_tensor_at(ck, i, out);
}

dsc_status dsc_ckpt_read(const dsc_ckpt *ck, const char *name, size_t first, size_t count, void *dst)
{
    if (!ck || !name || (!dst && count)) return dsc__fail(DSC_ERR_ARG, "dsc_ckpt_read: NULL argument");
    size_t i = dsc__ckpt_lookup(ck, name);
    if (i == SIZE_MAX) return dsc__fail(DSC_ERR_MISMATCH, "checkpoint: no tensor named '%s'", name);
    const dsc__st_entry *e = &ck->t[i];
    size_t n = (e->end - e->begin) / e->esize;
    if (first > n || count > n - first)
        return dsc__fail(DSC_ERR_RANGE, "dsc_ckpt_read: tensor '%s' has %zu elements; %zu from element %zu run past "
                         "its end", name, n, count, first);
    dsc_status st = dsc__ckpt_read_bytes(ck, e->begin + first * e->esize, count * e->esize, dst);
    return st ? dsc__ckpt_prefix(st, "dsc_ckpt_read") : DSC_OK;
}

size_t dsc_ckpt_header_bytes(const dsc_ckpt *ck) { return ck ? ck->header_len : 0; }
size_t dsc_ckpt_data_bytes(const dsc_ckpt *ck) { return ck ? ck->data_len : 0; }
