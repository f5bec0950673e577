#!/usr/bin/python3
"""Golden L-BFGS trajectories from torch.optim.LBFGS in float64, for tests/test_lbfgs.c.

Each case runs torch's step(closure) several times on one problem and prints, after
every step, the loss the step returned, the parameters (all tensors, flat, in order)
and torch's counters state['n_iter'] and state['func_evals']:

    case <name> <problem> <descent spec>
    tensors <n1> <n2> ...            sizes of the parameter tensors
    start <x...>                     the start point
    step <k> <loss> <n_iter> <func_evals> <x...>

Numbers are hex floats (float.hex), read back exactly by strtod. The closures compute
loss and gradient in plain Python floats with the same operations, in the same order,
as descent's problems (src/problems/rosenbrock.c, beale.c) and tests/test_lbfgs.c's
logistic regression, so the two sides differ only in the optimizer's own arithmetic.
Run: /usr/bin/python3 tests/golden/make_lbfgs.py > tests/golden/lbfgs.txt
"""
import math

import torch

# the logistic regression's data: 8 rows of 2 features, labels 0/1, not separable
LOGREG_X = [(0.5, -1.25), (1.5, 0.75), (-0.5, 0.25), (2.0, -0.5),
            (-1.5, -1.0), (0.25, 1.5), (-2.0, 0.5), (1.0, 1.0)]
LOGREG_Y = [1.0, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0, 1.0]


def rosenbrock(x):
    """src/problems/rosenbrock.c, 2-D."""
    a = x[1] - x[0] * x[0]
    b = 1.0 - x[0]
    f = 0.0 + (100.0 * a * a + b * b)
    g0 = 0.0 + (-400.0 * x[0] * a - 2.0 * b)
    g1 = 0.0 + 200.0 * a
    return f, [g0, g1]


def beale(p):
    """src/problems/beale.c."""
    x, y = p
    a = 1.5 - x + x * y
    b = 2.25 - x + x * y * y
    c = 2.625 - x + x * y * y * y
    g0 = 2 * a * (y - 1) + 2 * b * (y * y - 1) + 2 * c * (y * y * y - 1)
    g1 = 2 * a * x + 4 * b * x * y + 6 * c * x * y * y
    return a * a + b * b + c * c, [g0, g1]


def logreg(p):
    """Mean softplus(z) - y z over the rows, z = x.w + b (p = w0, w1, b): the
    formula of src/problems/logreg.c, which tests/test_lbfgs.c repeats."""
    n = len(LOGREG_Y)
    inv = 1.0 / n
    f, g = 0.0, [0.0, 0.0, 0.0]
    for row, y in zip(LOGREG_X, LOGREG_Y):
        z = p[2]
        z += row[0] * p[0]
        z += row[1] * p[1]
        e = math.exp(-(z if z > 0 else -z))
        f += (z if z > 0 else 0.0) + math.log1p(e) - y * z
        r = (1.0 / (1 + e) if z > 0 else e / (1 + e)) - y
        g[0] += r * row[0] * inv
        g[1] += r * row[1] * inv
        g[2] += r * inv
    return f * inv, g


PROBLEMS = {
    "rosenbrock": (rosenbrock, [[-1.5, 0.5]]),
    "beale": (beale, [[1.0, 1.0]]),
    # two tensors, w and b: the flat view over several tensors
    "logreg": (logreg, [[0.0, 0.0], [0.0]]),
}

# name, problem, descent spec, torch arguments, steps
CASES = [
    ("rosen_none", "rosenbrock", "lbfgs(lr=0.1)", dict(lr=0.1), 6),
    ("rosen_wolfe", "rosenbrock", "lbfgs(line_search_fn=strong_wolfe)",
     dict(line_search_fn="strong_wolfe"), 4),
    ("rosen_wolfe_short", "rosenbrock", "lbfgs(max_iter=4, history_size=3, line_search_fn=strong_wolfe)",
     dict(max_iter=4, history_size=3, line_search_fn="strong_wolfe"), 8),
    ("rosen_eval", "rosenbrock", "lbfgs(max_iter=10, max_eval=12, line_search_fn=strong_wolfe)",
     dict(max_iter=10, max_eval=12, line_search_fn="strong_wolfe"), 3),
    ("beale_none", "beale", "lbfgs(lr=0.5, max_iter=5, history_size=4)",
     dict(lr=0.5, max_iter=5, history_size=4), 6),
    ("beale_wolfe", "beale", "lbfgs(line_search_fn=strong_wolfe)", dict(line_search_fn="strong_wolfe"), 3),
    ("logreg_none", "logreg", "lbfgs(max_iter=3)", dict(max_iter=3), 6),
    ("logreg_wolfe", "logreg", "lbfgs(max_iter=5, line_search_fn=strong_wolfe)",
     dict(max_iter=5, line_search_fn="strong_wolfe"), 4),
]


def hexes(values):
    return " ".join(float(v).hex() for v in values)


def run(name, problem, spec, kwargs, steps):
    fn, start = PROBLEMS[problem]
    params = [torch.tensor(s, dtype=torch.float64, requires_grad=True) for s in start]
    opt = torch.optim.LBFGS(params, **kwargs)

    def closure():
        flat = [v for p in params for v in p.detach().tolist()]
        f, g = fn(flat)
        at = 0
        for p in params:
            p.grad = torch.tensor(g[at:at + p.numel()], dtype=torch.float64)
            at += p.numel()
        return torch.tensor(f, dtype=torch.float64)

    print(f"case {name} {problem} {spec}")
    print("tensors " + " ".join(str(p.numel()) for p in params))
    print("start " + hexes(v for p in params for v in p.detach().tolist()))
    for k in range(1, steps + 1):
        loss = float(opt.step(closure))
        state = opt.state[params[0]]
        x = [v for p in params for v in p.detach().tolist()]
        print(f"step {k} {loss.hex()} {state['n_iter']} {state['func_evals']} {hexes(x)}")


def main():
    print("# golden L-BFGS trajectories for tests/test_lbfgs.c, made by tests/golden/make_lbfgs.py")
    print("# with torch", torch.__version__, "in float64; regenerate with:")
    print("# /usr/bin/python3 tests/golden/make_lbfgs.py > tests/golden/lbfgs.txt")
    for case in CASES:
        run(*case)


if __name__ == "__main__":
    main()
