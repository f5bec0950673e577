#!/usr/bin/env bash
# Bytes on the wire per rank and step under mpirun, counted by Open MPI's own pml
# monitoring (it sees the point-to-point messages inside the collectives, which a
# PMPI wrapper does not): descent train selects the ring all-reduce, 2 (N-1)/N times
# the gradient per rank per step, where Open MPI's default binomial reduce+broadcast
# sends ceil(log2 N) times it from the busiest rank. An epoch more adds its steps'
# bytes alone (the set-up, broadcast and test traffic are the same).
# Usage: cli_train_mpi_volume.sh DESCENT MPIEXEC DATA_DIR
set -u
bin=$1
mpiexec=$2
data=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
np=4
# digits: 1438 training rows, batch 200: 8 steps an epoch; 64-256-10: 19210 floats
steps=8
grad=$((19210 * 4))
# the most bytes any rank sent in a run of $1 epochs (extra mpirun options after it)
busiest() {
  local epochs=$1
  shift
  rm -f "$tmp"/mon.*
  timeout 120 "$mpiexec" --oversubscribe -np "$np" --mca pml_monitoring_enable 2 \
    --mca pml_monitoring_enable_output 3 --mca pml_monitoring_filename "$tmp/mon" "$@" \
    "$bin" train --data "$data/digits.csv" --layers 256 --epochs "$epochs" --batch 200 --seed 1 --quiet --json \
    >/dev/null 2>"$tmp/err" || { echo "FAIL: mpirun: $(head -3 "$tmp/err")" >&2; echo 0; return; }
  cat "$tmp"/mon.*.prof | awk '$1 == "I" { s[$2] += $4 } END { m = 0; for (r in s) if (s[r] > m) m = s[r]; print m }'
}
# bytes per step of the busiest rank, in gradients
per_step() {
  local one two
  one=$(busiest 1 "$@")
  two=$(busiest 2 "$@")
  awk -v a="$one" -v b="$two" -v s="$steps" -v g="$grad" 'BEGIN { printf "%.4f", (b - a) / s / g }'
}
if ! "$mpiexec" --oversubscribe -np 1 --mca pml_monitoring_enable 2 true >/dev/null 2>&1; then
  echo "cli_train_mpi_volume: no pml monitoring in this MPI; skipped"
  exit 77
fi
ring=$(per_step)
awk -v v="$ring" -v n="$np" 'BEGIN { want = 2 * (n - 1) / n; exit !(v >= want && v <= want * 1.01) }' ||
  { echo "FAIL: $ring gradients per rank and step on $np ranks, want the ring's 2 (N-1)/N = 1.5"; fail=$((fail + 1)); }
# Open MPI's default: the busiest rank sends log2(4) = 2 gradients a step
binomial=$(per_step --mca coll_libnbc_iallreduce_algorithm 2)
awk -v v="$binomial" 'BEGIN { exit !(v >= 2 && v <= 2.02) }' ||
  { echo "FAIL: binomial: $binomial gradients per rank and step, want 2"; fail=$((fail + 1)); }
echo "per rank and step on $np ranks: ring $ring, binomial $binomial gradients"
[ "$fail" -eq 0 ] && echo "cli_train_mpi_volume: all checks passed"
exit "$fail"
