"""descent: libdescent's fused optimizer steps for NumPy arrays and PyTorch tensors.

    import numpy as np, descent
    w = np.zeros(10); g = np.zeros(10)
    opt = descent.Optimizer("adamw(lr=1e-3)", [w], [g])
    g[:] = ...; opt.step()              # w changes in place

Parameters and gradients are C-contiguous, writeable float32/float64 arrays. The
optimizer keeps them (opt.params, opt.grads are tuples); to step with other gradient
arrays, pass them: opt.step(grads=[...]) (checked like the first ones). Rebinding your
own list's entries does nothing to the optimizer: it never sees your list.

L-BFGS ("lbfgs") re-evaluates the loss within a step: opt.step_closure(fn), fn() writing
the gradients into the arrays and returning the loss, as torch's step(closure).

descent.torch holds drop-in replacements of torch.optim's optimizers.
"""
import numpy as _np

from . import _descent
from ._descent import Average, NonFiniteError, Schedule

__all__ = ["Optimizer", "Average", "Schedule", "NonFiniteError", "kinds", "version", "spec_keys"]
__version__ = _descent.version()


def version():
    """The version of libdescent linked into the extension."""
    return _descent.version()


def kinds():
    """The optimizer kinds' spec names ("sgd", "adam", ...)."""
    return _descent.kinds()


def _value(v):
    """A hyperparameter value as the spec parser reads it (repr round-trips floats)."""
    if v is None:  # torch's None for "the default" (adafactor's eps1)
        return "None"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (tuple, list)):
        return "(" + ", ".join(_value(x) for x in v) + ")"
    if isinstance(v, str):
        return v
    return repr(float(v)) if not isinstance(v, int) else repr(v)


def spec_keys(hparams):
    """{"lr": 1e-4, "betas": (0.9, 0.99)} -> "lr=0.0001, betas=(0.9, 0.99)"."""
    return ", ".join("%s=%s" % (k, _value(v)) for k, v in hparams.items())


class Optimizer(_descent.Optimizer):
    """Optimizer(spec, params, grads=None, *, names=None, schedule=None)

    spec: "adam", "adamw(lr=1e-3, weight_decay=0.01)", ... (descent.kinds(); keys as
    torch.optim's, plus clip_norm, clip_value, nonfinite=skip|error|ignore, accumulate,
    lookahead_k, ...). params: a list of arrays with grads the list of their gradients,
    or a list of group dicts {"params": [...], "grads": [...], "lr": ..., ...} whose
    other keys override the spec's for that group. names: the tensors' names (for
    checkpoints; default p0, p1, ...). schedule: a schedule spec for every group.
    """

    def __init__(self, spec, params, grads=None, *, names=None, schedule=None):
        params = list(params)
        overrides = []
        if params and isinstance(params[0], dict):
            if grads is not None:
                raise TypeError("with group dicts, the grads go in each group's 'grads'")
            flat_p, flat_g, groups = [], [], []
            for g, group in enumerate(params):
                if not isinstance(group, dict) or "params" not in group or "grads" not in group:
                    raise TypeError("group %d must be a dict with 'params' and 'grads'" % g)
                ps, gs = list(group["params"]), list(group["grads"])
                if len(ps) != len(gs):
                    raise ValueError("group %d: %d params but %d grads" % (g, len(ps), len(gs)))
                flat_p += ps
                flat_g += gs
                groups += [g] * len(ps)
                keys = {k: v for k, v in group.items() if k not in ("params", "grads")}
                if keys:
                    overrides.append((g, spec_keys(keys)))
            super().__init__(spec, flat_p, flat_g, groups, names)
        else:
            if grads is None:
                raise TypeError("grads are required: one array per parameter")
            super().__init__(spec, params, list(grads), None, names)
        for g, keys in overrides:
            self.set_group(g, keys)
        if schedule is not None:
            self.set_schedule(schedule)

    @property
    def state(self):
        """Per tensor, {buffer name: NumPy array viewing the optimizer's state} with
        torch's names (exp_avg, exp_avg_sq, momentum_buffer, ...). Writing into them
        changes the state."""
        return [{k: _np.asarray(v) for k, v in self.state_buffers(i).items()}
                for i in range(len(self.params))]

    def lr(self, group=0):
        """The learning rate of a group (the schedule's, when one is attached)."""
        return self.get_lr(group)

    def __repr__(self):
        return "descent.Optimizer(%r, %d tensors, %d groups, step %d)" % (
            self.group_spec(0), len(self.params), self.group_count, self.step_count)
