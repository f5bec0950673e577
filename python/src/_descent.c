/*
 * _descent.c: the CPython extension under the descent package. It binds libdescent's
 * public API (descent.h, descent_checkpoint.h) to Python objects that export their
 * memory through the buffer protocol (NumPy arrays; torch tensors through .numpy()).
 *
 * The optimizer borrows the caller's memory, so every array it steps is kept alive
 * by a reference and a held buffer (NumPy refuses to resize an array while a buffer
 * is exported), and the arrays can only be changed through step(grads=...) or
 * bind(), which check them again. Steps run with the GIL released; a flag refuses a
 * second call on the same object meanwhile. A closure step (L-BFGS) takes the GIL back
 * for each call of the Python closure, which may then only rebind or zero gradients.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdio.h>
#include <string.h>

#include "descent.h"
#include "descent_checkpoint.h"

/* ---------------------------------------------------------------- errors */

static PyObject *NonFiniteError; /* descent.NonFiniteError, a FloatingPointError */

/* Raises the Python exception for st with the library's message; returns NULL. */
static PyObject *raise_status(dsc_status st)
{
    const char *msg = dsc_last_error();
    if (!msg[0]) msg = dsc_status_str(st);
    PyObject *type = PyExc_ValueError;
    switch (st) {
    case DSC_ERR_NOMEM: type = PyExc_MemoryError; break;
    case DSC_ERR_NONFINITE: type = NonFiniteError; break;
    case DSC_ERR_IO: type = PyExc_OSError; break;
    default: break;
    }
    PyErr_SetString(type, msg);
    return NULL;
}

/* ---------------------------------------------------------------- arrays */

/* A held buffer of a caller's array: what the optimizer steps in place. */
typedef struct array {
    PyObject *obj;
    Py_buffer view;
    int held;
} array;

static void array_release(array *a)
{
    if (a->held) PyBuffer_Release(&a->view);
    a->held = 0;
    Py_CLEAR(a->obj);
}

/* The dtype of a buffer's format ("f", "<d", "=f", ...), or -1. */
static int format_dtype(const char *fmt)
{
    if (!fmt) return -1;
    if (*fmt == '@' || *fmt == '=' || *fmt == '<') fmt++;
    if (!strcmp(fmt, "f")) return DSC_F32;
    if (!strcmp(fmt, "d")) return DSC_F64;
    return -1;
}

/* Takes a writeable, C-contiguous float32/float64 buffer of obj into *a; what is the
 * role for the messages ("param 2 'w'", "grad of param 2 'w'"). */
static int array_take(array *a, PyObject *obj, const char *what)
{
    memset(a, 0, sizeof *a);
    if (!PyObject_CheckBuffer(obj)) {
        PyErr_Format(PyExc_TypeError, "%s: expected a NumPy array (an object with the buffer protocol), got %s",
                     what, Py_TYPE(obj)->tp_name);
        return -1;
    }
    if (PyObject_GetBuffer(obj, &a->view, PyBUF_FULL_RO) < 0) {
        PyErr_Clear();
        PyErr_Format(PyExc_TypeError, "%s: %s does not export a typed buffer", what, Py_TYPE(obj)->tp_name);
        return -1;
    }
    a->held = 1;
    a->obj = obj;
    Py_INCREF(obj);
    if (format_dtype(a->view.format) < 0) {
        PyErr_Format(PyExc_TypeError, "%s: dtype must be float32 or float64, got buffer format '%s'", what,
                     a->view.format ? a->view.format : "B");
        goto fail;
    }
    if (a->view.readonly) {
        PyErr_Format(PyExc_ValueError, "%s: the array is read-only", what);
        goto fail;
    }
    if (!PyBuffer_IsContiguous(&a->view, 'C')) {
        PyErr_Format(PyExc_ValueError, "%s: the array is not C-contiguous (use numpy.ascontiguousarray)", what);
        goto fail;
    }
    if (a->view.ndim > DSC_MAX_DIMS) {
        PyErr_Format(PyExc_ValueError, "%s: at most %d dimensions, got %d", what, DSC_MAX_DIMS, a->view.ndim);
        goto fail;
    }
    if (a->view.len == 0) {
        PyErr_Format(PyExc_ValueError, "%s: the array is empty", what);
        goto fail;
    }
    return 0;
fail:
    array_release(a);
    return -1;
}

static dsc_dtype array_dtype(const array *a) { return (dsc_dtype)format_dtype(a->view.format); }
static size_t array_count(const array *a) { return (size_t)(a->view.len / a->view.itemsize); }

/* Whether b has a's dtype and shape; else raises. */
static int array_same_layout(const array *a, const array *b, const char *what)
{
    if (array_dtype(a) != array_dtype(b)) {
        PyErr_Format(PyExc_TypeError, "%s: dtype %s differs from its parameter's %s", what,
                     array_dtype(b) == DSC_F32 ? "float32" : "float64",
                     array_dtype(a) == DSC_F32 ? "float32" : "float64");
        return -1;
    }
    int same = a->view.ndim == b->view.ndim;
    for (int d = 0; same && d < a->view.ndim; d++) same = a->view.shape[d] == b->view.shape[d];
    if (!same) {
        PyObject *sa = PyTuple_New(a->view.ndim), *sb = PyTuple_New(b->view.ndim);
        for (int d = 0; sa && d < a->view.ndim; d++) PyTuple_SET_ITEM(sa, d, PyLong_FromSsize_t(a->view.shape[d]));
        for (int d = 0; sb && d < b->view.ndim; d++) PyTuple_SET_ITEM(sb, d, PyLong_FromSsize_t(b->view.shape[d]));
        if (sa && sb) PyErr_Format(PyExc_ValueError, "%s: shape %R differs from its parameter's %R", what, sb, sa);
        Py_XDECREF(sa);
        Py_XDECREF(sb);
        return -1;
    }
    return 0;
}

/* ---------------------------------------------------------------- state views */

/* A buffer the library owns (a state buffer, an average), exported with the shape
 * of its tensor; it keeps its owner (the Optimizer or Average) alive. */
typedef struct {
    PyObject_HEAD
    PyObject *owner;
    void *data;
    int ndim;
    Py_ssize_t shape[DSC_MAX_DIMS];
    Py_ssize_t itemsize;
    const char *format;
} StateView;

static int view_getbuffer(PyObject *self, Py_buffer *v, int flags)
{
    StateView *s = (StateView *)self;
    Py_ssize_t n = 1;
    for (int d = 0; d < s->ndim; d++) n *= s->shape[d];
    if (PyBuffer_FillInfo(v, self, s->data, n * s->itemsize, 0, flags) < 0) return -1;
    v->itemsize = s->itemsize;
    v->format = (flags & PyBUF_FORMAT) ? (char *)s->format : NULL;
    v->ndim = s->ndim;
    v->shape = (flags & PyBUF_ND) ? s->shape : NULL;
    v->strides = NULL; /* C-contiguous (FillInfo gives 1-D strides) */
    return 0;
}

static void view_dealloc(PyObject *self)
{
    Py_XDECREF(((StateView *)self)->owner);
    Py_TYPE(self)->tp_free(self);
}

static PyBufferProcs view_as_buffer = {view_getbuffer, NULL};

static PyTypeObject StateViewType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "descent._descent.StateView",
    .tp_basicsize = sizeof(StateView),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Memory owned by libdescent (optimizer state, averages); wrap with numpy.asarray.",
    .tp_dealloc = view_dealloc,
    .tp_as_buffer = &view_as_buffer,
};

/* A view of n elements of p's shape at data; bf16 state is exported as uint16. */
static PyObject *view_new(PyObject *owner, const dsc_param *p, void *data, int bf16)
{
    StateView *s = PyObject_New(StateView, &StateViewType);
    if (!s) return NULL;
    Py_INCREF(owner);
    s->owner = owner;
    s->data = data;
    s->ndim = p->ndim > 0 ? p->ndim : 1;
    for (int d = 0; d < s->ndim; d++) s->shape[d] = (Py_ssize_t)(p->ndim > 0 ? p->shape[d] : p->n);
    s->itemsize = bf16 ? 2 : (Py_ssize_t)dsc_dtype_size(p->dtype);
    s->format = bf16 ? "H" : p->dtype == DSC_F32 ? "f" : "d";
    return (PyObject *)s;
}

/* ---------------------------------------------------------------- Optimizer */

typedef struct {
    PyObject_HEAD
    dsc_optim *opt;
    size_t count;
    array *params, *grads; /* grads[i] holds nothing for a row-sparse param (grad None) */
    array *sparse;         /* the values of each row-sparse param's gradient, which each
                              step reads (dsc_optim_set_sparse_grad borrows them) */
    char **names;
    int busy; /* IDLE, STEPPING or IN_CLOSURE */
} Optimizer;

/* What an optimizer is doing: nothing; a step without the GIL; a step with a closure
 * running Python code (the closure, which may rebind gradients but nothing else). */
enum { IDLE = 0, STEPPING = 1, IN_CLOSURE = 2 };

/* Whether o may be used now; else raises. in_closure: also from inside its closure. */
static int usable(Optimizer *o, int in_closure)
{
    if (!o->opt) {
        PyErr_SetString(PyExc_RuntimeError, "the optimizer was not created");
        return -1;
    }
    if (o->busy == STEPPING) {
        PyErr_SetString(PyExc_RuntimeError, "the optimizer is stepping in another thread");
        return -1;
    }
    if (o->busy == IN_CLOSURE && !in_closure) {
        PyErr_SetString(PyExc_RuntimeError, "the optimizer is in step_closure: its closure may bind gradients "
                        "and zero them, nothing else (no step, state or checkpoint)");
        return -1;
    }
    return 0;
}

static int busy_check(Optimizer *o) { return usable(o, 0); }

static void optimizer_clear(Optimizer *o)
{
    dsc_optim_destroy(o->opt);
    o->opt = NULL;
    for (size_t i = 0; i < o->count; i++) {
        if (o->params) array_release(&o->params[i]);
        if (o->grads) array_release(&o->grads[i]);
        if (o->sparse) array_release(&o->sparse[i]);
        if (o->names) PyMem_Free(o->names[i]);
    }
    PyMem_Free(o->params);
    PyMem_Free(o->grads);
    PyMem_Free(o->sparse);
    PyMem_Free(o->names);
    o->params = o->grads = o->sparse = NULL;
    o->names = NULL;
    o->count = 0;
}

static void optimizer_dealloc(PyObject *self)
{
    optimizer_clear((Optimizer *)self);
    Py_TYPE(self)->tp_free(self);
}

/* "param 3 'fc.weight'" into buf. */
static const char *param_what(const Optimizer *o, size_t i, const char *role, char *buf, size_t size)
{
    snprintf(buf, size, "%sparam %zu '%s'", role, i, o->names[i]);
    return buf;
}

/* Takes grad object g for param i (checked against the param) into *out. */
static int take_grad(Optimizer *o, size_t i, PyObject *g, array *out)
{
    char what[300];
    param_what(o, i, "grad of ", what, sizeof what);
    if (array_take(out, g, what) < 0) return -1;
    if (array_same_layout(&o->params[i], out, what) < 0 ||
        (out->view.buf == o->params[i].view.buf &&
         (PyErr_Format(PyExc_ValueError, "%s: the gradient shares the parameter's memory", what), 1))) {
        array_release(out);
        return -1;
    }
    return 0;
}

static int optimizer_init(PyObject *self, PyObject *args, PyObject *kw)
{
    Optimizer *o = (Optimizer *)self;
    static char *keys[] = {"spec", "params", "grads", "groups", "names", NULL};
    const char *spec;
    PyObject *params, *grads, *groups = Py_None, *names = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "sOO|OO:Optimizer", keys, &spec, &params, &grads, &groups,
                                     &names))
        return -1;
    if (o->opt) { /* views and averages point into the optimizer it has */
        PyErr_SetString(PyExc_RuntimeError, "the optimizer is already created");
        return -1;
    }
    PyObject *ps = PySequence_Fast(params, "params must be a sequence of arrays");
    PyObject *gs = ps ? PySequence_Fast(grads, "grads must be a sequence of arrays") : NULL;
    PyObject *grs = gs && groups != Py_None ? PySequence_Fast(groups, "groups must be a sequence of ints") : NULL;
    PyObject *nms = gs && names != Py_None ? PySequence_Fast(names, "names must be a sequence of str") : NULL;
    dsc_param *desc = NULL;
    int rc = -1;
    if (!gs || (groups != Py_None && !grs) || (names != Py_None && !nms)) goto done;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(ps);
    if (n == 0) {
        PyErr_SetString(PyExc_ValueError, "params is empty");
        goto done;
    }
    if (PySequence_Fast_GET_SIZE(gs) != n || (grs && PySequence_Fast_GET_SIZE(grs) != n) ||
        (nms && PySequence_Fast_GET_SIZE(nms) != n)) {
        PyErr_Format(PyExc_ValueError, "params has %zd arrays; grads%s must have as many entries", n,
                     grs || nms ? ", groups and names" : "");
        goto done;
    }
    o->params = PyMem_Calloc((size_t)n, sizeof *o->params);
    o->grads = PyMem_Calloc((size_t)n, sizeof *o->grads);
    o->sparse = PyMem_Calloc((size_t)n, sizeof *o->sparse);
    o->names = PyMem_Calloc((size_t)n, sizeof *o->names);
    desc = PyMem_Calloc((size_t)n, sizeof *desc);
    if (!o->params || !o->grads || !o->sparse || !o->names || !desc) {
        PyErr_NoMemory();
        goto done;
    }
    o->count = (size_t)n;
    for (Py_ssize_t i = 0; i < n; i++) {
        char what[300];
        const char *nm = NULL;
        char deflt[32];
        if (nms) {
            nm = PyUnicode_AsUTF8(PySequence_Fast_GET_ITEM(nms, i));
            if (!nm) goto done;
        } else {
            snprintf(deflt, sizeof deflt, "p%zd", i);
            nm = deflt;
        }
        size_t len = strlen(nm);
        o->names[i] = PyMem_Malloc(len + 1);
        if (!o->names[i]) {
            PyErr_NoMemory();
            goto done;
        }
        memcpy(o->names[i], nm, len + 1);
        /* grad None: a row-sparse gradient, passed each step with set_sparse_grad */
        PyObject *g = PySequence_Fast_GET_ITEM(gs, i);
        if (array_take(&o->params[i], PySequence_Fast_GET_ITEM(ps, i), param_what(o, (size_t)i, "", what,
                                                                                   sizeof what)) < 0 ||
            (g != Py_None && take_grad(o, (size_t)i, g, &o->grads[i]) < 0))
            goto done;
        dsc_param *d = &desc[i];
        if (g == Py_None) d->flags = DSC_SPARSE_GRAD;
        d->name = o->names[i];
        d->data = o->params[i].view.buf;
        d->grad = o->grads[i].view.buf;
        d->n = array_count(&o->params[i]);
        d->dtype = array_dtype(&o->params[i]);
        d->ndim = o->params[i].view.ndim;
        for (int k = 0; k < d->ndim; k++) d->shape[k] = (size_t)o->params[i].view.shape[k];
        if (d->ndim == 0) d->ndim = 1, d->shape[0] = 1;
        if (grs) {
            long g = PyLong_AsLong(PySequence_Fast_GET_ITEM(grs, i));
            if (g == -1 && PyErr_Occurred()) goto done;
            if (g < 0 || g > (1 << 20)) {
                PyErr_Format(PyExc_ValueError, "group of param %zd must be in [0, 2^20], got %ld", i, g);
                goto done;
            }
            d->group = (int)g;
        }
    }
    dsc_status st = dsc_optim_create_spec(&o->opt, spec, desc, (size_t)n);
    if (st) {
        raise_status(st);
        goto done;
    }
    rc = 0;
done:
    if (rc) optimizer_clear(o);
    PyMem_Free(desc);
    Py_XDECREF(ps);
    Py_XDECREF(gs);
    Py_XDECREF(grs);
    Py_XDECREF(nms);
    return rc;
}

/* Takes array g for param i in role (0 data, 1 grad) into *out, checked against the
 * param and against the buffer of the other role. */
static int take_role(Optimizer *o, size_t i, PyObject *g, int role, array *out)
{
    if (role) return take_grad(o, i, g, out);
    char what[300];
    param_what(o, i, "", what, sizeof what);
    if (array_take(out, g, what) < 0) return -1;
    if (array_same_layout(&o->params[i], out, what) < 0) {
        array_release(out);
        return -1;
    }
    if (out->view.buf == o->grads[i].view.buf) {
        PyErr_Format(PyExc_ValueError, "%s: the parameter shares its gradient's memory", what);
        array_release(out);
        return -1;
    }
    return 0;
}

/* Binds the arrays of seq (one per param, or None to keep) in role (0 data, 1 grad):
 * every array is checked before any is bound, so a failure changes nothing. */
static int bind_all(Optimizer *o, PyObject *seq, int role)
{
    PyObject *fast = PySequence_Fast(seq, role ? "grads must be a sequence of arrays"
                                               : "params must be a sequence of arrays");
    if (!fast) return -1;
    int rc = -1;
    array *taken = NULL;
    if ((size_t)PySequence_Fast_GET_SIZE(fast) != o->count) {
        PyErr_Format(PyExc_ValueError, "%zd arrays given for %zu params", PySequence_Fast_GET_SIZE(fast), o->count);
        goto done;
    }
    taken = PyMem_Calloc(o->count, sizeof *taken);
    if (!taken) {
        PyErr_NoMemory();
        goto done;
    }
    array *have = role ? o->grads : o->params;
    for (size_t i = 0; i < o->count; i++) {
        PyObject *g = PySequence_Fast_GET_ITEM(fast, (Py_ssize_t)i);
        if (role && g != Py_None && !have[i].held) {
            PyErr_Format(PyExc_ValueError, "param %zu '%s' has a row-sparse gradient: pass it with set_sparse_grad",
                         i, o->names[i]);
            goto done;
        }
        if (g != Py_None && g != have[i].obj && take_role(o, i, g, role, &taken[i]) < 0) goto done;
    }
    for (size_t i = 0; i < o->count; i++) {
        if (!taken[i].held) continue;
        /* cannot fail: the index is valid and the buffers were checked to differ */
        dsc_optim_bind(o->opt, i, role ? NULL : taken[i].view.buf, role ? taken[i].view.buf : NULL);
        array_release(&have[i]);
        have[i] = taken[i];
        taken[i].held = 0;
        taken[i].obj = NULL;
    }
    rc = 0;
done:
    for (size_t i = 0; taken && i < o->count; i++) array_release(&taken[i]);
    PyMem_Free(taken);
    Py_DECREF(fast);
    return rc;
}

static PyObject *optimizer_step(PyObject *self, PyObject *args, PyObject *kw)
{
    Optimizer *o = (Optimizer *)self;
    static char *keys[] = {"grads", "loss", NULL};
    PyObject *grads = Py_None, *loss = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "|OO:step", keys, &grads, &loss)) return NULL;
    if (busy_check(o) < 0) return NULL;
    double l = 0;
    if (loss != Py_None && (l = PyFloat_AsDouble(loss)) == -1.0 && PyErr_Occurred()) return NULL;
    if (grads != Py_None && bind_all(o, grads, 1) < 0) return NULL;
    dsc_status st;
    o->busy = STEPPING;
    Py_BEGIN_ALLOW_THREADS
    st = loss == Py_None ? dsc_optim_step(o->opt) : dsc_optim_step_loss(o->opt, l);
    Py_END_ALLOW_THREADS
    o->busy = IDLE;
    if (st) return raise_status(st);
    return PyBool_FromLong(dsc_optim_last_updated(o->opt));
}

/* A closure step's Python side: the callable, the thread state saved while the library
 * runs without the GIL, the first value the callable returned, and the exception it
 * raised (fetched, so that it crosses the library intact). */
typedef struct {
    Optimizer *o;
    PyObject *fn;
    PyThreadState *released;
    PyObject *first;
    PyObject *exc[3]; /* the exception: [0] alone from 3.12, type, value, traceback before */
} closure_call;

/* The raised exception, taken out of the thread state into exc, and back. */
static void exception_take(PyObject **exc)
{
#if PY_VERSION_HEX >= 0x030C0000
    exc[0] = PyErr_GetRaisedException();
#else
    PyErr_Fetch(&exc[0], &exc[1], &exc[2]);
#endif
}

static void exception_restore(PyObject **exc)
{
#if PY_VERSION_HEX >= 0x030C0000
    PyErr_SetRaisedException(exc[0]);
#else
    PyErr_Restore(exc[0], exc[1], exc[2]);
#endif
}

/* The dsc_closure_fn: calls the Python callable with the GIL, its return value (a
 * float, or anything float() takes, such as a 0-dim tensor) the loss. An exception
 * stops the step (DSC_ERR_ARG) and is raised again by step_closure. */
static dsc_status call_closure(void *ctx, double *loss)
{
    closure_call *c = ctx;
    PyEval_RestoreThread(c->released);
    c->o->busy = IN_CLOSURE;
    PyObject *r = PyObject_CallNoArgs(c->fn);
    double v = r ? PyFloat_AsDouble(r) : -1.0;
    dsc_status st = DSC_OK;
    if (!r || (v == -1.0 && PyErr_Occurred())) {
        if (r && PyErr_ExceptionMatches(PyExc_TypeError))
            PyErr_Format(PyExc_TypeError, "the closure must return the loss (a number or a one-element "
                         "tensor), got %s", Py_TYPE(r)->tp_name);
        Py_XDECREF(r);
        exception_take(c->exc);
        st = DSC_ERR_ARG;
    } else {
        *loss = v;
        if (!c->first) c->first = r;
        else Py_DECREF(r);
    }
    c->o->busy = STEPPING;
    c->released = PyEval_SaveThread();
    return st;
}

/* step_closure(fn): torch's step(closure). fn() evaluates the loss at the parameters'
 * values, writes its gradient into the gradient arrays (or binds others) and returns the
 * loss; L-BFGS calls it up to max_eval times, the other kinds once. Returns what the
 * first call returned. */
static PyObject *optimizer_step_closure(PyObject *self, PyObject *fn)
{
    Optimizer *o = (Optimizer *)self;
    if (busy_check(o) < 0) return NULL;
    if (!PyCallable_Check(fn))
        return PyErr_Format(PyExc_TypeError, "step_closure: the closure must be callable, got %s",
                            Py_TYPE(fn)->tp_name);
    closure_call c = {o, fn, NULL, NULL, {NULL, NULL, NULL}};
    o->busy = STEPPING;
    c.released = PyEval_SaveThread();
    dsc_status st = dsc_optim_step_closure(o->opt, call_closure, &c, NULL);
    PyEval_RestoreThread(c.released);
    o->busy = IDLE;
    if (c.exc[0]) { /* the closure's own exception, as it raised it */
        Py_XDECREF(c.first);
        exception_restore(c.exc);
        return NULL;
    }
    if (st) {
        Py_XDECREF(c.first);
        return raise_status(st);
    }
    if (!c.first) Py_RETURN_NONE; /* cannot happen: the first evaluation always runs */
    return c.first;
}

/* save_bytes(): the checkpoint dsc_checkpoint_save would write, as bytes (the
 * optimizer-wide state of L-BFGS travels in them). */
static PyObject *optimizer_save_bytes(PyObject *self, PyObject *unused)
{
    (void)unused;
    Optimizer *o = (Optimizer *)self;
    if (busy_check(o) < 0) return NULL;
    size_t len = 0;
    dsc_status st = dsc_checkpoint_save_mem(o->opt, NULL, 0, &len, NULL);
    if (st) return raise_status(st);
    PyObject *b = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)len);
    if (!b) return NULL;
    st = dsc_checkpoint_save_mem(o->opt, PyBytes_AS_STRING(b), len, &len, NULL);
    if (st) {
        Py_DECREF(b);
        return raise_status(st);
    }
    return b;
}

/* load_bytes(data): restores from a checkpoint in memory (all or nothing). */
static PyObject *optimizer_load_bytes(PyObject *self, PyObject *arg)
{
    Optimizer *o = (Optimizer *)self;
    if (busy_check(o) < 0) return NULL;
    Py_buffer b;
    if (PyObject_GetBuffer(arg, &b, PyBUF_SIMPLE) < 0) return NULL;
    dsc_status st = dsc_checkpoint_load_mem(o->opt, b.buf, (size_t)b.len, NULL);
    PyBuffer_Release(&b);
    if (st) return raise_status(st);
    Py_RETURN_NONE;
}

static PyObject *optimizer_bind(PyObject *self, PyObject *args, PyObject *kw)
{
    Optimizer *o = (Optimizer *)self;
    static char *keys[] = {"params", "grads", NULL};
    PyObject *params = Py_None, *grads = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "|OO:bind", keys, &params, &grads)) return NULL;
    if (usable(o, 1) < 0) return NULL;
    if (params != Py_None && bind_all(o, params, 0) < 0) return NULL;
    if (grads != Py_None && bind_all(o, grads, 1) < 0) return NULL;
    Py_RETURN_NONE;
}

static PyObject *optimizer_zero_grad(PyObject *self, PyObject *unused)
{
    (void)unused;
    Optimizer *o = (Optimizer *)self;
    if (usable(o, 1) < 0) return NULL;
    dsc_optim_zero_grad(o->opt);
    for (size_t i = 0; i < o->count; i++) array_release(&o->sparse[i]); /* no rows: nothing borrowed */
    Py_RETURN_NONE;
}

/* set_sparse_grad(i, rows, values): param i's gradient for the next steps, rows an
 * int64 array of row indices (repeats are summed), values an array of the param's
 * dtype holding len(rows) rows; values is kept until replaced or zero_grad. */
static PyObject *optimizer_set_sparse_grad(PyObject *self, PyObject *args)
{
    Optimizer *o = (Optimizer *)self;
    Py_ssize_t i;
    PyObject *rows, *values;
    if (!PyArg_ParseTuple(args, "nOO:set_sparse_grad", &i, &rows, &values) || busy_check(o) < 0) return NULL;
    if (i < 0 || (size_t)i >= o->count) return PyErr_Format(PyExc_IndexError, "no param %zd", i);
    Py_buffer rv;
    if (PyObject_GetBuffer(rows, &rv, PyBUF_FULL_RO) < 0) return NULL;
    array vals = {0};
    PyObject *ret = NULL;
    size_t nrows = (size_t)(rv.len / (rv.itemsize ? rv.itemsize : 1));
    const dsc_param *p = dsc_optim_param(o->opt, (size_t)i);
    char what[300];
    param_what(o, (size_t)i, "sparse gradient of ", what, sizeof what);
    if (!rv.format || rv.itemsize != 8 || !strchr("qlQL", rv.format[strlen(rv.format) - 1]) ||
        !PyBuffer_IsContiguous(&rv, 'C')) {
        PyErr_Format(PyExc_TypeError, "%s: rows must be a contiguous int64 array", what);
        goto done;
    }
    if (nrows && array_take(&vals, values, what) < 0) goto done;
    if (nrows && (array_dtype(&vals) != p->dtype || array_count(&vals) != nrows * p->shape[1])) {
        PyErr_Format(PyExc_ValueError, "%s: values must be %zu x %zu elements of the param's dtype", what, nrows,
                     p->shape[1]);
        goto done;
    }
    dsc_status st = dsc_optim_set_sparse_grad(o->opt, (size_t)i, rv.buf, nrows, nrows ? vals.view.buf : NULL);
    if (st) {
        raise_status(st);
        goto done;
    }
    array_release(&o->sparse[i]);
    o->sparse[i] = vals;
    vals.held = 0;
    vals.obj = NULL;
    ret = Py_None;
    Py_INCREF(ret);
done:
    array_release(&vals);
    PyBuffer_Release(&rv);
    return ret;
}

static PyObject *arrays_tuple(const array *a, size_t n)
{
    PyObject *t = PyTuple_New((Py_ssize_t)n);
    for (size_t i = 0; t && i < n; i++) { /* None: a row-sparse gradient */
        PyObject *x = a[i].obj ? a[i].obj : Py_None;
        Py_INCREF(x);
        PyTuple_SET_ITEM(t, (Py_ssize_t)i, x);
    }
    return t;
}

static PyObject *optimizer_get_params(PyObject *self, void *unused)
{
    (void)unused;
    Optimizer *o = (Optimizer *)self;
    return arrays_tuple(o->params, o->count);
}

static PyObject *optimizer_get_grads(PyObject *self, void *unused)
{
    (void)unused;
    Optimizer *o = (Optimizer *)self;
    return arrays_tuple(o->grads, o->count);
}

static PyObject *optimizer_get_names(PyObject *self, void *unused)
{
    (void)unused;
    Optimizer *o = (Optimizer *)self;
    PyObject *t = PyTuple_New((Py_ssize_t)o->count);
    for (size_t i = 0; t && i < o->count; i++) {
        PyObject *s = PyUnicode_FromString(o->names[i]);
        if (!s) {
            Py_DECREF(t);
            return NULL;
        }
        PyTuple_SET_ITEM(t, (Py_ssize_t)i, s);
    }
    return t;
}

#define OPT_GETTER(fname, expr)                                                                              \
    static PyObject *fname(PyObject *self, void *unused)                                                     \
    {                                                                                                        \
        (void)unused;                                                                                        \
        Optimizer *o = (Optimizer *)self;                                                                    \
        if (busy_check(o) < 0) return NULL;                                                                  \
        return expr;                                                                                         \
    }
OPT_GETTER(optimizer_get_kind, PyUnicode_FromString(dsc_kind_name(dsc_optim_kind(o->opt))))
OPT_GETTER(optimizer_get_groups, PyLong_FromLong(dsc_optim_group_count(o->opt)))
OPT_GETTER(optimizer_get_step_count, PyLong_FromLongLong(dsc_optim_step_count(o->opt)))
OPT_GETTER(optimizer_get_skipped, PyLong_FromLongLong(dsc_optim_skipped_count(o->opt)))
OPT_GETTER(optimizer_get_last_skipped, PyBool_FromLong(dsc_optim_last_skipped(o->opt)))
OPT_GETTER(optimizer_get_grad_norm, PyFloat_FromDouble(dsc_optim_grad_norm(o->opt)))
OPT_GETTER(optimizer_get_state_bytes, PyLong_FromSize_t(dsc_optim_state_bytes(o->opt)))
OPT_GETTER(optimizer_get_threads, PyLong_FromLong(dsc_optim_threads(o->opt)))
OPT_GETTER(optimizer_get_eval, PyBool_FromLong(dsc_optim_in_eval_mode(o->opt)))
OPT_GETTER(optimizer_get_needs_closure, PyBool_FromLong(dsc_optim_needs_closure(o->opt)))
OPT_GETTER(optimizer_get_n_iter, PyLong_FromLongLong(dsc_optim_lbfgs_iterations(o->opt)))
OPT_GETTER(optimizer_get_func_evals, PyLong_FromLongLong(dsc_optim_lbfgs_evaluations(o->opt)))

static int optimizer_set_threads(PyObject *self, PyObject *value, void *unused)
{
    (void)unused;
    Optimizer *o = (Optimizer *)self;
    if (!value) {
        PyErr_SetString(PyExc_AttributeError, "threads cannot be deleted");
        return -1;
    }
    long t = PyLong_AsLong(value);
    if ((t == -1 && PyErr_Occurred()) || busy_check(o) < 0) return -1;
    dsc_status st = t < 0 || t > 1 << 16 ? DSC_ERR_ARG : dsc_optim_set_threads(o->opt, (int)t);
    if (st == DSC_ERR_ARG && (t < 0 || t > 1 << 16)) {
        PyErr_Format(PyExc_ValueError, "threads must be in [0, 65536], got %ld", t);
        return -1;
    }
    return st ? (raise_status(st), -1) : 0;
}

static int optimizer_set_eval(PyObject *self, PyObject *value, void *unused)
{
    (void)unused;
    Optimizer *o = (Optimizer *)self;
    if (!value) {
        PyErr_SetString(PyExc_AttributeError, "eval_mode cannot be deleted");
        return -1;
    }
    int on = PyObject_IsTrue(value);
    if (on < 0 || busy_check(o) < 0) return -1;
    dsc_status st = dsc_optim_eval_mode(o->opt, on);
    return st ? (raise_status(st), -1) : 0;
}

static PyObject *optimizer_get_lr(PyObject *self, PyObject *arg)
{
    Optimizer *o = (Optimizer *)self;
    int g = PyLong_AsLong(arg);
    if ((g == -1 && PyErr_Occurred()) || busy_check(o) < 0) return NULL;
    double lr;
    dsc_status st = dsc_optim_get_lr(o->opt, g, &lr);
    return st ? raise_status(st) : PyFloat_FromDouble(lr);
}

static PyObject *optimizer_set_lr(PyObject *self, PyObject *args)
{
    Optimizer *o = (Optimizer *)self;
    int g;
    double lr;
    if (!PyArg_ParseTuple(args, "id:set_lr", &g, &lr) || busy_check(o) < 0) return NULL;
    dsc_status st = dsc_optim_set_lr(o->opt, g, lr);
    if (st) return raise_status(st);
    Py_RETURN_NONE;
}

/* The group's canonical spec ("adam(lr=0.01, amsgrad=true)"). */
static PyObject *optimizer_group_spec(PyObject *self, PyObject *arg)
{
    Optimizer *o = (Optimizer *)self;
    int g = PyLong_AsLong(arg);
    if ((g == -1 && PyErr_Occurred()) || busy_check(o) < 0) return NULL;
    dsc_hparams hp;
    dsc_status st = dsc_optim_get_group_hparams(o->opt, g, &hp);
    if (st) return raise_status(st);
    size_t need = dsc_hparams_format(&hp, NULL, 0) + 1;
    char *buf = PyMem_Malloc(need);
    if (!buf) return PyErr_NoMemory();
    dsc_hparams_format(&hp, buf, need);
    PyObject *s = PyUnicode_FromString(buf);
    PyMem_Free(buf);
    return s;
}

static PyObject *optimizer_set_group(PyObject *self, PyObject *args)
{
    Optimizer *o = (Optimizer *)self;
    int g;
    const char *keys;
    if (!PyArg_ParseTuple(args, "is:set_group", &g, &keys) || busy_check(o) < 0) return NULL;
    dsc_status st = dsc_optim_set_group_spec(o->opt, g, keys);
    if (st) return raise_status(st);
    Py_RETURN_NONE;
}

static PyObject *optimizer_set_schedule(PyObject *self, PyObject *args)
{
    Optimizer *o = (Optimizer *)self;
    const char *spec = NULL;
    int g = -1;
    if (!PyArg_ParseTuple(args, "z|i:set_schedule", &spec, &g) || busy_check(o) < 0) return NULL;
    dsc_status st = dsc_optim_set_schedule(o->opt, g, spec);
    if (st) return raise_status(st);
    Py_RETURN_NONE;
}

/* {name: StateView} of tensor i's state buffers. */
static PyObject *optimizer_state(PyObject *self, PyObject *arg)
{
    Optimizer *o = (Optimizer *)self;
    Py_ssize_t i = PyLong_AsSsize_t(arg);
    if ((i == -1 && PyErr_Occurred()) || busy_check(o) < 0) return NULL;
    if (i < 0 || (size_t)i >= o->count) {
        PyErr_Format(PyExc_IndexError, "param %zd of %zu", i, o->count);
        return NULL;
    }
    PyObject *d = PyDict_New();
    int bf16 = dsc_optim_state_dtype(o->opt) == DSC_STATE_BF16;
    const dsc_param *p = dsc_optim_param(o->opt, (size_t)i);
    for (size_t k = 0; d && k < dsc_optim_state_count(o->opt, (size_t)i); k++) {
        const char *name;
        void *data;
        dsc_status st = dsc_optim_state(o->opt, (size_t)i, k, &name, &data);
        if (st) {
            Py_DECREF(d);
            return raise_status(st);
        }
        /* a buffer's own shape (adafactor's factors are smaller than the tensor) */
        dsc_param shape = *p;
        dsc_optim_state_shape(o->opt, (size_t)i, k, &shape.ndim, shape.shape);
        /* grad_accum holds the gradients' sum in the parameter's dtype */
        PyObject *v = view_new(self, &shape, data, bf16 && strcmp(name, "grad_accum"));
        if (!v || PyDict_SetItemString(d, name, v) < 0) Py_CLEAR(d);
        Py_XDECREF(v);
    }
    return d;
}

static PyObject *optimizer_get_scalar(PyObject *self, PyObject *args)
{
    Optimizer *o = (Optimizer *)self;
    int g;
    const char *name;
    if (!PyArg_ParseTuple(args, "is:get_scalar", &g, &name) || busy_check(o) < 0) return NULL;
    double v;
    dsc_status st = dsc_optim_get_scalar(o->opt, g, name, &v);
    return st ? raise_status(st) : PyFloat_FromDouble(v);
}

static PyObject *optimizer_set_scalar(PyObject *self, PyObject *args)
{
    Optimizer *o = (Optimizer *)self;
    int g;
    const char *name;
    double v;
    if (!PyArg_ParseTuple(args, "isd:set_scalar", &g, &name, &v) || busy_check(o) < 0) return NULL;
    dsc_status st = dsc_optim_set_scalar(o->opt, g, name, v);
    if (st) return raise_status(st);
    Py_RETURN_NONE;
}

static PyObject *optimizer_set_counters(PyObject *self, PyObject *args)
{
    Optimizer *o = (Optimizer *)self;
    long long steps, skipped = 0, consecutive = 0;
    if (!PyArg_ParseTuple(args, "L|LL:set_counters", &steps, &skipped, &consecutive) || busy_check(o) < 0)
        return NULL;
    dsc_status st = dsc_optim_set_counters(o->opt, steps, skipped, consecutive);
    if (st) return raise_status(st);
    Py_RETURN_NONE;
}

static PyObject *optimizer_use_reference(PyObject *self, PyObject *arg)
{
    Optimizer *o = (Optimizer *)self;
    int on = PyObject_IsTrue(arg);
    if (on < 0 || busy_check(o) < 0) return NULL;
    dsc_optim_use_reference(o->opt, on);
    Py_RETURN_NONE;
}

static PyTypeObject AverageType;
typedef struct {
    PyObject_HEAD
    dsc_average *avg;
    PyObject *optimizer; /* whose parameters it averages */
    PyObject *arrays;    /* the parameter arrays at create, which it reads */
} Average;

/* The dsc_average of obj (an Average or None); -1 with an exception otherwise. */
static int average_of(PyObject *obj, dsc_average **out)
{
    *out = NULL;
    if (obj == Py_None) return 0;
    if (!PyObject_TypeCheck(obj, &AverageType) || !((Average *)obj)->avg) {
        PyErr_Format(PyExc_TypeError, "average must be a descent.Average or None, got %s", Py_TYPE(obj)->tp_name);
        return -1;
    }
    *out = ((Average *)obj)->avg;
    return 0;
}

static PyObject *optimizer_save(PyObject *self, PyObject *args, PyObject *kw)
{
    Optimizer *o = (Optimizer *)self;
    static char *keys[] = {"path", "average", NULL};
    PyObject *path, *avgobj = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O&|O:save", keys, PyUnicode_FSConverter, &path, &avgobj))
        return NULL;
    dsc_average *avg;
    dsc_status st = DSC_OK;
    if (average_of(avgobj, &avg) == 0 && busy_check(o) == 0) {
        const char *p = PyBytes_AS_STRING(path);
        dsc_checkpoint_save_options so = dsc_checkpoint_save_options_default();
        so.average = avg;
        Py_BEGIN_ALLOW_THREADS
        st = dsc_checkpoint_save(o->opt, p, &so);
        Py_END_ALLOW_THREADS
    } else {
        Py_DECREF(path);
        return NULL;
    }
    Py_DECREF(path);
    if (st) return raise_status(st);
    Py_RETURN_NONE;
}

static PyObject *optimizer_load(PyObject *self, PyObject *args, PyObject *kw)
{
    Optimizer *o = (Optimizer *)self;
    static char *keys[] = {"path", "average", NULL};
    PyObject *path, *avgobj = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O&|O:load", keys, PyUnicode_FSConverter, &path, &avgobj))
        return NULL;
    dsc_average *avg;
    dsc_status st = DSC_OK;
    if (average_of(avgobj, &avg) < 0 || busy_check(o) < 0) {
        Py_DECREF(path);
        return NULL;
    }
    const char *p = PyBytes_AS_STRING(path);
    dsc_checkpoint_load_options lo = dsc_checkpoint_load_options_default();
    lo.average = avg;
    Py_BEGIN_ALLOW_THREADS
    st = dsc_checkpoint_load(o->opt, p, &lo);
    Py_END_ALLOW_THREADS
    Py_DECREF(path);
    if (st) return raise_status(st);
    Py_RETURN_NONE;
}

static PyMethodDef optimizer_methods[] = {
    {"step", (PyCFunction)(void (*)(void))optimizer_step, METH_VARARGS | METH_KEYWORDS,
     "step(grads=None, loss=None): one update in place; grads rebinds the gradient arrays first.\n"
     "Returns whether an update was applied (False while accumulating or after a skip)."},
    {"step_closure", optimizer_step_closure, METH_O,
     "step_closure(fn): torch's step(closure); fn() writes the gradients and returns the loss,\n"
     "called as often as the kind needs (L-BFGS: up to max_eval). Returns fn's first result."},
    {"save_bytes", optimizer_save_bytes, METH_NOARGS, "save_bytes(): the checkpoint as bytes."},
    {"load_bytes", optimizer_load_bytes, METH_O, "load_bytes(data): restore from checkpoint bytes."},
    {"bind", (PyCFunction)(void (*)(void))optimizer_bind, METH_VARARGS | METH_KEYWORDS,
     "bind(params=None, grads=None): point tensors at other arrays of the same dtype and shape\n"
     "(None entries keep theirs)."},
    {"zero_grad", optimizer_zero_grad, METH_NOARGS, "Sets every gradient array to zero (a sparse one to no rows)."},
    {"set_sparse_grad", optimizer_set_sparse_grad, METH_VARARGS,
     "set_sparse_grad(i, rows, values): the row-sparse gradient of param i (its grad given as None)."},
    {"get_lr", optimizer_get_lr, METH_O, "get_lr(group): the group's learning rate."},
    {"set_lr", optimizer_set_lr, METH_VARARGS, "set_lr(group, lr)."},
    {"group_spec", optimizer_group_spec, METH_O, "group_spec(group): the group's canonical spec."},
    {"set_group", optimizer_set_group, METH_VARARGS, "set_group(group, 'lr=1e-4, weight_decay=0')."},
    {"set_schedule", optimizer_set_schedule, METH_VARARGS,
     "set_schedule(spec, group=-1): attach a schedule (None detaches)."},
    {"state_buffers", optimizer_state, METH_O, "state_buffers(i): {buffer name: StateView} of param i."},
    {"get_scalar", optimizer_get_scalar, METH_VARARGS, "get_scalar(group, name)."},
    {"set_scalar", optimizer_set_scalar, METH_VARARGS, "set_scalar(group, name, value)."},
    {"set_counters", optimizer_set_counters, METH_VARARGS, "set_counters(steps, skipped=0, consecutive=0)."},
    {"use_reference", optimizer_use_reference, METH_O, "use_reference(on): the scalar reference loops."},
    {"save", (PyCFunction)(void (*)(void))optimizer_save, METH_VARARGS | METH_KEYWORDS,
     "save(path, average=None): a safetensors checkpoint, written atomically."},
    {"load", (PyCFunction)(void (*)(void))optimizer_load, METH_VARARGS | METH_KEYWORDS,
     "load(path, average=None): restore from a checkpoint (all or nothing)."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef optimizer_getset[] = {
    {"params", optimizer_get_params, NULL, "The parameter arrays (a tuple).", NULL},
    {"grads", optimizer_get_grads, NULL, "The gradient arrays (a tuple; rebind with step(grads=...)).", NULL},
    {"names", optimizer_get_names, NULL, "The tensors' names.", NULL},
    {"kind", optimizer_get_kind, NULL, "The kind's spec name.", NULL},
    {"group_count", optimizer_get_groups, NULL, "Number of parameter groups.", NULL},
    {"step_count", optimizer_get_step_count, NULL, "Updates applied so far.", NULL},
    {"skipped_count", optimizer_get_skipped, NULL, "Steps skipped for non-finite gradients.", NULL},
    {"last_skipped", optimizer_get_last_skipped, NULL, "Whether the last step was skipped.", NULL},
    {"grad_norm", optimizer_get_grad_norm, NULL, "The gradient norm the last step measured.", NULL},
    {"state_bytes", optimizer_get_state_bytes, NULL, "Bytes of optimizer state.", NULL},
    {"threads", optimizer_get_threads, optimizer_set_threads, "Threads a step uses (0: OpenMP default).", NULL},
    {"eval_mode", optimizer_get_eval, optimizer_set_eval, "Evaluation point (schedule-free).", NULL},
    {"needs_closure", optimizer_get_needs_closure, NULL, "Whether step() is refused for want of a closure "
     "(L-BFGS: use step_closure).", NULL},
    {"n_iter", optimizer_get_n_iter, NULL, "L-BFGS's iterations over all its steps (torch's n_iter).", NULL},
    {"func_evals", optimizer_get_func_evals, NULL, "L-BFGS's closure evaluations over all its steps "
     "(torch's func_evals).", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject OptimizerType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "descent._descent.Optimizer",
    .tp_basicsize = sizeof(Optimizer),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    .tp_doc = "Optimizer(spec, params, grads, groups=None, names=None): libdescent's optimizer over "
              "C-contiguous, writeable float32/float64 arrays, stepped in place.",
    .tp_new = PyType_GenericNew,
    .tp_init = optimizer_init,
    .tp_dealloc = optimizer_dealloc,
    .tp_methods = optimizer_methods,
    .tp_getset = optimizer_getset,
};

/* ---------------------------------------------------------------- Average */

static void average_dealloc(PyObject *self)
{
    Average *a = (Average *)self;
    dsc_average_destroy(a->avg);
    Py_XDECREF(a->optimizer);
    Py_XDECREF(a->arrays);
    Py_TYPE(self)->tp_free(self);
}

static int average_init(PyObject *self, PyObject *args, PyObject *kw)
{
    Average *a = (Average *)self;
    static char *keys[] = {"spec", "optimizer", NULL};
    const char *spec;
    PyObject *opt;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "sO!:Average", keys, &spec, &OptimizerType, &opt)) return -1;
    Optimizer *o = (Optimizer *)opt;
    if (busy_check(o) < 0) return -1;
    if (a->avg) { /* views point into the average it has */
        PyErr_SetString(PyExc_RuntimeError, "the average is already created");
        return -1;
    }
    dsc_param *desc = PyMem_Calloc(o->count, sizeof *desc);
    if (!desc) return PyErr_NoMemory(), -1;
    for (size_t i = 0; i < o->count; i++) desc[i] = *dsc_optim_param(o->opt, i);
    dsc_status st = dsc_average_create(&a->avg, spec, desc, o->count);
    PyMem_Free(desc);
    if (st) return raise_status(st), -1;
    Py_XSETREF(a->optimizer, Py_NewRef(opt));
    /* the arrays it averages stay alive even if the optimizer is bound to others */
    Py_XSETREF(a->arrays, arrays_tuple(o->params, o->count));
    if (!a->arrays) return -1;
    return 0;
}

static int average_check(Average *a)
{
    if (!a->avg) {
        PyErr_SetString(PyExc_RuntimeError, "the average was not created");
        return -1;
    }
    return busy_check((Optimizer *)a->optimizer);
}

static PyObject *average_update(PyObject *self, PyObject *unused)
{
    (void)unused;
    Average *a = (Average *)self;
    if (average_check(a) < 0) return NULL;
    dsc_status st = dsc_average_update(a->avg);
    if (st) return raise_status(st);
    Py_RETURN_NONE;
}

static PyObject *average_swap(PyObject *self, PyObject *unused)
{
    (void)unused;
    Average *a = (Average *)self;
    if (average_check(a) < 0) return NULL;
    dsc_status st = dsc_average_swap(a->avg);
    if (st) return raise_status(st);
    Py_RETURN_NONE;
}

/* A view of tensor i's average (where the average is now, parameters' buffer when swapped). */
static PyObject *average_buffer(PyObject *self, PyObject *arg)
{
    Average *a = (Average *)self;
    Py_ssize_t i = PyLong_AsSsize_t(arg);
    if ((i == -1 && PyErr_Occurred()) || average_check(a) < 0) return NULL;
    if (i < 0 || (size_t)i >= dsc_average_count(a->avg)) {
        PyErr_Format(PyExc_IndexError, "param %zd of %zu", i, dsc_average_count(a->avg));
        return NULL;
    }
    const char *name;
    void *data;
    dsc_status st = dsc_average_buffer(a->avg, (size_t)i, &name, &data);
    if (st) return raise_status(st);
    return view_new(self, dsc_average_param(a->avg, (size_t)i), data, 0);
}

static PyObject *average_get_updates(PyObject *self, void *unused)
{
    (void)unused;
    Average *a = (Average *)self;
    return average_check(a) < 0 ? NULL : PyLong_FromLongLong(dsc_average_updates(a->avg));
}

static PyObject *average_get_averaged(PyObject *self, void *unused)
{
    (void)unused;
    Average *a = (Average *)self;
    return average_check(a) < 0 ? NULL : PyLong_FromLongLong(dsc_average_averaged(a->avg));
}

static PyObject *average_get_swapped(PyObject *self, void *unused)
{
    (void)unused;
    Average *a = (Average *)self;
    return average_check(a) < 0 ? NULL : PyBool_FromLong(dsc_average_swapped(a->avg));
}

static PyObject *average_get_spec(PyObject *self, void *unused)
{
    (void)unused;
    Average *a = (Average *)self;
    if (average_check(a) < 0) return NULL;
    char buf[256];
    dsc_average_format(a->avg, buf, sizeof buf);
    return PyUnicode_FromString(buf);
}

static PyMethodDef average_methods[] = {
    {"update", average_update, METH_NOARGS, "Fold the parameters in (call once after each step)."},
    {"swap", average_swap, METH_NOARGS, "Exchange parameters and averages (again to undo)."},
    {"buffer", average_buffer, METH_O, "buffer(i): a view of param i's average."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef average_getset[] = {
    {"updates", average_get_updates, NULL, "Calls of update().", NULL},
    {"averaged", average_get_averaged, NULL, "Folds so far.", NULL},
    {"swapped", average_get_swapped, NULL, "Whether the average is swapped in.", NULL},
    {"spec", average_get_spec, NULL, "The canonical spec.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject AverageType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "descent._descent.Average",
    .tp_basicsize = sizeof(Average),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    .tp_doc = "Average(spec, optimizer): an EMA or SWA of the optimizer's parameters "
              "('ema(decay=0.999)', 'swa(start=100)').",
    .tp_new = PyType_GenericNew,
    .tp_init = average_init,
    .tp_dealloc = average_dealloc,
    .tp_methods = average_methods,
    .tp_getset = average_getset,
};

/* ---------------------------------------------------------------- Schedule */

typedef struct {
    PyObject_HEAD
    dsc_sched *s;
} Schedule;

static void schedule_dealloc(PyObject *self)
{
    dsc_sched_destroy(((Schedule *)self)->s);
    Py_TYPE(self)->tp_free(self);
}

static int schedule_init(PyObject *self, PyObject *args, PyObject *kw)
{
    Schedule *s = (Schedule *)self;
    static char *keys[] = {"spec", "base_lr", NULL};
    const char *spec;
    double base;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "sd:Schedule", keys, &spec, &base)) return -1;
    if (s->s) {
        PyErr_SetString(PyExc_RuntimeError, "the schedule is already created");
        return -1;
    }
    dsc_status st = dsc_sched_create(&s->s, spec, base);
    return st ? (raise_status(st), -1) : 0;
}

static int schedule_check(Schedule *s)
{
    if (s->s) return 0;
    PyErr_SetString(PyExc_RuntimeError, "the schedule was not created");
    return -1;
}

static PyObject *schedule_step(PyObject *self, PyObject *args, PyObject *kw)
{
    Schedule *s = (Schedule *)self;
    static char *keys[] = {"loss", NULL};
    PyObject *loss = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "|O:step", keys, &loss) || schedule_check(s) < 0) return NULL;
    double l = 0;
    if (loss != Py_None && (l = PyFloat_AsDouble(loss)) == -1.0 && PyErr_Occurred()) return NULL;
    dsc_status st = loss == Py_None ? dsc_sched_step(s->s) : dsc_sched_step_loss(s->s, l);
    if (st) return raise_status(st);
    return PyFloat_FromDouble(dsc_sched_lr(s->s));
}

static PyObject *schedule_state(PyObject *self, PyObject *unused)
{
    (void)unused;
    Schedule *s = (Schedule *)self;
    if (schedule_check(s) < 0) return NULL;
    PyObject *d = PyDict_New();
    for (size_t k = 0; d && k < dsc_sched_state_count(s->s); k++) {
        const char *name;
        double v;
        if (dsc_sched_get_state(s->s, k, &name, &v)) continue;
        PyObject *f = PyFloat_FromDouble(v);
        if (!f || PyDict_SetItemString(d, name, f) < 0) Py_CLEAR(d);
        Py_XDECREF(f);
    }
    return d;
}

static PyObject *schedule_get_lr(PyObject *self, void *unused)
{
    (void)unused;
    Schedule *s = (Schedule *)self;
    return schedule_check(s) < 0 ? NULL : PyFloat_FromDouble(dsc_sched_lr(s->s));
}

static PyObject *schedule_get_position(PyObject *self, void *unused)
{
    (void)unused;
    Schedule *s = (Schedule *)self;
    return schedule_check(s) < 0 ? NULL : PyLong_FromLongLong(dsc_sched_position(s->s));
}

static PyObject *schedule_get_spec(PyObject *self, void *unused)
{
    (void)unused;
    Schedule *s = (Schedule *)self;
    return schedule_check(s) < 0 ? NULL : PyUnicode_FromString(dsc_sched_spec(s->s));
}

static PyMethodDef schedule_methods[] = {
    {"step", (PyCFunction)(void (*)(void))schedule_step, METH_VARARGS | METH_KEYWORDS,
     "step(loss=None): advance one step (loss for plateau and king); returns the next rate."},
    {"state", schedule_state, METH_NOARGS, "The named scalars of the schedule's state."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef schedule_getset[] = {
    {"lr", schedule_get_lr, NULL, "The rate of the next step.", NULL},
    {"position", schedule_get_position, NULL, "Steps taken.", NULL},
    {"spec", schedule_get_spec, NULL, "The spec it was created from.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject ScheduleType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "descent._descent.Schedule",
    .tp_basicsize = sizeof(Schedule),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    .tp_doc = "Schedule(spec, base_lr): a learning-rate schedule ('cosine(T_max=100)'); "
              "lr is the rate of the next step, as torch's get_last_lr().",
    .tp_new = PyType_GenericNew,
    .tp_init = schedule_init,
    .tp_dealloc = schedule_dealloc,
    .tp_methods = schedule_methods,
    .tp_getset = schedule_getset,
};

/* ---------------------------------------------------------------- module */

static PyObject *module_version(PyObject *m, PyObject *unused)
{
    (void)m;
    (void)unused;
    return PyUnicode_FromString(dsc_version());
}

static PyObject *module_kinds(PyObject *m, PyObject *unused)
{
    (void)m;
    (void)unused;
    PyObject *t = PyTuple_New(DSC_KIND_COUNT);
    for (int k = 0; t && k < DSC_KIND_COUNT; k++) {
        PyObject *s = PyUnicode_FromString(dsc_kind_name((dsc_kind)k));
        if (!s) {
            Py_DECREF(t);
            return NULL;
        }
        PyTuple_SET_ITEM(t, k, s);
    }
    return t;
}

/* The canonical spec of a spec string (validates it). */
static PyObject *module_canonical(PyObject *m, PyObject *arg)
{
    (void)m;
    const char *spec = PyUnicode_AsUTF8(arg);
    if (!spec) return NULL;
    dsc_hparams hp;
    dsc_status st = dsc_hparams_parse(spec, &hp);
    if (st) return raise_status(st);
    char buf[1024];
    size_t need = dsc_hparams_format(&hp, buf, sizeof buf);
    if (need >= sizeof buf) {
        PyErr_SetString(PyExc_ValueError, "spec too long");
        return NULL;
    }
    return PyUnicode_FromString(buf);
}

static PyMethodDef module_methods[] = {
    {"version", module_version, METH_NOARGS, "The version of libdescent linked in."},
    {"kinds", module_kinds, METH_NOARGS, "The optimizer kinds' spec names."},
    {"canonical", module_canonical, METH_O, "canonical(spec): the validated canonical spec."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_descent", "libdescent's optimizers over arrays (see the descent package).", -1,
    module_methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__descent(void)
{
    if (PyType_Ready(&StateViewType) < 0 || PyType_Ready(&OptimizerType) < 0 ||
        PyType_Ready(&AverageType) < 0 || PyType_Ready(&ScheduleType) < 0)
        return NULL;
    PyObject *m = PyModule_Create(&module);
    if (!m) return NULL;
    NonFiniteError = PyErr_NewExceptionWithDoc("descent.NonFiniteError",
                                               "A gradient held NaN or Inf under nonfinite=error.",
                                               PyExc_FloatingPointError, NULL);
    if (!NonFiniteError || PyModule_AddObjectRef(m, "NonFiniteError", NonFiniteError) < 0 ||
        PyModule_AddObjectRef(m, "Optimizer", (PyObject *)&OptimizerType) < 0 ||
        PyModule_AddObjectRef(m, "Average", (PyObject *)&AverageType) < 0 ||
        PyModule_AddObjectRef(m, "Schedule", (PyObject *)&ScheduleType) < 0 ||
        PyModule_AddObjectRef(m, "StateView", (PyObject *)&StateViewType) < 0 ||
        PyModule_AddStringConstant(m, "header_version", DSC_VERSION_STRING) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
