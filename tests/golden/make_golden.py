#!/usr/bin/python3
"""make_golden.py: golden vectors from PyTorch for tests/test_golden.c.

Runs every optimizer of descent, under several settings, for STEPS steps on three
small tensors in float32 and float64 with torch, and writes the parameters and the
optimizer's state buffers at a few checkpoints into tests/golden/<kind>.txt. The C
test replays each case with descent (same spec, same gradients) and compares.

Usage (from the repository root, needs Debian's python3-torch):
    /usr/bin/python3 tests/golden/make_golden.py [output-dir]

The gradient of tensor j at each step is noise + 0.5*theta, computed in the tensor's
dtype: the noise comes from a 64-bit LCG (top 53 bits -> a double in [-0.5, 0.5),
times `scale`, rounded to the dtype) that C reproduces bit for bit, and the
theta-dependent term makes the trajectory depend on the update itself.

Where torch has no such rule, the script writes it in torch ops:
  - NAdam: PyTorch 2.x's rule. torch 1.13 computes mu_product_next as
    mu_product * mu * mu_next (mu twice, fixed in 2.0); descent follows 2.x. 2.x
    updates exp_avg with lerp_, 1.13 with mul_/add_ (kept here): rounding only.
    mu_product is a 0-dim tensor of the default dtype, as in 2.x, so f32 cases
    round it to float where descent keeps a double (under 1e-7 relative).
  - AdaBelief: the authors' adabelief-pytorch 0.2 rule with rectify=False and
    fixed_decay=False (the package defaults to rectify=True, an RAdam-style
    rectification that descent does not implement). Like the authors, eps is
    added into the stored exp_avg_var and again to the denominator.
  - descent-only options: l1 (torch gets g + l1*sign(theta)), maximize for
    nadam/radam/adabelief (torch gets -g), decoupled decay for sgd/nadam/radam
    (theta *= 1 - lr*wd before a torch step with weight_decay 0), and sgd's
    lr_in_buffer (v = mu*v - lr*g; theta += v, Nesterov theta += mu*v - lr*g).
  - clipping: torch.nn.utils.clip_grad_norm_ (tensor by tensor for
    clip_per_tensor), then clip_grad_value_, on the gradients before the step.

File format (whitespace-separated tokens; every number is float.hex of the value):
    case NAME DTYPE              start of a case (DTYPE f32 or f64)
    spec SPEC                    descent's optimizer spec (no spaces)
    steps N  scale X
    tensor NAME N GROUP FLAGS SEED   FLAGS 1 = DSC_NO_DECAY; SEED of the noise LCG
    init NAME v...               the initial values
    group G KEYS                 dsc_optim_set_group_spec(opt, G, KEYS) after create
    setlr STEP G LR              dsc_optim_set_lr(opt, G, LR) after step STEP
    check STEP                   the values after STEP steps follow:
    param NAME v...   state NAME BUFFER v...
    end
"""
import math
import os
import sys

import torch

STEPS = 200
CHECKS = (1, 2, 10, 100, 200)
SCALE = 1.0
MASK = (1 << 64) - 1
NO_DECAY = 1
# name, size, descent group, flags, noise seed
SINGLE = (("a", 1, 0, 0, 11), ("b", 7, 0, 0, 12), ("c", 19, 0, 0, 13))
# two groups: a is DSC_NO_DECAY in group 0, c has its own lr in group 1
GROUPED = (("a", 1, 0, NO_DECAY, 11), ("b", 7, 0, 0, 12), ("c", 19, 1, 0, 13))
STATE_NAMES = ("momentum_buffer", "sum", "square_avg", "grad_avg", "acc_delta", "exp_avg",
               "exp_avg_sq", "max_exp_avg_sq", "exp_inf", "exp_avg_var", "max_exp_avg_var",
               "prev", "step_size", "ax")


class Lcg:
    """Knuth's MMIX LCG; the top 53 bits give k * 2^-53 - 0.5, exact in a double."""

    def __init__(self, seed):
        self.x = seed & MASK

    def next(self):
        self.x = (self.x * 6364136223846793005 + 1442695040888963407) & MASK
        return (self.x >> 11) * 2.0 ** -53 - 0.5


# ---------------------------------------------------------------- rules torch lacks

class NAdam2(torch.optim.Optimizer):
    """torch.optim.NAdam of PyTorch 2.x (single-tensor path, not capturable)."""

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                 momentum_decay=4e-3):
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                                      momentum_decay=momentum_decay))

    @torch.no_grad()
    def step(self):
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            lr, wd, md, eps = group["lr"], group["weight_decay"], group["momentum_decay"], group["eps"]
            for p in group["params"]:
                st = self.state[p]
                if not st:
                    st["step"] = torch.tensor(0.0)
                    st["mu_product"] = torch.tensor(1.0)
                    st["exp_avg"] = torch.zeros_like(p)
                    st["exp_avg_sq"] = torch.zeros_like(p)
                grad = p.grad
                st["step"] += 1
                step = st["step"].item()
                bias_correction2 = 1 - beta2 ** step
                if wd != 0:
                    grad = grad.add(p, alpha=wd)
                mu = beta1 * (1.0 - 0.5 * (0.96 ** (step * md)))
                mu_next = beta1 * (1.0 - 0.5 * (0.96 ** ((step + 1) * md)))
                st["mu_product"] *= mu
                st["exp_avg"].mul_(beta1).add_(grad, alpha=1 - beta1)
                st["exp_avg_sq"].mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
                denom = st["exp_avg_sq"].div(bias_correction2).sqrt().add_(eps)
                mu_product = st["mu_product"].item()
                mu_product_next = mu_product * mu_next  # 1.13 multiplies mu in again here
                p.addcdiv_(grad, denom, value=-lr * (1.0 - mu) / (1.0 - mu_product))
                p.addcdiv_(st["exp_avg"], denom, value=-lr * mu_next / (1.0 - mu_product_next))


class AdaBelief(torch.optim.Optimizer):
    """adabelief-pytorch 0.2 (Zhuang et al.), rectify=False, fixed_decay=False."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-16, weight_decay=0.0,
                 amsgrad=False, weight_decouple=True):
        self.weight_decouple = weight_decouple
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                                      amsgrad=amsgrad))

    @torch.no_grad()
    def step(self):
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            lr, wd, eps = group["lr"], group["weight_decay"], group["eps"]
            for p in group["params"]:
                st = self.state[p]
                if not st:
                    st["step"] = 0
                    st["exp_avg"] = torch.zeros_like(p)
                    st["exp_avg_var"] = torch.zeros_like(p)
                    if group["amsgrad"]:
                        st["max_exp_avg_var"] = torch.zeros_like(p)
                grad = p.grad
                if self.weight_decouple:
                    p.mul_(1.0 - lr * wd)
                elif wd != 0:
                    grad = grad.add(p, alpha=wd)
                st["step"] += 1
                bias_correction1 = 1 - beta1 ** st["step"]
                bias_correction2 = 1 - beta2 ** st["step"]
                m, s = st["exp_avg"], st["exp_avg_var"]
                m.mul_(beta1).add_(grad, alpha=1 - beta1)
                residual = grad - m
                s.mul_(beta2).addcmul_(residual, residual, value=1 - beta2)
                s.add_(eps)  # the authors add eps into the stored variance
                if group["amsgrad"]:
                    torch.max(st["max_exp_avg_var"], s, out=st["max_exp_avg_var"])
                    s = st["max_exp_avg_var"]
                denom = (s.sqrt() / math.sqrt(bias_correction2)).add_(eps)
                p.addcdiv_(m, denom, value=-lr / bias_correction1)


class SgdInBuffer(torch.optim.Optimizer):
    """descent's sgd lr_in_buffer: v = mu*v - lr*g; theta += v (Nesterov: mu*v - lr*g)."""

    def __init__(self, params, lr=1e-3, momentum=0.0, nesterov=False, weight_decay=0.0):
        super().__init__(params, dict(lr=lr, momentum=momentum, nesterov=nesterov,
                                      weight_decay=weight_decay))

    @torch.no_grad()
    def step(self):
        for group in self.param_groups:
            lr, mu, wd = group["lr"], group["momentum"], group["weight_decay"]
            for p in group["params"]:
                st = self.state[p]
                if not st:
                    st["momentum_buffer"] = torch.zeros_like(p)
                grad = p.grad if wd == 0 else p.grad.add(p, alpha=wd)
                v = st["momentum_buffer"]
                v.mul_(mu).sub_(grad * lr)
                if group["nesterov"]:
                    p.add_(v * mu - grad * lr)
                else:
                    p.add_(v)


# ---------------------------------------------------------------- cases

class Case:
    """One run: descent's spec, the torch optimizer that defines it, and emulations."""

    def __init__(self, name, spec, make, layout=SINGLE, group1="", l1=0.0, negate=False,
                 decoupled=0.0, setlr=None, clip=None, clip_value=0.0):
        self.name, self.spec, self.make, self.layout = name, spec, make, layout
        self.group1 = group1      # descent keys of group 1 (GROUPED layout)
        self.l1 = l1              # emulated l1
        self.negate = negate      # emulated maximize
        self.decoupled = decoupled  # emulated decoupled weight decay
        self.setlr = setlr        # (after step, new lr of group 0)
        self.clip = clip          # (max_norm, norm_type, per tensor): clip_grad_norm_
        self.clip_value = clip_value  # clip_grad_value_ (after the norm, as descent)


def group_keys(keys):
    """descent's group keys ("lr=0.02,momentum=0.9,amsgrad=true") as a torch group's."""
    out = {}
    for item in keys.split(",") if keys else []:
        key, value = item.split("=")
        out[key] = {"true": True, "false": False}.get(value, None)
        if out[key] is None:
            out[key] = float(value)
    return out


def torch_groups(tensors, layout, group1):
    """torch param_groups for the layout: the DSC_NO_DECAY tensor gets weight_decay 0,
    descent's group 1 its own keys (lr, and momentum, amsgrad or centered where the
    groups differ in their state buffers)."""
    if layout is SINGLE:
        return [{"params": list(tensors)}]
    a, b, c = tensors
    return [{"params": [b]}, {"params": [a], "weight_decay": 0.0}, dict({"params": [c]}, **group_keys(group1))]


def cases():
    """Every case: (kind file, Case)."""
    S, A, RM, AD = torch.optim.SGD, torch.optim.Adagrad, torch.optim.RMSprop, torch.optim.Adadelta
    out = []

    def add(kind, *args, **kw):
        out.append((kind, Case(*args, **kw)))

    # -- sgd
    add("sgd", "default", "sgd(lr=0.05)", lambda g: S(g, lr=0.05))
    add("sgd", "momentum", "sgd(lr=0.05,momentum=0.9)", lambda g: S(g, lr=0.05, momentum=0.9))
    add("sgd", "dampening", "sgd(lr=0.05,momentum=0.9,dampening=0.3)",
        lambda g: S(g, lr=0.05, momentum=0.9, dampening=0.3))
    add("sgd", "nesterov", "sgd(lr=0.05,momentum=0.9,nesterov=true)",
        lambda g: S(g, lr=0.05, momentum=0.9, nesterov=True))
    add("sgd", "weight_decay", "sgd(lr=0.05,momentum=0.9,weight_decay=0.1)",
        lambda g: S(g, lr=0.05, momentum=0.9, weight_decay=0.1))
    add("sgd", "maximize", "sgd(lr=0.01,momentum=0.5,maximize=true)",
        lambda g: S(g, lr=0.01, momentum=0.5, maximize=True))
    add("sgd", "l1", "sgd(lr=0.05,momentum=0.9,l1=0.02)", lambda g: S(g, lr=0.05, momentum=0.9), l1=0.02)
    add("sgd", "decoupled", "sgd(lr=0.05,momentum=0.9,weight_decay=0.2,decoupled_weight_decay=true)",
        lambda g: S(g, lr=0.05, momentum=0.9), decoupled=0.2)
    add("sgd", "set_lr", "sgd(lr=0.05,momentum=0.9)", lambda g: S(g, lr=0.05, momentum=0.9),
        setlr=(100, 0.01))
    add("sgd", "lr_in_buffer", "sgd(lr=0.05,momentum=0.9,lr_in_buffer=true)",
        lambda g: SgdInBuffer(g, lr=0.05, momentum=0.9))
    add("sgd", "lr_in_buffer_nesterov", "sgd(lr=0.05,momentum=0.9,nesterov=true,lr_in_buffer=true)",
        lambda g: SgdInBuffer(g, lr=0.05, momentum=0.9, nesterov=True))
    add("sgd", "lr_in_buffer_set_lr", "sgd(lr=0.05,momentum=0.9,lr_in_buffer=true)",
        lambda g: SgdInBuffer(g, lr=0.05, momentum=0.9), setlr=(100, 0.01))
    add("sgd", "clip_norm_inf", "sgd(lr=0.05,momentum=0.9,clip_norm=0.2,clip_norm_type=inf)",
        lambda g: S(g, lr=0.05, momentum=0.9), clip=(0.2, math.inf, False))
    add("sgd", "clip_value", "sgd(lr=0.05,momentum=0.9,clip_value=0.1)",
        lambda g: S(g, lr=0.05, momentum=0.9), clip_value=0.1)
    add("sgd", "groups", "sgd(lr=0.05,momentum=0.9,weight_decay=0.1)",
        lambda g: S(g, lr=0.05, momentum=0.9, weight_decay=0.1), layout=GROUPED, group1="lr=0.02")
    # groups that differ in their state buffers: momentum on one group only, or off in one
    add("sgd", "groups_momentum", "sgd(lr=0.05,weight_decay=0.1)", lambda g: S(g, lr=0.05, weight_decay=0.1),
        layout=GROUPED, group1="lr=0.02,momentum=0.9,dampening=0.3")
    add("sgd", "groups_no_momentum", "sgd(lr=0.05,momentum=0.9,nesterov=true)",
        lambda g: S(g, lr=0.05, momentum=0.9, nesterov=True), layout=GROUPED,
        group1="lr=0.02,momentum=0,nesterov=false")
    # -- adagrad
    add("adagrad", "default", "adagrad", lambda g: A(g))
    add("adagrad", "lr_decay", "adagrad(lr=0.05,lr_decay=0.01)", lambda g: A(g, lr=0.05, lr_decay=0.01))
    add("adagrad", "initial_accumulator_value", "adagrad(lr=0.05,initial_accumulator_value=0.1)",
        lambda g: A(g, lr=0.05, initial_accumulator_value=0.1))
    add("adagrad", "weight_decay", "adagrad(lr=0.05,weight_decay=0.1)",
        lambda g: A(g, lr=0.05, weight_decay=0.1))
    add("adagrad", "maximize", "adagrad(lr=0.05,maximize=true)", lambda g: A(g, lr=0.05, maximize=True))
    add("adagrad", "l1", "adagrad(lr=0.05,l1=0.05)", lambda g: A(g, lr=0.05), l1=0.05)
    add("adagrad", "set_lr", "adagrad(lr=0.05,lr_decay=0.01)", lambda g: A(g, lr=0.05, lr_decay=0.01),
        setlr=(100, 0.2))
    add("adagrad", "groups", "adagrad(lr=0.05,weight_decay=0.1)", lambda g: A(g, lr=0.05, weight_decay=0.1),
        layout=GROUPED, group1="lr=0.1")
    # torch fills every group's sum from the constructor's value, whatever the group's
    add("adagrad", "group_initial_accumulator", "adagrad(lr=0.05,initial_accumulator_value=0.1)",
        lambda g: A(g, lr=0.05, initial_accumulator_value=0.1), layout=GROUPED,
        group1="lr=0.1,initial_accumulator_value=0.5")
    # -- rmsprop
    add("rmsprop", "default", "rmsprop", lambda g: RM(g))
    add("rmsprop", "momentum", "rmsprop(momentum=0.9)", lambda g: RM(g, momentum=0.9))
    add("rmsprop", "centered", "rmsprop(centered=true)", lambda g: RM(g, centered=True))
    add("rmsprop", "centered_momentum", "rmsprop(lr=0.005,alpha=0.9,momentum=0.8,centered=true)",
        lambda g: RM(g, lr=0.005, alpha=0.9, momentum=0.8, centered=True))
    add("rmsprop", "weight_decay", "rmsprop(weight_decay=0.1)", lambda g: RM(g, weight_decay=0.1))
    add("rmsprop", "maximize", "rmsprop(maximize=true)", lambda g: RM(g, maximize=True))
    add("rmsprop", "clip_norm_1", "rmsprop(clip_norm=1,clip_norm_type=1)", lambda g: RM(g),
        clip=(1.0, 1.0, False))
    add("rmsprop", "groups", "rmsprop(momentum=0.5,weight_decay=0.1)",
        lambda g: RM(g, momentum=0.5, weight_decay=0.1), layout=GROUPED, group1="lr=0.003")
    add("rmsprop", "groups_centered", "rmsprop(momentum=0.5,weight_decay=0.1)",
        lambda g: RM(g, momentum=0.5, weight_decay=0.1), layout=GROUPED, group1="lr=0.003,centered=true")
    add("rmsprop", "groups_momentum_not_centered", "rmsprop(centered=true)", lambda g: RM(g, centered=True),
        layout=GROUPED, group1="lr=0.003,momentum=0.9,centered=false")
    # -- adadelta
    add("adadelta", "default", "adadelta", lambda g: AD(g))
    add("adadelta", "rho", "adadelta(rho=0.95,eps=1e-5)", lambda g: AD(g, rho=0.95, eps=1e-5))
    add("adadelta", "weight_decay", "adadelta(weight_decay=0.1)", lambda g: AD(g, weight_decay=0.1))
    add("adadelta", "maximize", "adadelta(maximize=true)", lambda g: AD(g, maximize=True))
    add("adadelta", "groups", "adadelta(weight_decay=0.1)", lambda g: AD(g, weight_decay=0.1),
        layout=GROUPED, group1="lr=0.5")
    # -- adam, adamw
    Ad, AW = torch.optim.Adam, torch.optim.AdamW
    add("adam", "default", "adam", lambda g: Ad(g))
    add("adam", "amsgrad", "adam(lr=0.01,amsgrad=true)", lambda g: Ad(g, lr=0.01, amsgrad=True))
    add("adam", "weight_decay", "adam(lr=0.01,weight_decay=0.1)", lambda g: Ad(g, lr=0.01, weight_decay=0.1))
    add("adam", "maximize", "adam(lr=0.01,betas=(0.8,0.99),maximize=true)",
        lambda g: Ad(g, lr=0.01, betas=(0.8, 0.99), maximize=True))
    add("adam", "l1", "adam(lr=0.01,l1=0.05)", lambda g: Ad(g, lr=0.01), l1=0.05)
    add("adam", "set_lr", "adam(lr=0.01)", lambda g: Ad(g, lr=0.01), setlr=(100, 0.002))
    add("adam", "clip_norm", "adam(lr=0.01,clip_norm=0.5)", lambda g: Ad(g, lr=0.01), clip=(0.5, 2.0, False))
    add("adam", "clip_per_tensor", "adam(lr=0.01,clip_norm=0.3,clip_per_tensor=true)", lambda g: Ad(g, lr=0.01),
        clip=(0.3, 2.0, True))
    add("adam", "groups", "adam(lr=0.01,weight_decay=0.1)", lambda g: Ad(g, lr=0.01, weight_decay=0.1),
        layout=GROUPED, group1="lr=0.003")
    add("adam", "groups_amsgrad", "adam(lr=0.01,weight_decay=0.1)", lambda g: Ad(g, lr=0.01, weight_decay=0.1),
        layout=GROUPED, group1="lr=0.003,amsgrad=true")
    add("adamw", "default", "adamw", lambda g: AW(g))
    add("adamw", "amsgrad", "adamw(lr=0.01,weight_decay=0.1,amsgrad=true)",
        lambda g: AW(g, lr=0.01, weight_decay=0.1, amsgrad=True))
    add("adamw", "groups", "adamw(lr=0.01,weight_decay=0.1)", lambda g: AW(g, lr=0.01, weight_decay=0.1),
        layout=GROUPED, group1="lr=0.003")
    add("adamw", "groups_amsgrad_off", "adamw(lr=0.01,weight_decay=0.1,amsgrad=true)",
        lambda g: AW(g, lr=0.01, weight_decay=0.1, amsgrad=True), layout=GROUPED, group1="lr=0.003,amsgrad=false")
    # -- adamax
    X = torch.optim.Adamax
    add("adamax", "default", "adamax", lambda g: X(g))
    add("adamax", "weight_decay", "adamax(lr=0.01,weight_decay=0.1)", lambda g: X(g, lr=0.01, weight_decay=0.1))
    add("adamax", "maximize", "adamax(lr=0.01,maximize=true)", lambda g: X(g, lr=0.01, maximize=True))
    add("adamax", "groups", "adamax(lr=0.01,weight_decay=0.1)", lambda g: X(g, lr=0.01, weight_decay=0.1),
        layout=GROUPED, group1="lr=0.004")
    # -- nadam (2.x rule)
    add("nadam", "default", "nadam", lambda g: NAdam2(g))
    add("nadam", "momentum_decay", "nadam(lr=0.01,momentum_decay=0.01)",
        lambda g: NAdam2(g, lr=0.01, momentum_decay=0.01))
    add("nadam", "weight_decay", "nadam(lr=0.01,weight_decay=0.1)", lambda g: NAdam2(g, lr=0.01, weight_decay=0.1))
    add("nadam", "maximize", "nadam(lr=0.01,maximize=true)", lambda g: NAdam2(g, lr=0.01), negate=True)
    add("nadam", "decoupled", "nadam(lr=0.01,weight_decay=0.1,decoupled_weight_decay=true)",
        lambda g: NAdam2(g, lr=0.01), decoupled=0.1)
    add("nadam", "l1", "nadam(lr=0.01,l1=0.05)", lambda g: NAdam2(g, lr=0.01), l1=0.05)
    add("nadam", "groups", "nadam(lr=0.01,weight_decay=0.1)", lambda g: NAdam2(g, lr=0.01, weight_decay=0.1),
        layout=GROUPED, group1="lr=0.003")
    # -- radam
    R = torch.optim.RAdam
    add("radam", "default", "radam", lambda g: R(g))
    add("radam", "betas", "radam(lr=0.01,betas=(0.9,0.99))", lambda g: R(g, lr=0.01, betas=(0.9, 0.99)))
    add("radam", "weight_decay", "radam(lr=0.01,betas=(0.9,0.99),weight_decay=0.1)",
        lambda g: R(g, lr=0.01, betas=(0.9, 0.99), weight_decay=0.1))
    add("radam", "maximize", "radam(lr=0.01,betas=(0.9,0.99),maximize=true)",
        lambda g: R(g, lr=0.01, betas=(0.9, 0.99)), negate=True)
    add("radam", "decoupled", "radam(lr=0.01,betas=(0.9,0.99),weight_decay=0.1,decoupled_weight_decay=true)",
        lambda g: R(g, lr=0.01, betas=(0.9, 0.99)), decoupled=0.1)
    add("radam", "groups", "radam(lr=0.01,betas=(0.9,0.99),weight_decay=0.1)",
        lambda g: R(g, lr=0.01, betas=(0.9, 0.99), weight_decay=0.1), layout=GROUPED, group1="lr=0.003")
    # -- adabelief (authors' rule)
    B = AdaBelief
    add("adabelief", "default", "adabelief", lambda g: B(g))
    add("adabelief", "decoupled", "adabelief(lr=0.01,weight_decay=0.1)", lambda g: B(g, lr=0.01, weight_decay=0.1))
    add("adabelief", "coupled", "adabelief(lr=0.01,eps=1e-12,decoupled_weight_decay=false,weight_decay=0.1)",
        lambda g: B(g, lr=0.01, eps=1e-12, weight_decay=0.1, weight_decouple=False))
    add("adabelief", "amsgrad", "adabelief(lr=0.01,amsgrad=true)", lambda g: B(g, lr=0.01, amsgrad=True))
    add("adabelief", "maximize", "adabelief(lr=0.01,maximize=true)", lambda g: B(g, lr=0.01), negate=True)
    add("adabelief", "groups", "adabelief(lr=0.01,weight_decay=0.1)", lambda g: B(g, lr=0.01, weight_decay=0.1),
        layout=GROUPED, group1="lr=0.003")
    # -- rprop, asgd (torch 1.13's single-tensor rules; asgd's t0 small so that ax averages)
    RP, AS = torch.optim.Rprop, torch.optim.ASGD
    add("rprop", "default", "rprop", lambda g: RP(g))
    add("rprop", "etas", "rprop(lr=0.05,etas=(0.3,1.5),step_sizes=(1e-3,0.2))",
        lambda g: RP(g, lr=0.05, etas=(0.3, 1.5), step_sizes=(1e-3, 0.2)))
    add("rprop", "maximize", "rprop(maximize=true)", lambda g: RP(g, maximize=True))
    add("rprop", "set_lr", "rprop(lr=0.02)", lambda g: RP(g, lr=0.02), setlr=(100, 0.5))
    add("rprop", "groups", "rprop", lambda g: RP(g), layout=GROUPED, group1="lr=0.003")
    add("asgd", "default", "asgd", lambda g: AS(g))
    add("asgd", "t0", "asgd(lr=0.05,lambd=0.01,alpha=0.6,t0=20)", lambda g: AS(g, lr=0.05, lambd=0.01, alpha=0.6, t0=20))
    add("asgd", "weight_decay", "asgd(lr=0.05,t0=50,weight_decay=0.1)",
        lambda g: AS(g, lr=0.05, t0=50, weight_decay=0.1))
    add("asgd", "maximize", "asgd(lr=0.05,t0=10,maximize=true)", lambda g: AS(g, lr=0.05, t0=10, maximize=True))
    add("asgd", "set_lr", "asgd(lr=0.05,lambd=0.01,t0=30)", lambda g: AS(g, lr=0.05, lambd=0.01, t0=30),
        setlr=(100, 0.01))
    add("asgd", "groups", "asgd(lr=0.05,t0=30,weight_decay=0.1)",
        lambda g: AS(g, lr=0.05, t0=30, weight_decay=0.1), layout=GROUPED, group1="lr=0.02")
    return out


# ---------------------------------------------------------------- running a case

def hexf(v):
    """float.hex without the mantissa's trailing zeros (f32 values need 6 digits)."""
    mant, exp = float(v).hex().split("p")
    return mant.rstrip("0").rstrip(".") + "p" + exp


def hexes(t):
    return " ".join(hexf(v) for v in t.double().tolist())


def run(case, dtype, dname):
    """Runs case with torch in dtype; returns the case's text."""
    torch.set_default_dtype(dtype)  # 0-dim state (steps, NAdam's mu_product) in the dtype
    lines = ["case %s %s" % (case.name, dname), "spec " + case.spec,
             "steps %d" % STEPS, "scale " + hexf(SCALE)]
    tensors, rngs = [], []
    for name, n, group, flags, seed in case.layout:
        init = Lcg(seed + 1000)
        t = torch.tensor([2.0 * init.next() for _ in range(n)], dtype=dtype)
        tensors.append(t)
        rngs.append(Lcg(seed))
        lines.append("tensor %s %d %d %d %d" % (name, n, group, flags, seed))
        lines.append("init %s %s" % (name, hexes(t)))
    if case.group1:
        lines.append("group 1 " + case.group1)
    if case.setlr:
        lines.append("setlr %d 0 %s" % (case.setlr[0], hexf(case.setlr[1])))
    opt = case.make(torch_groups(tensors, case.layout, case.group1))
    group_of = {id(p): g for g in opt.param_groups for p in g["params"]}
    for step in range(1, STEPS + 1):
        with torch.no_grad():
            for (name, n, group, flags, seed), t, rng in zip(case.layout, tensors, rngs):
                noise = torch.tensor([rng.next() * SCALE for _ in range(n)], dtype=dtype)
                g = noise + 0.5 * t
                decays = not flags & NO_DECAY
                if case.l1 and decays:
                    g = g.add(torch.sign(t), alpha=case.l1)
                if case.negate:
                    g = -g
                t.grad = g
                if case.decoupled and decays:
                    t.mul_(1.0 - group_of[id(t)]["lr"] * case.decoupled)
            if case.clip:
                max_norm, norm_type, per_tensor = case.clip
                for ts in ([t] for t in tensors) if per_tensor else [tensors]:
                    torch.nn.utils.clip_grad_norm_(ts, max_norm, norm_type)
            if case.clip_value:
                torch.nn.utils.clip_grad_value_(tensors, case.clip_value)
        opt.step()
        if case.setlr and step == case.setlr[0]:
            opt.param_groups[0]["lr"] = case.setlr[1]
        if step in CHECKS:
            lines.append("check %d" % step)
            for (name, *_), t in zip(case.layout, tensors):
                lines.append("param %s %s" % (name, hexes(t)))
                st = opt.state[t]
                for key in STATE_NAMES:
                    if st.get(key) is not None:
                        lines.append("state %s %s %s" % (name, key, hexes(st[key])))
    lines.append("end")
    return "\n".join(lines) + "\n"


def main():
    outdir = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
    torch.set_num_threads(1)
    files = {}
    for kind, case in cases():
        for dtype, dname in ((torch.float32, "f32"), (torch.float64, "f64")):
            files.setdefault(kind, []).append(run(case, dtype, dname))
    header = ("# golden vectors for tests/test_golden.c, made by tests/golden/make_golden.py\n"
              "# with torch %s; regenerate with: /usr/bin/python3 tests/golden/make_golden.py\n"
              % torch.__version__)
    for kind, texts in files.items():
        with open(os.path.join(outdir, kind + ".txt"), "w") as f:
            f.write(header + "".join(texts))


if __name__ == "__main__":
    main()
