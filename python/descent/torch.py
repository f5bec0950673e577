"""descent.torch: drop-in replacements of torch.optim's optimizers, stepping CPU
float32/float64 tensors in place with libdescent's fused kernels.

    opt = descent.torch.AdamW(model.parameters(), lr=1e-3)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=100)

They are torch.optim.Optimizer subclasses: param_groups are read at every step (so
torch's lr_scheduler drives them), state_dict()/load_state_dict() use torch's layout
and buffer names (a state moves between torch.optim.Adam and descent.torch.Adam both
ways), zero_grad, add_param_group and closures work. A parameter whose .grad is None
is skipped, as torch does; a new .grad tensor is picked up at the next step.

Beyond torch's arguments, each takes descent's optimizer-wide controls: nonfinite
("ignore" by default, as torch.optim, which lets NaN through; "skip" or "error"),
clip_norm, clip_value, max_consecutive_skips, state_dtype ("bf16" for Adam/AdamW).

LBFGS takes step(closure) as torch's does: descent's L-BFGS calls the closure for every
evaluation it needs (Optimizer.step_closure) and reads the .grad tensors it leaves.
Copies (copy.deepcopy, pickle) keep the state, step counts and controls.

Row-sparse gradients (nn.Embedding(sparse=True)): SparseAdam takes them only, SGD
(momentum and Nesterov included) and Adagrad take them too, the others refuse them, as torch.optim does.
A 2-D parameter's sparse .grad is passed to descent as its row indices and values at
each step (repeated rows summed, as coalesce() does).

One difference: descent keeps one step count for all the tensors it steps together,
torch one per tensor. A step over a set of tensors whose counts differ (a tensor that
sat out steps with .grad None, then came back) raises RuntimeError rather than
computing another bias correction than torch would.
"""
import json as _json
import zlib as _zlib
from itertools import repeat as _repeat
from operator import is_ as _is, is_not as _is_not

import numpy as _np
import torch as _torch

from . import _descent, spec_keys

__all__ = ["SGD", "Adam", "AdamW", "Adagrad", "RMSprop", "Adadelta", "Adamax", "NAdam", "RAdam", "SparseAdam",
           "Rprop", "ASGD", "Adafactor", "LBFGS", "AdaBelief", "Lion", "LAMB", "LARS", "ScheduleFreeAdamW", "Muon"]

_DTYPES = (_torch.float32, _torch.float64)
# descent's optimizer-wide keys, fixed at construction; torch.optim checks nothing
_CONTROLS = ("nonfinite", "clip_norm", "clip_value", "max_consecutive_skips", "state_dtype")
# keys of torch's param_groups that are not hyperparameters of the update
_TORCH_ONLY = ("params", "initial_lr", "foreach", "differentiable", "capturable", "fused", "max_lr",
               "min_lr", "base_momentum", "max_momentum")


def _describe(t, what):
    return "%s (shape %s, %s)" % (what, tuple(t.shape), t.dtype)


def _check_tensor(t, what):
    """A NumPy view of t's memory, or TypeError/ValueError naming the tensor."""
    if t.device.type != "cpu":
        raise TypeError("%s is on %s: descent.torch steps CPU tensors only" % (_describe(t, what), t.device))
    if t.layout != _torch.strided:
        raise TypeError("%s is sparse (%s): descent.torch steps dense tensors only" % (_describe(t, what), t.layout))
    if t.is_complex():
        raise TypeError("%s is complex: descent.torch steps real tensors only" % _describe(t, what))
    if t.dtype not in _DTYPES:
        raise TypeError("%s: dtype must be torch.float32 or torch.float64" % _describe(t, what))
    if not t.is_contiguous():
        raise ValueError("%s is not contiguous: call .contiguous() on it before optimizing" % _describe(t, what))
    return t.detach().numpy()


class _DescentOptimizer(_torch.optim.Optimizer):
    """The common part: a libdescent optimizer over the tensors that have gradients."""

    _kind = None       # descent's kind name
    _defaults = {}     # the constructor's defaults (torch's)
    _open = False      # descent's own kinds take any key of their spec
    _scalars = ()      # descent's group scalars torch keeps per tensor (NAdam's mu_product)

    def __init__(self, params, *args, **kw):
        # torch's positional arguments after params (SGD(params, 0.1)), in its order
        names = list(self._defaults)
        if len(args) > len(names):
            raise TypeError("%s takes params and at most %d positional argument(s), got %d more"
                            % (type(self).__name__, len(names), len(args)))
        for k, v in zip(names, args):
            if k in kw:
                raise TypeError("%s got multiple values for argument '%s'" % (type(self).__name__, k))
            kw[k] = v
        self._controls = {k: kw.pop(k) for k in _CONTROLS if k in kw}
        unknown = [] if self._open else [k for k in kw if k not in self._defaults and k not in _TORCH_ONLY]
        if unknown:
            raise TypeError("%s got unexpected keyword argument(s) %s" % (type(self).__name__, ", ".join(unknown)))
        defaults = dict(self._defaults)
        defaults.update(kw)
        self._c = None
        super().__init__(params, defaults)

    # ---------------------------------------------------------------- torch API

    def add_param_group(self, param_group):
        super().add_param_group(param_group)
        self._retire()  # the next step builds over the new set

    def load_state_dict(self, state_dict):
        self._retire()
        super().load_state_dict(state_dict)

    def state_dict(self):
        self._refresh_steps()
        return super().state_dict()

    def __getstate__(self):
        """What pickle and copy.deepcopy keep: torch's three keys, with the live step
        counts (and L-BFGS's history) written into the state first, and descent's
        controls; the copy builds its own descent optimizer at its first step."""
        self._refresh_steps()
        state = super().__getstate__()
        state["_controls"] = self._controls
        return state

    def __setstate__(self, state):
        super().__setstate__(state)
        self.__dict__.setdefault("_c", None)
        self.__dict__.setdefault("_controls", {})

    def step(self, closure=None):
        """One step of every tensor that has a gradient (closure: re-evaluates the loss)."""
        loss = None
        if closure is not None:
            with _torch.enable_grad():
                loss = closure()
        if self._sync():
            self._c.step()
        return loss

    # torch.optim wraps step in a profiler range (several microseconds a call); the
    # step is a single call into C, so torch 1.x's wrapper is left out (torch 2.x's also
    # runs the step hooks, and stays)
    step.hooked = not hasattr(_torch.optim.Optimizer, "register_step_pre_hook")

    # ---------------------------------------------------------------- binding

    def _hkeys(self, group):
        """The group's hyperparameters (the keys of descent's spec)."""
        return {k: v for k, v in group.items() if k not in _TORCH_ONLY}

    def _spec_keys(self, keys):
        """Hyperparameters as the keys of descent's spec."""
        return spec_keys(keys)

    def _sync(self):
        """Binds the tensors with gradients and the groups' hyperparameters; False when
        no tensor has a gradient. The common case (the same tensors as last step) costs
        one pass over them."""
        c = self._c
        if c is None:
            return self._rebuild()
        grads = [p.grad for p in self._active]
        if any(map(_is_not, grads, self._grads)):
            if any(map(_is, grads, _repeat(None))) or [g.is_sparse for g in grads] != self._sparse:
                return self._rebuild()
            views = [None if a is b or a.is_sparse else _check_tensor(a, "grad of param %s" % self._names[i])
                     for i, (a, b) in enumerate(zip(grads, self._grads))]
            c.bind(grads=views)  # torch allocated new gradient tensors
            self._grads = grads
        for i in self._sparse_at:  # a sparse gradient is read afresh every step
            self._set_sparse(i, grads[i])
        if self._inactive and any(p.grad is not None for p in self._inactive):
            return self._rebuild()
        # a parameter given other memory (p.data = ...): bound again, checked
        ptrs = [p.data_ptr() for p in self._active]
        if ptrs != self._ptrs:
            c.bind(params=[None if a == b else _check_tensor(p, "param %s" % n) for a, b, p, n
                           in zip(ptrs, self._ptrs, self._active, self._names)])
            self._ptrs = ptrs
        self._sync_hparams()
        return True

    def _sync_hparams(self):
        """The groups' hyperparameters into descent: lr alone is cheap to set; anything
        else sets the group's keys."""
        c = self._c
        for g, sig in self._sigs:
            group = self.param_groups[g]
            if any(group[k] != v for k, v in sig.items()):
                keys = self._hkeys(group)
                if all(keys[k] == v for k, v in sig.items() if k != "lr") and len(keys) == len(sig):
                    c.set_lr(g, float(keys["lr"]))
                else:
                    c.set_group(g, self._spec_keys(keys))
                self._sigs[self._sig_index[g]] = (g, keys)

    def _set_sparse(self, i, g):
        """Param i's sparse gradient to descent: its row indices and their values."""
        if g.sparse_dim() != 1 or g.dim() != 2:
            raise TypeError("grad of param %s: descent.torch takes row-sparse gradients of 2-D params "
                            "(sparse_dim 1, as nn.Embedding(sparse=True) makes), got sparse_dim %d of %d dims"
                            % (self._names[i], g.sparse_dim(), g.dim()))
        if g.dtype != self._active[i].dtype:
            raise TypeError("grad of param %s is %s, the param %s" % (self._names[i], g.dtype, self._active[i].dtype))
        rows = g._indices()[0].contiguous().numpy()
        values = g._values().detach().contiguous().numpy()
        self._c.set_sparse_grad(i, rows, values if len(rows) else None)

    def _rebuild(self):
        """A descent optimizer over the tensors that have gradients now."""
        active = [p for group in self.param_groups for p in group["params"] if p.grad is not None]
        if not active:
            return False
        self._build(active)
        return True

    def _retire(self):
        """Copies the live state out of the descent optimizer into plain tensors."""
        c = self.__dict__.get("_c")
        if c is None:
            return
        self._refresh_steps()
        for p in self._active:
            st = self.state[p]
            for k, v in list(st.items()):
                if isinstance(v, _torch.Tensor):
                    st[k] = v.clone()
        self._c = None

    def _refresh_steps(self):
        """Writes the step count (and the group scalars, NAdam's mu_product, ASGD's eta
        and mu) into each tensor's state."""
        c = self.__dict__.get("_c")
        if c is None:
            return
        n = c.step_count
        for i, p in enumerate(self._active):
            st = self.state[p]
            if self._kind != "sgd":  # torch's SGD has no count
                st["step"] = _torch.tensor(float(n))
            for name in self._scalars:
                st[name] = _torch.tensor(c.get_scalar(self._pgroup[i], name), dtype=_torch.float64)

    def _build(self, active):
        """A descent optimizer over the active tensors, continuing their state."""
        self._retire()
        where = {}
        for g, group in enumerate(self.param_groups):
            for j, p in enumerate(group["params"]):
                where[id(p)] = (g, j)
        pviews, gviews, groups, names = [], [], [], []
        for p in active:
            g, j = where[id(p)]
            pviews.append(_check_tensor(p, "param %d of group %d" % (j, g)))
            # a sparse gradient goes in at each step (_set_sparse)
            gviews.append(None if p.grad.is_sparse else _check_tensor(p.grad, "grad of param %d of group %d" % (j, g)))
            groups.append(g)
            names.append("g%d.p%d" % (g, j))
        # the step counts the tensors bring (0 for those never stepped) must agree
        steps = set()
        for p in active:
            st = self.state.get(p, {})
            # torch's SGD keeps no count: a momentum buffer means it has stepped
            s = st.get("step", 1 if any(v is not None for v in st.values()) else 0)
            steps.add(int(s.item() if isinstance(s, _torch.Tensor) else s))
        if len(steps) > 1:
            raise RuntimeError("descent.torch: the tensors to step have different step counts %s; descent "
                               "keeps one count for all (a tensor skipped steps with .grad None)" % sorted(steps))
        step = steps.pop()
        keys0 = self._hkeys(self.param_groups[groups[0]])
        controls = dict({"nonfinite": "ignore"}, **self._controls)
        spec = "%s(%s)" % (self._kind, self._spec_keys(dict(keys0, **controls)))
        c = _descent.Optimizer(spec, pviews, gviews, groups, names)
        c.threads = _threads()
        self._sigs = []  # (group, its keys as last set), for the groups with tensors
        for g in sorted(set(groups)):
            keys = self._hkeys(self.param_groups[g])
            c.set_group(g, self._spec_keys(keys))
            self._sigs.append((g, keys))
        self._sig_index = {g: i for i, (g, _) in enumerate(self._sigs)}
        if step:
            c.set_counters(step)
        scalars = {}  # (group, name): the value the group's first tensor brings
        for i, p in enumerate(active):
            old = self.state.get(p, {})
            live = {}
            for name, view in c.state_buffers(i).items():
                arr = _np.asarray(view)
                if name in old and old[name] is not None:
                    src = old[name]
                    if tuple(src.shape) != arr.shape:
                        raise ValueError("state %r of param %d has shape %s, the param %s"
                                         % (name, i, tuple(src.shape), arr.shape))
                    arr[...] = src.detach().to(_torch.float64 if arr.dtype == _np.float64 else _torch.float32).numpy()
                live[name] = _torch.from_numpy(arr)
            for name in self._scalars:
                if name in old:
                    m = old[name]
                    scalars.setdefault((groups[i], name), float(m.item() if isinstance(m, _torch.Tensor) else m))
            if self._kind != "sgd":
                live["step"] = _torch.tensor(float(step))
            self.state[p] = live
        for (g, name), m in scalars.items():
            c.set_scalar(g, name, m)
        self._c = c
        self._active = active
        self._pgroup = groups
        self._names = names
        self._grads = [p.grad for p in active]
        self._sparse = [g.is_sparse for g in self._grads]
        self._sparse_at = [i for i, s in enumerate(self._sparse) if s]
        for i in self._sparse_at:
            self._set_sparse(i, self._grads[i])
        self._ptrs = [p.data_ptr() for p in active]
        ids = {id(p) for p in active}
        self._inactive = [p for group in self.param_groups for p in group["params"] if id(p) not in ids]
        if self._scalars:
            self._refresh_steps()


def _threads():
    """Threads for a step: torch's intra-op setting, so both use the same cores."""
    return _torch.get_num_threads()


def _optimizer(name, kind, defaults, doc):
    cls = type(name, (_DescentOptimizer,), {"_kind": kind, "_defaults": defaults, "__doc__": doc})
    cls.__module__ = __name__
    return cls


_ADAM = dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False, maximize=False)
SGD = _optimizer("SGD", "sgd", dict(lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False,
                                    maximize=False), "torch.optim.SGD on descent's kernels.")
Adam = _optimizer("Adam", "adam", _ADAM, "torch.optim.Adam on descent's kernels.")
AdamW = _optimizer("AdamW", "adamw", dict(_ADAM, weight_decay=1e-2), "torch.optim.AdamW on descent's kernels.")
Adagrad = _optimizer("Adagrad", "adagrad", dict(lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0,
                                                eps=1e-10, maximize=False), "torch.optim.Adagrad on descent's kernels.")
RMSprop = _optimizer("RMSprop", "rmsprop", dict(lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0,
                                                centered=False, maximize=False),
                     "torch.optim.RMSprop on descent's kernels.")
Adadelta = _optimizer("Adadelta", "adadelta", dict(lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, maximize=False),
                      "torch.optim.Adadelta on descent's kernels.")
Adamax = _optimizer("Adamax", "adamax", dict(lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, maximize=False),
                    "torch.optim.Adamax on descent's kernels.")
NAdam = _optimizer("NAdam", "nadam", dict(lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                                          momentum_decay=4e-3, decoupled_weight_decay=False, maximize=False),
                   "torch.optim.NAdam on descent's kernels.")
NAdam._scalars = ("mu_product",)
SparseAdam = _optimizer("SparseAdam", "sparse_adam", dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, maximize=False),
                        "torch.optim.SparseAdam on descent's kernels: row-sparse gradients only.")
RAdam = _optimizer("RAdam", "radam", dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                                          decoupled_weight_decay=False, maximize=False),
                   "torch.optim.RAdam on descent's kernels.")
Rprop = _optimizer("Rprop", "rprop", dict(lr=1e-2, etas=(0.5, 1.2), step_sizes=(1e-6, 50), maximize=False),
                   "torch.optim.Rprop on descent's kernels.")
ASGD = _optimizer("ASGD", "asgd", dict(lr=1e-2, lambd=1e-4, alpha=0.75, t0=1e6, weight_decay=0, maximize=False),
                  "torch.optim.ASGD on descent's kernels; the average to evaluate at is state[p]['ax'].")
ASGD._scalars = ("eta", "mu")
Adafactor = _optimizer("Adafactor", "adafactor", dict(lr=1e-2, beta2_decay=-0.8, eps=(None, 1e-3), d=1.0,
                                                      weight_decay=0.0, maximize=False),
                       "torch.optim.Adafactor (torch 2.5's) on descent's kernels: a tensor of >= 2 dimensions "
                       "keeps row_var and col_var (its factored second moment), the others variance.")


# descent's own kinds: any key of their specs (docs/optimizers.md), descent's defaults
def _own(name, kind, lr, doc):
    cls = _optimizer(name, kind, {"lr": lr}, doc)
    cls._open = True
    return cls


AdaBelief = _own("AdaBelief", "adabelief", 1e-3, "AdaBelief (Zhuang et al. 2020).")
Lion = _own("Lion", "lion", 1e-4, "Lion (Chen et al. 2023).")
LAMB = _own("LAMB", "lamb", 1e-3, "LAMB (You et al. 2019).")
LARS = _own("LARS", "lars", 1.0, "LARS (You et al. 2017).")
ScheduleFreeAdamW = _own("ScheduleFreeAdamW", "schedulefree_adamw", 2.5e-3,
                         "Schedule-Free AdamW (Defazio et al. 2024); call opt.eval()/opt.train().")
Muon = _own("Muon", "muon", 1e-3, "torch.optim.Muon on 2-D tensors, AdamW on the others.")


# ---------------------------------------------------------------- L-BFGS

# The scalars of descent's L-BFGS state (its checkpoint tensors "optim/<name>") and the
# vectors; old_dirs and old_stps are a ring of history_size slots from slot "oldest".
_LBFGS_SCALARS = ("n_iter", "func_evals", "num_old", "oldest", "t", "H_diag", "prev_loss")
_LBFGS_VECTORS = ("old_dirs", "old_stps", "ro", "d", "prev_flat_grad")


def _checkpoint_tensors(blob):
    """{name: writable float64 NumPy view} of a descent checkpoint's "optim/" tensors
    (a safetensors file: 8-byte header length, JSON header, data)."""
    n = int.from_bytes(blob[:8], "little")
    header = _json.loads(bytes(blob[8:8 + n]))
    out = {}
    for name, t in header.items():
        if name.startswith("optim/"):
            if t["dtype"] != "F64":  # descent saves the optimizer-wide state in double
                raise RuntimeError("descent's checkpoint holds %s as %s, not F64" % (name, t["dtype"]))
            begin, end = t["data_offsets"]
            out[name[6:]] = _np.frombuffer(blob, dtype="<f8", count=(end - begin) // 8,
                                           offset=8 + n + begin).reshape(t["shape"])
    return out


def _reseal(blob):
    """The checksums of a descent checkpoint whose data were changed in place: the data
    section's CRC-32, then the header's (over the length and the header, its own 8
    digits read as zeros), both at fixed width in the header."""
    n = int.from_bytes(blob[:8], "little")
    header = bytes(blob[8:8 + n])

    def put(key, crc):
        at = 8 + header.index(b'"%s":"crc32:' % key) + len(key) + 10
        blob[at:at + 8] = b"%08x" % crc
        return at

    put(b"checksum", _zlib.crc32(blob[8 + n:]))
    at = put(b"header_checksum", 0)
    crc = _zlib.crc32(blob[at + 8:8 + n], _zlib.crc32(b"00000000", _zlib.crc32(blob[:at])))
    put(b"header_checksum", crc)


class LBFGS(_DescentOptimizer):
    """torch.optim.LBFGS on descent's L-BFGS (torch 1.13's algorithm, in C): step(closure)
    evaluates the closure as often as torch's does (up to max_eval times) and returns its
    first loss. One parameter group, dense CPU tensors; the closure zeroes the gradients,
    computes the loss, calls backward() and returns the loss, as torch's. A gradient left
    None by the closure counts as zeros, as in torch. The history is kept in double (f32
    parameters get double arithmetic); state_dict() holds it in torch's layout
    (state[first param]: func_evals, n_iter, d, t, old_dirs, old_stps, ro, H_diag,
    prev_flat_grad, prev_loss), so a state moves between torch.optim.LBFGS and this one."""

    _kind = "lbfgs"
    _defaults = dict(lr=1, max_iter=20, max_eval=None, tolerance_grad=1e-7, tolerance_change=1e-9,
                     history_size=100, line_search_fn=None)

    def __init__(self, params, *args, **kw):
        super().__init__(params, *args, **kw)
        if len(self.param_groups) != 1:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups)")
        group = self.param_groups[0]
        if group["max_eval"] is None:  # torch's default, fixed at construction as torch fixes it
            group["max_eval"] = self.defaults["max_eval"] = group["max_iter"] * 5 // 4
        if group["line_search_fn"] not in (None, "strong_wolfe"):
            raise ValueError("LBFGS: line_search_fn must be None or 'strong_wolfe', got %r" % group["line_search_fn"])
        self._params = group["params"]

    def __setstate__(self, state):
        super().__setstate__(state)
        self._params = self.param_groups[0]["params"]

    def load_state_dict(self, state_dict):
        """torch's load_state_dict, checked now by descent's L-BFGS as its checkpoints are:
        a state it refuses raises ValueError and the optimizer keeps the one it had."""
        self._retire()
        before = self.state, self.param_groups
        super().load_state_dict(state_dict)
        try:
            self._build(list(self._params))
        except Exception:
            self.state, self.param_groups = before
            self._params = self.param_groups[0]["params"]
            raise

    def add_param_group(self, param_group):
        if getattr(self, "_params", None) is not None:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups)")
        super().add_param_group(param_group)

    def _spec_keys(self, keys):
        return spec_keys(dict(keys, line_search_fn=keys["line_search_fn"] or "none"))

    @_torch.no_grad()
    def step(self, closure=None):
        """One torch LBFGS step: up to max_iter iterations, each evaluating closure()."""
        if closure is None:
            raise TypeError("LBFGS.step() needs a closure: it evaluates the loss and its gradient several "
                            "times per step (def closure(): opt.zero_grad(); loss = ...; loss.backward(); "
                            "return loss)")
        self._sync()

        def evaluate():
            with _torch.enable_grad():
                loss = closure()
            self._bind_grads()
            return loss

        c = self._c
        try:
            return c.step_closure(evaluate)
        finally:  # torch's counters, cheap to read (state_dict() adds the history)
            st = self.state[self._active[0]]
            st["func_evals"], st["n_iter"] = c.func_evals, c.n_iter

    step.hooked = _DescentOptimizer.step.hooked

    # ------------------------------------------------------------ binding

    def _sync(self):
        if self._c is None:
            self._build(list(self._params))
            return True
        ptrs = [p.data_ptr() for p in self._active]
        if ptrs != self._ptrs:
            self._c.bind(params=[None if a == b else _check_tensor(p, "param %s" % n) for a, b, p, n
                                 in zip(ptrs, self._ptrs, self._active, self._names)])
            self._ptrs = ptrs
        self._sync_hparams()
        return True

    def _grad_view(self, i, p):
        """What descent reads as param i's gradient: its .grad, zeros for None, a dense
        copy of a sparse one (torch's _gather_flat_grad)."""
        g = p.grad
        if g is None:
            g = self._zeros[i]
            if g is None:
                g = self._zeros[i] = _torch.zeros_like(p, memory_format=_torch.contiguous_format)
        elif g.is_sparse:
            g = g.to_dense()
            self._dense[i] = g  # alive while descent reads it
        return g, _check_tensor(g, "grad of param %s" % self._names[i])

    def _bind_grads(self):
        """The gradients the closure left (torch may allocate new ones) into descent."""
        views = [None] * len(self._active)
        for i, p in enumerate(self._active):
            g = p.grad
            if g is not self._grads[i] or (g is not None and g.is_sparse):
                self._grads[i] = g
                views[i] = self._grad_view(i, p)[1]
        if any(v is not None for v in views):
            self._c.bind(grads=views)

    def _build(self, active):
        self._names = ["p%d" % j for j in range(len(active))]
        self._zeros = [None] * len(active)
        self._dense = [None] * len(active)
        pviews = [_check_tensor(p, "param %s" % n) for p, n in zip(active, self._names)]
        gviews = [self._grad_view(i, p)[1] for i, p in enumerate(active)]
        keys = self._hkeys(self.param_groups[0])
        spec = "lbfgs(%s)" % self._spec_keys(dict(keys, **dict({"nonfinite": "ignore"}, **self._controls)))
        c = _descent.Optimizer(spec, pviews, gviews, None, self._names)
        self._sigs, self._sig_index = [(0, keys)], {0: 0}
        st = self.state.get(active[0], {})
        if st:
            self._import(c, st)
        self._c = c
        self._active = active
        self._grads = [p.grad for p in active]
        self._ptrs = [p.data_ptr() for p in active]

    # ------------------------------------------------------------ state

    def _retire(self):
        if self.__dict__.get("_c") is not None:
            self._refresh_steps()
            self._c = None

    def _refresh_steps(self):
        """descent's L-BFGS state into state[first param], in torch's layout."""
        c = self.__dict__.get("_c")
        if c is None or not c.func_evals:
            return
        w = _checkpoint_tensors(bytearray(c.save_bytes()))
        p0 = self._active[0]
        dtype = p0.dtype
        sc = {k: float(w[k][0]) for k in _LBFGS_SCALARS}
        order = [(int(sc["oldest"]) + i) % w["ro"].shape[0] for i in range(int(sc["num_old"]))]

        def vec(a):
            return _torch.tensor(a, dtype=dtype)

        st = {"func_evals": int(sc["func_evals"]), "n_iter": int(sc["n_iter"])}
        if sc["n_iter"]:
            st.update(d=vec(w["d"]), t=sc["t"], old_dirs=[vec(w["old_dirs"][k]) for k in order],
                      old_stps=[vec(w["old_stps"][k]) for k in order], ro=[vec(w["ro"][k]) for k in order],
                      H_diag=vec(sc["H_diag"]), prev_flat_grad=vec(w["prev_flat_grad"]),
                      prev_loss=sc["prev_loss"])
        self.state[p0] = st

    def _import(self, c, st):
        """torch's LBFGS state (state[first param]) into descent's optimizer c, checked
        there as a checkpoint is (all or nothing)."""
        blob = bytearray(c.save_bytes())
        w = _checkpoint_tensors(blob)
        h, n = w["ro"].shape[0], w["d"].shape[0]

        def number(k, default=0.0):
            v = st.get(k, default)
            return float(v.item() if isinstance(v, _torch.Tensor) else v)

        def flat(v, k):
            a = v.detach().to(_torch.float64).reshape(-1).numpy()
            if a.shape[0] != n:
                raise ValueError("LBFGS state %r has %d elements, the parameters %d" % (k, a.shape[0], n))
            return a

        pairs = [st.get(k) or [] for k in ("old_dirs", "old_stps", "ro")]
        if len(set(map(len, pairs))) != 1 or len(pairs[0]) > h:
            raise ValueError("LBFGS state: old_dirs, old_stps and ro must have as many entries, at most "
                             "history_size %d, got %s" % (h, [len(x) for x in pairs]))
        for k in _LBFGS_VECTORS:
            w[k][...] = 0
        for i, (y, s, r) in enumerate(zip(*pairs)):
            w["old_dirs"][i] = flat(y, "old_dirs")
            w["old_stps"][i] = flat(s, "old_stps")
            w["ro"][i] = float(r.item() if isinstance(r, _torch.Tensor) else r)
        for k in ("d", "prev_flat_grad"):
            if st.get(k) is not None:
                w[k][...] = flat(st[k], k)
        values = dict(n_iter=number("n_iter"), func_evals=number("func_evals"), num_old=len(pairs[0]), oldest=0,
                      t=number("t"), H_diag=number("H_diag", 1.0), prev_loss=number("prev_loss"))
        for k, v in values.items():
            w[k][0] = v
        _reseal(blob)
        c.load_bytes(blob)
