#!/usr/bin/python3
"""Regenerates fuzz/corpus/npz: small .npz archives as NumPy writes them (stored and
deflated, float and integer arrays, other keys) and damaged variants. Usage:
/usr/bin/python3 fuzz/make_npz_corpus.py"""
import io
import os

import numpy as np

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "npz")
os.makedirs(out, exist_ok=True)


def save(name, compressed, **arrays):
    buf = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(buf, **arrays)
    data = buf.getvalue()
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)
    return data


x = np.arange(12, dtype=np.float32).reshape(4, 3)
y = np.array([0, 1, 1, 0], dtype=np.uint8)
stored = save("stored.npz", False, x=x, y=y)
deflated = save("deflated.npz", True, x=x.astype(np.float64), y=y.astype(np.int64))
save("other_keys.npz", True, features=x, labels=y, x=x[:, :1])
save("zeros_big.npz", True, x=np.zeros((256, 16), np.uint8), y=np.zeros(256, np.uint8))
with open(os.path.join(out, "truncated.npz"), "wb") as f:
    f.write(deflated[: len(deflated) // 2])
flipped = bytearray(deflated)
flipped[len(flipped) // 3] ^= 0x40  # inside a compressed member: CRC or inflate error
with open(os.path.join(out, "flipped.npz"), "wb") as f:
    f.write(bytes(flipped))
