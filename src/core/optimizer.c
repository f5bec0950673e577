/*
 * optimizer.c: the optimizer object. It owns copies of the parameter descriptors,
 * the per-tensor state, the groups' hyperparameters and the counters; the update
 * rules live in src/optim/, one file per family, behind dsc__ops.
 *
 * A step is: measure the gradients once (norm for clipping, finiteness for the
 * non-finite policy), then one fused pass per tensor that applies scaling, clipping,
 * decay and the update together, with every per-step scalar computed once in double.
 */
#include "optimizer.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- training controls
 * Gradient accumulation and schedules: what dsc_optim_step does once per real update
 * around the update itself (controls_begin before, controls_end after); the
 * window's own functions are in accumulate.c, the schedules' in group_schedules.c. */

/* Before the update: the schedules can take it (a loss where they need one, onecycle
 * within total_steps), and with accumulate=K this call's gradients join the window;
 * *update tells whether this call updates (the K-th finite micro-batch). */
static dsc_status controls_begin(dsc_optim *o, int have_loss, double loss, int *update)
{
    int64_t K = o->controls.accumulate;
    int last = K <= 1 || o->accum_count + 1 >= K;
    dsc_status st = dsc__optim_schedules_check(o, have_loss, last);
    if (st) return st;
    return dsc__accum_add(o, have_loss, loss, update);
}

/* After the update: schedules advance (with the window's mean loss), the window clears. */
static void controls_end(dsc_optim *o)
{
    int64_t K = o->controls.accumulate > 1 ? o->controls.accumulate : 1;
    double loss = o->accum_loss / (double)K;
    dsc__optim_schedules_advance(o, loss);
    if (K > 1) dsc__accum_reset(o);
    o->last_updated = 1;
}

/* ---------------------------------------------------------------- create/destroy */

static dsc_status check_param(const dsc_param *p, size_t i)
{
    const char *nm = p->name ? p->name : "(unnamed)";
    if (p->flags & DSC_SPARSE_GRAD) { /* its gradient comes from dsc_optim_set_sparse_grad */
        if (!p->data || p->grad)
            return dsc__fail(DSC_ERR_ARG, "param %zu '%s': a DSC_SPARSE_GRAD tensor needs data and a NULL grad", i,
                             nm);
    } else if (!p->data || !p->grad)
        return dsc__fail(DSC_ERR_ARG, "param %zu '%s': data and grad must not be NULL", i, nm);
    if (p->data == p->grad)
        return dsc__fail(DSC_ERR_ARG, "param %zu '%s': data and grad must be different buffers", i, nm);
    if (p->group < 0 || p->group > 1 << 20)
        return dsc__fail(DSC_ERR_ARG, "param %zu '%s': group must be >= 0, got %d", i, nm, p->group);
    dsc_status st = dsc__param_check(p, i);
    if (st) return st;
    if (p->n > SIZE_MAX / 8 / DSC__MAX_STATE)
        return dsc__fail(DSC_ERR_ARG, "param %zu '%s': too many elements (%zu)", i, nm, p->n);
    return DSC_OK;
}

static dsc_status copy_params(dsc_optim *o, const dsc_param *params, size_t count)
{
    int maxg = 0;
    for (size_t i = 0; i < count; i++) {
        dsc_status st = check_param(&params[i], i);
        if (st) return st;
        if (params[i].group > maxg) maxg = params[i].group;
    }
    o->params = calloc(count, sizeof *o->params);
    if (!o->params) return dsc__fail(DSC_ERR_NOMEM, "optimizer: out of memory for %zu params", count);
    o->count = count;
    for (size_t i = 0; i < count; i++) {
        dsc_status st = dsc__param_copy(o->params, params, i);
        if (st) return st;
    }
    o->ngroups = maxg + 1;
    return DSC_OK;
}

/* The state layout of a tensor under hp: the kind's buffers, then lookahead's. */
static int layout(const dsc__ops *ops, const dsc_hparams *hp, const dsc_param *p, const char **names)
{
    int n = ops->tensor_state ? ops->tensor_state(hp, p, names) : ops->state_names(hp, names);
    if (hp->lookahead_k > 0) names[n++] = DSC__LOOKAHEAD_STATE;
    return n;
}

/* Elements of tensor p's state buffer called name: n, but for a kind's factored state
 * (ops->state_shape), whose shape goes to shape (DSC_MAX_DIMS) and *ndim when not NULL. */
static size_t state_elems(const dsc__ops *ops, const dsc_param *p, const char *name, int *ndim, size_t *shape)
{
    size_t mine[DSC_MAX_DIMS];
    size_t *sh = shape ? shape : mine;
    int nd = ops->state_shape ? ops->state_shape(p, name, sh) : 0;
    if (!nd) {
        if (ndim) *ndim = p->ndim;
        memcpy(sh, p->shape, sizeof p->shape);
        return p->n;
    }
    size_t n = 1;
    for (int d = 0; d < nd; d++) n *= sh[d];
    if (ndim) *ndim = nd;
    return n;
}

/* The largest workspace any tensor's kernel needs, allocated once. */
static dsc_status alloc_scratch(dsc_optim *o)
{
    size_t bytes = 0;
    for (size_t i = 0; o->ops->scratch_elems && i < o->count; i++) {
        const dsc_param *p = &o->params[i];
        size_t b = o->ops->scratch_elems(&o->groups[p->group].hp, p) * dsc_dtype_size(p->dtype);
        if (b > bytes) bytes = b;
    }
    if (!bytes) return DSC_OK;
    o->scratch = dsc__alloc(bytes);
    if (!o->scratch) return dsc__fail(DSC_ERR_NOMEM, "optimizer: out of memory for %zu bytes of workspace", bytes);
    o->state_bytes += bytes;
    return DSC_OK;
}

/* Whether a tensor's kernel must take it whole: on the reference path, or where the
 * kind has no split form (per-tensor norms have one on the fast path). */
static int needs_whole(const dsc__ops *ops, const dsc_param *p, int reference)
{
    if (!ops->whole_tensor || (ops->tensor_whole && !ops->tensor_whole(p))) return 0;
    return reference || !ops->norms[p->dtype == DSC_F64];
}

/* Allocates tensor i's state for its group's hyperparameters, with initial values. */
static dsc_status alloc_state(dsc_optim *o, size_t i)
{
    const dsc_param *p = &o->params[i];
    const dsc_hparams *hp = &o->groups[p->group].hp;
    tensor *t = &o->tensors[i];
    t->nstate = layout(o->ops, hp, p, t->state_names);
    int bf16 = o->controls.state_dtype == DSC_STATE_BF16;
    if (bf16 && p->dtype != DSC_F32)
        return dsc__fail(DSC_ERR_UNSUPPORTED, "state_dtype=bf16 needs f32 parameters; '%s' is %s",
                         p->name, dsc_dtype_name(p->dtype));
    if (bf16 && hp->lookahead_k > 0) /* the slow weights must keep the parameters' precision */
        return dsc__fail(DSC_ERR_UNSUPPORTED, "state_dtype=bf16 does not combine with lookahead");
    size_t st_es = bf16 ? 2 : dsc_dtype_size(p->dtype);
    dsc__task *task = &o->plan.tasks[i];
    *task = (dsc__task){.p = p->data, .g = p->grad, .st = t->state, .st_es = st_es,
                        .nstate = t->nstate, .dtype = p->dtype, .n = p->n,
                        /* as the fast path will split it, so first touch matches */
                        .whole = needs_whole(o->ops, p, !o->ops->fast[p->dtype == DSC_F64])};
    for (int k = 0; k < t->nstate; k++) {
        task->st_n[k] = state_elems(o->ops, p, t->state_names[k], NULL, NULL);
        size_t bytes = task->st_n[k] * st_es;
        task->init[k] = o->ops->state_init ? o->ops->state_init(hp, k) : 0.0;
        if (o->stateless) continue;
        /* written by dsc__plan_fill_state, by the threads that will update it */
        t->state[k] = dsc__alloc_uninit(bytes);
        if (!t->state[k])
            return dsc__fail(DSC_ERR_NOMEM, "optimizer: out of memory for %zu bytes of state of '%s'",
                             bytes, p->name);
        o->state_bytes += bytes;
    }
    return DSC_OK;
}

/* A DSC_SPARSE_GRAD tensor: its row list, its state written here, and no elements in
 * the dense plan (the step updates its rows itself, sparse.c). */
static dsc_status alloc_sparse(dsc_optim *o, size_t i)
{
    if (!(o->params[i].flags & DSC_SPARSE_GRAD)) return DSC_OK;
    if (!o->sparse && !(o->sparse = calloc(o->count, sizeof *o->sparse)))
        return dsc__fail(DSC_ERR_NOMEM, "optimizer: out of memory");
    dsc_status st = dsc__sparse_create(&o->sparse[i], &o->params[i]);
    if (st) return st;
    dsc__sparse_fill_state(&o->plan.tasks[i], o->params[i].n);
    o->plan.tasks[i].n = 0;
    return DSC_OK;
}

static dsc_status create(dsc_optim **out, const dsc_hparams *hp, const dsc_param *params, size_t count,
                         int stateless)
{
    if (!out || !hp || (!params && count)) return dsc__fail(DSC_ERR_ARG, "dsc_optim_create: NULL argument");
    *out = NULL;
    if (count == 0) return dsc__fail(DSC_ERR_ARG, "dsc_optim_create: no parameters");
    dsc_status st = dsc_hparams_validate(hp);
    if (st) return st;
    dsc_optim *o = calloc(1, sizeof *o);
    if (!o) return dsc__fail(DSC_ERR_NOMEM, "optimizer: out of memory");
    o->ops = dsc__ops_for(hp->kind);
    o->stateless = stateless;
    o->controls = *hp;
    o->grad_norm = NAN;
    if ((st = copy_params(o, params, count))) goto fail;
    o->groups = calloc((size_t)o->ngroups, sizeof *o->groups);
    o->tensors = calloc(count, sizeof *o->tensors);
    o->partial = calloc(count, sizeof *o->partial);
    o->sched = calloc((size_t)o->ngroups, sizeof *o->sched);
    if (!o->groups || !o->tensors || !o->partial || !o->sched) {
        st = dsc__fail(DSC_ERR_NOMEM, "optimizer: out of memory");
        goto fail;
    }
    for (int g = 0; g < o->ngroups; g++) {
        o->groups[g].hp = *hp;
        o->groups[g].gs.mu_product = 1.0;
        o->groups[g].gs.mu = 1.0;
    }
    if ((st = dsc__plan_create(&o->plan, count))) goto fail;
    for (size_t i = 0; i < count; i++)
        if ((st = dsc__sparse_check(o->ops, hp, &o->params[i], i)) || (st = alloc_state(o, i)) ||
            (st = dsc__accum_alloc(o, i)) || (st = alloc_sparse(o, i)))
            goto fail;
    if ((st = alloc_scratch(o))) goto fail;
    if (o->ops->wide_create && (st = o->ops->wide_create(o->params, count, hp, &o->wide, &o->state_bytes))) goto fail;
    for (size_t i = 0; i < count; i++) o->plan.tasks[i].g = dsc__accum_grad(o, i);
    if ((st = dsc__plan_finish(&o->plan))) goto fail;
    if (!stateless) dsc__plan_fill_state(&o->plan);
    *out = o;
    return DSC_OK;
fail:
    dsc_optim_destroy(o);
    return st;
}

dsc_status dsc_optim_create(dsc_optim **out, const dsc_hparams *hp, const dsc_param *params, size_t count)
{
    return create(out, hp, params, count, 0);
}

dsc_status dsc__optim_create_stateless(dsc_optim **out, const dsc_hparams *hp, const dsc_param *params,
                                       size_t count)
{
    return create(out, hp, params, count, 1);
}

dsc_status dsc_optim_create_spec(dsc_optim **out, const char *spec, const dsc_param *params,
                                 size_t count)
{
    if (!out) return dsc__fail(DSC_ERR_ARG, "dsc_optim_create_spec: NULL out");
    *out = NULL;
    dsc_hparams hp;
    dsc_status st = dsc_hparams_parse(spec, &hp);
    if (st) return st;
    return dsc_optim_create(out, &hp, params, count);
}

void dsc_optim_destroy(dsc_optim *o)
{
    if (!o) return;
    for (size_t i = 0; o->params && i < o->count; i++) {
        free((char *)o->params[i].name);
        for (int k = 0; o->tensors && k < o->tensors[i].nstate; k++) dsc__free(o->tensors[i].state[k]);
        if (o->tensors) dsc__free(o->tensors[i].accum);
        if (o->sparse) dsc__sparse_destroy(o->sparse[i]);
    }
    free(o->sparse);
    for (int g = 0; o->sched && g < o->ngroups; g++) dsc__optim_attach_schedule(o, g, NULL, NULL);
    free(o->sched);
    free(o->params);
    free(o->tensors);
    free(o->groups);
    free(o->partial);
    dsc__free(o->scratch);
    if (o->wide) o->ops->wide_free(o->wide);
    dsc__plan_free(&o->plan);
    free(o);
}

/* ---------------------------------------------------------------- the step */

/* Fills the scalar fields every kind shares; the kind's prepare adds its constants. */
static void base_scalars(const dsc_hparams *hp, const dsc_hparams *ctl, int64_t t, dsc__scal *s)
{
    memset(s, 0, sizeof *s);
    s->lr = hp->lr;
    s->gscale = 1.0;
    s->clip_value = ctl->clip_value;
    s->maximize = hp->maximize;
    s->first = t == 1;
    s->l1 = hp->l1;
    if (hp->decoupled_weight_decay) {
        s->decay = 1.0 - hp->lr * hp->weight_decay;
    } else {
        s->wd = hp->weight_decay;
        s->decay = 1.0;
    }
}

/* Tensor i's task for step t: scalars s, kernels, lookahead's sync. */
static void set_task(dsc_optim *o, size_t i, const dsc__scal *s, int64_t t)
{
    const dsc_param *q = &o->params[i];
    const dsc_hparams *hp = &o->groups[q->group].hp;
    dsc__task *task = &o->plan.tasks[i];
    tensor *ts = &o->tensors[i];
    int d = q->dtype == DSC_F64, fast = !o->use_reference && o->ops->fast[d];
    if (hp->lookahead_k > 0 && t == 1) dsc__lookahead_start(q, ts->state[ts->nstate - 1]);
    task->s = *s;
    task->kernel = fast ? o->ops->fast[d] : o->ops->reference[d];
    if (task->st_es == 2) task->kernel = o->use_reference ? o->ops->reference_bf16 : o->ops->fast_bf16;
    task->whole = needs_whole(o->ops, q, !fast);
    task->norms = fast ? o->ops->norms[d] : NULL;
    task->la_sync = hp->lookahead_k > 0 && t % hp->lookahead_k == 0;
    task->la_alpha = hp->lookahead_alpha;
    /* the fast path syncs piece by piece, while a piece of p is still in cache; the
     * reference after each call, as a separate pass */
    task->la_piece = fast && !task->whole ? 4096 : 0;
}

static dsc_status step(dsc_optim *o, int have_loss, double loss)
{
    if (!o) return dsc__fail(DSC_ERR_ARG, "dsc_optim_step: NULL optimizer");
    if (o->stateless) return dsc__fail(DSC_ERR_ARG, "dsc_optim_step: the optimizer was restored without its state");
    if (o->ops->closure_step)
        return dsc__fail(DSC_ERR_ARG, "%s: needs a closure: call dsc_optim_step_closure", dsc_kind_name(o->ops->kind));
    if (o->eval_mode && o->ops->place[0])
        return dsc__fail(DSC_ERR_ARG, "%s: step in eval mode; call dsc_optim_eval_mode(opt, 0) first",
                         dsc_kind_name(o->ops->kind));
    const dsc_hparams *ctl = &o->controls;
    int clip = ctl->clip_norm > 0;
    double global_coef = 1.0;
    o->last_skipped = 0;
    o->last_updated = 0;
    /* training controls (section above): schedules that need a loss or cannot
     * step fail here; with accumulate=K only the K-th call goes on, with the mean */
    int update = 0;
    dsc_status st = controls_begin(o, have_loss, loss, &update);
    if (st || !update) return st;
    for (size_t i = 0; o->sparse && i < o->count; i++)
        if (o->sparse[i]) dsc__sparse_gather(o->sparse[i], o->params[i].dtype);
    if (clip || ctl->nonfinite != DSC_NONFINITE_IGNORE) {
        double p = clip ? ctl->clip_norm_type : 2.0;
        int finite = dsc__plan_measure(&o->plan, p, o->partial);
        for (size_t i = 0; o->sparse && i < o->count; i++) /* their tasks measured nothing */
            if (o->sparse[i]) finite &= dsc__sparse_measure(o->sparse[i], o->params[i].dtype, p, &o->partial[i]);
        if (!finite && ctl->nonfinite != DSC_NONFINITE_IGNORE) {
            dsc__accum_reset(o); /* a window whose mean overflowed is dropped with the step */
            return dsc__optim_handle_nonfinite(o);
        }
        double sum = 0;
        for (size_t i = 0; i < o->count; i++) sum = dsc__norm_combine(sum, o->partial[i], p);
        o->grad_norm = dsc__norm_root(sum, p);
        if (clip && !ctl->clip_per_tensor) global_coef = dsc__clip_coef(ctl->clip_norm, o->grad_norm);
    }
    o->consecutive = 0;
    int64_t t = ++o->steps;
    for (int g = 0; g < o->ngroups; g++) {
        group *gr = &o->groups[g];
        base_scalars(&gr->hp, ctl, t, &gr->scal);
        o->ops->prepare(&gr->hp, &gr->gs, t, &gr->scal);
    }
    for (size_t i = 0; i < o->count; i++) { /* one pass, however many groups */
        dsc_param *q = &o->params[i];
        group *gr = &o->groups[q->group];
        dsc__scal s = gr->scal;
        if (q->flags & DSC_NO_DECAY) { s.wd = 0; s.l1 = 0; s.decay = 1.0; }
        s.gscale = clip && ctl->clip_per_tensor
                       ? dsc__clip_coef(ctl->clip_norm, dsc__norm_root(o->partial[i], ctl->clip_norm_type))
                       : global_coef;
        s.hp = &gr->hp;
        s.first |= o->tensors[i].fresh;
        s.param = q;
        s.scratch = o->scratch;
        set_task(o, i, &s, t);
    }
    if (o->ops->norms_finish && !o->use_reference) dsc__plan_norms(&o->plan, o->ops->norms_finish);
    dsc__plan_update(&o->plan);
    for (size_t i = 0; o->sparse && i < o->count; i++) {
        const dsc_hparams *hp = &o->groups[o->params[i].group].hp;
        int all_rows = o->ops->sparse_all_rows && o->ops->sparse_all_rows(hp);
        if (o->sparse[i]) dsc__sparse_update(o->sparse[i], &o->plan.tasks[i], o->plan.threads, all_rows);
    }
    for (size_t i = 0; i < o->count; i++) o->tensors[i].fresh = 0;
    /* once per real update: clear the window, advance the schedules */
    controls_end(o);
    return DSC_OK;
}

dsc_status dsc_optim_step(dsc_optim *o) { return step(o, 0, NAN); }
dsc_status dsc_optim_step_loss(dsc_optim *o, double loss) { return step(o, 1, loss); }

/* A closure kind's step (L-BFGS) with the training controls around it; any other kind
 * evaluates once and steps with that loss, as torch's step(closure) does. */
dsc_status dsc_optim_step_closure(dsc_optim *o, dsc_closure_fn fn, void *ctx, double *loss)
{
    if (!o || !fn) return dsc__fail(DSC_ERR_ARG, "dsc_optim_step_closure: NULL %s", o ? "closure" : "optimizer");
    double first = NAN;
    dsc_status st;
    if (!o->ops->closure_step) {
        if ((st = fn(ctx, &first))) return st;
        if (loss) *loss = first;
        return step(o, 1, first);
    }
    o->last_skipped = 0;
    o->last_updated = 0;
    int update = 0; /* the kind refuses accumulation: always 1 */
    if ((st = controls_begin(o, 1, NAN, &update))) return st;
    dsc__closure_result result;
    st = o->ops->closure_step(o->wide, o->params, o->count, &o->groups[0].hp, fn, ctx, &first, &result);
    if (loss) *loss = first;
    if (st) return st;
    if (result == DSC__CLOSURE_NONFINITE) return dsc__optim_handle_nonfinite(o);
    o->consecutive = 0;
    o->steps++;
    o->accum_loss = first; /* the loss a loss-driven schedule sees */
    controls_end(o);
    return DSC_OK;
}

int dsc_optim_needs_closure(const dsc_optim *o) { return o && o->ops->closure_step; }

size_t dsc__optim_wide_count(const dsc_optim *o) { return o && o->wide ? o->ops->wide_count(o->wide) : 0; }

void dsc__optim_wide(const dsc_optim *o, size_t k, dsc__wide *out) { o->ops->wide_tensor(o->wide, k, out); }

dsc_status dsc__optim_wide_check(const dsc_optim *o, const unsigned char *const *bytes)
{
    return o->wide ? o->ops->wide_check(o->wide, bytes) : DSC_OK;
}

/* A one-element tensor of the wide state, by name, as a counter (0 when none). */
static int64_t wide_counter(const dsc_optim *o, const char *name)
{
    for (size_t k = 0; k < dsc__optim_wide_count(o); k++) {
        dsc__wide t;
        dsc__optim_wide(o, k, &t);
        if (!strcmp(t.name, name)) return (int64_t)t.data[0];
    }
    return 0;
}

int64_t dsc_optim_lbfgs_iterations(const dsc_optim *o) { return wide_counter(o, "n_iter"); }
int64_t dsc_optim_lbfgs_evaluations(const dsc_optim *o) { return wide_counter(o, "func_evals"); }

void dsc_optim_zero_grad(dsc_optim *o)
{
    if (!o) return;
    for (size_t i = 0; i < o->count; i++) {
        if (o->sparse && o->sparse[i]) dsc__sparse_clear(o->sparse[i]);
        else memset(o->params[i].grad, 0, o->params[i].n * dsc_dtype_size(o->params[i].dtype));
    }
}

dsc_status dsc_optim_set_sparse_grad(dsc_optim *o, size_t i, const int64_t *rows, size_t nrows, const void *values)
{
    if (!o || i >= o->count)
        return dsc__fail(DSC_ERR_ARG, "dsc_optim_set_sparse_grad: tensor %zu of %zu", i, o ? o->count : 0);
    if (!o->sparse || !o->sparse[i])
        return dsc__fail(DSC_ERR_ARG, "dsc_optim_set_sparse_grad: tensor %zu '%s' is not flagged DSC_SPARSE_GRAD", i,
                         o->params[i].name);
    return dsc__sparse_set(o->sparse[i], &o->params[i], rows, nrows, values);
}

/* ---------------------------------------------------------------- accessors */

dsc_kind dsc_optim_kind(const dsc_optim *o) { return o ? o->ops->kind : DSC_KIND_COUNT; }
size_t dsc_optim_param_count(const dsc_optim *o) { return o ? o->count : 0; }
const dsc_param *dsc_optim_param(const dsc_optim *o, size_t i)
{
    return o && i < o->count ? &o->params[i] : NULL;
}
int dsc_optim_group_count(const dsc_optim *o) { return o ? o->ngroups : 0; }
int64_t dsc_optim_step_count(const dsc_optim *o) { return o ? o->steps : 0; }
int64_t dsc_optim_skipped_count(const dsc_optim *o) { return o ? o->skipped : 0; }
int64_t dsc_optim_consecutive_skips(const dsc_optim *o) { return o ? o->consecutive : 0; }
int dsc_optim_last_skipped(const dsc_optim *o) { return o ? o->last_skipped : 0; }
double dsc_optim_grad_norm(const dsc_optim *o) { return o ? o->grad_norm : NAN; }
size_t dsc_optim_state_bytes(const dsc_optim *o) { return o ? o->state_bytes : 0; }
void dsc_optim_use_reference(dsc_optim *o, int on) { if (o) o->use_reference = on != 0; }
int dsc_optim_threads(const dsc_optim *o) { return o ? o->plan.threads : 0; }
dsc_state_dtype dsc_optim_state_dtype(const dsc_optim *o) { return o ? o->controls.state_dtype : DSC_STATE_PARAM; }

dsc_status dsc_optim_set_threads(dsc_optim *o, int threads)
{
    if (!o) return dsc__fail(DSC_ERR_ARG, "dsc_optim_set_threads: NULL optimizer");
    if (threads < 0 || threads > 4096)
        return dsc__fail(DSC_ERR_RANGE, "threads must be in [0, 4096] (0: the OpenMP default), got %d",
                         threads);
    dsc__plan_set_threads(&o->plan, threads);
    return DSC_OK;
}

static dsc_status check_group(const dsc_optim *o, int g, const char *fn)
{
    if (!o) return dsc__fail(DSC_ERR_ARG, "%s: NULL optimizer", fn);
    if (g < 0 || g >= o->ngroups)
        return dsc__fail(DSC_ERR_ARG, "%s: group %d does not exist (the optimizer has %d)", fn, g, o->ngroups);
    return DSC_OK;
}

dsc_status dsc_optim_get_group_hparams(const dsc_optim *o, int g, dsc_hparams *out)
{
    dsc_status st = check_group(o, g, "dsc_optim_get_group_hparams");
    if (st) return st;
    if (!out) return dsc__fail(DSC_ERR_ARG, "dsc_optim_get_group_hparams: NULL out");
    *out = o->groups[g].hp;
    return DSC_OK;
}

/* A group's new hyperparameters must keep the kind, the optimizer-wide controls and
 * lookahead's presence (its slow weights start from the parameters at the first step). */
static dsc_status check_compatible(const dsc_optim *o, int g, const dsc_hparams *hp)
{
    const char *who = dsc_kind_name(o->ops->kind);
    if (hp->kind != o->ops->kind)
        return dsc__fail(DSC_ERR_MISMATCH, "%s: a group cannot change the kind to %s", who,
                         dsc_kind_name(hp->kind) ? dsc_kind_name(hp->kind) : "an invalid kind");
    const dsc_hparams *c = &o->controls;
    if (hp->clip_norm != c->clip_norm || hp->clip_norm_type != c->clip_norm_type ||
        hp->clip_per_tensor != c->clip_per_tensor || hp->clip_value != c->clip_value ||
        hp->nonfinite != c->nonfinite || hp->max_consecutive_skips != c->max_consecutive_skips ||
        hp->accumulate != c->accumulate || hp->state_dtype != c->state_dtype)
        return dsc__fail(DSC_ERR_ARG, "%s: clipping, accumulation, the non-finite policy and state_dtype are "
                         "optimizer-wide; set them when creating the optimizer", who);
    if (o->ops->wide_change) {
        dsc_status st = o->ops->wide_change(&o->groups[g].hp, hp);
        if (st) return st;
    }
    if ((hp->lookahead_k > 0) != (o->groups[g].hp.lookahead_k > 0))
        return dsc__fail(DSC_ERR_UNSUPPORTED, "%s: lookahead cannot be turned on or off for a group; create a "
                         "new optimizer", who);
    return DSC_OK;
}

/* The index of name among n names, or -1. */
static int find_name(const char *const *names, int n, const char *name)
{
    for (int k = 0; k < n; k++)
        if (!strcmp(names[k], name)) return k;
    return -1;
}

/* Group g's tensors get the state buffers hp needs (momentum, amsgrad or centered
 * turned on or off, as torch lets groups differ): a buffer both layouts name is kept,
 * a new one starts at 0 as torch creates it (and SGD's and LARS's momentum buffer as
 * the gradient at its first step, s->first), one hp does not name is freed. Every new
 * buffer is allocated first, so a failure changes nothing. */
static dsc_status relayout(dsc_optim *o, int g, const dsc_hparams *hp)
{
    size_t count = 0;
    for (size_t i = 0; i < o->count; i++) count += o->params[i].group == g;
    void **made = calloc(count * DSC__MAX_STATE + 1, sizeof *made);
    if (!made) return dsc__fail(DSC_ERR_NOMEM, "optimizer: out of memory");
    dsc_status st = DSC_OK;
    size_t j = 0;
    for (size_t i = 0; i < o->count && !st; i++) {
        if (o->params[i].group != g) continue;
        const tensor *t = &o->tensors[i];
        const char *names[DSC__MAX_STATE];
        int n = layout(o->ops, hp, &o->params[i], names);
        for (int k = 0; k < n && !st; k++, j++) {
            size_t bytes = state_elems(o->ops, &o->params[i], names[k], NULL, NULL) * o->plan.tasks[i].st_es;
            if (find_name(t->state_names, t->nstate, names[k]) < 0 && !(made[j] = dsc__alloc(bytes)))
                st = dsc__fail(DSC_ERR_NOMEM, "optimizer: out of memory for %zu bytes of state of '%s'", bytes,
                               o->params[i].name);
        }
        j += (size_t)(DSC__MAX_STATE - n);
    }
    for (size_t i = 0, jt = 0; i < o->count; i++) {
        if (o->params[i].group != g) continue;
        tensor *t = &o->tensors[i];
        void **mine = made + DSC__MAX_STATE * jt++;
        const char *names[DSC__MAX_STATE];
        void *bufs[DSC__MAX_STATE];
        int n = layout(o->ops, hp, &o->params[i], names);
        dsc__task *task = &o->plan.tasks[i];
        if (st) { /* give back what this call allocated */
            for (int k = 0; k < n; k++) dsc__free(mine[k]);
            continue;
        }
        for (int k = 0; k < n; k++) {
            int old = find_name(t->state_names, t->nstate, names[k]);
            bufs[k] = old >= 0 ? t->state[old] : mine[k];
            if (old >= 0) t->state[old] = NULL;
            else {
                o->state_bytes += state_elems(o->ops, &o->params[i], names[k], NULL, NULL) * task->st_es;
                t->fresh |= o->steps > 0;
            }
        }
        for (int k = 0; k < t->nstate; k++)
            if (t->state[k]) {
                dsc__free(t->state[k]);
                o->state_bytes -= task->st_n[k] * task->st_es;
            }
        t->nstate = n;
        for (int k = 0; k < n; k++) {
            t->state_names[k] = names[k];
            t->state[k] = bufs[k];
            task->st_n[k] = state_elems(o->ops, &o->params[i], names[k], NULL, NULL);
        }
        task->nstate = n;
    }
    free(made);
    return st;
}

dsc_status dsc__optim_check_group(const dsc_optim *o, int g, const dsc_hparams *hp)
{
    dsc_status st = check_group(o, g, "dsc_optim_set_group_hparams");
    if (st) return st;
    if (!hp) return dsc__fail(DSC_ERR_ARG, "dsc_optim_set_group_hparams: NULL hparams");
    if ((st = dsc_hparams_validate(hp))) return st;
    if ((st = check_compatible(o, g, hp))) return st;
    for (size_t i = 0; i < o->count; i++)
        if (o->params[i].group == g && (st = dsc__sparse_check(o->ops, hp, &o->params[i], i))) return st;
    return DSC_OK;
}

void dsc__optim_state_restored(dsc_optim *o)
{
    for (size_t i = 0; i < o->count; i++) o->tensors[i].fresh = 0;
}

dsc_status dsc_optim_set_group_hparams(dsc_optim *o, int g, const dsc_hparams *hp)
{
    dsc_status st = dsc__optim_check_group(o, g, hp);
    if (st) return st;
    /* Adagrad's sums keep the value they were created with, whatever the group's
     * initial_accumulator_value: torch fills every group's from the constructor's */
    if ((st = relayout(o, g, hp))) return st;
    o->groups[g].hp = *hp;
    return DSC_OK;
}

size_t dsc__optim_state_names(const dsc_optim *o, size_t i, const dsc_hparams *hp, const char **names)
{
    int n = layout(o->ops, hp, &o->params[i], names);
    if (o->tensors[i].accum) names[n++] = "grad_accum";
    return (size_t)n;
}

dsc_status dsc_optim_set_group_spec(dsc_optim *o, int g, const char *keys)
{
    dsc_status st = check_group(o, g, "dsc_optim_set_group_spec");
    if (st) return st;
    if (!keys) return dsc__fail(DSC_ERR_ARG, "dsc_optim_set_group_spec: NULL keys");
    dsc_hparams hp = o->groups[g].hp;
    if ((st = dsc__hparams_apply_keys(&hp, keys))) return st;
    return dsc_optim_set_group_hparams(o, g, &hp);
}

dsc_status dsc_optim_get_lr(const dsc_optim *o, int g, double *lr)
{
    dsc_status st = check_group(o, g, "dsc_optim_get_lr");
    if (st) return st;
    if (!lr) return dsc__fail(DSC_ERR_ARG, "dsc_optim_get_lr: NULL out");
    *lr = o->groups[g].hp.lr;
    return DSC_OK;
}

dsc_status dsc_optim_set_lr(dsc_optim *o, int g, double lr)
{
    dsc_status st = check_group(o, g, "dsc_optim_set_lr");
    if (st) return st;
    dsc_hparams hp = o->groups[g].hp;
    hp.lr = lr;
    return dsc_optim_set_group_hparams(o, g, &hp);
}

size_t dsc_optim_state_count(const dsc_optim *o, size_t i)
{
    return o && i < o->count ? (size_t)o->tensors[i].nstate + (o->tensors[i].accum != NULL) : 0;
}

dsc_status dsc_optim_state(const dsc_optim *o, size_t i, size_t k, const char **name, void **data)
{
    if (!o || i >= o->count || k >= dsc_optim_state_count(o, i))
        return dsc__fail(DSC_ERR_ARG, "dsc_optim_state: no state buffer %zu of tensor %zu", k, i);
    int acc = k == (size_t)o->tensors[i].nstate; /* the accumulation buffer comes last */
    if (name) *name = acc ? "grad_accum" : o->tensors[i].state_names[k];
    if (data) *data = acc ? o->tensors[i].accum : o->tensors[i].state[k];
    return DSC_OK;
}

/* Before the first step the state is not yet written: the parameter is the point then. */
const void *dsc__optim_eval_point(const dsc_optim *opt, size_t i)
{
    const dsc_param *q = dsc_optim_param(opt, i);
    const char *want = dsc__ops_for(dsc_optim_kind(opt))->eval_state;
    if (!want || dsc_optim_step_count(opt) == 0) return q->data;
    for (size_t k = 0; k < dsc_optim_state_count(opt, i); k++) {
        const char *name;
        void *data;
        if (!dsc_optim_state(opt, i, k, &name, &data) && !strcmp(name, want)) return data;
    }
    return q->data;
}

dsc_status dsc_optim_state_shape(const dsc_optim *o, size_t i, size_t k, int *ndim, size_t *shape)
{
    const char *name;
    if (!ndim || !shape) return dsc__fail(DSC_ERR_ARG, "dsc_optim_state_shape: NULL argument");
    dsc_status st = dsc_optim_state(o, i, k, &name, NULL);
    if (st) return st;
    state_elems(o->ops, &o->params[i], name, ndim, shape);
    return DSC_OK;
}

void dsc__optim_state_param(const dsc_optim *o, size_t i, const char *name, dsc_param *out)
{
    *out = o->params[i];
    out->n = state_elems(o->ops, &o->params[i], name, &out->ndim, out->shape);
}

/* The group scalars (NAdam's mu_product, schedule-free's weight_sum and lr_max, ASGD's
 * eta and mu). */
static const char *const scalar_names[] = {"mu_product", "weight_sum", "lr_max", "eta", "mu"};

const char *dsc_optim_scalar_name(size_t k)
{
    return k < sizeof scalar_names / sizeof scalar_names[0] ? scalar_names[k] : NULL;
}

/* The group scalar called name, or NULL. */
static double *scalar_ref(dsc__gstate *gs, const char *name)
{
    double *const refs[] = {&gs->mu_product, &gs->weight_sum, &gs->lr_max, &gs->eta, &gs->mu};
    for (size_t k = 0; k < sizeof scalar_names / sizeof scalar_names[0]; k++)
        if (!strcmp(name, scalar_names[k])) return refs[k];
    return NULL;
}

dsc_status dsc_optim_get_scalar(const dsc_optim *o, int g, const char *name, double *v)
{
    dsc_status st = check_group(o, g, "dsc_optim_get_scalar");
    if (st) return st;
    if (!name || !v) return dsc__fail(DSC_ERR_ARG, "dsc_optim_get_scalar: NULL argument");
    double *ref = scalar_ref(&o->groups[g].gs, name);
    if (!ref) return dsc__fail(DSC_ERR_ARG, "no scalar state named '%s'", name);
    *v = *ref;
    return DSC_OK;
}

dsc_status dsc_optim_set_scalar(dsc_optim *o, int g, const char *name, double v)
{
    dsc_status st = check_group(o, g, "dsc_optim_set_scalar");
    if (st) return st;
    if (!name) return dsc__fail(DSC_ERR_ARG, "dsc_optim_set_scalar: NULL name");
    double *ref = scalar_ref(&o->groups[g].gs, name);
    if (!ref) return dsc__fail(DSC_ERR_ARG, "no scalar state named '%s'", name);
    if (!isfinite(v)) return dsc__fail(DSC_ERR_RANGE, "%s must be finite, got %g", name, v);
    *ref = v;
    return DSC_OK;
}

dsc_status dsc_optim_set_counters(dsc_optim *o, int64_t steps, int64_t skipped, int64_t consecutive)
{
    if (!o) return dsc__fail(DSC_ERR_ARG, "dsc_optim_set_counters: NULL optimizer");
    if (steps < 0 || skipped < 0 || consecutive < 0 || consecutive > skipped || steps > DSC_MAX_COUNT ||
        skipped > DSC_MAX_COUNT)
        return dsc__fail(DSC_ERR_RANGE, "counters must be in [0, 2^53] with consecutive <= skipped, got %lld, %lld, "
                         "%lld", (long long)steps, (long long)skipped, (long long)consecutive);
    o->steps = steps;
    o->skipped = skipped;
    o->consecutive = consecutive;
    return DSC_OK;
}

dsc_status dsc_optim_eval_mode(dsc_optim *o, int eval)
{
    if (!o) return dsc__fail(DSC_ERR_ARG, "dsc_optim_eval_mode: NULL optimizer");
    if (o->stateless)
        return dsc__fail(DSC_ERR_ARG, "dsc_optim_eval_mode: the optimizer was restored without its state");
    o->eval_mode = eval != 0;
    /* before the first step x = y = the parameters as given: nothing to write */
    for (size_t i = 0; o->ops->place[0] && o->steps > 0 && i < o->count; i++) {
        dsc_param *q = &o->params[i];
        o->ops->place[q->dtype == DSC_F64](&o->groups[q->group].hp, q->data, o->tensors[i].state, q->n,
                                            o->eval_mode);
    }
    return DSC_OK;
}

int dsc_optim_in_eval_mode(const dsc_optim *o) { return o ? o->eval_mode : 0; }

/* ---------------------------------------------------------------- schedules */

int dsc_optim_last_updated(const dsc_optim *o) { return o ? o->last_updated : 0; }

dsc_status dsc_optim_bind(dsc_optim *o, size_t i, void *data, void *grad)
{
    if (!o || i >= o->count)
        return dsc__fail(DSC_ERR_ARG, "dsc_optim_bind: tensor %zu of %zu", i, o ? o->count : 0);
    dsc_param *p = &o->params[i];
    if ((p->flags & DSC_SPARSE_GRAD) && grad)
        return dsc__fail(DSC_ERR_ARG, "dsc_optim_bind: tensor %zu '%s' takes its gradient from "
                         "dsc_optim_set_sparse_grad; grad must be NULL", i, p->name);
    void *d = data ? data : p->data, *g = grad ? grad : p->grad;
    if (d == g)
        return dsc__fail(DSC_ERR_ARG, "param %zu '%s': data and grad must be different buffers", i, p->name);
    p->data = d;
    p->grad = g;
    o->plan.tasks[i].p = d;
    o->plan.tasks[i].g = dsc__accum_grad(o, i);
    return DSC_OK;
}
