#!/usr/bin/env bash
# One epoch of a 784-256-128-10 ReLU MLP (Adam, batch 128, 60 000 synthetic samples):
# descent train against PyTorch 1.13 on the CPU (2 threads), run alternately RUNS
# times; prints each run and the medians of the training-loop seconds, and descent's
# loading (load_seconds: everything before the first step) and whole-command seconds
# beside its epoch (the command's time is the user's), and their ratio run by run.
# Usage: bench/mlp_vs_torch.sh [RUNS]   (from the repository root, after make;
#        DESCENT=path/to/descent times another build of the command)
set -eu
runs=${1:-5}
bin=${DESCENT:-build/descent}
dir=${BENCH_DIR:-/tmp/descent_bench}
mkdir -p "$dir"
[ -f "$dir/x.npy" ] || /usr/bin/python3 bench/make_synthetic.py "$dir"
d=() t=() w=() l=()
for i in $(seq "$runs"); do
  t0=$(date +%s.%N)
  j=$("$bin" train --data "$dir/x.npy" --targets "$dir/y.npy" --layers 256,128 \
        --optimizer 'adam(lr=1e-3)' --epochs 1 --batch 128 --test-split 0 --threads 2 \
        --seed "$i" --quiet --json)
  whole=$(echo "$(date +%s.%N) - $t0" | bc)
  a=$(echo "$j" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["seconds"])')
  load=$(echo "$j" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["load_seconds"])')
  b=$(/usr/bin/python3 bench/torch_mlp.py "$dir" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["seconds"])')
  ratio=$(echo "scale=2; $whole / $a" | bc)
  echo "run $i: descent epoch ${a}s, load ${load}s, whole command ${whole}s (${ratio}x the epoch)  torch ${b}s"
  d+=("$a") t+=("$b") w+=("$whole") l+=("$load")
done
/usr/bin/python3 - "${d[*]}" "${t[*]}" "${w[*]}" "${l[*]}" <<'PY'
import statistics, sys
d, t, w, l = ([float(v) for v in a.split()] for a in sys.argv[1:5])
md, mt, mw, ml = (statistics.median(v) for v in (d, t, w, l))
mr = statistics.median(x / y for x, y in zip(w, d))
print(f"median: descent {md:.3f}s  torch {mt:.3f}s  speed-up {mt / md:.2f}x")
print(f"median: descent epoch {md:.3f}s  load {ml:.3f}s  whole command {mw:.3f}s;"
      f" whole/epoch {mw / md:.2f}x (median of the runs' ratios {mr:.2f}x)")
PY
