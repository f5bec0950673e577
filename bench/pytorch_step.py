#!/usr/bin/python3
"""pytorch_step.py: times torch.optim's step the way `descent bench` times descent's.

K tensors totalling N parameters, gradients set once, two warm-up steps, then the
median of R timed steps. Prints ns/param (or one JSON object with --json).

  /usr/bin/python3 bench/pytorch_step.py --optimizer adam --params 50000000 --threads 2
"""
import argparse
import json
import statistics
import sys
import time

import torch

# descent's kind names -> torch.optim classes and descent's default hyperparameters
OPTIMIZERS = {
    "sgd": (torch.optim.SGD, {"lr": 1e-3}),
    "sgdm": (torch.optim.SGD, {"lr": 1e-3, "momentum": 0.9}),
    "adagrad": (torch.optim.Adagrad, {}),
    "rmsprop": (torch.optim.RMSprop, {}),
    "adadelta": (torch.optim.Adadelta, {}),
    "adam": (torch.optim.Adam, {}),
    "amsgrad": (torch.optim.Adam, {"amsgrad": True}),
    "adamw": (torch.optim.AdamW, {}),
    "adamax": (torch.optim.Adamax, {}),
    "nadam": (torch.optim.NAdam, {}),
    "radam": (torch.optim.RAdam, {}),
}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--optimizer", required=True, choices=sorted(OPTIMIZERS))
    ap.add_argument("--params", type=int, default=10_000_000)
    ap.add_argument("--tensors", type=int, default=1)
    ap.add_argument("--dtype", choices=["f32", "f64"], default="f32")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--foreach", action="store_true", help="torch's multi-tensor implementation")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    if a.params < 1 or not 1 <= a.tensors <= a.params or a.reps < 1 or a.threads < 1:
        sys.exit("pytorch_step.py: need params >= 1, 1 <= tensors <= params, reps >= 1, threads >= 1")
    torch.set_num_threads(a.threads)
    dtype = torch.float32 if a.dtype == "f32" else torch.float64
    gen = torch.Generator().manual_seed(1)
    params = []
    for i in range(a.tensors):
        n = a.params // a.tensors + (i < a.params % a.tensors)
        p = torch.rand(n, dtype=dtype, generator=gen) - 0.5
        p.grad = (torch.rand(n, dtype=dtype, generator=gen) - 0.5) * 1e-3
        params.append(p)
    cls, kw = OPTIMIZERS[a.optimizer]
    opt = cls(params, foreach=a.foreach, **kw)
    with torch.no_grad():
        for _ in range(2):
            opt.step()
        times = []
        for _ in range(a.reps):
            t0 = time.perf_counter()
            opt.step()
            times.append((time.perf_counter() - t0) * 1e9 / a.params)
    out = {"optimizer": a.optimizer, "torch": torch.__version__, "params": a.params,
           "tensors": a.tensors, "dtype": a.dtype, "threads": a.threads, "foreach": a.foreach,
           "ns_per_param": statistics.median(times), "min_ns_per_param": min(times)}
    if a.json:
        print(json.dumps(out))
    else:
        print(f"torch {torch.__version__} {a.optimizer}: {out['ns_per_param']:.3f} ns/param "
              f"(median of {a.reps}, fastest {out['min_ns_per_param']:.3f})")


if __name__ == "__main__":
    main()
