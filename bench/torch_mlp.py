"""PyTorch reference for bench/mlp_vs_torch.sh: the same 784-256-128-10 ReLU network,
Adam (lr 1e-3), batch 128, one shuffled epoch over x.npy/y.npy, inputs standardized
as descent does. Prints the seconds of the training loop alone as JSON."""
import json
import sys

import numpy as np
import torch
from torch_epoch import one_epoch

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
secs, train_loss = one_epoch(model, opt, x, y)
print(json.dumps({"seconds": secs, "train_loss": train_loss}))
