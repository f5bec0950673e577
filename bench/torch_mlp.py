"""PyTorch reference for bench/mlp_vs_torch.sh: the same 784-256-128-10 ReLU network,
Adam (lr 1e-3), batch 128, one shuffled epoch over x.npy/y.npy, inputs standardized
as descent does. Prints the seconds of the training loop alone as JSON."""
import json
import sys
import time

import numpy as np
import torch

d = sys.argv[1]
torch.set_num_threads(2)
torch.manual_seed(0)
x = np.load(f"{d}/x.npy")
y = np.load(f"{d}/y.npy")
x = (x - x.mean(0)) / np.where(x.std(0) > 0, x.std(0), 1)
x = torch.from_numpy(x.astype(np.float32))
y = torch.from_numpy(y)
model = torch.nn.Sequential(
    torch.nn.Linear(784, 256), torch.nn.ReLU(),
    torch.nn.Linear(256, 128), torch.nn.ReLU(),
    torch.nn.Linear(128, 10))
opt = torch.optim.Adam(model.parameters(), lr=1e-3)
loss_fn = torch.nn.CrossEntropyLoss()
t0 = time.perf_counter()
perm = torch.randperm(x.shape[0])
total = 0.0
for s in range(0, x.shape[0], 128):
    idx = perm[s:s + 128]
    opt.zero_grad()
    loss = loss_fn(model(x[idx]), y[idx])
    loss.backward()
    opt.step()
    total += loss.item() * len(idx)
secs = time.perf_counter() - t0
print(json.dumps({"seconds": secs, "train_loss": total / x.shape[0]}))
