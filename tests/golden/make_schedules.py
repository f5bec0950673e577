#!/usr/bin/python3
"""Golden learning-rate sequences for tests/test_sched.c.

PyTorch kinds come from torch.optim.lr_scheduler itself; numpy-ml's Noam, staged
exponential and King schedulers are written out below from their formulas (numpy-ml
is not packaged). Each line of schedules.txt:

    spec <TAB> base_lr <TAB> steps <TAB> losses (comma-separated, or -) <TAB> lrs

where lrs are the rates used at steps 1..steps (what get_last_lr() gives after t-1
scheduler steps) and losses[t-1] is the loss observed after step t (loss-driven kinds).
Run: tests/golden/make_schedules.py > tests/golden/schedules.txt
"""
import math
import sys
import warnings

import numpy as np
import torch
from torch.optim import lr_scheduler as L

warnings.filterwarnings("ignore")


def optimizer(base):
    return torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=base, momentum=0.9)


def run_torch(make, base, steps, losses=None):
    opt = optimizer(base)
    sched = make(opt)
    lrs = []
    for t in range(steps):
        lrs.append(opt.param_groups[0]["lr"])
        if t + 1 == steps:
            break
        opt.step()
        if losses is None:
            sched.step()
        else:
            sched.step(losses[t])
    return lrs


# ---- numpy-ml's formulas (numpy_ml/neural_nets/schedulers/schedulers.py)
def noam(model_dim, warmup, scale, steps):
    # numpy-ml's step is the Transformer step number, 1 at the first update
    return [scale * (model_dim ** -0.5 * min(t ** -0.5, t * warmup ** -1.5)) for t in range(1, steps + 1)]


def stages(base, decay, length, staircase, steps):
    out = []
    for pos in range(steps):
        s = pos / length
        if staircase:
            s = np.floor(s)
        out.append(float(base * decay ** s))
    return out


def p_decreasing(lh, i):
    y = lh[i:]
    n = len(y)
    X = np.c_[np.ones(n), np.arange(i, len(lh))]
    icpt, slope = np.linalg.inv(X.T @ X) @ X.T @ y
    var = 1 / (n - 2) * np.sum((y - (slope * X[:, 1] + icpt)) ** 2)
    svar = 12 * var / (n ** 3 - n)
    z = (0 - slope) / np.sqrt(svar + np.finfo(float).eps)
    return (1 + math.erf(z / np.sqrt(2))) / 2


def without_decrease(hist, patience, robust):
    lh = np.array(hist)
    if robust:
        th = np.quantile(lh, 0.9)
        lh = np.array([v for v in lh if v <= th])
    n = len(lh)
    i = max(0, n - patience - 1)
    if n - i < 3:  # numpy-ml divides by zero here; the C code reads it as no evidence
        return 0
    return n - i if p_decreasing(lh, i) < 0.51 else 0


def king(base, patience, decay, losses, steps):
    maxh = int(np.ceil(1.1 * (patience + 1)))
    hist, lr, out = [], base, [base]
    for t in range(steps - 1):
        hist.append(losses[t])
        if len(hist) >= patience:
            hist = hist[-maxh:]
            if without_decrease(hist, patience, False) > patience and \
                    without_decrease(hist, patience, True) > patience:
                lr *= decay
        out.append(lr)
    return out


# ---- loss sequences: falling, then flat with noise, then falling again
def losses_a(n):
    rng = np.random.RandomState(0)
    out = []
    for t in range(n):
        v = 1.0 / (1 + 0.3 * t) if t < 12 else 0.2 + 0.01 * rng.rand() + 0.002 * (t - 12)
        if t >= 30:
            v = 0.15 - 0.004 * (t - 30)
        out.append(float(v))
    return out


def losses_b(n):
    rng = np.random.RandomState(1)
    return [float(2.0 * math.exp(-0.05 * t) + 0.2 * rng.rand()) for t in range(n)]


def losses_max(n):  # an accuracy that rises, then stalls
    return [float(min(0.9, 0.1 * t) + 0.001 * (t % 3)) for t in range(n)]


CASES = [
    ("step(step_size=3, gamma=0.5)", 0.1, 20, lambda o: L.StepLR(o, 3, 0.5)),
    ("step(step_size=1)", 1.0, 10, lambda o: L.StepLR(o, 1)),
    ("step(step_size=7, gamma=0.9)", 0.05, 40, lambda o: L.StepLR(o, 7, 0.9)),
    ("multistep(milestones=[3, 7, 7, 12], gamma=0.3)", 0.2, 20, lambda o: L.MultiStepLR(o, [3, 7, 7, 12], 0.3)),
    ("multistep(milestones=[0, 5])", 1.0, 10, lambda o: L.MultiStepLR(o, [0, 5])),
    ("exponential(gamma=0.95)", 0.1, 50, lambda o: L.ExponentialLR(o, 0.95)),
    ("exponential(gamma=1.01)", 1e-3, 30, lambda o: L.ExponentialLR(o, 1.01)),
    ("cosine(T_max=10)", 0.1, 35, lambda o: L.CosineAnnealingLR(o, 10)),
    ("cosine(T_max=7, eta_min=0.001)", 0.05, 30, lambda o: L.CosineAnnealingLR(o, 7, 0.001)),
    ("cosine(T_max=100, eta_min=1e-5)", 1.0, 101, lambda o: L.CosineAnnealingLR(o, 100, 1e-5)),
    ("cosine_restarts(T_0=5)", 0.1, 30, lambda o: L.CosineAnnealingWarmRestarts(o, 5)),
    ("cosine_restarts(T_0=3, T_mult=2, eta_min=0.01)", 0.1, 40,
     lambda o: L.CosineAnnealingWarmRestarts(o, 3, 2, 0.01)),
    ("linear", 0.1, 10, lambda o: L.LinearLR(o)),
    ("linear(start_factor=0.25, end_factor=0.5, total_iters=8)", 0.3, 15, lambda o: L.LinearLR(o, 0.25, 0.5, 8)),
    ("linear(start_factor=1, end_factor=0.1, total_iters=10)", 0.1, 15, lambda o: L.LinearLR(o, 1.0, 0.1, 10)),
    ("constant", 0.1, 10, lambda o: L.ConstantLR(o)),
    ("constant(factor=0.5, total_iters=3)", 0.2, 8, lambda o: L.ConstantLR(o, 0.5, 3)),
    ("polynomial", 0.1, 10, lambda o: L.PolynomialLR(o)),
    ("polynomial(total_iters=8, power=2)", 0.1, 12, lambda o: L.PolynomialLR(o, 8, 2.0)),
    ("polynomial(total_iters=6, power=0.5)", 0.3, 9, lambda o: L.PolynomialLR(o, 6, 0.5)),
    ("onecycle(max_lr=0.1, total_steps=20)", 0.01, 21,
     lambda o: L.OneCycleLR(o, 0.1, total_steps=20, cycle_momentum=False)),
    ("onecycle(max_lr=1, total_steps=30, pct_start=0.25, anneal_strategy=linear, div_factor=10, "
     "final_div_factor=100)", 0.01, 31,
     lambda o: L.OneCycleLR(o, 1.0, total_steps=30, pct_start=0.25, anneal_strategy="linear",
                            div_factor=10.0, final_div_factor=100.0, cycle_momentum=False)),
    ("onecycle(max_lr=0.5, total_steps=25, three_phase=true)", 0.01, 26,
     lambda o: L.OneCycleLR(o, 0.5, total_steps=25, three_phase=True, cycle_momentum=False)),
    ("onecycle(total_steps=12)", 0.2, 13, lambda o: L.OneCycleLR(o, 0.2, total_steps=12, cycle_momentum=False)),
    ("cyclic(base_lr=0.001, max_lr=0.006, step_size_up=4)", 0.01, 30,
     lambda o: L.CyclicLR(o, 0.001, 0.006, 4, cycle_momentum=False)),
    ("cyclic(base_lr=0.001, max_lr=0.01, step_size_up=3, step_size_down=5, mode=triangular2)", 0.01, 40,
     lambda o: L.CyclicLR(o, 0.001, 0.01, 3, 5, mode="triangular2", cycle_momentum=False)),
    ("cyclic(base_lr=0.01, max_lr=0.1, step_size_up=5, mode=exp_range, gamma=0.99)", 0.01, 40,
     lambda o: L.CyclicLR(o, 0.01, 0.1, 5, mode="exp_range", gamma=0.99, cycle_momentum=False)),
    ("cyclic(max_lr=0.5, step_size_up=3)", 0.1, 20, lambda o: L.CyclicLR(o, 0.1, 0.5, 3, cycle_momentum=False)),
    ("sequential(linear(start_factor=0.1, total_iters=4), cosine(T_max=10), milestones=[4])", 0.1, 20,
     lambda o: L.SequentialLR(o, [L.LinearLR(o, 0.1, total_iters=4), L.CosineAnnealingLR(o, 10)], [4])),
    ("sequential(constant(factor=0.1, total_iters=2), exponential(gamma=0.9), milestones=[2])", 1.0, 10,
     lambda o: L.SequentialLR(o, [L.ConstantLR(o, 0.1, 2), L.ExponentialLR(o, 0.9)], [2])),
    ("sequential(step(step_size=2, gamma=0.5), multistep(milestones=[2, 4]), cosine_restarts(T_0=3), "
     "milestones=[5, 9])", 0.2, 20,
     lambda o: L.SequentialLR(o, [L.StepLR(o, 2, 0.5), L.MultiStepLR(o, [2, 4]),
                                  L.CosineAnnealingWarmRestarts(o, 3)], [5, 9])),
    ("sequential(cosine(T_max=5, eta_min=0.003), polynomial(total_iters=4, power=2), milestones=[6])", 0.07, 14,
     lambda o: L.SequentialLR(o, [L.CosineAnnealingLR(o, 5, 0.003), L.PolynomialLR(o, 4, 2.0)], [6])),
]

# lambda and multiplicative with descent's named functions (lambda.c), written as torch lambdas
def named(fn, warmup=0, factor=1.0):
    w = float(max(warmup, 1))
    if fn == "warmup_linear":
        return lambda t: factor * (t / w if t < w else 1.0)
    if fn == "inverse_sqrt":
        return lambda t: factor * math.sqrt(w / (t if t > w else w))
    return lambda t: factor


CASES += [
    ("lambda(fn=warmup_linear, warmup=5)", 0.1, 12, lambda o: L.LambdaLR(o, named("warmup_linear", 5))),
    ("lambda(fn=inverse_sqrt, warmup=4, factor=2)", 0.01, 20, lambda o: L.LambdaLR(o, named("inverse_sqrt", 4, 2.0))),
    ("lambda(fn=inverse_sqrt)", 0.3, 10, lambda o: L.LambdaLR(o, named("inverse_sqrt"))),
    ("lambda(factor=0.5)", 0.2, 5, lambda o: L.LambdaLR(o, named("constant", 0, 0.5))),
    ("multiplicative(factor=0.9)", 0.1, 20, lambda o: L.MultiplicativeLR(o, named("constant", 0, 0.9))),
    ("multiplicative(fn=inverse_sqrt, warmup=3)", 0.05, 15, lambda o: L.MultiplicativeLR(o, named("inverse_sqrt", 3))),
    ("chained(exponential(gamma=0.9), step(step_size=3, gamma=0.5))", 0.1, 20,
     lambda o: L.ChainedScheduler([L.ExponentialLR(o, 0.9), L.StepLR(o, 3, 0.5)])),
    ("chained(linear(start_factor=0.2, total_iters=4), exponential(gamma=0.95), constant(factor=0.5, total_iters=6))",
     0.3, 15, lambda o: L.ChainedScheduler([L.LinearLR(o, 0.2, total_iters=4), L.ExponentialLR(o, 0.95),
                                           L.ConstantLR(o, 0.5, 6)])),
    ("chained(multistep(milestones=[3, 7], gamma=0.3), polynomial(total_iters=10, power=2), "
     "multiplicative(factor=0.97))", 0.2, 14,
     lambda o: L.ChainedScheduler([L.MultiStepLR(o, [3, 7], 0.3), L.PolynomialLR(o, 10, 2.0),
                                   L.MultiplicativeLR(o, named("constant", 0, 0.97))])),
]

LOSS_CASES = [
    ("plateau", 0.1, 45, losses_a, lambda o: L.ReduceLROnPlateau(o)),
    ("plateau(patience=2, factor=0.5, cooldown=2, min_lr=0.01)", 0.1, 45, losses_a,
     lambda o: L.ReduceLROnPlateau(o, patience=2, factor=0.5, cooldown=2, min_lr=0.01)),
    ("plateau(mode=max, threshold_mode=abs, threshold=0.1, patience=1)", 1.0, 30, losses_max,
     lambda o: L.ReduceLROnPlateau(o, mode="max", threshold_mode="abs", threshold=0.1, patience=1)),
    ("plateau(threshold=0.05, patience=3, factor=0.3, eps=0.01)", 0.05, 60, losses_b,
     lambda o: L.ReduceLROnPlateau(o, threshold=0.05, patience=3, factor=0.3, eps=0.01)),
]


def fmt(values):
    return " ".join(repr(float(v)) for v in values)


def line(spec, base, steps, losses, lrs):
    assert len(lrs) == steps
    ls = ",".join(repr(float(v)) for v in losses[: steps - 1]) if losses else "-"
    print(f"{spec}\t{base!r}\t{steps}\t{ls}\t{fmt(lrs)}")


def main():
    print("# generated by tests/golden/make_schedules.py with torch", torch.__version__, "numpy", np.__version__)
    for spec, base, steps, make in CASES:
        line(spec, base, steps, None, run_torch(make, base, steps))
    for spec, base, steps, gen, make in LOSS_CASES:
        losses = gen(steps)
        line(spec, base, steps, losses, run_torch(make, base, steps, losses))
    line("noam(model_dim=16, warmup_steps=5)", 0.1, 20, None, noam(16, 5, 1, 20))
    line("noam", 0.1, 10, None, noam(512, 4000, 1, 10))
    line("noam(model_dim=64, warmup_steps=3, scale_factor=2)", 0.1, 12, None, noam(64, 3, 2, 12))
    line("exponential_stages(decay=0.5, stage_length=4)", 0.1, 12, None, stages(0.1, 0.5, 4, False, 12))
    line("exponential_stages(staircase=true, stage_length=3)", 0.1, 12, None, stages(0.1, 0.1, 3, True, 12))
    line("exponential_stages", 0.2, 10, None, stages(0.2, 0.1, 500, False, 10))
    la = losses_a(60)
    line("king(patience=5, decay=0.5)", 0.1, 60, la, king(0.1, 5, 0.5, la, 60))
    lb = losses_b(50)
    line("king(patience=3)", 0.1, 50, lb, king(0.1, 3, 0.99, lb, 50))
    lc = [1.0] * 30
    line("king(patience=4, decay=0.9)", 0.2, 30, lc, king(0.2, 4, 0.9, lc, 30))


if __name__ == "__main__":
    sys.exit(main())
