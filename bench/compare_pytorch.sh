#!/usr/bin/env bash
# compare_pytorch.sh: descent's step against torch.optim's, side by side in one run.
#   bench/compare_pytorch.sh [--params N] [--tensors K] [--threads T] [--reps R]
#                            [--dtype f32|f64] [--rounds M] [OPTIMIZER ...]
# For each optimizer (default: every one PyTorch has) and each of M rounds it runs
# `descent bench` with the default non-finite check, again with nonfinite=ignore (the
# same work as torch.optim, which checks nothing), and bench/pytorch_step.py; then
# prints the medians over rounds in ns/param and torch's time over descent's.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
descent=${DESCENT:-$here/../build/descent}
py=/usr/bin/python3
params=10000000 tensors=1 threads=2 reps=10 dtype=f32 rounds=1
opts=()
while [ $# -gt 0 ]; do
  case $1 in
    --params) params=$2; shift 2 ;;
    --tensors) tensors=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --reps) reps=$2; shift 2 ;;
    --dtype) dtype=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
    -*) echo "compare_pytorch.sh: unknown option $1" >&2; exit 2 ;;
    *) opts+=("$1"); shift ;;
  esac
done
[ ${#opts[@]} -gt 0 ] || opts=(sgd sgdm adagrad rmsprop adadelta adam amsgrad adamw adamax nadam radam)
[ -x "$descent" ] || { echo "compare_pytorch.sh: build descent first (make), or set DESCENT" >&2; exit 1; }
common=(--params "$params" --tensors "$tensors" --threads "$threads" --reps "$reps" --dtype "$dtype")
field() { "$py" -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }
med() { "$py" -c "import statistics,sys; print(statistics.median(float(x) for x in sys.argv[1:]))" "$@"; }
echo "params $params, tensors $tensors, threads $threads, dtype $dtype, reps $reps, rounds $rounds"
printf '%-9s %11s %11s %11s %11s %9s %9s\n' optimizer torch descent d_ignore plain_loop speedup sp_ignore
for o in "${opts[@]}"; do
  t=() d=() di=() pl=()
  for _ in $(seq "$rounds"); do
    j=$("$descent" bench --optimizer "$o" "${common[@]}" --json)
    d+=("$(field ns_per_param <<<"$j")")
    j=$("$descent" bench --optimizer "$o(nonfinite=ignore)" "${common[@]}" --json)
    di+=("$(field ns_per_param <<<"$j")") pl+=("$(field reference_ns_per_param <<<"$j")")
    t+=("$("$py" "$here/pytorch_step.py" --optimizer "$o" "${common[@]}" --json | field ns_per_param)")
  done
  tm=$(med "${t[@]}") dm=$(med "${d[@]}") dim=$(med "${di[@]}") plm=$(med "${pl[@]}")
  "$py" -c "import sys; o,t,d,di,pl=sys.argv[1],*map(float,sys.argv[2:]); \
print(f'{o:<9} {t:11.3f} {d:11.3f} {di:11.3f} {pl:11.3f} {t/d:8.2f}x {t/di:8.2f}x')" "$o" "$tm" "$dm" "$dim" "$plm"
done
