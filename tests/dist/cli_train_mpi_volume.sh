#!/usr/bin/env bash
# Bytes on the wire per rank and step under mpirun, counted by Open MPI's own pml
# monitoring (it sees the point-to-point messages inside the collectives, which a
# PMPI wrapper does not; it counts them apart, "I" lines, from our own MPI_Isend's,
# "E" lines). An epoch more adds its steps' bytes alone (the set-up, broadcast and test
# traffic are the same), so the difference of a 1- and a 2-epoch run over the steps of
# an epoch is one step's traffic.
#  * Data-parallel: descent train selects Open MPI's ring all-reduce, 2 (N-1)/N times
#    the gradient per rank and step, where the default binomial reduce+broadcast sends
#    ceil(log2 N) times it from the busiest rank (4 ranks).
#  * --zero (2, 3, 4 ranks): our ring reduce-scatter ("E") sends (N-1)/N of the gradient
#    from every rank, and the all-gather of the parameters ("I") (N-1)/N too.
# Usage: cli_train_mpi_volume.sh DESCENT MPIEXEC DATA_DIR
set -u
. "$(dirname "$0")/mpi_lib.sh"
# digits: 1438 training rows, batch 200: 8 steps an epoch; 64-256-10: 19210 floats
steps=8
grad=$((19210 * 4))
# per rank, the bytes it sent in a run of $1 ranks and $2 epochs (extra options for
# mpirun, then --, then for descent train): one line per rank, "rank E I"
sent() {
  local np=$1 epochs=$2
  shift 2
  local mpi=()
  while [ $# -gt 0 ] && [ "$1" != -- ]; do mpi+=("$1"); shift; done
  [ $# -gt 0 ] && shift
  rm -f "$tmp"/mon.*
  timeout 120 "$mpiexec" --oversubscribe -np "$np" --mca pml_monitoring_enable 2 \
    --mca pml_monitoring_enable_output 3 --mca pml_monitoring_filename "$tmp/mon" "${mpi[@]}" \
    "$bin" train --data "$data/digits.csv" --layers 256 --epochs "$epochs" --batch 200 --seed 1 --quiet --json \
    "$@" >/dev/null 2>"$tmp/err" || { echo "FAIL: mpirun: $(head -3 "$tmp/err")" >&2; return; }
  cat "$tmp"/mon.*.prof | awk '$1 == "E" { e[$2] += $4 } $1 == "I" { i[$2] += $4 }
    END { for (r in i) print r, e[r] + 0, i[r] }' | sort -n
}
# one step's bytes, in gradients, of the rank that sent most and of the one that sent
# least: "E_most E_least I_most I_least EI_most EI_least"
per_step() {
  local np=$1
  shift
  sent "$np" 1 "$@" >"$tmp/one"
  sent "$np" 2 "$@" >"$tmp/two"
  join "$tmp/one" "$tmp/two" | awk -v n="$np" -v s="$steps" -v g="$grad" '
    function keep(k, v) { if (NR == 1 || v > most[k]) most[k] = v; if (NR == 1 || v < least[k]) least[k] = v }
    { e = ($4 - $2) / s / g; i = ($5 - $3) / s / g; keep(1, e); keep(2, i); keep(3, e + i) }
    END { if (NR != n) { print "0 0 0 0 0 0"; exit }
          printf "%.4f %.4f %.4f %.4f %.4f %.4f\n", most[1], least[1], most[2], least[2], most[3], least[3] }'
}
# within 1% of want (counts of bytes over a whole number of elements)
near() { awk -v v="$1" -v w="$2" 'BEGIN { exit !(v >= w * 0.99 && v <= w * 1.01) }'; }
if ! "$mpiexec" --oversubscribe -np 1 --mca pml_monitoring_enable 2 true >/dev/null 2>&1; then
  echo "cli_train_mpi_volume: no pml monitoring in this MPI; skipped"
  exit 77
fi
read -r _ _ _ _ ring _ < <(per_step 4)
near "$ring" 1.5 || { echo "FAIL: $ring gradients per rank and step on 4 ranks, want the ring's 2 (N-1)/N = 1.5"; fail=$((fail + 1)); }
# Open MPI's default: the busiest rank sends log2(4) = 2 gradients a step
read -r _ _ _ _ binomial _ < <(per_step 4 --mca coll_libnbc_iallreduce_algorithm 2)
near "$binomial" 2 || { echo "FAIL: binomial: $binomial gradients per rank and step, want 2"; fail=$((fail + 1)); }
echo "data-parallel, per rank and step on 4 ranks: ring $ring, binomial $binomial gradients"
for np in 2 3 4; do
  want=$(awk -v n="$np" 'BEGIN { printf "%.4f", (n - 1) / n }')
  read -r rs_most rs_least ag_most ag_least _ _ < <(per_step "$np" -- --zero)
  for v in "$rs_most" "$rs_least" "$ag_most" "$ag_least"; do
    near "$v" "$want" || { echo "FAIL: --zero on $np ranks: reduce-scatter $rs_least..$rs_most, all-gather" \
      "$ag_least..$ag_most gradients per rank and step, want (N-1)/N = $want each"; fail=$((fail + 1)); break; }
  done
  echo "--zero, per rank and step on $np ranks: reduce-scatter $rs_least..$rs_most, all-gather $ag_least..$ag_most gradients (want $want)"
done
[ "$fail" -eq 0 ] && echo "cli_train_mpi_volume: all checks passed"
exit "$fail"
