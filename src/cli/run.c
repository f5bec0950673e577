/*
 * run.c: one optimizer on one test problem, the unit that optimize, compare and the
 * demo share, so their numbers agree. The point lives in the run's dtype; the
 * gradient is computed in that dtype's arithmetic.
 */
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Loss at the run's point (in its dtype); fills the gradient buffer. */
static double evaluate(const dsc_problem *pb, dsc_dtype dt, const void *data, void *grad)
{
    return dt == DSC_F32 ? dsc_problem_eval_f32(pb, data, grad) : dsc_problem_eval(pb, data, grad);
}

/* A closure kind's view of the problem (L-BFGS re-evaluates it within a step). */
typedef struct run_closure {
    const dsc_problem *pb;
    dsc_dtype dtype;
    const void *data;
    void *grad;
} run_closure;

static dsc_status problem_closure(void *ctx, double *loss)
{
    const run_closure *c = ctx;
    *loss = evaluate(c->pb, c->dtype, c->data, c->grad);
    return DSC_OK;
}

/* The i-th value of the run's point, read in its dtype. */
static double coord(dsc_dtype dt, const void *data, size_t i)
{
    return dt == DSC_F32 ? (double)((const float *)data)[i] : ((const double *)data)[i];
}

/* The point as doubles into x: once after the run, not every step. */
static void copy_point(dsc_dtype dt, const void *data, double *x, size_t dim)
{
    for (size_t i = 0; i < dim; i++) x[i] = coord(dt, data, i);
}

static void trace_row(FILE *f, int64_t step, double loss, dsc_dtype dt, const void *data, size_t dim)
{
    fprintf(f, "%lld,%.17g", (long long)step, loss);
    for (size_t i = 0; i < dim; i++) fprintf(f, ",%.17g", coord(dt, data, i));
    fputc('\n', f);
}

static void note_progress(cli_run *r, int64_t step, double loss, double fstar, int known)
{
    if (!known) return;
    static const double tol[2] = {1e-3, 1e-6};
    for (int k = 0; k < 2; k++)
        if (r->steps_to[k] < 0 && loss - fstar <= tol[k]) r->steps_to[k] = step;
}

/* The loss of every step, and the point of every step for 2-D problems (plots). */
static dsc_status record_alloc(cli_run *r)
{
    size_t rows = (size_t)r->steps + 1;
    r->losses = malloc(rows * sizeof *r->losses);
    if (r->dim == 2) r->path = malloc(rows * 2 * sizeof *r->path);
    if (!r->losses || (r->dim == 2 && !r->path)) {
        snprintf(r->error, sizeof r->error, "out of memory recording %lld steps", (long long)r->steps);
        return DSC_ERR_NOMEM;
    }
    return DSC_OK;
}

static void record_row(cli_run *r, int64_t step, double loss, const void *data)
{
    r->losses[step] = loss;
    if (!r->path) return;
    r->path[step] = coord(r->dtype, data, 0);
    r->path[r->steps + 1 + step] = coord(r->dtype, data, 1);
}

/* The loss at the weight average, evaluated in point (a buffer of its own). */
static dsc_status average_point(cli_run *r, const dsc_problem *pb, const dsc_average *avg, void *point, void *grad)
{
    dsc_status st = dsc_average_copy_to(avg, 0, point);
    if (!st) {
        r->avg_loss = evaluate(pb, r->dtype, point, grad);
        copy_point(r->dtype, point, r->avg_x, r->dim);
    }
    return st;
}

/* The loss at ASGD's average ax, copied into point (before the first step the average
 * is the parameters, as a weight average's is until its first fold). */
static void ax_point(cli_run *r, const dsc_problem *pb, const dsc_optim *opt, void *point, void *grad)
{
    const dsc_param *q = dsc_optim_param(opt, 0);
    const void *ax = q->data;
    for (size_t k = 0; dsc_optim_step_count(opt) > 0 && k < dsc_optim_state_count(opt, 0); k++) {
        const char *name;
        void *data;
        dsc_optim_state(opt, 0, k, &name, &data);
        if (!strcmp(name, "ax")) ax = data;
    }
    memcpy(point, ax, q->n * dsc_dtype_size(q->dtype));
    r->avg_loss = evaluate(pb, r->dtype, point, grad);
    copy_point(r->dtype, point, r->avg_x, r->dim);
}

dsc_status cli_run_exec(cli_run *r)
{
    dsc_problem *own = NULL; /* made here when the caller gave none */
    const dsc_problem *pb = r->resume ? NULL : r->pb; /* a checkpoint names its own */
    dsc_optim *opt = NULL;
    dsc_average *avg = NULL;
    void *data = NULL, *grad = NULL, *avg_point = NULL;
    double *xstar = NULL;
    dsc_ckpt *ck = NULL;
    dsc_status st = r->resume ? cli_run_open_resume(r, &ck) : DSC_OK;
    if (!st && !pb && !(st = dsc_problem_create(&own, r->problem))) pb = own;
    if (st) {
        dsc_ckpt_close(ck);
        return st;
    }
    size_t dim = dsc_problem_dim(pb), es = dsc_dtype_size(r->dtype);
    r->dim = dim;
    r->x = calloc(dim, sizeof *r->x);
    xstar = calloc(dim, sizeof *xstar);
    data = calloc(dim, es);
    grad = calloc(dim, es);
    if (!r->x || !xstar || !data || !grad) {
        snprintf(r->error, sizeof r->error, "out of memory for a problem of dimension %zu", dim);
        st = DSC_ERR_NOMEM;
        goto done;
    }
    if (r->start && r->start_len != dim) {
        snprintf(r->error, sizeof r->error, "--start has %zu values, %s needs %zu", r->start_len,
                 dsc_problem_name(pb), dim);
        st = DSC_ERR_MISMATCH;
        goto done;
    }
    if (r->trace) {
        fprintf(r->trace, "step,loss");
        for (size_t i = 1; i <= dim; i++) fprintf(r->trace, ",x%zu", i);
        fputc('\n', r->trace);
    }
    if (r->start) memcpy(r->x, r->start, dim * sizeof(double));
    else dsc_problem_start(pb, r->x);
    for (size_t i = 0; i < dim; i++) {
        if (r->dtype == DSC_F32) ((float *)data)[i] = (float)r->x[i];
        else ((double *)data)[i] = r->x[i];
    }
    dsc_param p = {.name = "x", .data = data, .grad = grad, .n = dim, .dtype = r->dtype};
    if ((st = cli_run_create_optim(r, ck, &p, &opt, &avg))) goto done;
    double fstar = 0;
    int known = dsc_problem_minimum(pb, xstar, &fstar);
    if (r->record && (st = record_alloc(r))) goto done;
    r->steps_to[0] = r->steps_to[1] = -1;
    double t0 = cli_now();
    double loss = evaluate(pb, r->dtype, data, grad);
    int64_t k0 = r->first_step;
    if (r->trace) trace_row(r->trace, k0, loss, r->dtype, data, dim);
    if (r->record) record_row(r, 0, loss, data);
    note_progress(r, k0, loss, fstar, known);
    run_closure closure = {pb, r->dtype, data, grad};
    for (int64_t k = k0 + 1; k <= k0 + r->steps; k++) {
        /* one step of L-BFGS is one torch step(closure): up to max_iter iterations */
        st = dsc_optim_needs_closure(opt) ? dsc_optim_step_closure(opt, problem_closure, &closure, NULL)
                                          : dsc_optim_step_loss(opt, loss);
        if (st) goto done;
        if (avg && dsc_optim_last_updated(opt) && (st = dsc_average_update(avg))) goto done;
        loss = evaluate(pb, r->dtype, data, grad);
        if (r->trace) trace_row(r->trace, k, loss, r->dtype, data, dim);
        if (r->trace && ferror(r->trace)) { /* a full disk: stop now, not after the last step */
            snprintf(r->error, sizeof r->error, "cannot write the trace: %s", strerror(errno));
            st = DSC_ERR_IO;
            goto done;
        }
        if (r->record) record_row(r, k - k0, loss, data);
        note_progress(r, k, loss, fstar, known);
    }
    r->seconds = cli_now() - t0;
    /* everything the report needs is allocated before the save: a failure after it
     * would exit non-zero with the old checkpoint already replaced */
    const int ax = cli_average_is_ax(r->average);
    if ((avg || ax) && (!(avg_point = malloc(dim * es)) || !(r->avg_x = malloc(dim * sizeof *r->avg_x)))) {
        snprintf(r->error, sizeof r->error, "out of memory for the average's point");
        st = DSC_ERR_NOMEM;
        goto done;
    }
    /* saved before the switch below: a checkpoint holds the training point */
    if (r->save && (st = cli_run_save(r, opt, avg))) goto done;
    /* report the evaluation point (schedule-free's x; the same point for kinds without
     * two): the library does not say whether it moved, so its loss is taken once more */
    if ((st = dsc_optim_eval_mode(opt, 1))) goto done;
    r->loss = evaluate(pb, r->dtype, data, grad);
    copy_point(r->dtype, data, r->x, dim);
    r->avg_loss = NAN;
    if (avg && (st = average_point(r, pb, avg, avg_point, grad))) goto done;
    if (ax) ax_point(r, pb, opt, avg_point, grad);
    r->skipped = dsc_optim_skipped_count(opt);
    r->fstar = known ? fstar : NAN;
    r->dist = NAN;
    if (known) dsc_problem_nearest_minimum(pb, r->x, xstar, NULL, &r->dist);
done:
    dsc_ckpt_close(ck);
    dsc_average_destroy(avg);
    dsc_optim_destroy(opt);
    dsc_problem_destroy(own);
    free(data);
    free(grad);
    free(avg_point);
    free(xstar);
    return st;
}

void cli_run_free(cli_run *r)
{
    free(r->x);
    free(r->losses);
    free(r->path);
    free(r->avg_x);
    free(r->resumed_problem);
    free(r->resumed_optimizer);
    free(r->resumed_start);
    free(r->resumed_schedule);
    free(r->resumed_average);
    r->x = r->losses = r->path = r->avg_x = NULL;
    r->resumed_problem = r->resumed_optimizer = r->resumed_start = r->resumed_schedule = NULL;
    r->resumed_average = NULL;
}
