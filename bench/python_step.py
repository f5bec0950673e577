#!/usr/bin/python3
"""python_step.py: descent from Python against torch.optim and a NumPy-written Adam.

Side by side in one run, every figure the median over --rounds rounds of the median of
--reps timed steps (after two warm-up steps), f32, --threads threads for both:

  descent.torch.Adam vs torch.optim.Adam (single-tensor and foreach), 50M parameters in
  one tensor and 100 tensors of 100k; the C figure of `descent bench` for the same step
  descent.Optimizer("adam") over NumPy arrays vs an Adam written in NumPy, as the
  NumPy libraries write it (numpy-ml, NeuroScope)
  the per-call overhead: a step of descent.torch.Adam and descent.Optimizer over 1 and
  100 one-element tensors

  /usr/bin/python3 bench/python_step.py --descent build/descent   (PYTHONPATH=build/python)
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np
import torch

import descent
import descent.torch as dt


def timed(step, reps):
    """Median seconds of reps calls of step after two warm-up calls."""
    step()
    step()
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        step()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def torch_case(cls, n, k, reps, **kw):
    g = torch.Generator().manual_seed(0)
    ps = [torch.nn.Parameter(torch.randn(n // k, generator=g)) for _ in range(k)]
    for p in ps:
        p.grad = torch.randn(n // k, generator=g) * 1e-3
    opt = cls(ps, lr=1e-3, **kw)
    return timed(opt.step, reps)


def numpy_adam(params, grads, lr=1e-3, b1=0.9, b2=0.999, eps=1e-8):
    """Adam as the NumPy libraries write it: whole-array expressions, a temporary each."""
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    t = [0]

    def step():
        t[0] += 1
        for p, g, mi, vi in zip(params, grads, m, v):
            mi[:] = b1 * mi + (1 - b1) * g
            vi[:] = b2 * vi + (1 - b2) * g ** 2
            m_hat = mi / (1 - b1 ** t[0])
            v_hat = vi / (1 - b2 ** t[0])
            p -= lr * m_hat / (np.sqrt(v_hat) + eps)
    return step


def numpy_case(n, k, reps, ours):
    rng = np.random.default_rng(0)
    ps = [rng.standard_normal(n // k, dtype=np.float32) for _ in range(k)]
    gs = [rng.standard_normal(n // k, dtype=np.float32) * 1e-3 for _ in range(k)]
    if ours:
        opt = descent.Optimizer("adam(lr=1e-3, nonfinite=ignore)", ps, gs)
        opt.threads = torch.get_num_threads()
        return timed(opt.step, reps)
    return timed(numpy_adam(ps, gs), reps)


def c_bench(exe, n, k, threads, reps):
    out = subprocess.run([exe, "bench", "--optimizer", "adam(nonfinite=ignore)", "--params", str(n),
                          "--tensors", str(k), "--threads", str(threads), "--reps", str(reps), "--json"],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)["ns_per_param"] * 1e-9 * n


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--params", type=int, default=50_000_000)
    ap.add_argument("--numpy-params", type=int, default=10_000_000)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--descent", default="build/descent", help="the descent command, for the C figure")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    os.environ.setdefault("OMP_NUM_THREADS", str(a.threads))

    cases = []  # (row, function of nothing -> seconds per step, parameters)
    for n, k, label in ((a.params, 1, "%dM in 1 tensor" % (a.params // 10**6)), (100 * 100_000, 100, "100 x 100k")):
        cases += [
            ("Adam, %s: descent.torch.Adam" % label, lambda n=n, k=k: torch_case(dt.Adam, n, k, a.reps), n),
            ("Adam, %s: torch.optim.Adam" % label,
             lambda n=n, k=k: torch_case(torch.optim.Adam, n, k, a.reps, foreach=False), n),
            ("Adam, %s: torch.optim.Adam foreach" % label,
             lambda n=n, k=k: torch_case(torch.optim.Adam, n, k, a.reps, foreach=True), n),
        ]
        if os.access(a.descent, os.X_OK):
            cases.append(("Adam, %s: C descent bench" % label, lambda n=n, k=k: c_bench(a.descent, n, k, a.threads,
                                                                                       a.reps), n))
    m = a.numpy_params
    cases += [
        ("Adam, %dM NumPy arrays: descent.Optimizer" % (m // 10**6), lambda: numpy_case(m, 1, a.reps, True), m),
        ("Adam, %dM NumPy arrays: Adam written in NumPy" % (m // 10**6), lambda: numpy_case(m, 1, a.reps, False), m),
        ("overhead, 1 tensor of 1: descent.torch.Adam", lambda: torch_case(dt.Adam, 1, 1, 200), 0),
        ("overhead, 100 tensors of 1: descent.torch.Adam", lambda: torch_case(dt.Adam, 100, 100, 200), 0),
        ("overhead, 1 tensor of 1: descent.Optimizer", lambda: numpy_case(1, 1, 200, True), 0),
        ("overhead, 100 tensors of 1: descent.Optimizer", lambda: numpy_case(100, 100, 200, True), 0),
        ("overhead, 1 tensor of 1: torch.optim.Adam", lambda: torch_case(torch.optim.Adam, 1, 1, 200), 0),
    ]
    results = {row: [] for row, _, _ in cases}
    for k in range(a.rounds):  # rounds interleave the cases, so load hits them alike
        for row, fn, _ in cases:
            results[row].append(fn())
            print("round %d: %s: %.6f s" % (k + 1, row, results[row][-1]), file=sys.stderr, flush=True)
    print("| case | per step | ns/param | [min..max] per step |")
    print("|---|---|---|---|")
    for row, _, n in cases:
        r = results[row]
        scale, unit = (1e3, "ms") if n else (1e6, "us")
        nsp = "%.3f" % (statistics.median(r) * 1e9 / n) if n else "-"
        print("| %s | %.3f %s | %s | [%.3f..%.3f] |" % (row, statistics.median(r) * scale, unit, nsp,
                                                         min(r) * scale, max(r) * scale))


if __name__ == "__main__":
    main()
