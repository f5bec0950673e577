#!/usr/bin/env bash
# One epoch of the CNN of `descent train --model` (two 5x5 convolutions of 16 and 32
# channels with 2x2 max pooling, dense 128, dense 10) on ROWS synthetic 1x28x28 images
# (an N x C x H x W float32 .npy), batch 128, RAdam: descent train against PyTorch 1.13
# (2 threads each), run alternately RUNS times in the same session. Prints each run (the
# data loading, the epoch, and the whole command), the medians, the epoch's GFLOP/s
# (3x the forward pass's multiply-adds, 2 FLOPs each) and the machine's sgemm rate
# (NumPy's float32 matmul on the same OpenBLAS, 2 threads) for comparison.
# Usage: bench/cnn_vs_torch.sh [RUNS [ROWS]]   (from the repository root, after make)
set -eu
runs=${1:-3}
rows=${2:-60000}
dir=${BENCH_DIR:-/tmp/descent_bench}/cnn_$rows
mkdir -p "$dir"
[ -f "$dir/x_images.npy" ] || /usr/bin/python3 bench/make_images.py "$dir" "$rows"
model='conv2d(16,k=5,pad=2),relu,maxpool2d(2),conv2d(32,k=5,pad=2),relu,maxpool2d(2),flatten,dense(128),relu,dense(10)'
field() { /usr/bin/python3 -c 'import json,sys; j=json.load(sys.stdin); print(j[sys.argv[1]], j[sys.argv[2]])' "$@"; }
out=()
for i in $(seq "$runs"); do
  t0=$(date +%s.%N)
  a=$(build/descent train --data "$dir/x_images.npy" --targets "$dir/y_images.npy" --model "$model" \
        --optimizer 'radam(lr=1e-3)' --epochs 1 --batch 128 --test-split 0 --threads 2 --seed "$i" --quiet --json |
      field load_seconds seconds)
  t1=$(date +%s.%N)
  b=$(/usr/bin/python3 bench/torch_cnn.py "$dir" | field load_seconds seconds)
  t2=$(date +%s.%N)
  whole_a=$(echo "$t1 - $t0" | bc) whole_b=$(echo "$t2 - $t1" | bc)
  echo "run $i: descent load ${a% *}s epoch ${a#* }s whole ${whole_a}s | torch load ${b% *}s epoch ${b#* }s whole ${whole_b}s"
  out+=("${a#* } ${b#* } ${a% *} ${b% *} $whole_a $whole_b")
done
/usr/bin/python3 - "$rows" "${out[@]}" <<'PY'
import os, statistics, sys, time
import numpy as np
rows = int(sys.argv[1])
cols = list(zip(*[[float(v) for v in r.split()] for r in sys.argv[2:]]))
med = [statistics.median(c) for c in cols]
# multiply-adds of one image's forward pass: conv1, conv2, fc1, fc2
macs = 16 * 1 * 25 * 28 * 28 + 32 * 16 * 25 * 14 * 14 + 32 * 7 * 7 * 128 + 128 * 10
flop = 3 * 2 * macs * rows
print(f"median epoch: descent {med[0]:.2f}s  torch {med[1]:.2f}s  speed-up {med[1] / med[0]:.2f}x")
print(f"median load:  descent {med[2]:.2f}s  torch {med[3]:.2f}s;  whole command: descent {med[4]:.2f}s  torch {med[5]:.2f}s")
print(f"epoch work {flop / 1e12:.3f} TFLOP: descent {flop / med[0] / 1e9:.1f} GFLOP/s, torch {flop / med[1] / 1e9:.1f} GFLOP/s")
a = np.random.default_rng(0).random((2048, 2048), dtype=np.float32)
a @ a
t = time.perf_counter(); n = 5
for _ in range(n): a @ a
print(f"sgemm 2048^3 float32 (NumPy's BLAS, OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'default')}): "
      f"{n * 2 * 2048 ** 3 / (time.perf_counter() - t) / 1e9:.1f} GFLOP/s")
PY
