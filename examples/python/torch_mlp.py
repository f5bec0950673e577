#!/usr/bin/python3
"""torch_mlp.py: a torch model trained with descent's AdamW under torch's cosine
schedule, beside the same training with torch.optim.AdamW: the loss curves agree.

A two-layer MLP (tanh) regresses y = sin(3 x1) cos(2 x2) on 512 random points, full
batch, 200 epochs, AdamW(lr=1e-2, weight_decay=1e-2) with CosineAnnealingLR(T_max=200).

  PYTHONPATH=build/python /usr/bin/python3 examples/python/torch_mlp.py
"""
import torch

import descent.torch

EPOCHS = 200


def train(make_optimizer):
    torch.manual_seed(0)
    x = torch.rand(512, 2) * 2 - 1
    y = (torch.sin(3 * x[:, 0]) * torch.cos(2 * x[:, 1])).unsqueeze(1)
    model = torch.nn.Sequential(torch.nn.Linear(2, 64), torch.nn.Tanh(), torch.nn.Linear(64, 1))
    opt = make_optimizer(model.parameters(), lr=1e-2, weight_decay=1e-2)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=EPOCHS)
    losses = []
    for _ in range(EPOCHS):
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(model(x), y)
        loss.backward()
        opt.step()
        sched.step()
        losses.append(loss.item())
    return losses


def main():
    ours = train(descent.torch.AdamW)
    theirs = train(torch.optim.AdamW)
    print("%6s %14s %14s %10s" % ("epoch", "descent AdamW", "torch AdamW", "rel diff"))
    for e in list(range(0, EPOCHS, 20)) + [EPOCHS - 1]:
        print("%6d %14.8f %14.8f %10.2e" % (e + 1, ours[e], theirs[e], abs(ours[e] - theirs[e]) / theirs[e]))
    worst = max(abs(a - b) / b for a, b in zip(ours, theirs))
    print("largest relative difference over %d epochs: %.2e (float32)" % (EPOCHS, worst))


if __name__ == "__main__":
    main()
