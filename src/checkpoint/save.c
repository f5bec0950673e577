/*
 * save.c: an optimizer to safetensors bytes. The file is planned as a list of
 * segments (length, header, then each tensor's bytes straight from the optimizer's
 * buffers), so a save copies nothing and memory and file output share one layout.
 */
#include "checkpoint.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct plan {
    cJSON *root, *meta;
    char *header; /* the length (8 bytes, little-endian), then the JSON padded with spaces */
    dsc__segment *segs;
    size_t nseg, total;
    uint32_t crc;
    int size_only; /* only total is wanted: the checksum is skipped (its text has a fixed width) */
} plan;

static void plan_free(plan *p)
{
    cJSON_Delete(p->root);
    free(p->header);
    free(p->segs);
}

static dsc_status check_extra(const dsc_kv *extra, size_t n)
{
    if (n && !extra) return dsc__fail(DSC_ERR_ARG, "checkpoint: NULL extra metadata with count %zu", n);
    for (size_t i = 0; i < n; i++) {
        if (!extra[i].key || !extra[i].key[0] || !extra[i].value)
            return dsc__fail(DSC_ERR_ARG, "checkpoint: extra metadata %zu needs a non-empty key and a value", i);
        if (strlen(extra[i].key) > 200)
            return dsc__fail(DSC_ERR_ARG, "checkpoint: extra metadata key '%.40s...' is longer than 200", extra[i].key);
        if (!dsc__utf8_valid(extra[i].key) || !dsc__utf8_valid(extra[i].value))
            return dsc__fail(DSC_ERR_ARG, "checkpoint: extra metadata '%.40s' is not valid UTF-8", extra[i].key);
        for (size_t j = 0; j < i; j++)
            if (!strcmp(extra[i].key, extra[j].key))
                return dsc__fail(DSC_ERR_ARG, "checkpoint: extra metadata key '%s' given twice", extra[i].key);
    }
    return DSC_OK;
}

static int add_meta(plan *p, const char *key, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

static int add_meta(plan *p, const char *key, const char *fmt, ...)
{
    char value[1100];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(value, sizeof value, fmt, ap);
    va_end(ap);
    return cJSON_AddStringToObject(p->meta, key, value) != NULL;
}

/* Everything but the tensors and the checksum. */
static int add_state_meta(plan *p, const dsc_optim *opt, const dsc_kv *extra, size_t nextra)
{
    int ok = add_meta(p, "format", "%s", DSC_CHECKPOINT_FORMAT) &&
             add_meta(p, "format_version", "%d", DSC_CHECKPOINT_VERSION) &&
             add_meta(p, "descent_version", "%s", DSC_VERSION_STRING) &&
             add_meta(p, "optimizer", "%s", dsc_kind_name(dsc_optim_kind(opt))) &&
             add_meta(p, "groups", "%d", dsc_optim_group_count(opt)) &&
             add_meta(p, "step", "%" PRId64, dsc_optim_step_count(opt)) &&
             add_meta(p, "skipped", "%" PRId64, dsc_optim_skipped_count(opt)) &&
             add_meta(p, "consecutive_skips", "%" PRId64, dsc_optim_consecutive_skips(opt));
    ok = ok && add_meta(p, "eval_mode", "%d", dsc_optim_in_eval_mode(opt));
    for (int g = 0; ok && g < dsc_optim_group_count(opt); g++) {
        char key[96], spec[1100];
        dsc_hparams hp;
        if (dsc_optim_get_group_hparams(opt, g, &hp)) return 0;
        dsc_hparams_format(&hp, spec, sizeof spec);
        snprintf(key, sizeof key, "group.%d.hparams", g);
        ok = add_meta(p, key, "%s", spec);
        const char *name;
        for (size_t k = 0; ok && (name = dsc_optim_scalar_name(k)); k++) {
            double v;
            if (dsc_optim_get_scalar(opt, g, name, &v)) return 0;
            snprintf(key, sizeof key, "group.%d.%s", g, name);
            ok = add_meta(p, key, "%.17g", v);
        }
    }
    ok = ok && dsc__ckpt_save_schedules(p->meta, opt);
    for (size_t i = 0; ok && i < nextra; i++) {
        char key[256];
        snprintf(key, sizeof key, "extra.%s", extra[i].key);
        ok = cJSON_AddStringToObject(p->meta, key, extra[i].value) != NULL;
    }
    return ok;
}

/* Adds item to obj under key (obj NULL: fails); on any failure (item NULL, no memory
 * for the key) the item is freed and 0 returned. cJSON's own Add functions report a
 * failed key copy only through this return value, and an unchecked one leaves a
 * header without the entry: a file that saves "successfully" and cannot be read back. */
static int attach(cJSON *obj, const char *key, cJSON *item)
{
    if (obj && item && cJSON_AddItemToObject(obj, key, item)) return 1;
    cJSON_Delete(item);
    return 0;
}

static int append(cJSON *array, cJSON *item)
{
    if (item && cJSON_AddItemToArray(array, item)) return 1;
    cJSON_Delete(item);
    return 0;
}

/* One tensor: its header entry and its segment. */
static int add_tensor(plan *p, const char *name, const dsc_param *q, const void *data)
{
    size_t bytes = q->n * dsc_dtype_size(q->dtype);
    cJSON *e = cJSON_CreateObject(), *shape = cJSON_CreateArray(), *off = cJSON_CreateArray();
    /* shape and off belong to e from here (or are freed), so freeing e frees all */
    int ok = attach(e, "dtype", cJSON_CreateString(q->dtype == DSC_F32 ? "F32" : "F64"));
    ok = attach(e, "shape", shape) && ok;
    ok = attach(e, "data_offsets", off) && ok;
    for (int d = 0; ok && d < q->ndim; d++) ok = append(shape, cJSON_CreateNumber((double)q->shape[d]));
    ok = ok && append(off, cJSON_CreateNumber((double)p->total)) &&
         append(off, cJSON_CreateNumber((double)(p->total + bytes)));
    if (!ok) {
        cJSON_Delete(e);
        return 0;
    }
    if (!attach(p->root, name, e)) return 0;
    p->segs[p->nseg++] = (dsc__segment){data, bytes};
    p->total += bytes;
    if (!p->size_only) p->crc = dsc__crc32(p->crc, data, bytes);
    return 1;
}

/* The tensors. param/<name> holds the optimizer's evaluation point, whatever the mode
 * (schedule-free's x once it has stepped), so whoever reads the file for inference
 * gets the weights to evaluate, never a training point; a restore rebuilds the
 * training point from the state (dsc_optim_eval_mode). */
static int add_tensors(plan *p, const dsc_optim *opt, const dsc_param *mine, size_t nmine)
{
    for (size_t i = 0; i < dsc_optim_param_count(opt); i++) {
        const dsc_param *q = dsc_optim_param(opt, i);
        char name[300];
        snprintf(name, sizeof name, "param/%s", q->name);
        if (!add_tensor(p, name, q, dsc__optim_eval_point(opt, i))) return 0;
        for (size_t k = 0; k < dsc_optim_state_count(opt, i); k++) {
            const char *buf;
            void *data;
            dsc_param shape; /* factored state (adafactor's) is smaller than its tensor */
            dsc_optim_state(opt, i, k, &buf, &data);
            dsc__optim_state_param(opt, i, buf, &shape);
            snprintf(name, sizeof name, "state/%s/%s", q->name, buf);
            if (!add_tensor(p, name, &shape, data)) return 0;
        }
    }
    for (size_t k = 0; k < dsc__optim_wide_count(opt); k++) { /* L-BFGS's state over every tensor */
        dsc__wide w;
        dsc__optim_wide(opt, k, &w);
        dsc_param q = {.n = w.n, .dtype = DSC_F64, .ndim = w.ndim, .shape = {w.shape[0], w.shape[1]}};
        char name[300];
        snprintf(name, sizeof name, "optim/%s", w.name);
        if (!add_tensor(p, name, &q, w.data)) return 0;
    }
    for (size_t i = 0; i < nmine; i++) {
        char name[300];
        snprintf(name, sizeof name, "extra/%s", mine[i].name);
        if (!add_tensor(p, name, &mine[i], mine[i].data)) return 0;
    }
    return 1;
}

/* The average beside the optimizer: its spec and counters, then its buffers (but
 * ASGD's ax's, which are the optimizer's state/<name>/ax). */
static int add_average(plan *p, const dsc_average *avg)
{
    char spec[256];
    dsc_average_format(avg, spec, sizeof spec);
    int ok = add_meta(p, "average", "%s", spec) &&
             add_meta(p, "average.updates", "%" PRId64, dsc_average_updates(avg)) &&
             add_meta(p, "average.averaged", "%" PRId64, dsc_average_averaged(avg));
    for (size_t i = 0; ok && !dsc__average_borrowed(avg) && i < dsc_average_count(avg); i++) {
        const dsc_param *q = dsc_average_param(avg, i);
        const char *buf;
        void *data;
        char name[300];
        dsc_average_buffer(avg, i, &buf, &data);
        snprintf(name, sizeof name, "average/%s/%s", q->name, buf);
        ok = add_tensor(p, name, q, data);
    }
    return ok;
}

/* An average can be saved when it is not swapped in (the parameters would then hold
 * the average, and the training point would be lost). */
static dsc_status check_average(const dsc_average *avg)
{
    if (!avg) return DSC_OK;
    if (dsc_average_swapped(avg))
        return dsc__fail(DSC_ERR_ARG, "checkpoint: the average is swapped into the parameters; swap it back "
                         "(dsc_average_swap) before saving, so that the file holds the training point");
    for (size_t i = 0; i < dsc_average_count(avg); i++)
        if (!dsc__utf8_valid(dsc_average_param(avg, i)->name))
            return dsc__fail(DSC_ERR_ARG, "checkpoint: averaged tensor %zu's name is not valid UTF-8", i);
    return DSC_OK;
}

/* The caller's tensors: named, F32 or F64, n the product of the shape. */
static dsc_status check_mine(const dsc_param *t, size_t n)
{
    if (n && !t) return dsc__fail(DSC_ERR_ARG, "checkpoint: NULL extra tensors with count %zu", n);
    for (size_t i = 0; i < n; i++) {
        size_t count = 1;
        for (int d = 0; d < t[i].ndim && d < DSC_MAX_DIMS; d++) count *= t[i].shape[d];
        if (!t[i].name || !t[i].name[0] || strlen(t[i].name) > 200 || !dsc__utf8_valid(t[i].name))
            return dsc__fail(DSC_ERR_ARG, "checkpoint: extra tensor %zu needs a UTF-8 name of 1 to 200 bytes", i);
        if ((t[i].dtype != DSC_F32 && t[i].dtype != DSC_F64) || t[i].ndim < 0 || t[i].ndim > DSC_MAX_DIMS ||
            count != t[i].n || (t[i].n && !t[i].data))
            return dsc__fail(DSC_ERR_ARG, "checkpoint: extra tensor '%s' needs F32 or F64 data of n = the product of "
                             "its shape (0 <= ndim <= %d)", t[i].name, DSC_MAX_DIMS);
        for (size_t j = 0; j < i; j++)
            if (!strcmp(t[i].name, t[j].name))
                return dsc__fail(DSC_ERR_ARG, "checkpoint: extra tensor '%s' given twice", t[i].name);
    }
    return DSC_OK;
}

/* The JSON, padded with spaces so the data section starts 8-byte aligned (the
 * reference writer does the same, and readers may map tensors in place), then its
 * checksum written over the placeholder (a fixed width, so a size query skips it). */
static int finish_header(plan *p)
{
    char *json = cJSON_PrintUnformatted(p->root);
    if (!json) return 0;
    size_t n = strlen(json), padded = n + (8 - (8 + n) % 8) % 8;
    /* keys are unique and quotes inside strings are escaped: the text occurs once */
    char *at = strstr(json, DSC__HEADER_CRC_TEXT);
    /* the length first, so the checksum covers one contiguous block */
    unsigned char *block = at ? malloc(8 + padded) : NULL;
    if (block) {
        for (int i = 0; i < 8; i++) block[i] = (unsigned char)((uint64_t)padded >> (8 * i));
        memcpy(block + 8, json, n);
        memset(block + 8 + n, ' ', padded - n);
        size_t digits = 8 + (size_t)(at - json) + strlen(DSC__HEADER_CRC_TEXT);
        if (!p->size_only) {
            char hex[9];
            snprintf(hex, sizeof hex, "%08" PRIx32, dsc__header_crc(block, padded, digits));
            memcpy(block + digits, hex, 8);
        }
        p->header = (char *)block;
        p->segs[0] = (dsc__segment){block, 8 + padded};
    }
    cJSON_free(json);
    return block != NULL;
}

static dsc_status make_plan(plan *p, const dsc_optim *opt, const dsc_average *avg, const dsc_kv *extra,
                            size_t nextra, const dsc_param *mine, size_t nmine, int size_only)
{
    memset(p, 0, sizeof *p);
    p->size_only = size_only;
    if (!dsc__little_endian())
        return dsc__fail(DSC_ERR_UNSUPPORTED, "checkpoint: safetensors is little-endian; this host is not");
    if (dsc_optim_state_dtype(opt) == DSC_STATE_BF16) /* tensors are written in the parameters' dtype */
        return dsc__fail(DSC_ERR_UNSUPPORTED, "checkpoint: an optimizer with state_dtype=bf16 cannot be saved");
    dsc_status st = check_extra(extra, nextra);
    if (!st) st = check_average(avg);
    if (!st) st = check_mine(mine, nmine);
    if (st) return st;
    for (size_t i = 0; i < dsc_optim_param_count(opt); i++)
        if (!dsc__utf8_valid(dsc_optim_param(opt, i)->name))
            return dsc__fail(DSC_ERR_ARG, "checkpoint: parameter %zu's name is not valid UTF-8", i);
    size_t count = 1 + dsc_average_count(avg) + nmine + dsc__optim_wide_count(opt);
    for (size_t i = 0; i < dsc_optim_param_count(opt); i++) count += 1 + dsc_optim_state_count(opt, i);
    p->segs = calloc(count, sizeof *p->segs);
    p->root = cJSON_CreateObject();
    p->meta = cJSON_CreateObject();
    p->nseg = 1;
    int ok = attach(p->root, "__metadata__", p->meta) && p->segs;
    ok = ok && add_state_meta(p, opt, extra, nextra) && add_tensors(p, opt, mine, nmine) &&
         (!avg || add_average(p, avg)) && add_meta(p, "checksum", "crc32:%08" PRIx32, p->crc) &&
         add_meta(p, DSC__HEADER_CRC_KEY, "crc32:00000000") && finish_header(p);
    if (!ok) {
        plan_free(p);
        return dsc__fail(DSC_ERR_NOMEM, "checkpoint: out of memory");
    }
    p->total += p->segs[0].len;
    return DSC_OK;
}

dsc_checkpoint_save_options dsc_checkpoint_save_options_default(void)
{
    return (dsc_checkpoint_save_options){.average = NULL, .extra = NULL, .nextra = 0, .tensors = NULL, .ntensors = 0};
}

static dsc_status plan_with(plan *p, const dsc_optim *opt, const dsc_checkpoint_save_options *o, int size_only)
{
    dsc_checkpoint_save_options defaults = dsc_checkpoint_save_options_default();
    if (!o) o = &defaults;
    for (size_t i = 0; i < dsc_optim_param_count(opt); i++)
        for (size_t k = 0; k < dsc_optim_state_count(opt, i); k++) {
            void *data;
            dsc_optim_state(opt, i, k, NULL, &data);
            if (!data) /* dsc__optim_create_stateless's */
                return dsc__fail(DSC_ERR_ARG, "checkpoint_save: the optimizer was restored without its state");
        }
    return make_plan(p, opt, o->average, o->extra, o->nextra, o->tensors, o->ntensors, size_only);
}

dsc_status dsc_checkpoint_save_mem(const dsc_optim *opt, void *buf, size_t cap, size_t *len,
                                   const dsc_checkpoint_save_options *o)
{
    if (!opt || !len) return dsc__fail(DSC_ERR_ARG, "dsc_checkpoint_save_mem: NULL optimizer or len");
    plan p;
    dsc_status st = plan_with(&p, opt, o, buf == NULL);
    if (st) return st;
    *len = p.total;
    if (buf && cap < p.total) {
        st = dsc__fail(DSC_ERR_ARG, "dsc_checkpoint_save_mem: the buffer holds %zu bytes, the checkpoint needs %zu",
                       cap, p.total);
    } else if (buf) {
        unsigned char *out = buf;
        for (size_t i = 0; i < p.nseg; i++) {
            if (p.segs[i].len) memcpy(out, p.segs[i].ptr, p.segs[i].len);
            out += p.segs[i].len;
        }
    }
    plan_free(&p);
    return st;
}

dsc_status dsc_checkpoint_save(const dsc_optim *opt, const char *path, const dsc_checkpoint_save_options *o)
{
    if (!opt || !path || !path[0]) return dsc__fail(DSC_ERR_ARG, "dsc_checkpoint_save: NULL optimizer or empty path");
    plan p;
    dsc_status st = plan_with(&p, opt, o, 0);
    if (st) return st;
    st = dsc__write_atomic(path, p.segs, p.nseg);
    plan_free(&p);
    return st;
}
