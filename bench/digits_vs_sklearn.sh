#!/usr/bin/env bash
# digits (64-64-10 ReLU, Adam 1e-3, batch 32, 50 epochs, 25 % held out): descent train
# against scikit-learn's MLPClassifier, run alternately RUNS times with seeds 1..RUNS;
# prints each run and the medians of the training seconds and held-out accuracies.
# Usage: bench/digits_vs_sklearn.sh [RUNS]   (from the repository root, after make)
set -eu
runs=${1:-5}
d=() s=() da=() sa=()
for i in $(seq "$runs"); do
  read -r a aa < <(build/descent train --data data/digits.csv --layers 64 --optimizer 'adam(lr=1e-3)' \
        --epochs 50 --batch 32 --test-split 0.25 --threads 1 --seed "$i" --quiet --json |
      /usr/bin/python3 -c 'import json,sys; j=json.load(sys.stdin); print(j["seconds"], j["test_accuracy"])')
  read -r b ba < <(/usr/bin/python3 bench/sklearn_digits.py data/digits.csv "$i" |
      /usr/bin/python3 -c 'import json,sys; j=json.load(sys.stdin); print(j["seconds"], j["test_accuracy"])')
  echo "run $i: descent ${a}s acc $aa   sklearn ${b}s acc $ba"
  d+=("$a") s+=("$b") da+=("$aa") sa+=("$ba")
done
/usr/bin/python3 - "${d[*]}" "${s[*]}" "${da[*]}" "${sa[*]}" <<'PY'
import statistics as st, sys
d, s, da, sa = ([float(v) for v in a.split()] for a in sys.argv[1:5])
print(f"median: descent {st.median(d):.3f}s acc {st.median(da):.4f}   "
      f"sklearn {st.median(s):.3f}s acc {st.median(sa):.4f}   speed-up {st.median(s) / st.median(d):.1f}x")
PY
