#!/usr/bin/python3
"""Golden vectors for the layers of a convolutional network, from
torch.nn.functional (conv2d, max_pool2d, avg_pool2d, batch_norm), and a whole small
CNN trained a few steps, for tests/test_cnn.c. Run:

    tests/golden/make_cnn.py > tests/golden/cnn.txt

Layer cases, in float32 and float64 (the float32 inputs are the float64 ones rounded):

    layer <spec> <C> <H> <W> <batch> <f32|f64> <train|eval>
    x / w / b / rm / rv <values>   input, weight, bias, running mean and variance before
    y / dy / dx / gw / gb <values> output, the gradient given, and the gradients found
    rm_after / rv_after <values>   running statistics after (batchnorm)
    end

H and W are 0 for flat rows (batchnorm1d). The network case (float64):

    net <spec> <C> <H> <W> <batch> <classes> <optimizer spec> <steps>
    x / y / params <values>        input, labels, the parameters in module order
    losses <values>                the mean cross-entropy of each step, before it
    params_after / buffers_after   parameters, then each batchnorm's running mean and var
    end
"""
import math

import torch
import torch.nn.functional as F

torch.set_num_threads(1)


def values(n, seed, scale=1.0):
    """Deterministic values in (-scale, scale), exactly representable in f32."""
    return [float(torch.tensor(round(math.sin(1.3 * i + seed) * scale * (0.6 + 0.4 * math.cos(0.7 * i)), 6),
                               dtype=torch.float32)) for i in range(n)]


def line(key, t):
    print(key + " " + " ".join(repr(float(v)) for v in t.detach().reshape(-1).tolist()))


def layer_case(spec, shape, n, dtype, train):
    c, h, w = shape
    xs = (n, c, h, w) if h else (n, c)
    x = torch.tensor(values(math.prod(xs), 0.1, 2.0), dtype=dtype).reshape(xs).requires_grad_()
    kind, args = spec.split("(")[0], {}
    for part in spec[len(kind) + 1:-1].split(",") if "(" in spec else []:
        k, _, v = part.partition("=")
        args[k if v else ("out" if kind == "conv2d" else "k")] = int(v or k)
    wt = b = rm = rv = None
    if kind == "conv2d":
        wt = torch.tensor(values(args["out"] * c * args["k"] ** 2, 0.7), dtype=dtype)
        wt = wt.reshape(args["out"], c, args["k"], args["k"]).requires_grad_()
        b = torch.tensor(values(args["out"], 0.9), dtype=dtype).requires_grad_()
        y = F.conv2d(x, wt, b, stride=args.get("stride", 1), padding=args.get("pad", 0))
    elif kind in ("maxpool2d", "avgpool2d"):
        f = F.max_pool2d if kind == "maxpool2d" else F.avg_pool2d
        y = f(x, args["k"], stride=args.get("stride", args["k"]), padding=args.get("pad", 0))
    else:
        wt = torch.tensor(values(c, 0.3, 1.5), dtype=dtype).requires_grad_()
        b = torch.tensor(values(c, 0.5), dtype=dtype).requires_grad_()
        rm = torch.tensor(values(c, 0.2), dtype=dtype)
        rv = torch.tensor([1.0 + abs(v) for v in values(c, 0.4)], dtype=dtype)
        rm0, rv0 = rm.clone(), rv.clone()
        y = F.batch_norm(x, rm, rv, wt, b, training=train, momentum=0.1, eps=1e-5)
    dy = torch.tensor(values(y.numel(), 0.6), dtype=dtype).reshape(y.shape)
    y.backward(dy)
    print("layer %s %d %d %d %d %s %s" % (spec, c, h, w, n, "f32" if dtype == torch.float32 else "f64",
                                          "train" if train else "eval"))
    line("x", x)
    if wt is not None:
        line("w", wt)
        line("b", b)
    if rm is not None:
        line("rm", rm0)
        line("rv", rv0)
    line("y", y)
    line("dy", dy)
    line("dx", x.grad)
    if wt is not None:
        line("gw", wt.grad)
        line("gb", b.grad)
    if rm is not None:
        line("rm_after", rm)
        line("rv_after", rv)
    print("end")


LAYERS = [
    ("conv2d(3,k=3,stride=2,pad=1)", (2, 7, 5), 2, True),
    ("conv2d(4,k=2)", (3, 5, 6), 1, True),
    ("conv2d(2,k=5,pad=2)", (1, 8, 8), 3, True),
    ("conv2d(2,k=3,stride=3)", (2, 7, 8), 2, True),
    ("maxpool2d(3,stride=2,pad=1)", (2, 7, 5), 2, True),
    ("maxpool2d(2)", (3, 5, 7), 1, True),
    ("avgpool2d(3,stride=2,pad=1)", (2, 7, 5), 2, True),
    ("avgpool2d(2)", (1, 5, 5), 1, True),
    ("batchnorm2d", (3, 4, 5), 2, True),
    ("batchnorm2d", (3, 4, 5), 2, False),
    ("batchnorm2d", (2, 3, 3), 1, True),
    ("batchnorm1d", (5, 0, 0), 4, True),
    ("batchnorm1d", (5, 0, 0), 1, False),
]

# Each batchnorm follows an activation: right after a layer with a bias, that bias's
# gradient would be rounding noise (the normalization removes it), which Adam scales up.
NET = ("conv2d(4,k=3,pad=1),relu,batchnorm2d,maxpool2d(2),conv2d(6,k=3,stride=2,pad=1),tanh,"
       "avgpool2d(2,stride=1),flatten,dense(8),tanh,batchnorm1d,relu,dense(3)")


def net_case():
    torch.manual_seed(0)
    dt = torch.float64
    model = torch.nn.Sequential(
        torch.nn.Conv2d(1, 4, 3, padding=1), torch.nn.ReLU(), torch.nn.BatchNorm2d(4), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(4, 6, 3, stride=2, padding=1), torch.nn.Tanh(), torch.nn.AvgPool2d(2, stride=1),
        torch.nn.Flatten(), torch.nn.Linear(6, 8), torch.nn.Tanh(), torch.nn.BatchNorm1d(8), torch.nn.ReLU(),
        torch.nn.Linear(8, 3)).to(dt)
    n, steps = 6, 4
    x = torch.tensor(values(n * 64, 0.2, 2.0), dtype=dt).reshape(n, 1, 8, 8)
    y = torch.tensor([i % 3 for i in range(n)])
    params = list(model.parameters())
    print("net %s 1 8 8 %d 3 adam(lr=0.01) %d" % (NET, n, steps))
    line("x", x)
    line("y", y.to(dt))
    line("params", torch.cat([p.detach().reshape(-1) for p in params]))
    opt = torch.optim.Adam(params, lr=0.01)
    losses = []
    model.train()
    for _ in range(steps):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    line("losses", torch.tensor(losses, dtype=dt))
    line("params_after", torch.cat([p.detach().reshape(-1) for p in params]))
    bn = [m for m in model if isinstance(m, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d))]
    line("buffers_after", torch.cat([torch.cat([m.running_mean, m.running_var]) for m in bn]))
    print("end")


def main():
    print("# generated by tests/golden/make_cnn.py with torch", torch.__version__)
    for dtype in (torch.float64, torch.float32):
        for spec, shape, n, train in LAYERS:
            layer_case(spec, shape, n, dtype, train)
    net_case()


if __name__ == "__main__":
    main()
