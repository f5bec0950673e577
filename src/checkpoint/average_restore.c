/*
 * average_restore.c: a weight average (dsc_average) restored beside the optimizer. The file
 * holds its canonical spec ("average"), its counters ("average.updates",
 * "average.averaged") and one tensor per averaged tensor, "average/<name>/<ema|swa>"
 * (save.c writes them); ASGD's ax has none, its buffers are the optimizer's state. Everything is checked against the caller's average before
 * restore.c changes anything; the copy reads the checked buffers from the file.
 */
#include "checkpoint.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void dsc__avg_snap_free(dsc__avg_snap *s)
{
    free(s->src);
    s->src = NULL;
}

/* The file's average spec is the caller's, compared in canonical form. */
static dsc_status check_spec(const char *saved, const dsc_average *avg)
{
    char want[256], got[256];
    dsc_average_format(avg, want, sizeof want);
    dsc_status st = dsc__average_canonical(saved, got, sizeof got);
    if (st) return dsc__fail_prefix(st == DSC_ERR_NOMEM ? st : DSC_ERR_FORMAT, "__metadata__ 'average'");
    if (strcmp(got, want))
        return dsc__fail(DSC_ERR_MISMATCH, "the checkpoint's weight average is '%s', this one is '%s'", got, want);
    return DSC_OK;
}

static dsc_status read_counters(const dsc_ckpt *ck, dsc__avg_snap *s)
{
    dsc_status st;
    if ((st = dsc__ckpt_meta_int64(ck, "average.updates", &s->updates)) ||
        (st = dsc__ckpt_meta_int64(ck, "average.averaged", &s->averaged)))
        return st;
    if (s->updates < 0 || s->averaged < 0 || s->averaged > s->updates || s->updates > DSC_MAX_COUNT)
        return dsc__fail(DSC_ERR_FORMAT, "average counters must be in [0, 2^53] with averaged <= updates, got updates %lld, "
                         "averaged %lld", (long long)s->updates, (long long)s->averaged);
    return DSC_OK;
}

static dsc_status match_buffers(const dsc_ckpt *ck, const dsc_average *avg, dsc__avg_snap *s, unsigned char *used)
{
    size_t n = dsc_average_count(avg);
    s->src = calloc(n ? n : 1, sizeof *s->src);
    if (!s->src) return dsc__fail(DSC_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        const dsc_param *q = dsc_average_param(avg, i);
        const char *buf;
        char name[300];
        dsc_average_buffer(avg, i, &buf, NULL);
        snprintf(name, sizeof name, "average/%s/%s", q->name, buf);
        dsc_status st = dsc__ckpt_match(ck, name, q, "average", &s->src[i]);
        if (st) return st;
        used[s->src[i]] = 1;
    }
    return DSC_OK;
}

dsc_status dsc__ckpt_read_average(const dsc_ckpt *ck, const dsc_average *avg, dsc__avg_snap *s,
                                  unsigned char *used)
{
    const char *saved = dsc_ckpt_meta(ck, "average");
    char mine[256];
    if (!avg && saved)
        return dsc__fail(DSC_ERR_MISMATCH, "the checkpoint holds a weight average '%.200s'; restore it into one "
                         "(dsc_checkpoint_load_options' average)", saved);
    if (!avg) return DSC_OK;
    dsc_average_format(avg, mine, sizeof mine);
    if (!saved)
        return dsc__fail(DSC_ERR_MISMATCH, "the checkpoint holds no weight average to restore into '%s'", mine);
    if (dsc_average_swapped(avg))
        return dsc__fail(DSC_ERR_ARG, "the average is swapped into the parameters; swap it back (dsc_average_swap) "
                         "before loading");
    dsc_status st = check_spec(saved, avg);
    if (!st) st = read_counters(ck, s);
    if (!st && !dsc__average_borrowed(avg)) st = match_buffers(ck, avg, s, used);
    return st;
}

dsc_status dsc__ckpt_apply_average(const dsc_ckpt *ck, dsc_average *avg, const dsc__avg_snap *s)
{
    dsc_average_set_counters(avg, s->updates, s->averaged); /* checked by read_counters */
    for (size_t i = 0; !dsc__average_borrowed(avg) && i < dsc_average_count(avg); i++) {
        void *dst;
        const dsc__st_entry *e = &ck->t[s->src[i]];
        dsc_average_buffer(avg, i, NULL, &dst);
        dsc_status st = dsc__ckpt_read_bytes(ck, e->begin, e->end - e->begin, dst);
        if (st) return dsc__fail_prefix(st, "the file changed after it was checked, and the average is only partly "
                                        "restored");
    }
    return DSC_OK;
}
