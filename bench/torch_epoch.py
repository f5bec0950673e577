"""One shuffled epoch of a torch model, the loop both PyTorch references time
(bench/torch_mlp.py, bench/torch_cnn.py): batches of `batch` rows, cross-entropy,
zero_grad/backward/step. Returns the loop's seconds and the mean training loss."""
import time

import torch


def one_epoch(model, opt, x, y, batch=128):
    loss_fn = torch.nn.CrossEntropyLoss()
    t0 = time.perf_counter()
    perm = torch.randperm(x.shape[0])
    total = 0.0
    for s in range(0, x.shape[0], batch):
        idx = perm[s:s + batch]
        opt.zero_grad()
        loss = loss_fn(model(x[idx]), y[idx])
        loss.backward()
        opt.step()
        total += loss.item() * len(idx)
    return time.perf_counter() - t0, total / x.shape[0]
