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

Row-sparse gradients (nn.Embedding(sparse=True)): SparseAdam takes them only, SGD
(momentum 0) and Adagrad take them too, the others refuse them, as torch.optim does.
A 2-D parameter's sparse .grad is passed to descent as its row indices and values at
each step (repeated rows summed, as coalesce() does).

One difference: descent keeps one step count for all the tensors it steps together,
torch one per tensor. A step over a set of tensors whose counts differ (a tensor that
sat out steps with .grad None, then came back) raises RuntimeError rather than
computing another bias correction than torch would.
"""
from itertools import repeat as _repeat
from operator import is_ as _is, is_not as _is_not

import numpy as _np
import torch as _torch

from . import _descent, spec_keys

__all__ = ["SGD", "Adam", "AdamW", "Adagrad", "RMSprop", "Adadelta", "Adamax", "NAdam", "RAdam", "SparseAdam",
           "AdaBelief", "Lion", "LAMB", "LARS", "ScheduleFreeAdamW", "Muon"]

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

    def __init__(self, params, **kw):
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

    def __setstate__(self, state):
        super().__setstate__(state)
        self.__dict__.setdefault("_c", None)

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
        """The group's hyperparameters as descent spec keys."""
        return {k: v for k, v in group.items() if k not in _TORCH_ONLY}

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
        # hyperparameters: lr alone is cheap to set; anything else sets the group's keys
        for g, sig in self._sigs:
            group = self.param_groups[g]
            if any(group[k] != v for k, v in sig.items()):
                keys = self._hkeys(group)
                if all(keys[k] == v for k, v in sig.items() if k != "lr") and len(keys) == len(sig):
                    c.set_lr(g, float(keys["lr"]))
                else:
                    c.set_group(g, spec_keys(keys))
                self._sigs[self._sig_index[g]] = (g, keys)
        return True

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
        """Writes the step count (and NAdam's mu_product) into each tensor's state."""
        c = self.__dict__.get("_c")
        if c is None:
            return
        n = c.step_count
        for i, p in enumerate(self._active):
            st = self.state[p]
            if self._kind != "sgd":  # torch's SGD has no count
                st["step"] = _torch.tensor(float(n))
            if self._kind == "nadam":
                g = self._pgroup[i]
                st["mu_product"] = _torch.tensor(c.get_scalar(g, "mu_product"), dtype=_torch.float64)

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
        spec = "%s(%s)" % (self._kind, spec_keys(dict(keys0, **dict({"nonfinite": "ignore"}, **self._controls))))
        c = _descent.Optimizer(spec, pviews, gviews, groups, names)
        c.threads = _threads()
        self._sigs = []  # (group, its keys as last set), for the groups with tensors
        for g in sorted(set(groups)):
            keys = self._hkeys(self.param_groups[g])
            c.set_group(g, spec_keys(keys))
            self._sigs.append((g, keys))
        self._sig_index = {g: i for i, (g, _) in enumerate(self._sigs)}
        if step:
            c.set_counters(step)
        mu = {}
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
            if "mu_product" in old:
                m = old["mu_product"]
                mu.setdefault(groups[i], float(m.item() if isinstance(m, _torch.Tensor) else m))
            if self._kind != "sgd":
                live["step"] = _torch.tensor(float(step))
            self.state[p] = live
        for g, m in mu.items():
            c.set_scalar(g, "mu_product", m)
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
        if self._kind == "nadam":
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
SparseAdam = _optimizer("SparseAdam", "sparse_adam", dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, maximize=False),
                        "torch.optim.SparseAdam on descent's kernels: row-sparse gradients only.")
RAdam = _optimizer("RAdam", "radam", dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                                          decoupled_weight_decay=False, maximize=False),
                   "torch.optim.RAdam on descent's kernels.")
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
