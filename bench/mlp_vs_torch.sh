#!/usr/bin/env bash
# One epoch of a 784-256-128-10 ReLU MLP (Adam, batch 128, 60 000 synthetic samples):
# descent train against PyTorch 1.13 on the CPU (2 threads), run alternately RUNS
# times; prints each run and the medians of the training-loop seconds, and descent's
# loading and whole-command seconds beside its epoch (the command's time is the user's).
# Usage: bench/mlp_vs_torch.sh [RUNS]   (from the repository root, after make)
set -eu
runs=${1:-5}
dir=${BENCH_DIR:-/tmp/descent_bench}
mkdir -p "$dir"
[ -f "$dir/x.npy" ] || /usr/bin/python3 bench/make_synthetic.py "$dir"
d=() t=() w=()
for i in $(seq "$runs"); do
  t0=$(date +%s.%N)
  j=$(build/descent train --data "$dir/x.npy" --targets "$dir/y.npy" --layers 256,128 \
        --optimizer 'adam(lr=1e-3)' --epochs 1 --batch 128 --test-split 0 --threads 2 \
        --seed "$i" --quiet --json)
  whole=$(echo "$(date +%s.%N) - $t0" | bc)
  a=$(echo "$j" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["seconds"])')
  load=$(echo "$j" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["load_seconds"])')
  b=$(/usr/bin/python3 bench/torch_mlp.py "$dir" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["seconds"])')
  echo "run $i: descent epoch ${a}s (load ${load}s, whole command ${whole}s)  torch ${b}s"
  d+=("$a") t+=("$b") w+=("$whole")
done
/usr/bin/python3 - "${d[*]}" "${t[*]}" "${w[*]}" <<'PY'
import statistics, sys
d, t, w = ([float(v) for v in a.split()] for a in sys.argv[1:4])
md, mt, mw = statistics.median(d), statistics.median(t), statistics.median(w)
print(f"median: descent {md:.3f}s  torch {mt:.3f}s  speed-up {mt / md:.2f}x")
print(f"median whole descent command {mw:.3f}s = {mw / md:.2f}x its epoch")
PY
