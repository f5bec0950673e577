"""Writes an MNIST-sized synthetic classification set (60 000 x 784 float32, labels
0..9 from a random linear map) as x.npy and y.npy into the directory given."""
import sys

import numpy as np

out = sys.argv[1] if len(sys.argv) > 1 else "."
rng = np.random.default_rng(0)
x = rng.random((60000, 784), dtype=np.float32)
w = rng.standard_normal((784, 10)).astype(np.float32)
y = np.argmax(x @ w, axis=1).astype(np.int64)
np.save(f"{out}/x.npy", x)
np.save(f"{out}/y.npy", y)
