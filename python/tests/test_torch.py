"""descent.torch against torch.optim: the same trajectories, schedules driving it,
state dicts moving both ways, and a clear error for every tensor it cannot step."""
import copy
import inspect
import random

import pytest
from functools import partial
import torch

import descent.torch as dt

# every kind torch has that descent has, with a random draw of its hyperparameters
KINDS = {
    "SGD": lambda r: dict(lr=r.uniform(0.01, 0.1), momentum=r.choice([0.0, r.uniform(0.5, 0.95)]),
                          dampening=r.choice([0.0, 0.3]), nesterov=False),
    "Adam": lambda r: dict(lr=r.uniform(1e-3, 1e-1), betas=(r.uniform(0.8, 0.95), r.uniform(0.9, 0.999)),
                           eps=r.choice([1e-8, 1e-6]), amsgrad=r.choice([False, True])),
    "AdamW": lambda r: dict(lr=r.uniform(1e-3, 1e-1), betas=(r.uniform(0.8, 0.95), r.uniform(0.9, 0.999)),
                            amsgrad=r.choice([False, True])),
    "Adagrad": lambda r: dict(lr=r.uniform(0.01, 0.1), lr_decay=r.choice([0.0, 0.01]),
                              initial_accumulator_value=r.choice([0.0, 0.1]), eps=1e-10),
    "RMSprop": lambda r: dict(lr=r.uniform(1e-3, 1e-2), alpha=r.uniform(0.9, 0.99), momentum=r.choice([0.0, 0.5]),
                              centered=r.choice([False, True])),
    "Adadelta": lambda r: dict(lr=r.uniform(0.5, 1.0), rho=r.uniform(0.8, 0.95), eps=1e-6),
    "Adamax": lambda r: dict(lr=r.uniform(1e-3, 1e-2), betas=(r.uniform(0.8, 0.95), r.uniform(0.9, 0.999))),
    "NAdam": lambda r: dict(lr=r.uniform(1e-3, 1e-2), momentum_decay=r.uniform(1e-3, 1e-2)),
    "RAdam": lambda r: dict(lr=r.uniform(1e-3, 1e-2), betas=(r.uniform(0.8, 0.95), r.uniform(0.9, 0.999))),
    "Rprop": lambda r: dict(lr=r.uniform(1e-3, 1e-1), etas=(r.uniform(0.3, 0.7), r.uniform(1.1, 1.5)),
                            step_sizes=(r.uniform(1e-6, 1e-3), r.uniform(0.05, 1.0))),
    # t0 within the run, so that ax averages rather than copies p
    "ASGD": lambda r: dict(lr=r.uniform(1e-3, 1e-1), lambd=r.uniform(1e-4, 1e-1), alpha=r.uniform(0.5, 1.0),
                           t0=r.choice([2.0, 5.0])),
}


@pytest.fixture(autouse=True)
def double_default_dtype(request):
    """torch 1.13's ASGD keeps eta and mu as tensors of the default dtype; descent keeps
    doubles (the same values with float64 as the default)."""
    name = getattr(request.node, "callspec", None) and request.node.callspec.params.get("name")
    if name != "ASGD":
        yield
        return
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)
SHAPES = [(7, 5), (5,), (3, 2, 4)]
STEPS = 12


class NAdam2(torch.optim.NAdam):
    """torch.optim.NAdam as torch 2.x computes it. torch 1.13 multiplies mu twice into
    mu_product_next (fixed in 2.0); descent follows 2.x."""

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                st = self.state[p]
                if not st:
                    st["step"] = torch.tensor(0.0)
                    st["mu_product"] = torch.tensor(1.0, dtype=torch.float64)  # descent keeps a double
                    st["exp_avg"] = torch.zeros_like(p)
                    st["exp_avg_sq"] = torch.zeros_like(p)
                st["step"] += 1
                step = st["step"].item()
                grad = p.grad
                if group["weight_decay"] != 0:
                    grad = grad.add(p, alpha=group["weight_decay"])
                mu = beta1 * (1.0 - 0.5 * (0.96 ** (step * group["momentum_decay"])))
                mu_next = beta1 * (1.0 - 0.5 * (0.96 ** ((step + 1) * group["momentum_decay"])))
                st["mu_product"] *= mu
                mu_product = st["mu_product"].item()
                st["exp_avg"].lerp_(grad, 1 - beta1)
                st["exp_avg_sq"].mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
                denom = st["exp_avg_sq"].div(1 - beta2 ** step).sqrt().add_(group["eps"])
                p.addcdiv_(grad, denom, value=-group["lr"] * (1.0 - mu) / (1.0 - mu_product))
                p.addcdiv_(st["exp_avg"], denom, value=-group["lr"] * mu_next / (1.0 - mu_product * mu_next))


def reference(name):
    """torch's optimizer of that name (NAdam as torch 2.x has it)."""
    if name == "NAdam" and int(torch.__version__.split(".")[0]) < 2:
        return NAdam2
    return getattr(torch.optim, name)


def supports(name, key):
    return key in inspect.signature(getattr(torch.optim, name).__init__).parameters


def make_groups(name, dtype, seed):
    """Two groups over three tensors; the second with other hyperparameters."""
    r = random.Random(seed)
    g = torch.Generator().manual_seed(seed)
    tensors = [torch.randn(s, generator=g, dtype=dtype) for s in SHAPES]
    h0, h1 = KINDS[name](r), KINDS[name](r)
    # the keys that choose the state buffers are one per optimizer in descent, and
    # torch 1.13's Adagrad fills its sums from the constructor's value, not the group's:
    # these go to the constructor
    common = {k: h0.pop(k) for k in ("momentum", "amsgrad", "centered", "initial_accumulator_value") if k in h0}
    for k in common:
        h1.pop(k, None)
    if supports(name, "weight_decay"):
        h0["weight_decay"] = r.uniform(0.0, 0.1)
        h1["weight_decay"] = 0.0
    if supports(name, "maximize"):
        h1["maximize"] = True
    if name == "SGD" and common["momentum"] > 0 and h0["dampening"] == 0:
        h0["nesterov"] = True
    return tensors, [h0, h1, common]


def run(cls, tensors, hps, grads, sched=None):
    ps = [torch.nn.Parameter(t.clone()) for t in tensors]
    opt = make(cls, ps, hps)
    s = sched(opt) if sched else None
    for k in range(STEPS):
        for p, gr in zip(ps, grads[k]):
            p.grad = gr.clone()
        opt.step()
        if s:
            s.step()
    return ps, opt


def make(cls, ps, hps):
    return cls([dict(params=ps[:2], **hps[0]), dict(params=ps[2:], **hps[1])], **hps[2])


def grads_for(tensors, dtype, seed):
    g = torch.Generator().manual_seed(seed + 1000)
    return [[torch.randn(t.shape, generator=g, dtype=dtype) for t in tensors] for _ in range(STEPS)]


def assert_close(got, want, rel):
    for a, b in zip(got, want):
        err = ((a - b).abs().max() / b.abs().max()).item()
        assert err <= rel, "relative error %g > %g" % (err, rel)


@pytest.mark.parametrize("name", sorted(KINDS))
@pytest.mark.parametrize("dtype,rel", [(torch.float64, 1e-12), (torch.float32, 1e-6)])
def test_trajectory_matches_torch(name, dtype, rel):
    for seed in range(3):
        tensors, hps = make_groups(name, dtype, seed)
        grads = grads_for(tensors, dtype, seed)
        ours, _ = run(getattr(dt, name), tensors, hps, grads)
        theirs, _ = run(reference(name), tensors, hps, grads)
        assert_close(ours, theirs, rel)


@pytest.mark.parametrize("make", [
    lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=STEPS + 5, eta_min=1e-4),
    lambda o: torch.optim.lr_scheduler.OneCycleLR(o, max_lr=[0.05, 0.02], total_steps=STEPS + 1),
])
def test_torch_schedulers_drive_descent(make):
    tensors, hps = make_groups("Adam", torch.float64, 7)
    grads = grads_for(tensors, torch.float64, 7)
    ours, o1 = run(dt.Adam, tensors, hps, grads, make)
    theirs, o2 = run(torch.optim.Adam, tensors, hps, grads, make)
    assert [g["lr"] for g in o1.param_groups] == [g["lr"] for g in o2.param_groups]
    assert_close(ours, theirs, 1e-12)


def continue_steps(opt, ps, grads):
    for gr in grads:
        for p, g in zip(ps, gr):
            p.grad = g.clone()
        opt.step()


def group_params(tensors):
    return [torch.nn.Parameter(t.clone()) for t in tensors]


@pytest.mark.parametrize("name", sorted(KINDS))
def test_state_dict_moves_both_ways(name):
    """descent -> torch -> descent continues bit for bit; torch -> descent and
    descent -> torch continue as the uninterrupted runs do (to 1e-12)."""
    dtype = torch.float64
    tensors, hps = make_groups(name, dtype, 11)
    grads = grads_for(tensors, dtype, 11)
    ours, theirs = getattr(dt, name), reference(name)

    ref = group_params(tensors)
    continue_steps(make(ours, ref, hps), ref, grads)  # descent, uninterrupted
    ps = group_params(tensors)
    first = make(ours, ps, hps)
    continue_steps(first, ps, grads[:5])
    via = make(theirs, ps, hps)
    via.load_state_dict(first.state_dict())  # torch accepts descent's state...
    last = make(ours, ps, hps)
    last.load_state_dict(via.state_dict())   # ...and gives it back
    continue_steps(last, ps, grads[5:])
    for a, b in zip(ps, ref):
        assert torch.equal(a, b)

    ref = group_params(tensors)
    continue_steps(make(theirs, ref, hps), ref, grads)  # torch, uninterrupted
    for start, finish in ((theirs, ours), (ours, theirs)):
        ps = group_params(tensors)
        first = make(start, ps, hps)
        continue_steps(first, ps, grads[:5])
        second = make(finish, ps, hps)
        second.load_state_dict(copy.deepcopy(first.state_dict()))
        assert set(second.state_dict()["state"][0]) >= {k for k, v in first.state_dict()["state"][0].items()
                                                        if v is not None}
        continue_steps(second, ps, grads[5:])
        assert_close(ps, ref, 1e-12)


def test_grad_none_skips_like_torch_and_new_grads_rebind():
    ps = [torch.nn.Parameter(torch.ones(4, dtype=torch.float64)) for _ in range(2)]
    qs = [torch.nn.Parameter(torch.ones(4, dtype=torch.float64)) for _ in range(2)]
    o1, o2 = dt.Adam(ps, lr=0.1), torch.optim.Adam(qs, lr=0.1)
    for k in range(4):
        for o, xs in ((o1, ps), (o2, qs)):
            o.zero_grad(set_to_none=True)
            xs[0].grad = torch.full((4,), float(k + 1), dtype=torch.float64)  # a new tensor each step
            o.step()
    assert torch.equal(ps[0], qs[0]) and torch.equal(ps[1], torch.ones(4, dtype=torch.float64))
    assert ps[1] not in o1.state or not o1.state[ps[1]]


def test_step_count_mismatch_raises():
    ps = [torch.nn.Parameter(torch.ones(3)) for _ in range(2)]
    o = dt.Adam(ps, lr=0.1)
    ps[0].grad = torch.ones(3)
    o.step()
    ps[1].grad = torch.ones(3)
    with pytest.raises(RuntimeError, match="different step counts"):
        o.step()


def test_closure_and_add_param_group():
    w = torch.nn.Parameter(torch.tensor([3.0], dtype=torch.float64))
    o = dt.SGD([w], lr=0.25)

    def closure():
        o.zero_grad()
        loss = (w ** 2).sum()
        loss.backward()
        return loss

    assert o.step(closure).item() == 9.0
    assert w.item() == 3.0 - 0.25 * 6.0
    v = torch.nn.Parameter(torch.tensor([1.0], dtype=torch.float64))
    o.add_param_group({"params": [v], "lr": 0.5})
    v.grad = torch.tensor([2.0], dtype=torch.float64)
    w.grad = torch.tensor([0.0], dtype=torch.float64)
    o.step()
    assert v.item() == 0.0 and w.item() == 1.5


@pytest.mark.parametrize("bad,match,exc", [
    (lambda: torch.zeros(4, dtype=torch.float16), "dtype must be", TypeError),
    (lambda: torch.zeros(4, dtype=torch.complex64), "complex", TypeError),
    (lambda: torch.zeros(4, 4).t(), "not contiguous", ValueError),
    (lambda: torch.zeros(4).to_sparse(), "sparse", TypeError),
])
def test_bad_tensors_named(bad, match, exc):
    p = torch.nn.Parameter(bad(), requires_grad=True)
    p.grad = torch.zeros_like(p)
    o = dt.Adam([p])
    with pytest.raises(exc, match=match) as e:
        o.step()
    assert "param 0 of group 0" in str(e.value)


def test_bad_grad_after_first_step():
    p = torch.nn.Parameter(torch.zeros(4))
    o = dt.SGD([p], lr=0.1)
    p.grad = torch.ones(4)
    o.step()
    p.grad = torch.ones(8)[::2]
    with pytest.raises(ValueError, match="grad of param g0.p0.*not contiguous"):
        o.step()


def test_own_kinds_step():
    for cls in (dt.Lion, dt.LAMB, dt.LARS, dt.AdaBelief):
        p = torch.nn.Parameter(torch.ones(3, 2))
        o = cls([p], lr=0.01, weight_decay=0.01)
        p.grad = torch.ones(3, 2)
        o.step()
        assert (p < 1).all(), cls.__name__


def test_unknown_keyword():
    with pytest.raises(TypeError, match="unexpected keyword"):
        dt.Adam([torch.nn.Parameter(torch.ones(2))], beta1=0.5)


def test_nonfinite_like_torch_by_default_and_skip_on_request():
    p = torch.nn.Parameter(torch.ones(2))
    o = dt.SGD([p], lr=0.1)
    p.grad = torch.tensor([float("nan"), 1.0])
    o.step()
    assert torch.isnan(p[0]) and p[1].item() == pytest.approx(0.9)  # as torch.optim: NaN goes through
    q = torch.nn.Parameter(torch.ones(2))
    o = dt.SGD([q], lr=0.1, nonfinite="skip", clip_norm=1.0)
    q.grad = torch.tensor([float("nan"), 1.0])
    o.step()
    assert torch.equal(q, torch.ones(2)) and o._c.skipped_count == 1


def test_tensor_off_the_cpu_named():
    # "meta" stands in for CUDA here: any device but the CPU is refused the same way
    p = torch.nn.Parameter(torch.zeros(4, device="meta"))
    p.grad = torch.zeros(4, device="meta")
    with pytest.raises(TypeError, match="param 0 of group 0 .* is on meta: descent.torch steps CPU tensors only"):
        dt.SGD([p], lr=0.1).step()


def test_param_data_rebound_is_followed():
    p = torch.nn.Parameter(torch.zeros(3, dtype=torch.float64))
    q = torch.nn.Parameter(torch.zeros(3, dtype=torch.float64))
    o1, o2 = dt.SGD([p], lr=0.5, momentum=0.9), torch.optim.SGD([q], lr=0.5, momentum=0.9)
    for k in range(3):
        if k == 1:
            p.data = torch.ones(3, dtype=torch.float64)
            q.data = torch.ones(3, dtype=torch.float64)
        p.grad = torch.full((3,), 1.0 + k, dtype=torch.float64)
        q.grad = p.grad.clone()
        o1.step()
        o2.step()
    assert torch.equal(p, q)
    p.data = torch.zeros(6, dtype=torch.float64)[::2]
    with pytest.raises(ValueError, match="param g0.p0.*not contiguous"):
        o1.step()


def _embedding_run(make, dtype, steps=6, seed=3):
    """An nn.Embedding(sparse=True) stepped by make's optimizer on lookups with repeats."""
    torch.manual_seed(seed)
    emb = torch.nn.Embedding(10, 4, sparse=True).to(dtype)
    lin = torch.nn.Linear(4, 1).to(dtype)  # a dense param beside it, where the kind takes both
    params = list(emb.parameters()) + ([] if make is torch.optim.SparseAdam or make is dt.SparseAdam
                                       else list(lin.parameters()))
    o = make(params, lr=0.05)
    g = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        o.zero_grad()
        idx = torch.randint(0, 8, (6,), generator=g)  # rows 8, 9 never looked up
        lin(emb(idx)).pow(2).sum().backward()
        o.step()
    return emb.weight.detach(), lin.weight.detach()


@pytest.mark.parametrize("ours,theirs", [(dt.SparseAdam, torch.optim.SparseAdam), (dt.Adagrad, torch.optim.Adagrad),
                                         (dt.SGD, torch.optim.SGD),
                                         (partial(dt.SGD, momentum=0.9, dampening=0.1),
                                          partial(torch.optim.SGD, momentum=0.9, dampening=0.1)),
                                         (partial(dt.SGD, momentum=0.8, nesterov=True),
                                          partial(torch.optim.SGD, momentum=0.8, nesterov=True))])
@pytest.mark.parametrize("dtype,rel", [(torch.float32, 1e-5), (torch.float64, 1e-12)])
def test_sparse_embedding_matches_torch(ours, theirs, dtype, rel):
    w, l = _embedding_run(ours, dtype)
    w_ref, l_ref = _embedding_run(theirs, dtype)
    torch.testing.assert_close(w, w_ref, rtol=rel, atol=rel)
    torch.testing.assert_close(l, l_ref, rtol=rel, atol=rel)
    torch.manual_seed(3)
    untouched = torch.nn.Embedding(10, 4, sparse=True).to(dtype).weight.detach()[8:]
    assert torch.equal(w[8:], untouched)


def test_sparse_refusals_like_torch():
    emb = torch.nn.Embedding(10, 4, sparse=True)
    emb(torch.tensor([1, 2])).sum().backward()
    with pytest.raises(ValueError, match="adam: sparse gradients are not supported"):
        dt.Adam(emb.parameters()).step()
    w = torch.nn.Parameter(torch.zeros(3))
    w.grad = torch.ones(3)
    with pytest.raises(ValueError, match="sparse_adam: dense gradients are not supported"):
        dt.SparseAdam([w]).step()


def test_asgd_average_is_state_ax_like_torch():
    """ASGD's average, to evaluate the model at, is optimizer.state[p]['ax'] as in torch:
    equal to torch's once averaging starts (t0), and live (no state_dict() needed)."""
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)  # torch 1.13 keeps eta and mu in it
    try:
        g = torch.Generator().manual_seed(4)
        start = torch.randn(4, 3, generator=g)
        grads = [torch.randn(4, 3, generator=g) for _ in range(7)]
        ps = [torch.nn.Parameter(start.clone()) for _ in range(2)]
        opts = [dt.ASGD([ps[0]], lr=0.05, t0=3), torch.optim.ASGD([ps[1]], lr=0.05, t0=3)]
        for k, gr in enumerate(grads):
            for p, o in zip(ps, opts):
                p.grad = gr.clone()
                o.step()
            if k == 0:
                ax = opts[0].state[ps[0]]["ax"]  # the same tensor, read again after later steps
        assert torch.allclose(ax, opts[1].state[ps[1]]["ax"], rtol=1e-12)
        assert not torch.allclose(ax, ps[0].detach(), rtol=1e-3)  # an average, not the last point
    finally:
        torch.set_default_dtype(old)


@pytest.mark.parametrize("name", ["Adam", "ASGD"])
def test_deepcopy_and_pickle_continue_like_torch(name):
    """A copy (copy.deepcopy, pickle) taken after some steps continues with the step
    count, the group scalars and the controls it had."""
    import pickle

    def go(cls, ps, opt, grads):
        for gr in grads:
            for p, g in zip(ps, gr):
                p.grad = g.clone()
            opt.step()

    tensors, hps = make_groups(name, torch.float64, 21)
    grads = grads_for(tensors, torch.float64, 21)
    ref = group_params(tensors)
    go(reference(name), ref, make(reference(name), ref, hps), grads)
    for copier in (copy.deepcopy, lambda o: pickle.loads(pickle.dumps(o))):
        ps = group_params(tensors)
        opt = make(getattr(dt, name), ps, hps)
        opt._controls["clip_value"] = 1e9  # a control the copy must keep (too large to act)
        go(None, ps, opt, grads[:4])
        twin = copier(opt)
        assert twin._controls == {"clip_value": 1e9}
        qs = [p for group in twin.param_groups for p in group["params"]]
        go(None, qs, twin, grads[4:])
        assert_close(qs, ref, 1e-12)
