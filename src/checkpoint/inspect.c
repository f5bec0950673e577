/* inspect.c: the dsc_ckpt object: a checked file in memory and what it holds. */
#include "checkpoint.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static dsc_status open_owned(dsc_ckpt **out, unsigned char *bytes, size_t len)
{
    dsc_ckpt *ck = calloc(1, sizeof *ck);
    if (!ck) {
        free(bytes);
        return dsc__fail(DSC_ERR_NOMEM, "checkpoint: out of memory");
    }
    dsc_status st = dsc__ckpt_parse(ck, bytes, len);
    ck->owned = bytes;
    if (st) {
        dsc_ckpt_close(ck);
        return st;
    }
    *out = ck;
    return DSC_OK;
}

dsc_status dsc_ckpt_open(dsc_ckpt **out, const char *path)
{
    if (!out || !path) return dsc__fail(DSC_ERR_ARG, "dsc_ckpt_open: NULL argument");
    *out = NULL;
    unsigned char *bytes;
    size_t len;
    dsc_status st = dsc__read_whole_file("checkpoint", path, &bytes, &len);
    if (st) return st; /* the message names the file already */
    st = open_owned(out, bytes, len);
    if (st) {
        char prefix[300];
        snprintf(prefix, sizeof prefix, "checkpoint '%.256s'", path);
        return dsc__ckpt_prefix(st, prefix);
    }
    return DSC_OK;
}

dsc_status dsc__ckpt_with_file(const char *path, const char *who, dsc_status (*use)(const dsc_ckpt *, void *),
                               void *ctx)
{
    dsc_ckpt *ck;
    dsc_status st = dsc_ckpt_open(&ck, path);
    if (st) return st;
    st = use(ck, ctx);
    dsc_ckpt_close(ck);
    if (st) {
        char prefix[300];
        snprintf(prefix, sizeof prefix, "%s '%.256s'", who, path);
        return dsc__ckpt_prefix(st, prefix);
    }
    return DSC_OK;
}

dsc_status dsc_ckpt_open_mem(dsc_ckpt **out, const void *buf, size_t len)
{
    if (!out || (!buf && len)) return dsc__fail(DSC_ERR_ARG, "dsc_ckpt_open_mem: NULL argument");
    *out = NULL;
    unsigned char *copy = malloc(len ? len : 1);
    if (!copy) return dsc__fail(DSC_ERR_NOMEM, "checkpoint: out of memory for %zu bytes", len);
    if (len) memcpy(copy, buf, len);
    dsc_status st = open_owned(out, copy, len);
    return st ? dsc__ckpt_prefix(st, "checkpoint") : DSC_OK;
}

void dsc_ckpt_close(dsc_ckpt *ck)
{
    if (!ck) return;
    dsc__ckpt_release(ck);
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

const char *dsc_ckpt_meta(const dsc_ckpt *ck, const char *key)
{
    if (!ck || !key) return NULL;
    for (size_t i = 0; i < ck->nm; i++)
        if (!strcmp(ck->mkey[i], key)) return ck->mval[i];
    return NULL;
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
    out->begin = e->begin;
    out->end = e->end;
    out->data = ck->data + e->begin;
    return DSC_OK;
}

dsc_status dsc_ckpt_find(const dsc_ckpt *ck, const char *name, dsc_ckpt_tensor *out)
{
    if (!ck || !name || !out) return dsc__fail(DSC_ERR_ARG, "dsc_ckpt_find: NULL argument");
    size_t i = dsc__ckpt_lookup(ck, name);
    if (i == SIZE_MAX) return dsc__fail(DSC_ERR_MISMATCH, "checkpoint: no tensor named '%s'", name);
    return dsc_ckpt_tensor_at(ck, i, out);
}

size_t dsc_ckpt_header_bytes(const dsc_ckpt *ck) { return ck ? ck->header_len : 0; }
size_t dsc_ckpt_data_bytes(const dsc_ckpt *ck) { return ck ? ck->data_len : 0; }
