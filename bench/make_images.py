"""Writes a synthetic image classification set for bench/cnn_vs_torch.sh: ROWS x 1 x 28 x
28 float32 pixels in [0, 1) (x_images.npy, an N x C x H x W array) and labels 0..9 from a
random linear map of the pixels (y_images.npy) into the directory given."""
import sys

import numpy as np

out = sys.argv[1] if len(sys.argv) > 1 else "."
rows = int(sys.argv[2]) if len(sys.argv) > 2 else 60000
rng = np.random.default_rng(0)
x = rng.random((rows, 1, 28, 28), dtype=np.float32)
w = rng.standard_normal((784, 10)).astype(np.float32)
y = np.argmax(x.reshape(rows, 784) @ w, axis=1).astype(np.int64)
np.save(f"{out}/x_images.npy", x)
np.save(f"{out}/y_images.npy", y)
