#!/usr/bin/python3
"""rosenbrock.py: the textbook table of SGD, Momentum, RMSProp and Adam on the
Rosenbrock function f(x, y) = (1 - x)^2 + 100 (y - x^2)^2 from (-1.5, 0.5), from Python.

The point and its gradient are two NumPy arrays the optimizer steps in place.

  PYTHONPATH=build/python /usr/bin/python3 examples/python/rosenbrock.py
"""
import numpy as np

import descent

SPECS = [
    ("SGD", "sgd(lr=1e-3)"),
    ("Momentum", "sgd(lr=1e-3, momentum=0.9)"),
    ("RMSProp", "rmsprop(lr=1e-3)"),
    ("Adam", "adam(lr=1e-2)"),
]
STEPS = 5000


def rosenbrock(p, g):
    """f at p, and its gradient written into g."""
    x, y = p
    g[0] = -2 * (1 - x) - 400 * x * (y - x * x)
    g[1] = 200 * (y - x * x)
    return (1 - x) ** 2 + 100 * (y - x * x) ** 2


def main():
    print("%-9s %-28s %10s %10s %12s %10s" % ("method", "spec", "x", "y", "f", "|p - (1,1)|"))
    for name, spec in SPECS:
        p = np.array([-1.5, 0.5])
        g = np.zeros(2)
        opt = descent.Optimizer(spec, [p], [g])
        for _ in range(STEPS):
            rosenbrock(p, g)
            opt.step()
        f = rosenbrock(p, g)
        print("%-9s %-28s %10.6f %10.6f %12.3e %10.3e" % (name, spec, p[0], p[1], f, np.hypot(p[0] - 1, p[1] - 1)))
    print("(%d steps each; the minimum is f = 0 at (1, 1))" % STEPS)


if __name__ == "__main__":
    main()
