/*
 * run_checkpoint.c: the checkpoint side of a run (--save, --resume). Besides the
 * optimizer, a checkpoint of a run records what the optimizer cannot know: the
 * problem spec, the start point and the specs the user typed (optimizer, average), as
 * extra metadata.
 * The dtype and the position are the parameter tensor "param/x" itself.
 */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

static char *copy_text(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

/* "x1,x2,..." with %.17g, so the start reads back to the same doubles. */
static char *format_start(const double *x, size_t n)
{
    char *s = malloc(n * 26 + 1);
    if (!s) return NULL;
    size_t len = 0;
    s[0] = '\0';
    for (size_t i = 0; i < n; i++) len += (size_t)sprintf(s + len, "%s%.17g", i ? "," : "", x[i]);
    return s;
}

static dsc_status resume_fail(cli_run *r, const char *msg)
{
    snprintf(r->error, sizeof r->error, "checkpoint '%.120s': %s", r->resume, msg);
    return DSC_ERR_FORMAT;
}

dsc_status cli_run_open_resume(cli_run *r, dsc_ckpt **out)
{
    dsc_ckpt *ck;
    dsc_status st = dsc_ckpt_open(&ck, r->resume);
    if (st) return st;
    dsc_ckpt_tensor x;
    const char *problem = dsc_ckpt_extra(ck, "problem"), *start = dsc_ckpt_extra(ck, "start");
    const char *schedule = dsc_ckpt_meta(ck, "group.0.schedule");
    /* the average as typed, else as the library saved it (the restore compares them) */
    const char *average = dsc_ckpt_extra(ck, "average") ? dsc_ckpt_extra(ck, "average") : dsc_ckpt_meta(ck, "average");
    dsc_hparams hp;
    char spec[1100];
    if (!problem) st = resume_fail(r, "no extra.problem in its metadata (not written by descent optimize)");
    else if (dsc_ckpt_find(ck, "param/x", &x) || (strcmp(x.dtype, "F32") && strcmp(x.dtype, "F64")))
        st = resume_fail(r, "no F32 or F64 tensor 'param/x' (not written by descent optimize)");
    else st = dsc_ckpt_hparams(ck, 0, &hp);
    if (!st) {
        dsc_hparams_format(&hp, spec, sizeof spec);
        r->dtype = strcmp(x.dtype, "F32") ? DSC_F64 : DSC_F32;
        r->resumed_problem = copy_text(problem);
        /* what the user typed, if the file says: the group's lr may be a schedule's by now */
        const char *typed = dsc_ckpt_extra(ck, "optimizer");
        r->resumed_optimizer = copy_text(typed ? typed : spec);
        r->resumed_start = start ? copy_text(start) : NULL;
        r->resumed_schedule = schedule ? copy_text(schedule) : NULL;
        r->resumed_average = average ? copy_text(average) : NULL;
        if (!r->resumed_problem || !r->resumed_optimizer || (start && !r->resumed_start) ||
            (schedule && !r->resumed_schedule) || (average && !r->resumed_average))
            st = resume_fail(r, "out of memory");
        r->problem = r->resumed_problem;
        r->optimizer = r->resumed_optimizer;
        r->schedule = r->resumed_schedule; /* for the report: the restore attaches it */
        r->average = r->resumed_average;
        r->start = NULL;
    }
    if (st) {
        dsc_ckpt_close(ck);
        return st;
    }
    *out = ck;
    return DSC_OK;
}

dsc_status cli_run_create_optim(cli_run *r, const dsc_ckpt *ck, const dsc_param *p, dsc_optim **out,
                                dsc_average **avg)
{
    dsc_status st;
    *avg = NULL;
    if (!ck) {
        st = dsc_optim_create_spec(out, r->optimizer, p, 1);
        if (!st && r->schedule) st = dsc_optim_set_schedule(*out, -1, r->schedule);
        if (!st && r->average) st = dsc_average_create(avg, r->average, p, 1);
        return st;
    }
    dsc_hparams hp;
    st = dsc_ckpt_hparams(ck, 0, &hp);
    if (!st) st = dsc_optim_create(out, &hp, p, 1);
    if (!st && r->average) st = dsc_average_create(avg, r->average, p, 1);
    dsc_checkpoint_load_options lo = dsc_checkpoint_load_options_default();
    lo.average = *avg;
    if (!st) st = dsc_ckpt_restore(ck, *out, &lo);
    if (!st) { /* the calls so far: updates of K micro-batches, the window's, the skipped */
        int64_t window;
        dsc_optim_get_accum(*out, &window, NULL);
        int64_t K = hp.accumulate > 1 ? hp.accumulate : 1;
        r->first_step = dsc_optim_step_count(*out) * K + window + dsc_optim_skipped_count(*out);
    }
    return st;
}

dsc_status cli_run_save(cli_run *r, const dsc_optim *opt, const dsc_average *avg)
{
    char *start = r->resumed_start ? copy_text(r->resumed_start) : r->start ? format_start(r->start, r->start_len) : NULL;
    if ((r->resumed_start || r->start) && !start) {
        snprintf(r->error, sizeof r->error, "out of memory");
        return DSC_ERR_NOMEM;
    }
    dsc_kv kv[5] = {
        {"problem", r->problem},
        {"optimizer", r->optimizer},
        {"dtype", dsc_dtype_name(r->dtype)},
    };
    size_t n = 3;
    if (avg) kv[n++] = (dsc_kv){"average", r->average};
    if (start) kv[n++] = (dsc_kv){"start", start};
    dsc_status st = dsc_checkpoint_save_avg(opt, avg, r->save, kv, n);
    free(start);
    return st;
}
