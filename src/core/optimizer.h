/*
 * optimizer.h: the optimizer object's fields, shared by the files that make it up
 * (optimizer.c, accumulate.c, nonfinite.c, group_schedules.c) and by nothing else.
 */
#ifndef DSC_OPTIMIZER_H
#define DSC_OPTIMIZER_H

#include "internal.h"

typedef struct tensor {
    int nstate;
    const char *state_names[DSC__MAX_STATE];
    void *state[DSC__MAX_STATE];
    void *accum; /* accumulate > 1: the sum of this window's gradients ("grad_accum") */
    int fresh;   /* a buffer was added after the first step: the next step is its first */
} tensor;

typedef struct group {
    dsc_hparams hp;
    dsc__gstate gs;
    dsc__scal scal; /* this step's scalars, before the per-tensor ones */
} group;

struct dsc_optim {
    const dsc__ops *ops;
    size_t count;
    dsc_param *params; /* copies; names point into owned strings */
    tensor *tensors;
    int ngroups;
    group *groups;
    dsc_hparams controls; /* optimizer-wide: clipping and the non-finite policy */
    double *partial;      /* per-tensor gradient norm partials, sized at create */
    dsc__plan plan;       /* the step's tasks and their split over threads (parallel.c) */
    double grad_norm;     /* norm measured by the last step (NAN when none) */
    int64_t steps, skipped, consecutive;
    int last_skipped;
    int use_reference;
    size_t state_bytes;
    void *scratch; /* ops->scratch_elems workspace, shared by the tensors' kernels */
    int eval_mode; /* dsc_optim_eval_mode */
    /* training controls: per-group schedules, gradient accumulation */
    dsc_sched **sched;     /* one per group, NULL where none */
    const dsc__sched_hooks *sched_hooks; /* how to step them (set with the first one) */
    int64_t accum_count;   /* micro-batches in the current window */
    double accum_loss;     /* the sum of their losses */
    int last_updated;
    dsc__sparse **sparse;  /* per tensor: its row-sparse gradient (sparse.c), NULL if dense */
    void *wide; /* the kind's optimizer-wide state (L-BFGS), made by ops->wide_create */
    int stateless; /* dsc__optim_create_stateless: no state buffers; cannot step or save */
};

/* ---- gradient accumulation (accumulate.c) */
/* The gradient the update reads: the caller's, or the window's mean when accumulating. */
const void *dsc__accum_grad(const dsc_optim *o, size_t i);
/* Tensor i's accumulation buffer (accumulate > 1), counted in state_bytes. */
dsc_status dsc__accum_alloc(dsc_optim *o, size_t i);
/* Empties the window. */
void dsc__accum_reset(dsc_optim *o);
/* With accumulate=K this call's gradients join the window (a non-finite one is left
 * out, by the policy); *update tells whether this call updates (the K-th finite
 * micro-batch, whose window now holds the mean). */
dsc_status dsc__accum_add(dsc_optim *o, int have_loss, double loss, int *update);

/* ---- the groups' schedules (group_schedules.c), through o->sched_hooks */
/* Before an update: every schedule can take it (a loss where one is needed; last: this
 * call updates, so a schedule that cannot step refuses). */
dsc_status dsc__optim_schedules_check(const dsc_optim *o, int have_loss, int last);
/* After an update: every schedule advances with the loss, its group's rate follows. */
void dsc__optim_schedules_advance(dsc_optim *o, double loss);

/* The non-finite policy for this step (nonfinite.c): marks the step skipped. */
dsc_status dsc__optim_handle_nonfinite(dsc_optim *o);

#endif
