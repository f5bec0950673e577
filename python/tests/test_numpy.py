"""descent.Optimizer over NumPy arrays: updates in place, groups, schedules, controls,
averages, state views, checkpoints, and an exception for every bad input."""
import math
import threading

import numpy as np
import pytest

import descent


def pair(n=4, dtype=np.float64, value=1.0):
    return np.full(n, value, dtype=dtype), np.zeros(n, dtype=dtype)


def test_step_in_place_sgd_by_hand():
    w, g = pair()
    opt = descent.Optimizer("sgd(lr=0.5)", [w], [g])
    g[:] = [1, 2, 3, 4]
    assert opt.step() is True
    np.testing.assert_array_equal(w, [0.5, 0.0, -0.5, -1.0])
    assert opt.params[0] is w and opt.grads[0] is g
    assert opt.step_count == 1


def test_adam_first_step_and_state_views():
    # Adam's first step moves every element by lr (m/(sqrt(v)+eps) = sign(g) after bias correction)
    w, g = pair(3, np.float32)
    opt = descent.Optimizer("adam(lr=0.1)", [w], [g])
    g[:] = [2.0, -3.0, 0.5]
    opt.step()
    np.testing.assert_allclose(w, [0.9, 1.1, 0.9], rtol=1e-6)
    st = opt.state[0]
    assert set(st) == {"exp_avg", "exp_avg_sq"}
    np.testing.assert_allclose(st["exp_avg"], 0.1 * g, rtol=1e-6)
    np.testing.assert_allclose(st["exp_avg_sq"], 0.001 * g * g, rtol=1e-6)
    assert st["exp_avg"].dtype == np.float32 and st["exp_avg"].shape == (3,)
    del opt  # the views keep the state alive
    assert st["exp_avg"][0] == pytest.approx(0.2)


def test_adafactor_state_views_have_the_factors_shapes():
    # a 3x4 matrix keeps row_var (3, 1) and col_var (1, 4): its first step's factors are
    # the means of g^2 over the columns and over the rows (beta2_t's weight is 1)
    w = np.ones((3, 4))
    g = np.arange(12, dtype=np.float64).reshape(3, 4)
    opt = descent.Optimizer("adafactor", [w], [g])
    opt.step()
    st = opt.state[0]
    assert set(st) == {"row_var", "col_var"}
    assert st["row_var"].shape == (3, 1) and st["col_var"].shape == (1, 4)
    np.testing.assert_allclose(st["row_var"], (g * g).mean(axis=1, keepdims=True), rtol=1e-15)
    np.testing.assert_allclose(st["col_var"], (g * g).mean(axis=0, keepdims=True), rtol=1e-15)


def test_group_dicts_and_set_group():
    w1, g1 = pair(2)
    w2, g2 = pair(2)
    opt = descent.Optimizer("sgd(lr=0.1)", [{"params": [w1], "grads": [g1]},
                                             {"params": [w2], "grads": [g2], "lr": 0.5, "weight_decay": 0}])
    g1[:] = 1
    g2[:] = 1
    opt.step()
    np.testing.assert_allclose(w1, 0.9)
    np.testing.assert_allclose(w2, 0.5)
    assert opt.get_lr(1) == 0.5 and opt.group_count == 2
    opt.set_lr(0, 0.2)
    opt.step()
    np.testing.assert_allclose(w1, 0.7)


def test_schedule_matches_torch_cosine():
    torch = pytest.importorskip("torch")
    p = torch.nn.Parameter(torch.zeros(1))
    topt = torch.optim.SGD([p], lr=0.1)
    ts = torch.optim.lr_scheduler.CosineAnnealingLR(topt, T_max=10, eta_min=0.001)
    s = descent.Schedule("cosine(T_max=10, eta_min=0.001)", 0.1)
    for _ in range(8):
        assert s.lr == pytest.approx(ts.get_last_lr()[0], rel=1e-12)
        topt.step()
        ts.step()
        s.step()
    assert s.position == 8

    w, g = pair(1)
    opt = descent.Optimizer("sgd(lr=0.1)", [w], [g], schedule="cosine(T_max=10, eta_min=0.001)")
    g[:] = 1
    opt.step()
    assert opt.get_lr(0) == pytest.approx(descent.Schedule("cosine(T_max=10, eta_min=0.001)", 0.1).step())


def test_clipping_and_grad_norm():
    w, g = pair(2, value=0.0)
    opt = descent.Optimizer("sgd(lr=1, clip_norm=1)", [w], [g])
    g[:] = [3, 4]
    opt.step()
    assert opt.grad_norm == pytest.approx(5.0)
    np.testing.assert_allclose(w, [-0.6, -0.8], rtol=1e-6)


def test_nonfinite_policies():
    w, g = pair(2)
    opt = descent.Optimizer("sgd(lr=1)", [w], [g])
    g[:] = [np.nan, 1]
    assert opt.step() is False
    assert opt.last_skipped and opt.skipped_count == 1
    np.testing.assert_array_equal(w, [1, 1])
    opt = descent.Optimizer("sgd(lr=1, nonfinite=error)", [w], [g])
    with pytest.raises(descent.NonFiniteError):
        opt.step()
    assert issubclass(descent.NonFiniteError, FloatingPointError)
    np.testing.assert_array_equal(w, [1, 1])


def test_ema_and_swa():
    w, g = pair(1, value=0.0)
    opt = descent.Optimizer("sgd(lr=1)", [w], [g])
    ema = descent.Average("ema(decay=0.5)", opt)
    g[:] = -1
    for _ in range(3):
        opt.step()
        ema.update()
    # w = 1, 2, 3: the first fold copies, then avg += 0.5 (w - avg): 1, 1.5, 2.25
    assert np.asarray(ema.buffer(0))[0] == 2.25
    swa = descent.Average("swa", opt)
    for _ in range(2):
        opt.step()
        swa.update()
    assert np.asarray(swa.buffer(0))[0] == pytest.approx((4 + 5) / 2)
    swa.swap()
    assert w[0] == pytest.approx(4.5) and swa.swapped
    swa.swap()
    assert w[0] == 5.0


def test_ema_values_by_hand():
    w, g = pair(1, value=0.0)
    opt = descent.Optimizer("sgd(lr=1)", [w], [g])
    ema = descent.Average("ema(decay=0.5)", opt)
    g[:] = -1
    avg = None
    for k in range(3):
        opt.step()
        ema.update()
        avg = w[0] if avg is None else avg + 0.5 * (w[0] - avg)
    assert np.asarray(ema.buffer(0))[0] == pytest.approx(avg)  # 1, 1.5, 2.25


def test_save_load_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    w = rng.standard_normal((3, 2))
    g = np.zeros_like(w)
    grads = [rng.standard_normal((3, 2)) for _ in range(6)]
    opt = descent.Optimizer("adam(lr=0.01)", [w], [g], names=["w"])
    for k in range(3):
        g[:] = grads[k]
        opt.step()
    path = str(tmp_path / "opt.safetensors")
    opt.save(path)
    saved = w.copy()
    for k in range(3, 6):
        g[:] = grads[k]
        opt.step()
    want = w.copy()

    w2 = np.zeros_like(w)
    g2 = np.zeros_like(w)
    opt2 = descent.Optimizer("adam(lr=0.01)", [w2], [g2], names=["w"])
    opt2.load(path)
    np.testing.assert_array_equal(w2, saved)
    assert opt2.step_count == 3
    for k in range(3, 6):
        g2[:] = grads[k]
        opt2.step()
    np.testing.assert_array_equal(w2, want)
    bad = descent.Optimizer("adam(lr=0.01)", [np.zeros(5)], [np.zeros(5)], names=["w"])
    with pytest.raises(ValueError, match="w"):
        bad.load(path)
    with pytest.raises(OSError):
        opt2.load(str(tmp_path / "missing.safetensors"))


def test_grads_rebound_through_step():
    w, g = pair(2)
    opt = descent.Optimizer("sgd(lr=1)", [w], [g])
    grads = [g]
    grads[0] = np.full(2, 0.25)  # the caller's own list: the optimizer never sees it
    opt.step()
    np.testing.assert_array_equal(w, [1, 1])
    opt.step(grads=grads)  # passed: checked and bound
    np.testing.assert_array_equal(w, [0.75, 0.75])
    assert opt.grads[0] is grads[0]
    with pytest.raises(TypeError):
        opt.grads[0] = g  # a tuple
    with pytest.raises(AttributeError):
        opt.grads = [g]
    with pytest.raises(ValueError, match="shape"):
        opt.step(grads=[np.zeros(3)])
    with pytest.raises(TypeError, match="float32 or float64"):
        opt.step(grads=[np.zeros(2, dtype=np.int64)])
    with pytest.raises(ValueError, match="1 arrays given for 1|arrays given"):
        opt.step(grads=[g, g])
    assert opt.grads[0] is grads[0]  # a failed bind changes nothing


@pytest.mark.parametrize("make,exc,match", [
    (lambda: ([np.zeros(3, dtype=np.int32)], [np.zeros(3, dtype=np.int32)]), TypeError, "float32 or float64"),
    (lambda: ([np.zeros((3, 4))[:, ::2]], [np.zeros((3, 2))]), ValueError, "not C-contiguous"),
    (lambda: ([np.zeros(3)], [np.zeros(3)[::-1]]), ValueError, "not C-contiguous"),
    (lambda: ([np.zeros(3)], [np.zeros(4)]), ValueError, "shape"),
    (lambda: ([np.zeros(3)], [np.zeros(3, dtype=np.float32)]), TypeError, "dtype"),
    (lambda: ([[1.0, 2.0]], [np.zeros(2)]), TypeError, "buffer protocol"),
    (lambda: ([np.zeros(0)], [np.zeros(0)]), ValueError, "empty"),
    (lambda: ([np.zeros(3)], []), ValueError, "as many"),
])
def test_bad_arrays(make, exc, match):
    params, grads = make()
    with pytest.raises(exc, match=match):
        descent.Optimizer("sgd", params, grads)


def test_read_only_and_shared():
    w = np.zeros(3)
    w.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        descent.Optimizer("sgd", [w], [np.zeros(3)])
    x = np.zeros(3)
    with pytest.raises(ValueError, match="shares"):
        descent.Optimizer("sgd", [x], [x])


def test_bad_specs_carry_the_library_message():
    w, g = pair()
    with pytest.raises(ValueError, match=r"beta1 must be in \[0, 1\), got 1.5"):
        descent.Optimizer("adam(betas=(1.5, 0.9))", [w], [g])
    with pytest.raises(ValueError, match="nosuch"):
        descent.Optimizer("nosuch", [w], [g])
    opt = descent.Optimizer("adam", [w], [g])
    with pytest.raises(ValueError):
        opt.set_lr(0, -1.0)
    with pytest.raises(ValueError):
        opt.set_group(3, "lr=0.1")


def test_arrays_stay_alive_and_cannot_resize():
    w, g = pair(3)
    opt = descent.Optimizer("sgd(lr=1)", [w], [g])
    with pytest.raises(ValueError):
        w.resize(10)  # a buffer is exported: NumPy refuses
    del w, g
    opt.grads[0][:] = 1
    opt.step()
    np.testing.assert_array_equal(opt.params[0], [0, 0, 0])


def test_every_kind_steps():
    for kind in descent.kinds():
        w = np.ones((4, 3))
        g = np.full((4, 3), 0.5)
        if kind == "sparse_adam":  # dense gradients refused, as torch's SparseAdam does
            with pytest.raises(ValueError, match="sparse_adam: dense gradients are not supported"):
                descent.Optimizer(kind, [w], [g])
            continue
        opt = descent.Optimizer(kind, [w], [g])
        if kind == "lbfgs":  # its step re-evaluates the loss: a closure, which the binding lacks
            with pytest.raises(ValueError, match="needs a closure"):
                opt.step()
            continue
        opt.step()
        assert np.all(w < 1), kind


def test_step_releases_the_gil():
    """Two optimizers step at once in two threads, each on its own arrays."""
    results = []

    def work():
        w, g = pair(100000, value=1.0)
        g[:] = 1
        opt = descent.Optimizer("sgd(lr=0.001)", [w], [g])
        for _ in range(20):
            opt.step()
        results.append(w[0])

    ts = [threading.Thread(target=work) for _ in range(2)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert results == [pytest.approx(1 - 0.02)] * 2


def test_version():
    assert descent.version() == descent.__version__
    assert "adam" in descent.kinds()
    w, g = pair()
    assert math.isnan(descent.Optimizer("sgd", [w], [g]).grad_norm)  # no step measured yet


def test_failed_bind_changes_nothing():
    w1, g1 = pair(2)
    w2, g2 = pair(3)
    opt = descent.Optimizer("sgd(lr=1)", [w1, w2], [g1, g2])
    new1 = np.ones(2)
    with pytest.raises(ValueError, match="param 1 'p1'"):
        opt.step(grads=[new1, np.ones(4)])  # the second is bad: the first is not bound either
    assert opt.grads[0] is g1 and opt.step_count == 0
    with pytest.raises(ValueError, match="shares its gradient"):
        opt.bind(params=[g1, None])
    assert opt.params[0] is w1


def test_created_once():
    w, g = pair()
    opt = descent.Optimizer("sgd", [w], [g])
    with pytest.raises(RuntimeError, match="already created"):
        opt.__init__("adam", [w], [g])
    avg = descent.Average("ema", opt)
    with pytest.raises(RuntimeError, match="already created"):
        avg.__init__("swa", opt)


def test_sparse_grad_rows():
    """A table with grad None takes its rows each step: repeats summed, other rows kept."""
    w = np.zeros((5, 2))
    b, gb = np.ones(3), np.full(3, 0.5)
    opt = descent.Optimizer("sgd(lr=0.5)", [w, b], [None, gb])
    assert opt.grads[0] is None
    opt.set_sparse_grad(0, np.array([3, 1, 3], dtype=np.int64), np.array([[1.0, 2.0], [4.0, 4.0], [3.0, 2.0]]))
    opt.step()
    np.testing.assert_array_equal(w, [[0, 0], [-2, -2], [0, 0], [-2, -2], [0, 0]])
    np.testing.assert_array_equal(b, [0.75] * 3)
    opt.zero_grad()  # no rows: the table stays
    opt.step()
    np.testing.assert_array_equal(w[1], [-2, -2])
    with pytest.raises(ValueError, match="out of range"):
        opt.set_sparse_grad(0, np.array([5], dtype=np.int64), np.ones((1, 2)))
    with pytest.raises(TypeError, match="int64"):
        opt.set_sparse_grad(0, np.array([1], dtype=np.int32), np.ones((1, 2)))
    with pytest.raises(ValueError, match="1 x 2 elements"):
        opt.set_sparse_grad(0, np.array([1], dtype=np.int64), np.ones(3))
    with pytest.raises(ValueError, match="row-sparse gradient"):
        opt.bind(grads=[np.ones((5, 2)), None])
    with pytest.raises(ValueError, match="adam: sparse gradients are not supported"):
        descent.Optimizer("adam", [np.zeros((5, 2))], [None])


def test_lbfgs_step_closure_solves_a_quadratic():
    """f(x) = x.Ax/2 - b.x: L-BFGS with the strong Wolfe search reaches A^-1 b; the
    closure writes the gradient into the optimizer's array and returns the loss."""
    rng = np.random.default_rng(2)
    m = rng.standard_normal((6, 6))
    a, b = m @ m.T + 6 * np.eye(6), rng.standard_normal(6)
    x, g = np.zeros(6), np.zeros(6)
    opt = descent.Optimizer("lbfgs(line_search_fn=strong_wolfe, tolerance_change=0, tolerance_grad=1e-12)", [x], [g])
    assert opt.needs_closure
    calls = []

    def closure():
        calls.append(1)
        g[:] = a @ x - b
        return 0.5 * x @ a @ x - b @ x

    first = opt.step_closure(closure)
    assert first == 0.0  # the loss at the start, as torch's step returns it
    np.testing.assert_allclose(x, np.linalg.solve(a, b), rtol=1e-8)
    assert opt.step_count == 1 and opt.func_evals == len(calls) > 1 and opt.n_iter >= 1
    with pytest.raises(TypeError, match="callable"):
        opt.step_closure(None)
    # any other kind evaluates once, then steps with that gradient
    w, gw = np.ones(2), np.zeros(2)
    sgd = descent.Optimizer("sgd(lr=0.5)", [w], [gw])
    assert not sgd.needs_closure

    def grad_of_w():
        gw[:] = 2 * w
        return float(w @ w)

    assert sgd.step_closure(grad_of_w) == 2.0
    np.testing.assert_array_equal(w, [0.0, 0.0])


def test_step_closure_exception_and_reentry():
    x, g = np.ones(3), np.zeros(3)
    opt = descent.Optimizer("lbfgs", [x], [g])

    def boom():
        raise KeyError("from the closure")

    with pytest.raises(KeyError, match="from the closure"):
        opt.step_closure(boom)

    def reenter():
        opt.step()

    with pytest.raises(RuntimeError, match="in step_closure"):
        opt.step_closure(reenter)

    def rebind():  # the one thing a closure may do to its optimizer besides zero_grad
        opt.bind(grads=[np.full(3, 2.0)])
        return 1.0

    opt.step_closure(rebind)
    np.testing.assert_array_equal(opt.grads[0], [2.0, 2.0, 2.0])
    assert opt.step_count == 1 and x[0] < 1
