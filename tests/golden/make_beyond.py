#!/usr/bin/python3
"""Golden vectors for the optimizers beyond torch.optim's classics (tests/test_beyond.c).

Each rule is written out here in float64 from its published definition, independently
of the C code: Lion (google/automl lion_pytorch.py), LAMB (You et al. 2019 Alg. 2,
apex FusedLAMB with use_nvlamb), LARS (torchlars / timm Lars), Schedule-Free AdamW
(facebookresearch/schedule_free AdamWScheduleFreeReference), Muon (torch.optim.Muon
in float64 instead of bfloat16; MuonWithAuxAdam's AdamW for other tensors), Lookahead
(michaelrzhang/lookahead), Adafactor (torch 2.5's torch.optim.Adafactor as its
documentation and torch/optim/_adafactor.py state it; no torch 2.5 here). Gradients are fixed random sequences, so the vectors test
the update rules alone.

Run:  /usr/bin/python3 tests/golden/make_beyond.py > tests/golden/beyond_golden.h
"""
import math

import numpy as np

rng = np.random.default_rng(20240601)
STEPS = 5


def rnd(n):
    return [float(v) for v in np.round(rng.uniform(-1.5, 1.5, n), 6)]


def lion(ps, gs, lr, b1, b2, wd):
    m = [np.zeros_like(p) for p in ps]
    for g in gs:
        for i, p in enumerate(ps):
            p *= 1 - lr * wd
            p -= lr * np.sign(b1 * m[i] + (1 - b1) * g[i])
            m[i] = b2 * m[i] + (1 - b2) * g[i]
    return ps, {}


def lamb(ps, gs, lr, b1, b2, eps, wd, bias_correction=True):
    m = [np.zeros_like(p) for p in ps]
    v = [np.zeros_like(p) for p in ps]
    for t, g in enumerate(gs, 1):
        bc1 = 1 - b1 ** t if bias_correction else 1.0
        bc2 = 1 - b2 ** t if bias_correction else 1.0
        for i, p in enumerate(ps):
            m[i] = b1 * m[i] + (1 - b1) * g[i]
            v[i] = b2 * v[i] + (1 - b2) * g[i] ** 2
            u = (m[i] / bc1) / (np.sqrt(v[i] / bc2) + eps) + wd * p
            pn, un = np.linalg.norm(p), np.linalg.norm(u)
            ratio = pn / un if pn > 0 and un > 0 else 1.0
            p -= lr * ratio * u
    return ps, {}


def lars(ps, gs, lr, mu, wd, eta, eps):
    b = [None for _ in ps]
    for g in gs:
        for i, p in enumerate(ps):
            pn, gn = np.linalg.norm(p), np.linalg.norm(g[i])
            ratio = eta * pn / (gn + wd * pn + eps) if pn > 0 and gn > 0 else 1.0
            d = (g[i] + wd * p) * ratio
            b[i] = d.copy() if b[i] is None else mu * b[i] + d
            p -= lr * b[i]
    return ps, {}


def schedulefree(ps, gs, lr, b1, b2, eps, wd, warmup, r, power):
    z = [p.copy() for p in ps]
    x = [p.copy() for p in ps]
    v = [np.zeros_like(p) for p in ps]
    lr_max, wsum = -1.0, 0.0
    for k, g in enumerate(gs):
        sched = (k + 1) / warmup if k < warmup else 1.0
        lrk = lr * sched * math.sqrt(1 - b2 ** (k + 1))
        lr_max = max(lr_max, lrk)
        w = (k + 1) ** r * lr_max ** power
        wsum += w
        c = w / wsum
        for i, y in enumerate(ps):
            z[i] -= lrk * wd * y
            v[i] = b2 * v[i] + (1 - b2) * g[i] ** 2
            z[i] -= lrk * g[i] / (np.sqrt(v[i]) + eps)
            x[i] = (1 - c) * x[i] + c * z[i]
            y[:] = b1 * x[i] + (1 - b1) * z[i]
    return ps, {"x": x, "z": z}


def newton_schulz(u, steps, eps):
    a, b, c = 3.4445, -4.7750, 2.0315
    x = u.T if u.shape[0] > u.shape[1] else u
    x = x / max(np.linalg.norm(x), eps)
    for _ in range(steps):
        A = x @ x.T
        B = b * A + c * A @ A
        x = a * x + B @ x
    return x.T if u.shape[0] > u.shape[1] else x


def muon(ps, gs, lr, mu, nesterov, wd, eps, ns, adjust, alr, ab1, ab2, aeps, awd):
    buf = [np.zeros_like(p) for p in ps]
    m = [np.zeros_like(p) for p in ps]
    v = [np.zeros_like(p) for p in ps]
    for t, g in enumerate(gs, 1):
        for i, p in enumerate(ps):
            if p.ndim == 2:
                buf[i] = mu * buf[i] + (1 - mu) * g[i]
                u = (1 - mu) * g[i] + mu * buf[i] if nesterov else buf[i]
                o = newton_schulz(u, ns, eps)
                A, B = p.shape
                ratio = math.sqrt(max(1, A / B)) if adjust == 0 else 0.2 * math.sqrt(max(A, B))
                p *= 1 - lr * wd
                p -= lr * ratio * o
            else:
                m[i] = ab1 * m[i] + (1 - ab1) * g[i]
                v[i] = ab2 * v[i] + (1 - ab2) * g[i] ** 2
                mhat, vhat = m[i] / (1 - ab1 ** t), v[i] / (1 - ab2 ** t)
                p *= 1 - alr * awd
                p -= alr * mhat / (np.sqrt(vhat) + aeps)
    return ps, {}


def lookahead_sgd(ps, gs, lr, mu, k, alpha):
    slow = [p.copy() for p in ps]
    b = [None for _ in ps]
    for t, g in enumerate(gs, 1):
        for i, p in enumerate(ps):
            b[i] = g[i].copy() if b[i] is None else mu * b[i] + g[i]
            p -= lr * b[i]
        if t % k == 0:
            for i, p in enumerate(ps):
                slow[i] += alpha * (p - slow[i])
                p[:] = slow[i]
    return ps, {"lookahead_slow": slow}


def torch_lerp(a, b, w):
    """torch's lerp: a + w (b - a) for |w| < 0.5, else b - (b - a)(1 - w)."""
    return a + w * (b - a) if abs(w) < 0.5 else b - (b - a) * (1 - w)


def adafactor(ps, gs, lr, beta2_decay, eps1, eps2, d, wd, maximize=False):
    """torch 2.5's Adafactor as its documentation states it (float64, so eps1 None is
    float64's epsilon): factored over the last two dimensions for >= 2-D tensors."""
    state = [None for _ in ps]
    for t, g in enumerate(gs, 1):
        for i, p in enumerate(ps):
            grad = -g[i] if maximize else g[i]
            e1 = np.finfo(np.float64).eps if eps1 is None else eps1
            w = t ** beta2_decay
            rho = min(lr, 1 / math.sqrt(t))
            alpha = max(eps2, math.sqrt(np.sum(p * p) / p.size)) * rho
            p *= 1 - lr * wd
            sq = grad * grad
            if p.ndim >= 2:
                if state[i] is None:
                    state[i] = [np.zeros(p.shape[:-1] + (1,)), np.zeros(p.shape[:-2] + (1,) + p.shape[-1:])]
                row, col = state[i]
                row[...] = torch_lerp(row, sq.mean(axis=-1, keepdims=True), w)
                col[...] = torch_lerp(col, sq.mean(axis=-2, keepdims=True), w)
                v = (row * col) / np.maximum(row.mean(axis=-2, keepdims=True), e1)
            else:
                if state[i] is None:
                    state[i] = np.zeros_like(p)
                state[i] = torch_lerp(state[i], sq, w)
                v = state[i]
            u = grad / np.sqrt(np.maximum(v, e1 * e1))
            clip = max(1.0, math.sqrt(np.sum(u * u) / u.size) / d)
            p -= alpha / clip * u
    return ps, {}


CASES = [
    ("lion(lr=0.01, betas=(0.9, 0.99), weight_decay=0.1)", [(2, 3), (4,)],
     lambda ps, gs: lion(ps, gs, 0.01, 0.9, 0.99, 0.1)),
    ("lamb(lr=0.01, weight_decay=0.02)", [(2, 3), (4,)],
     lambda ps, gs: lamb(ps, gs, 0.01, 0.9, 0.999, 1e-6, 0.02)),
    ("lamb(lr=0.05, betas=(0.8, 0.9), eps=1e-4, weight_decay=0, bias_correction=false)", [(5,)],
     lambda ps, gs: lamb(ps, gs, 0.05, 0.8, 0.9, 1e-4, 0.0, False)),
    ("lars(lr=0.5, momentum=0.9, weight_decay=0.01, trust_coefficient=0.02)", [(2, 3), (4,)],
     lambda ps, gs: lars(ps, gs, 0.5, 0.9, 0.01, 0.02, 1e-8)),
    ("schedulefree_adamw(lr=0.02, betas=(0.9, 0.99), weight_decay=0.05, warmup_steps=2, r=0.5)", [(2, 3), (4,)],
     lambda ps, gs: schedulefree(ps, gs, 0.02, 0.9, 0.99, 1e-8, 0.05, 2, 0.5, 2.0)),
    ("muon(lr=0.02, weight_decay=0.1, adamw_lr=0.01, adamw_weight_decay=0.01)", [(2, 3), (4, 2), (3,)],
     lambda ps, gs: muon(ps, gs, 0.02, 0.95, True, 0.1, 1e-7, 5, 0, 0.01, 0.9, 0.95, 1e-10, 0.01)),
    ("muon(lr=0.01, momentum=0.9, nesterov=false, ns_steps=3, adjust_lr=match_rms_adamw, "
     "adamw_betas=(0.8, 0.9), adamw_eps=1e-8)", [(3, 3), (2,)],
     lambda ps, gs: muon(ps, gs, 0.01, 0.9, False, 0.1, 1e-7, 3, 1, 3e-4, 0.8, 0.9, 1e-8, 0.0)),
    ("lookahead(inner=sgd(lr=0.1, momentum=0.9), k=2, alpha=0.5)", [(2, 3), (4,)],
     lambda ps, gs: lookahead_sgd(ps, gs, 0.1, 0.9, 2, 0.5)),
    # adafactor: the defaults (lr 1e-2 caps rho), then an lr above 1/sqrt(t), decay, a
    # small d (clipping), eps2 above |p|'s RMS and maximize
    ("adafactor", [(2, 3), (4,)],
     lambda ps, gs: adafactor(ps, gs, 1e-2, -0.8, None, 1e-3, 1.0, 0.0)),
    ("adafactor(lr=0.7, beta2_decay=-0.5, eps=(1e-3, 0.8), d=1.5, weight_decay=0.1, maximize=true)",
     [(3, 4), (1, 5), (3,)],
     lambda ps, gs: adafactor(ps, gs, 0.7, -0.5, 1e-3, 0.8, 1.5, 0.1, maximize=True)),
    ("adafactor(lr=0.3, beta2_decay=-0.3, eps2=1e-2, d=1)", [(4, 2), (2,)],
     lambda ps, gs: adafactor(ps, gs, 0.3, -0.3, None, 1e-2, 1.0, 0.0)),
]


def c_array(vals):
    return "{" + ", ".join(repr(float(v)) for v in vals) + "}"


def main():
    print("/* Generated by tests/golden/make_beyond.py (float64 reference rules); do not edit. */")
    print("#define BEYOND_STEPS %d" % STEPS)
    rows = []
    for n, (spec, shapes, rule) in enumerate(CASES):
        sizes = [int(np.prod(s)) for s in shapes]
        p0 = [np.array(rnd(sz)).reshape(s) for sz, s in zip(sizes, shapes)]
        gs = [[np.array(rnd(sz)).reshape(s) for sz, s in zip(sizes, shapes)] for _ in range(STEPS)]
        ps, extra = rule([p.copy() for p in p0], gs)
        flat = lambda ts: [v for t in ts for v in np.ravel(t)]
        print("static const double case%d_p0[] = %s;" % (n, c_array(flat(p0))))
        print("static const double case%d_g[] = %s;" % (n, c_array([v for g in gs for v in flat(g)])))
        print("static const double case%d_want[] = %s;" % (n, c_array(flat(ps))))
        ename = next(iter(extra), None)
        if ename:
            print("static const double case%d_extra[] = %s;" % (n, c_array(flat(extra[ename]))))
        dims = ", ".join("{%d, {%s}}" % (len(s), ", ".join(str(d) for d in s)) for s in shapes)
        rows.append('    {"%s", %d, {%s}, case%d_p0, case%d_g, case%d_want, %s, %s},'
                    % (spec, len(shapes), dims, n, n, n,
                       '"%s"' % ename if ename else "NULL", "case%d_extra" % n if ename else "NULL"))
    print("static const beyond_case beyond_cases[] = {")
    print("\n".join(rows))
    print("};")


if __name__ == "__main__":
    main()
