"""PyTorch reference for bench/cnn_vs_torch.sh: the network of `descent train --model`
(conv2d(16,k=5,pad=2),relu,maxpool2d(2),conv2d(32,k=5,pad=2),relu,maxpool2d(2),flatten,
dense(128),relu,dense(10)), RAdam (lr 1e-3), batch 128, one shuffled epoch over
x_images.npy/y_images.npy, inputs standardized per pixel as descent does, 2 threads.
Prints the seconds of loading (and standardizing) and of the training loop as JSON."""
import json
import sys
import time

import numpy as np
import torch
from torch_epoch import one_epoch

d = sys.argv[1]
torch.set_num_threads(2)
torch.manual_seed(0)
t0 = time.perf_counter()
x = np.load(f"{d}/x_images.npy")
y = np.load(f"{d}/y_images.npy")
sd = x.std(0)
x = torch.from_numpy(((x - x.mean(0)) / np.where(sd > 0, sd, 1)).astype(np.float32))
y = torch.from_numpy(y)
load = time.perf_counter() - t0
model = torch.nn.Sequential(
    torch.nn.Conv2d(1, 16, 5, padding=2), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
    torch.nn.Conv2d(16, 32, 5, padding=2), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
    torch.nn.Flatten(), torch.nn.Linear(32 * 7 * 7, 128), torch.nn.ReLU(), torch.nn.Linear(128, 10))
opt = torch.optim.RAdam(model.parameters(), lr=1e-3)
secs, train_loss = one_epoch(model, opt, x, y)
print(json.dumps({"load_seconds": load, "seconds": secs, "train_loss": train_loss}))
