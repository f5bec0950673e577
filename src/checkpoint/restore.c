/*
 * restore.c: a checked file into an optimizer, all or nothing.
 *
 * First everything is read and checked into scratch memory (metadata parsed, every
 * tensor the optimizer needs found with its dtype and shape, no tensor left over);
 * only then does anything change. Of the changes, the schedules, group
 * hyperparameters, counters and accumulation window can still be refused by the
 * core's own checks, so they go first and are all put back on a refusal; the tensor
 * copies, which cannot fail, go last.
 */
#include "checkpoint.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The group scalars every kind has (dsc_optim_scalar_name), at most. */
#define MAX_SCALARS 8
/* The first of ASGD's group scalars (dsc_optim_scalar_name: eta, mu) */
#define ASGD_SCALARS_FROM 3

typedef struct scratch {
    int ngroups;
    size_t nscalars;
    dsc_hparams *hp;
    double *scalars; /* ngroups x nscalars */
    int eval_mode;
    int64_t steps, skipped, consecutive;
    dsc__sched_snap *sched; /* per group */
    int64_t accum_count;
    double accum_loss;
    size_t *src; /* for each (param, state buffer) in order, then each optimizer-wide
                    tensor (L-BFGS's): its tensor in the file */
    size_t nsrc;
    dsc__avg_snap avg; /* the weight average's, when one is restored */
    int skip_state;    /* the state buffers are the caller's (dsc_checkpoint_load_options) */
    unsigned char *chunk; /* DSC__CKPT_CHUNK bytes at most, to check values through */
} scratch;

static void scratch_free(scratch *s)
{
    for (int g = 0; s->sched && g < s->ngroups; g++) dsc__sched_snap_free(&s->sched[g]);
    free(s->sched);
    free(s->hp);
    free(s->scalars);
    free(s->src);
    free(s->chunk);
    dsc__avg_snap_free(&s->avg);
}

static dsc_status check_identity(const dsc_ckpt *ck, const dsc_optim *opt)
{
    const char *v;
    char want[16];
    if (!dsc__little_endian())
        return dsc__fail(DSC_ERR_UNSUPPORTED, "safetensors is little-endian; this host is not");
    v = dsc_ckpt_meta(ck, "format");
    if (!v || strcmp(v, DSC_CHECKPOINT_FORMAT))
        return dsc__fail(DSC_ERR_FORMAT, "not a descent checkpoint (__metadata__ format is '%.40s', want '%s')",
                         v ? v : "(absent)", DSC_CHECKPOINT_FORMAT);
    dsc_status st = dsc__ckpt_need_meta(ck, "format_version", &v);
    if (st) return st;
    snprintf(want, sizeof want, "%d", DSC_CHECKPOINT_VERSION);
    if (strcmp(v, want))
        return dsc__fail(DSC_ERR_UNSUPPORTED, "format_version '%.20s' is not supported (this build reads %s)", v, want);
    if ((st = dsc__ckpt_need_meta(ck, "checksum", &v))) return st;
    if ((st = dsc__ckpt_need_meta(ck, "optimizer", &v))) return st;
    const char *kind = dsc_kind_name(dsc_optim_kind(opt));
    if (strcmp(v, kind))
        return dsc__fail(DSC_ERR_MISMATCH, "the checkpoint holds optimizer '%.40s', this one is '%s'", v, kind);
    return DSC_OK;
}

static dsc_status read_groups(const dsc_ckpt *ck, const dsc_optim *opt, scratch *s)
{
    int64_t n;
    dsc_status st = dsc__ckpt_meta_int64(ck, "groups", &n);
    if (st) return st;
    s->ngroups = dsc_optim_group_count(opt);
    if (n != s->ngroups)
        return dsc__fail(DSC_ERR_MISMATCH, "the checkpoint has %lld parameter groups, the optimizer %d", (long long)n,
                         s->ngroups);
    while (s->nscalars < MAX_SCALARS && dsc_optim_scalar_name(s->nscalars)) s->nscalars++;
    s->hp = calloc((size_t)s->ngroups, sizeof *s->hp);
    s->scalars = calloc((size_t)s->ngroups * s->nscalars + 1, sizeof *s->scalars);
    s->sched = calloc((size_t)s->ngroups, sizeof *s->sched);
    if (!s->hp || !s->scalars || !s->sched) return dsc__fail(DSC_ERR_NOMEM, "out of memory");
    for (int g = 0; g < s->ngroups; g++) {
        if ((st = dsc_ckpt_hparams(ck, g, &s->hp[g]))) return st;
        if (s->hp[g].kind != dsc_optim_kind(opt))
            return dsc__fail(DSC_ERR_MISMATCH, "group %d of the checkpoint is '%s', the optimizer is '%s'", g,
                             dsc_kind_name(s->hp[g].kind), dsc_kind_name(dsc_optim_kind(opt)));
        for (size_t k = 0; k < s->nscalars; k++) {
            char key[96];
            double *out = &s->scalars[(size_t)g * s->nscalars + k];
            snprintf(key, sizeof key, "group.%d.%s", g, dsc_optim_scalar_name(k));
            /* files from before ASGD lack its eta and mu, which no other kind reads */
            if (!dsc_ckpt_meta(ck, key) && s->hp[g].kind != DSC_ASGD && k >= ASGD_SCALARS_FROM) {
                dsc_optim_get_scalar(opt, g, dsc_optim_scalar_name(k), out);
                continue;
            }
            if ((st = dsc__ckpt_meta_double(ck, key, out))) return st;
            if (!isfinite(*out)) return dsc__fail(DSC_ERR_FORMAT, "__metadata__ '%s' must be finite, got %g", key, *out);
        }
    }
    return DSC_OK;
}

/* The optimizer-wide state: mode, counters, accumulation window; and the schedules. */
static dsc_status read_counters(const dsc_ckpt *ck, scratch *s)
{
    dsc_status st;
    const char *eval = dsc_ckpt_meta(ck, "eval_mode"); /* absent: training mode */
    if (eval && strcmp(eval, "0") && strcmp(eval, "1"))
        return dsc__fail(DSC_ERR_FORMAT, "__metadata__ 'eval_mode' must be 0 or 1, got '%.20s'", eval);
    s->eval_mode = eval && !strcmp(eval, "1");
    if ((st = dsc__ckpt_meta_int64(ck, "step", &s->steps)) ||
        (st = dsc__ckpt_meta_int64(ck, "skipped", &s->skipped)) ||
        (st = dsc__ckpt_meta_int64(ck, "consecutive_skips", &s->consecutive)) ||
        (st = dsc__ckpt_meta_int64(ck, "accumulate.count", &s->accum_count)) ||
        (st = dsc__ckpt_read_schedules(ck, s->ngroups, s->sched)))
        return st;
    if ((st = dsc__ckpt_meta_double(ck, "accumulate.loss_sum", &s->accum_loss))) return st;
    if (s->steps < 0 || s->skipped < 0 || s->consecutive < 0 || s->consecutive > s->skipped ||
        s->steps > DSC_MAX_COUNT || s->skipped > DSC_MAX_COUNT)
        return dsc__fail(DSC_ERR_FORMAT, "counters must be in [0, 2^53] with consecutive_skips <= skipped, got step %lld, "
                         "skipped %lld, consecutive_skips %lld", (long long)s->steps, (long long)s->skipped,
                         (long long)s->consecutive);
    return DSC_OK;
}

/* The state buffers of squares (second moments, accumulators, infinity norms), which
 * every kind keeps >= 0: a negative or NaN element would turn a square root into NaN. */
static const char *const squares[] = {"exp_avg_sq", "max_exp_avg_sq", "exp_avg_var", "max_exp_avg_var",
                                      "square_avg", "acc_delta", "sum", "exp_inf",
                                      "row_var", "col_var", "variance"};

/* Element i of values read from the file, float or double by esize. */
static double element(const unsigned char *v, size_t esize, size_t i)
{
    if (esize == sizeof(float)) {
        float f;
        memcpy(&f, v + i * sizeof f, sizeof f);
        return f;
    }
    double d;
    memcpy(&d, v + i * sizeof d, sizeof d);
    return d;
}

/* Tensor t of the file holds no negative or NaN element when buf names a square,
 * read through s's buffer of at most DSC__CKPT_CHUNK bytes (the file stays unread
 * otherwise: only these values are checked before the copy). */
dsc_status dsc__ckpt_check_square(const dsc_ckpt *ck, size_t t, const char *buf, unsigned char **chunk)
{
    int square = 0;
    for (size_t k = 0; k < sizeof squares / sizeof squares[0]; k++) square |= !strcmp(buf, squares[k]);
    const dsc__st_entry *e = &ck->t[t];
    if (!square || e->end == e->begin) return DSC_OK;
    if (!*chunk && !(*chunk = malloc(DSC__CKPT_CHUNK))) return dsc__fail(DSC_ERR_NOMEM, "out of memory");
    size_t per = DSC__CKPT_CHUNK / e->esize, n = (e->end - e->begin) / e->esize;
    for (size_t at = 0; at < n; at += per) {
        size_t m = n - at < per ? n - at : per;
        dsc_status st = dsc__ckpt_read_bytes(ck, e->begin + at * e->esize, m * e->esize, *chunk);
        if (st) return st;
        for (size_t i = 0; i < m; i++) {
            double v = element(*chunk, e->esize, i);
            if (!(v >= 0))
                return dsc__fail(DSC_ERR_FORMAT, "tensor '%s' element %zu is %g: a %s is never negative or NaN",
                                 e->name, at + i, v, buf);
        }
    }
    return DSC_OK;
}

/* The optimizer-wide tensors ("optim/<name>", L-BFGS's), found and checked as a whole
 * by the kind before anything changes. */
static dsc_status match_wide(const dsc_ckpt *ck, const dsc_optim *opt, scratch *s, unsigned char *used)
{
    size_t count = dsc__optim_wide_count(opt);
    if (!count) return DSC_OK;
    const unsigned char **bytes = calloc(count, sizeof *bytes);
    if (!bytes) return dsc__fail(DSC_ERR_NOMEM, "out of memory");
    dsc_status st = DSC_OK;
    for (size_t k = 0; !st && k < count; k++) {
        dsc__wide w;
        dsc__optim_wide(opt, k, &w);
        dsc_param q = {.n = w.n, .dtype = DSC_F64, .ndim = w.ndim, .shape = {w.shape[0], w.shape[1]}};
        char name[300];
        snprintf(name, sizeof name, "optim/%s", w.name);
        if (!(st = dsc__ckpt_match(ck, name, &q, "optimizer", &s->src[s->nsrc]))) {
            /* read for the kind's check (the reader holds no data section); commit_tensors
             * reads them again into the state */
            const dsc__st_entry *e = &ck->t[s->src[s->nsrc]];
            unsigned char *b = malloc(e->end - e->begin ? e->end - e->begin : 1);
            bytes[k] = b;
            if (!b) st = dsc__fail(DSC_ERR_NOMEM, "out of memory");
            else st = dsc__ckpt_read_bytes(ck, e->begin, e->end - e->begin, b);
            used[s->src[s->nsrc++]] = 1;
        }
    }
    if (!st) st = dsc__optim_wide_check(opt, bytes);
    for (size_t k = 0; k < count; k++) free((void *)bytes[k]);
    free(bytes);
    return st;
}

/* Every tensor of the optimizer (and of avg, when not NULL) found, and no other. The
 * state buffers are those of the file's hyperparameters (groups may differ in momentum,
 * amsgrad or centered), which apply sets before commit_tensors fills them. */
static dsc_status match_tensors(const dsc_ckpt *ck, const dsc_optim *opt, const dsc_average *avg, scratch *s)
{
    size_t n = 0;
    const char *names[DSC__MAX_STATE + 1];
    for (size_t i = 0; i < dsc_optim_param_count(opt); i++)
        n += 1 + (s->skip_state ? 0 : dsc__optim_state_names(opt, i, &s->hp[dsc_optim_param(opt, i)->group], names));
    n += dsc__optim_wide_count(opt);
    s->src = calloc(n ? n : 1, sizeof *s->src);
    unsigned char *used = calloc(ck->nt ? ck->nt : 1, 1);
    dsc_status st = s->src && used ? DSC_OK : dsc__fail(DSC_ERR_NOMEM, "out of memory");
    for (size_t i = 0; !st && i < dsc_optim_param_count(opt); i++) {
        const dsc_param *q = dsc_optim_param(opt, i);
        char name[300];
        snprintf(name, sizeof name, "param/%s", q->name);
        if ((st = dsc__ckpt_match(ck, name, q, "optimizer", &s->src[s->nsrc]))) break;
        used[s->src[s->nsrc++]] = 1;
        size_t count = s->skip_state ? 0 : dsc__optim_state_names(opt, i, &s->hp[q->group], names);
        for (size_t k = 0; !st && k < count; k++) {
            dsc_param shape; /* factored state (adafactor's) is smaller than its tensor */
            dsc__optim_state_param(opt, i, names[k], &shape);
            snprintf(name, sizeof name, "state/%s/%s", q->name, names[k]);
            if (!(st = dsc__ckpt_match(ck, name, &shape, "optimizer", &s->src[s->nsrc])) &&
                !(st = dsc__ckpt_check_square(ck, s->src[s->nsrc], names[k], &s->chunk)))
                used[s->src[s->nsrc++]] = 1;
        }
    }
    if (!st) st = match_wide(ck, opt, s, used);
    if (!st) st = dsc__ckpt_read_average(ck, avg, &s->avg, used);
    for (size_t i = 0; !st && i < ck->nt; i++)
        /* the caller's tensors are the caller's, and so is the state when skipped */
        if (!used[i] && strncmp(ck->t[i].name, "extra/", 6) && !(s->skip_state && !strncmp(ck->t[i].name, "state/", 6)))
            st = dsc__fail(DSC_ERR_MISMATCH, "tensor '%s' of the checkpoint matches nothing in the optimizer",
                           ck->t[i].name);
    free(used);
    return st;
}

/* Puts the scalar state of s into opt; *what names the part that was refused. */
static dsc_status apply(dsc_optim *opt, const scratch *s, char *what, size_t cap)
{
    dsc_status st = DSC_OK;
    /* schedules first: attaching one sets the group's rate, which the hparams then fix */
    for (int g = 0; g < s->ngroups && !st; g++) {
        snprintf(what, cap, "group %d's schedule", g);
        st = dsc__sched_snap_apply(opt, g, &s->sched[g]);
    }
    if (!st) {
        snprintf(what, cap, "counters");
        st = dsc_optim_set_counters(opt, s->steps, s->skipped, s->consecutive);
    }
    if (!st) {
        snprintf(what, cap, "accumulation");
        st = dsc_optim_set_accum(opt, s->accum_count, s->accum_loss);
    }
    /* every group checked before any group's buffers change (a group's momentum, amsgrad
     * or centered may differ from the optimizer's: the file's sets the layout) */
    for (int g = 0; g < s->ngroups && !st; g++) {
        snprintf(what, cap, "group %d", g);
        st = dsc__optim_check_group(opt, g, &s->hp[g]);
    }
    for (int g = 0; g < s->ngroups && !st; g++) {
        snprintf(what, cap, "group %d", g);
        st = dsc_optim_set_group_hparams(opt, g, &s->hp[g]);
        for (size_t k = 0; !st && k < s->nscalars; k++)
            st = dsc_optim_set_scalar(opt, g, dsc_optim_scalar_name(k), s->scalars[(size_t)g * s->nscalars + k]);
    }
    return st;
}

/* The scalar state of opt, to undo a refused apply. */
static dsc_status take_old(const dsc_optim *opt, const scratch *s, scratch *old)
{
    memset(old, 0, sizeof *old);
    old->ngroups = s->ngroups;
    old->nscalars = s->nscalars;
    old->hp = calloc((size_t)s->ngroups, sizeof *old->hp);
    old->scalars = calloc((size_t)s->ngroups * s->nscalars + 1, sizeof *old->scalars);
    old->sched = calloc((size_t)s->ngroups, sizeof *old->sched);
    if (!old->hp || !old->scalars || !old->sched) return dsc__fail(DSC_ERR_NOMEM, "out of memory");
    for (int g = 0; g < s->ngroups; g++) {
        dsc_status st = dsc__sched_snap_take(opt, g, &old->sched[g]);
        if (st) return st;
        dsc_optim_get_group_hparams(opt, g, &old->hp[g]);
        for (size_t k = 0; k < s->nscalars; k++)
            dsc_optim_get_scalar(opt, g, dsc_optim_scalar_name(k), &old->scalars[(size_t)g * s->nscalars + k]);
    }
    old->steps = dsc_optim_step_count(opt);
    old->skipped = dsc_optim_skipped_count(opt);
    old->consecutive = dsc_optim_consecutive_skips(opt);
    dsc_optim_get_accum(opt, &old->accum_count, &old->accum_loss);
    return DSC_OK;
}

/* The refusable changes, undone together when one is refused. */
static dsc_status commit_scalars(dsc_optim *opt, const scratch *s)
{
    scratch old;
    char what[64];
    dsc_status st = take_old(opt, s, &old);
    if (!st && (st = apply(opt, s, what, sizeof what))) {
        st = dsc__fail_prefix(st == DSC_ERR_NOMEM ? st : DSC_ERR_MISMATCH, what);
        apply(opt, &old, what, sizeof what);
    }
    scratch_free(&old);
    return st;
}

/* The tensors straight from the file into the optimizer's buffers (and the average's).
 * Everything was checked, the file's length too, so only a file changed in place
 * since then (or a failing disk) can fail here. */
static dsc_status commit_tensors(const dsc_ckpt *ck, dsc_optim *opt, const scratch *s)
{
    size_t j = 0;
    dsc_status st = DSC_OK;
    for (size_t i = 0; !st && i < dsc_optim_param_count(opt); i++) {
        const dsc_param *q = dsc_optim_param(opt, i);
        const dsc__st_entry *e = &ck->t[s->src[j++]];
        st = dsc__ckpt_read_bytes(ck, e->begin, e->end - e->begin, q->data);
        for (size_t k = 0; !st && !s->skip_state && k < dsc_optim_state_count(opt, i); k++) {
            void *dst;
            dsc_optim_state(opt, i, k, NULL, &dst);
            e = &ck->t[s->src[j++]];
            st = dsc__ckpt_read_bytes(ck, e->begin, e->end - e->begin, dst);
        }
    }
    for (size_t k = 0; !st && k < dsc__optim_wide_count(opt); k++) {
        dsc__wide w;
        dsc__optim_wide(opt, k, &w);
        const dsc__st_entry *e = &ck->t[s->src[j++]];
        st = dsc__ckpt_read_bytes(ck, e->begin, e->end - e->begin, w.data);
    }
    if (st)
        return dsc__fail_prefix(st, "the file changed after it was checked, and the optimizer is only partly "
                                "restored");
    return DSC_OK;
}

static dsc_status restore(const dsc_ckpt *ck, dsc_optim *opt, const dsc_checkpoint_load_options *o)
{
    scratch s;
    memset(&s, 0, sizeof s);
    s.skip_state = o->skip_state;
    if (dsc_optim_state_dtype(opt) == DSC_STATE_BF16) /* tensors are read in the parameters' dtype */
        return dsc__fail(DSC_ERR_UNSUPPORTED, "checkpoint: an optimizer with state_dtype=bf16 cannot be restored");
    dsc_status st = check_identity(ck, opt);
    if (!st) st = read_groups(ck, opt, &s);
    if (!st) st = read_counters(ck, &s);
    if (!st) st = match_tensors(ck, opt, o->average, &s);
    if (!st) st = dsc__ckpt_still_whole(ck);
    if (!st) st = commit_scalars(opt, &s);
    if (!st) st = commit_tensors(ck, opt, &s);
    if (!st) dsc__optim_state_restored(opt);
    if (!st && o->average) st = dsc__ckpt_apply_average(ck, o->average, &s.avg);
    /* rebuilds the parameters of the saved mode from the state (schedule-free); with
     * the state skipped, the caller does once it has filled the state */
    if (!st && !s.skip_state) dsc_optim_eval_mode(opt, s.eval_mode);
    scratch_free(&s);
    return st;
}

dsc_checkpoint_load_options dsc_checkpoint_load_options_default(void)
{
    return (dsc_checkpoint_load_options){.average = NULL, .skip_state = 0};
}

dsc_status dsc_ckpt_restore(const dsc_ckpt *ck, dsc_optim *opt, const dsc_checkpoint_load_options *o)
{
    if (!ck || !opt) return dsc__fail(DSC_ERR_ARG, "dsc_ckpt_restore: NULL argument");
    dsc_checkpoint_load_options defaults = dsc_checkpoint_load_options_default();
    dsc_status st = restore(ck, opt, o ? o : &defaults);
    return st ? dsc__fail_prefix(st, "checkpoint") : DSC_OK;
}

dsc_status dsc_checkpoint_load_mem(dsc_optim *opt, const void *buf, size_t len, const dsc_checkpoint_load_options *o)
{
    if (!opt || (!buf && len)) return dsc__fail(DSC_ERR_ARG, "dsc_checkpoint_load_mem: NULL argument");
    dsc_checkpoint_load_options defaults = dsc_checkpoint_load_options_default();
    dsc_ckpt ck;
    dsc_status st = dsc__ckpt_parse_mem(&ck, buf, len);
    if (!st) {
        st = restore(&ck, opt, o ? o : &defaults);
        dsc__ckpt_release(&ck);
    }
    return st ? dsc__fail_prefix(st, "checkpoint") : DSC_OK;
}

dsc_status dsc_checkpoint_load(dsc_optim *opt, const char *path, const dsc_checkpoint_load_options *o)
{
    if (!opt || !path) return dsc__fail(DSC_ERR_ARG, "dsc_checkpoint_load: NULL argument");
    dsc_ckpt *ck;
    dsc_status st = dsc_ckpt_open(&ck, path);
    if (st) return st; /* the message names the file */
    dsc_checkpoint_load_options defaults = dsc_checkpoint_load_options_default();
    st = restore(ck, opt, o ? o : &defaults);
    dsc_ckpt_close(ck);
    if (st) {
        char prefix[300];
        snprintf(prefix, sizeof prefix, "checkpoint '%.256s'", path);
        return dsc__fail_prefix(st, prefix);
    }
    return DSC_OK;
}
