"""descent.torch.LBFGS against torch.optim.LBFGS (torch 1.13): float64 trajectories on
Rosenbrock and a logistic regression with both line searches, the closure's contract
(its first loss returned, its exceptions raised as they are), and state dicts moving
between the two."""
import copy

import pytest
import torch

import descent.torch as dt

F64 = torch.float64


def rosenbrock(ps):
    x, = ps
    return (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2


def _data():
    g = torch.Generator().manual_seed(3)
    x = torch.randn(40, 3, generator=g, dtype=F64)
    y = (x @ torch.tensor([1.5, -2.0, 0.5], dtype=F64) + 0.3 * torch.randn(40, generator=g, dtype=F64) > 0)
    return x, y.to(F64)


X, Y = _data()


def logistic(ps):
    w, b = ps
    return torch.nn.functional.binary_cross_entropy_with_logits(X @ w + b, Y) + 1e-3 * (w * w).sum()


PROBLEMS = {
    "rosenbrock": (rosenbrock, lambda: [torch.tensor([-1.5, 2.0], dtype=F64)]),
    "logistic": (logistic, lambda: [torch.zeros(3, dtype=F64), torch.zeros((), dtype=F64)]),
}


def closure_for(opt, ps, f, set_to_none=False):
    def closure():
        opt.zero_grad(set_to_none=set_to_none)
        loss = f(ps)
        loss.backward()
        return loss
    return closure


def steps(cls, problem, n, set_to_none=False, **kw):
    """n steps of cls on the problem; the losses step returned and the parameters after each."""
    f, start = PROBLEMS[problem]
    ps = [torch.nn.Parameter(t) for t in start()]
    opt = cls(ps, **kw)
    losses, points = [], []
    for _ in range(n):
        losses.append(opt.step(closure_for(opt, ps, f, set_to_none)))
        points.append([p.detach().clone() for p in ps])
    return losses, points, opt, ps


@pytest.mark.parametrize("problem", sorted(PROBLEMS))
@pytest.mark.parametrize("line_search_fn", [None, "strong_wolfe"])
@pytest.mark.parametrize("kw", [dict(max_iter=4), dict(max_iter=20, history_size=3, lr=0.5)])
def test_trajectory_matches_torch(problem, line_search_fn, kw):
    ours = steps(dt.LBFGS, problem, 5, line_search_fn=line_search_fn, **kw)
    theirs = steps(torch.optim.LBFGS, problem, 5, line_search_fn=line_search_fn, **kw)
    for a, b in zip(ours[0], theirs[0]):  # step returns the first loss of each step, as a tensor
        assert isinstance(a, torch.Tensor) and abs(a.item() - b.item()) <= 1e-9 * abs(b.item())
    for pa, pb in zip(ours[1], theirs[1]):
        for a, b in zip(pa, pb):
            assert torch.allclose(a, b, rtol=1e-9, atol=1e-12), (a, b)
    sa, sb = ours[2].state[ours[3][0]], theirs[2].state[theirs[3][0]]
    assert (sa["n_iter"], sa["func_evals"]) == (sb["n_iter"], sb["func_evals"])


def test_float32_follows_torch_closely():
    """descent's history is double, torch's float: the same minimum to float precision,
    and the state dict holds the history in the parameters' dtype, as torch's does."""
    x, y = X.float(), Y.float()
    finals = []
    for cls in (dt.LBFGS, torch.optim.LBFGS):
        w, b = torch.nn.Parameter(torch.zeros(3)), torch.nn.Parameter(torch.zeros(()))
        opt = cls([w, b], line_search_fn="strong_wolfe")

        def closure():
            opt.zero_grad()
            loss = torch.nn.functional.binary_cross_entropy_with_logits(x @ w + b, y) + 1e-3 * (w * w).sum()
            loss.backward()
            return loss

        for _ in range(3):
            opt.step(closure)
        finals.append(torch.cat([w.detach(), b.detach().reshape(1)]))
        state = opt.state_dict()["state"][0]
        assert state["d"].dtype == state["old_dirs"][0].dtype == torch.float32
    assert torch.allclose(finals[0], finals[1], rtol=1e-4, atol=1e-5)


def test_rosenbrock_solved_and_new_grad_tensors_followed():
    # zero_grad(set_to_none=True): every evaluation's backward() allocates new .grad tensors
    losses, points, _, _ = steps(dt.LBFGS, "rosenbrock", 4, set_to_none=True, line_search_fn="strong_wolfe")
    theirs = steps(torch.optim.LBFGS, "rosenbrock", 4, line_search_fn="strong_wolfe")[1]
    assert torch.allclose(points[-1][0], torch.ones(2, dtype=F64), atol=1e-6)
    assert torch.allclose(points[-1][0], theirs[-1][0], rtol=1e-9)


def test_group_changes_between_steps_followed():
    """A schedule's lr, or any other key changed in param_groups, reaches the next step."""
    points = []
    for cls in (dt.LBFGS, torch.optim.LBFGS):
        x = torch.nn.Parameter(torch.tensor([-1.5, 2.0], dtype=F64))
        opt = cls([x], max_iter=3)
        sched = torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
        for k in range(4):
            opt.step(closure_for(opt, [x], rosenbrock))
            sched.step()
            if k == 1:
                opt.param_groups[0]["line_search_fn"] = "strong_wolfe"
                opt.param_groups[0]["max_iter"] = 5
        points.append(x.detach().clone())
    assert torch.allclose(points[0], points[1], rtol=1e-9, atol=1e-12)


def test_grad_none_counts_as_zeros_like_torch():
    results = []
    for cls in (dt.LBFGS, torch.optim.LBFGS):
        x = torch.nn.Parameter(torch.tensor([-1.5, 2.0], dtype=F64))
        unused = torch.nn.Parameter(torch.ones(3, dtype=F64))  # never in the loss: .grad stays None
        opt = cls([x, unused])
        opt.step(closure_for(opt, [x], rosenbrock))
        results.append((x.detach().clone(), unused.detach().clone()))
    assert torch.allclose(results[0][0], results[1][0], rtol=1e-9)
    assert torch.equal(results[0][1], torch.ones(3, dtype=F64))


def test_sparse_embedding_gradient_made_dense_like_torch():
    weights = []
    for cls in (dt.LBFGS, torch.optim.LBFGS):
        torch.manual_seed(0)
        emb = torch.nn.Embedding(6, 3, sparse=True).double()
        idx, target = torch.tensor([0, 2, 2, 5]), torch.ones(4, 3, dtype=F64)
        opt = cls(emb.parameters(), max_iter=5)
        for _ in range(2):
            opt.step(closure_for(opt, None, lambda _: ((emb(idx) - target) ** 2).sum()))
        weights.append(emb.weight.detach().clone())
    assert torch.allclose(weights[0], weights[1], rtol=1e-9, atol=1e-12)
    assert torch.equal(weights[0][[1, 3, 4]], weights[1][[1, 3, 4]])  # rows never touched


def test_step_without_closure_is_an_error():
    x = torch.nn.Parameter(torch.ones(2, dtype=F64))
    with pytest.raises(TypeError, match="needs a closure"):
        dt.LBFGS([x]).step()


def test_torch_arguments():
    x = torch.nn.Parameter(torch.ones(2, dtype=F64))
    group = dt.LBFGS([x], 0.5, 7).param_groups[0]
    assert (group["lr"], group["max_iter"], group["max_eval"], group["line_search_fn"]) == (0.5, 7, 8, None)
    with pytest.raises(ValueError, match="per-parameter options"):
        dt.LBFGS([{"params": [x]}, {"params": [torch.nn.Parameter(torch.ones(1))]}])
    with pytest.raises(ValueError, match="line_search_fn"):
        dt.LBFGS([x], line_search_fn="backtracking")


class Stop(Exception):
    pass


def test_closure_exception_raised_as_is_and_optimizer_usable():
    x = torch.nn.Parameter(torch.tensor([-1.5, 2.0], dtype=F64))
    opt = dt.LBFGS([x], line_search_fn="strong_wolfe")
    good = closure_for(opt, [x], rosenbrock)
    calls = []
    err = Stop("evaluation 3 failed")

    def bad():
        calls.append(1)
        if len(calls) == 3:
            raise err
        return good()

    with pytest.raises(Stop) as info:
        opt.step(bad)
    assert info.value is err and len(calls) == 3
    with pytest.raises(TypeError, match="closure must return the loss"):
        opt.step(lambda: "not a loss")
    for _ in range(5):  # the optimizer goes on from where the failed step left it
        opt.step(good)
    assert torch.allclose(x.detach(), torch.ones(2, dtype=F64), atol=1e-6)


def test_closure_cannot_step_the_optimizer_it_runs_in():
    x = torch.nn.Parameter(torch.tensor([-1.5, 2.0], dtype=F64))
    opt = dt.LBFGS([x])
    good = closure_for(opt, [x], rosenbrock)

    def reentrant():
        opt._c.step_closure(good)

    with pytest.raises(RuntimeError, match="in step_closure"):
        opt.step(reentrant)
    opt.step(good)  # usable after


def test_state_dict_moves_both_ways():
    """descent -> torch -> descent continues as the uninterrupted run; torch -> descent
    and descent -> torch too (to 1e-9, both line searches)."""
    for ls in (None, "strong_wolfe"):
        kw = dict(max_iter=3, history_size=4, line_search_fn=ls)
        ref = steps(torch.optim.LBFGS, "rosenbrock", 6, **kw)[1][-1][0]
        for chain in ((dt.LBFGS, torch.optim.LBFGS, dt.LBFGS), (torch.optim.LBFGS, dt.LBFGS),
                      (dt.LBFGS, torch.optim.LBFGS), (dt.LBFGS, dt.LBFGS)):
            x = torch.nn.Parameter(torch.tensor([-1.5, 2.0], dtype=F64))
            opt = chain[0]([x], **kw)
            for k, cls in enumerate(chain):
                if k:
                    state = copy.deepcopy(opt.state_dict())
                    opt = cls([x], **kw)
                    opt.load_state_dict(state)
                for _ in range(6 // len(chain)):
                    opt.step(closure_for(opt, [x], rosenbrock))
            assert torch.allclose(x.detach(), ref, rtol=1e-9, atol=1e-12), (ls, chain, x, ref)
            if chain[-1] is dt.LBFGS:
                saved = opt.state_dict()["state"][0]
                assert len(saved["old_dirs"]) == len(saved["ro"]) <= 4


def test_deepcopy_keeps_the_history():
    ref = steps(torch.optim.LBFGS, "rosenbrock", 4, max_iter=3)[1][-1][0]
    x = torch.nn.Parameter(torch.tensor([-1.5, 2.0], dtype=F64))
    opt = dt.LBFGS([x], max_iter=3)
    for _ in range(2):
        opt.step(closure_for(opt, [x], rosenbrock))
    twin = copy.deepcopy(opt)
    y, = twin.param_groups[0]["params"]
    for _ in range(2):
        twin.step(closure_for(twin, [y], rosenbrock))
    assert torch.allclose(y.detach(), ref, rtol=1e-9, atol=1e-12)


def test_bad_state_refused_with_the_reason_and_nothing_lost():
    """A state descent's checks refuse raises ValueError from load_state_dict, and the
    optimizer goes on with its own as if nothing had been loaded."""
    ref = steps(dt.LBFGS, "rosenbrock", 3, max_iter=3, history_size=2)[1][-1][0]
    x = torch.nn.Parameter(torch.tensor([-1.5, 2.0], dtype=F64))
    opt = dt.LBFGS([x], max_iter=3, history_size=2)
    opt.step(closure_for(opt, [x], rosenbrock))
    opt.step(closure_for(opt, [x], rosenbrock))
    good = opt.state_dict()
    for key, value, match in (("old_dirs", None, "as many entries"), ("H_diag", -1.0, "H_diag must be finite and > 0"),
                              ("d", torch.zeros(5, dtype=F64), "'d' has 5 elements, the parameters 2"),
                              ("n_iter", 0.5, "n_iter must be an integer")):
        bad = copy.deepcopy(good)
        if value is None:
            bad["state"][0][key].append(torch.zeros(2, dtype=F64))
        else:
            bad["state"][0][key] = torch.tensor(value, dtype=F64) if isinstance(value, float) else value
        with pytest.raises(ValueError, match=match):
            opt.load_state_dict(bad)
        assert opt.param_groups[0]["params"][0] is x
    opt.step(closure_for(opt, [x], rosenbrock))
    assert torch.equal(x.detach(), ref)
