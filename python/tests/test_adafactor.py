"""descent.torch.Adafactor against torch 2.5's published algorithm, transcribed here in
NumPy (torch 1.13 has no Adafactor to run): the factored second moment of matrices and
batches of matrices, the full one of vectors, and the state it keeps."""
import numpy as np
import pytest
import torch

import descent
import descent.torch as dt


def lerp(a, b, w):
    """torch.lerp as torch computes it (from the nearer end)."""
    return a + w * (b - a) if abs(w) < 0.5 else b - (b - a) * (1 - w)


def rms(x):
    return np.sqrt(np.mean(x * x))


class Reference:
    """torch.optim.Adafactor's step (torch 2.5 documentation and _adafactor.py), one
    tensor, float64."""

    def __init__(self, p, lr=1e-2, beta2_decay=-0.8, eps=(None, 1e-3), d=1.0, weight_decay=0.0, maximize=False):
        self.p, self.lr, self.decay, self.d, self.wd, self.maximize = p, lr, beta2_decay, d, weight_decay, maximize
        self.eps1 = np.finfo(p.dtype).eps if eps[0] is None else eps[0]
        self.eps2 = eps[1]
        self.t = 0
        if p.ndim >= 2:
            self.row = np.zeros(p.shape[:-1] + (1,))
            self.col = np.zeros(p.shape[:-2] + (1, p.shape[-1]))
        else:
            self.var = np.zeros(p.shape)

    def step(self, g):
        g = -g if self.maximize else g
        self.t += 1
        w = self.t ** self.decay                    # 1 - beta2_t
        rho = min(self.lr, 1 / np.sqrt(self.t))
        alpha = max(self.eps2, rms(self.p)) * rho   # the parameter before the decay
        self.p *= 1 - self.lr * self.wd
        if self.p.ndim >= 2:
            self.row = lerp(self.row, np.mean(g * g, axis=-1, keepdims=True), w)
            self.col = lerp(self.col, np.mean(g * g, axis=-2, keepdims=True), w)
            v = self.row * self.col / np.maximum(np.mean(self.row, axis=-2, keepdims=True), self.eps1)
        else:
            self.var = lerp(self.var, g * g, w)
            v = self.var
        u = g / np.sqrt(np.maximum(v, self.eps1 * self.eps1))
        self.p -= alpha / max(1.0, rms(u) / self.d) * u


SHAPES = [(6,), (5, 4), (2, 3, 4)]
SETTINGS = [
    {},
    dict(lr=0.3, beta2_decay=-0.5, eps=(1e-3, 1e-2), weight_decay=0.05),
    dict(lr=1e-3, d=1.5, maximize=True, eps=(None, 1e-4)),
]


@pytest.mark.parametrize("hp", SETTINGS)
def test_steps_match_the_published_algorithm(hp):
    rng = np.random.default_rng(5)
    start = [rng.standard_normal(s) * 0.1 for s in SHAPES]
    refs = [Reference(x.copy(), **hp) for x in start]
    ps = [torch.nn.Parameter(torch.from_numpy(x.copy())) for x in start]
    opt = dt.Adafactor(ps, **hp)
    for _ in range(8):
        for p, ref in zip(ps, refs):
            g = rng.standard_normal(p.shape)
            p.grad = torch.from_numpy(g)
            ref.step(g)
        opt.step()
        for p, ref in zip(ps, refs):
            np.testing.assert_allclose(p.detach().numpy(), ref.p, rtol=1e-12, atol=1e-15)
    saved = opt.state_dict()["state"]
    for i, (p, ref) in enumerate(zip(ps, refs)):
        st = opt.state[p]
        assert saved[i]["step"].item() == 8
        if p.dim() >= 2:
            assert set(st) == {"step", "row_var", "col_var"}
            np.testing.assert_allclose(st["row_var"].numpy(), ref.row, rtol=1e-12)
            np.testing.assert_allclose(st["col_var"].numpy(), ref.col, rtol=1e-12)
        else:
            assert set(st) == {"step", "variance"}
            np.testing.assert_allclose(st["variance"].numpy(), ref.var, rtol=1e-12)


def test_torch_signature_and_positional_lr():
    p = torch.nn.Parameter(torch.ones(3, 2, dtype=torch.float64))
    opt = dt.Adafactor([p], 0.05)
    assert opt.param_groups[0]["lr"] == 0.05 and opt.param_groups[0]["eps"] == (None, 1e-3)
    assert opt.defaults == dict(lr=0.05, beta2_decay=-0.8, eps=(None, 1e-3), d=1.0, weight_decay=0.0,
                                maximize=False)
    with pytest.raises(TypeError, match="unexpected keyword"):
        dt.Adafactor([p], relative_step=True)  # Hugging Face's, not torch's
    with pytest.raises(TypeError, match="multiple values for argument 'lr'"):
        dt.Adafactor([p], 0.1, lr=0.2)


def test_state_is_rows_plus_columns():
    """A 100 x 50 matrix keeps 150 second-moment values (and 50 doubles of column sums
    while it steps), a vector its n: Adam would keep 2 x 5007."""
    w, g = np.ones((100, 50), np.float32), np.ones((100, 50), np.float32)
    v, gv = np.ones(7, np.float32), np.ones(7, np.float32)
    opt = descent.Optimizer("adafactor", [w, v], [g, gv])
    assert opt.state_bytes == (100 + 50 + 7) * 4 + 50 * 8
    shapes = [{k: a.shape for k, a in st.items()} for st in opt.state]
    assert shapes == [{"row_var": (100, 1), "col_var": (1, 50)}, {"variance": (7,)}]


def test_state_dict_round_trip_continues_exactly():
    rng = np.random.default_rng(9)
    start = [rng.standard_normal(s) for s in SHAPES]
    grads = [[torch.from_numpy(rng.standard_normal(s)) for s in SHAPES] for _ in range(6)]

    def run(ps, opt, gs):
        for gr in gs:
            for p, g in zip(ps, gr):
                p.grad = g.clone()
            opt.step()

    ref = [torch.nn.Parameter(torch.from_numpy(x.copy())) for x in start]
    run(ref, dt.Adafactor(ref, lr=0.1), grads)
    ps = [torch.nn.Parameter(torch.from_numpy(x.copy())) for x in start]
    first = dt.Adafactor(ps, lr=0.1)
    run(ps, first, grads[:3])
    second = dt.Adafactor(ps, lr=0.1)
    second.load_state_dict(first.state_dict())
    run(ps, second, grads[3:])
    for a, b in zip(ps, ref):
        assert torch.equal(a, b)
