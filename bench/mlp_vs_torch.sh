#!/usr/bin/env bash
# One epoch of a 784-256-128-10 ReLU MLP (Adam, batch 128, 60 000 synthetic samples):
# descent train against PyTorch 1.13 on the CPU (2 threads), run alternately RUNS
# times; prints each run and the medians of the training-loop seconds.
# Usage: bench/mlp_vs_torch.sh [RUNS]   (from the repository root, after make)
set -eu
runs=${1:-5}
dir=${BENCH_DIR:-/tmp/descent_bench}
mkdir -p "$dir"
[ -f "$dir/x.npy" ] || /usr/bin/python3 bench/make_synthetic.py "$dir"
d=() t=()
for i in $(seq "$runs"); do
  a=$(build/descent train --data "$dir/x.npy" --targets "$dir/y.npy" --layers 256,128 \
        --optimizer 'adam(lr=1e-3)' --epochs 1 --batch 128 --test-split 0 --threads 2 \
        --seed "$i" --quiet --json | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["seconds"])')
  b=$(/usr/bin/python3 bench/torch_mlp.py "$dir" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["seconds"])')
  echo "run $i: descent ${a}s  torch ${b}s"
  d+=("$a") t+=("$b")
done
/usr/bin/python3 - "${d[*]}" "${t[*]}" <<'PY'
import statistics, sys
d = [float(v) for v in sys.argv[1].split()]
t = [float(v) for v in sys.argv[2].split()]
md, mt = statistics.median(d), statistics.median(t)
print(f"median: descent {md:.3f}s  torch {mt:.3f}s  speed-up {mt / md:.2f}x")
PY
