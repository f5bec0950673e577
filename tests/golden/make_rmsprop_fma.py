#!/usr/bin/python3
"""make_rmsprop_fma.py: the values of test_optim.c's test_rmsprop_centered_fma, from torch.

One step of centered RMSprop (alpha 0.5, lr 2^-10, gradient 1) from a state where
grad_avg^2 needs rounding and square_avg is that rounded square: every other operation
of the step is exact, so the result depends only on how square_avg - grad_avg^2 is
rounded. torch's addcmul(value=-1) rounds it once (an fma): a small positive variance.
Rounding grad_avg^2 first gives exactly 0, and the step divides by eps alone.

Usage: /usr/bin/python3 tests/golden/make_rmsprop_fma.py
"""
import torch


def case(dtype, ga1):
    """ga1: grad_avg after the step; square_avg after it is fl(ga1^2) (1 = the gradient)."""
    ga1 = torch.tensor(ga1, dtype=dtype)
    v1 = ga1 * ga1  # rounded in dtype
    ga0, v0 = 2 * ga1 - 1, 2 * v1 - 1  # exact: alpha 0.5 and gradient 1 lead to ga1, v1
    p = torch.tensor([0.25], dtype=dtype, requires_grad=True)
    opt = torch.optim.RMSprop([p], lr=2.0 ** -10, alpha=0.5, centered=True)
    p.grad = torch.ones(1, dtype=dtype)
    opt.state[p] = {"step": torch.tensor(1.0), "square_avg": v0.reshape(1).clone(),
                    "grad_avg": ga0.reshape(1).clone()}
    opt.step()
    st = opt.state[p]
    print("%s: grad_avg %s -> %s, square_avg %s -> %s, param 0.25 -> %s" % (
        dtype, ga0.item().hex(), st["grad_avg"].item().hex(), v0.item().hex(),
        st["square_avg"].item().hex(), p.item().hex()))


case(torch.float32, 1 + 2.0 ** -12 + 2.0 ** -23)
case(torch.float64, 1.25 + 2.0 ** -52)
