#!/usr/bin/python3
"""make_sparse.py: golden vectors from PyTorch for tests/test_sparse.c (row-sparse gradients).

Runs torch.optim.SparseAdam, and the sparse paths of torch.optim.Adagrad and SGD (with
momentum too: its buffer, a sparse tensor, moves every row it ever named), on an
embedding table "emb" (ROWS x DIM) whose gradient is a sparse COO tensor of a few rows
per step: rows repeat within a step (torch's coalesce() sums them), rows 6 and 7 are
never named (their moments and parameters must not move), and step 5 names no row at
all in SGD's cases (torch 1.13's SparseAdam and Adagrad fail on such a gradient;
tests/test_sparse.c checks descent's, which changes no row, by hand; with momentum the rows
named before still move). Adagrad's and SGD's cases add a dense tensor "w" to the same group
(a dense and a sparse parameter in one optimizer). float32 and float64; every gradient is written out.

Usage (from the repository root, needs Debian's python3-torch):
    /usr/bin/python3 tests/golden/make_sparse.py > tests/golden/sparse_adam.txt

File format (whitespace-separated tokens; every number is float.hex of the value):
    case NAME DTYPE            start of a case (DTYPE f32 or f64)
    spec SPEC                  descent's optimizer spec (no spaces)
    emb ROWS DIM  dense N  steps S     (N 0: no dense tensor)
    init NAME v...             initial values of emb or w
    grad STEP K r1..rK v...    the rows of emb's gradient at STEP and their K x DIM values
    wgrad STEP v...            w's gradient at STEP
    check STEP                 the values after STEP steps follow:
    param NAME v...   state NAME BUFFER v...
    end
"""
import torch

ROWS, DIM, DENSE, STEPS = 8, 3, 5, 30
CHECKS = (1, 2, 5, 6, 10, 30)
TOUCHED = 6   # rows 6 and 7 are never named
EMPTY_STEP = 5

CASES = (
    ("default", "sparse_adam", lambda p: torch.optim.SparseAdam(p), "sparse_adam", False),
    ("options", "sparse_adam(lr=0.01,beta1=0.8,beta2=0.99,eps=1e-6,maximize=true)",
     lambda p: torch.optim.SparseAdam(p, lr=0.01, betas=(0.8, 0.99), eps=1e-6, maximize=True), "sparse_adam", False),
    ("adagrad", "adagrad(lr=0.1)", lambda p: torch.optim.Adagrad(p, lr=0.1), "adagrad", True),
    ("adagrad_options", "adagrad(lr=0.1,lr_decay=0.01,initial_accumulator_value=0.1,eps=1e-6,maximize=true)",
     lambda p: torch.optim.Adagrad(p, lr=0.1, lr_decay=0.01, initial_accumulator_value=0.1, eps=1e-6,
                                   maximize=True), "adagrad", True),
    ("sgd", "sgd(lr=0.1)", lambda p: torch.optim.SGD(p, lr=0.1), "sgd", True),
    ("sgd_maximize", "sgd(lr=0.1,maximize=true)", lambda p: torch.optim.SGD(p, lr=0.1, maximize=True), "sgd", True),
    # SGD's momentum: torch keeps a sparse buffer that moves every row it ever named
    ("sgd_momentum", "sgd(lr=0.1,momentum=0.9)", lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9), "sgd_momentum",
     True),
    ("sgd_dampening", "sgd(lr=0.05,momentum=0.5,dampening=0.3)",
     lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.5, dampening=0.3), "sgd_momentum", True),
    ("sgd_nesterov", "sgd(lr=0.1,momentum=0.9,nesterov=true,maximize=true)",
     lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True, maximize=True), "sgd_momentum", True),
)
STATE = {"sparse_adam": ("exp_avg", "exp_avg_sq"), "adagrad": ("sum",), "sgd": (), "sgd_momentum": ("momentum_buffer",)}
SGD = ("sgd", "sgd_momentum")  # the kinds that take a gradient without rows


def hexes(t):
    return " ".join(float(x).hex() for x in t.detach().reshape(-1).tolist())


def run(name, spec, make, kind, dense, dtype, seed, out):
    gen = torch.Generator().manual_seed(seed)
    emb = torch.nn.Parameter((torch.rand(ROWS, DIM, generator=gen, dtype=torch.float64) - 0.5).to(dtype))
    params = [emb]
    if dense:
        w = torch.nn.Parameter((torch.rand(DENSE, generator=gen, dtype=torch.float64) - 0.5).to(dtype))
        params.append(w)
    opt = make(params)
    out.append("case %s %s" % (name, "f32" if dtype == torch.float32 else "f64"))
    out.append("spec " + spec)
    out.append("emb %d %d dense %d steps %d" % (ROWS, DIM, DENSE if dense else 0, STEPS))
    out.append("init emb " + hexes(emb))
    if dense:
        out.append("init w " + hexes(w))
    for step in range(1, STEPS + 1):
        # torch 1.13's SparseAdam and Adagrad fail on a gradient without rows: SGD alone gets one
        k = 0 if step == EMPTY_STEP and kind in SGD else int(torch.randint(1, 7, (1,), generator=gen))
        rows = torch.randint(0, TOUCHED, (k,), generator=gen)
        vals = (torch.rand(k, DIM, generator=gen, dtype=torch.float64) - 0.5).to(dtype)
        emb.grad = torch.sparse_coo_tensor(rows.reshape(1, k), vals, (ROWS, DIM))
        out.append("grad %d %d %s %s" % (step, k, " ".join(str(int(r)) for r in rows), hexes(vals)))
        if dense:
            w.grad = (torch.rand(DENSE, generator=gen, dtype=torch.float64) - 0.5).to(dtype)
            out.append("wgrad %d %s" % (step, hexes(w.grad)))
        opt.step()
        if step in CHECKS:
            out.append("check %d" % step)
            for pname, p in (("emb", emb), ("w", w if dense else None)):
                if p is None:
                    continue
                out.append("param %s %s" % (pname, hexes(p)))
                for buf in STATE[kind]:
                    b = opt.state[p][buf]  # SGD's momentum of a sparse gradient is a sparse tensor
                    out.append("state %s %s %s" % (pname, buf, hexes(b.to_dense() if b.is_sparse else b)))
    out.append("end")


def main():
    out = ["# golden vectors for tests/test_sparse.c, made by tests/golden/make_sparse.py",
           "# with torch %s; regenerate with: /usr/bin/python3 tests/golden/make_sparse.py" % torch.__version__]
    for i, (name, spec, make, kind, dense) in enumerate(CASES):
        for dtype in (torch.float32, torch.float64):
            run(name, spec, make, kind, dense, dtype, 100 + i, out)
    print("\n".join(out))


if __name__ == "__main__":
    main()
