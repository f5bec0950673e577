#!/usr/bin/env bash
# descent train under mpirun when one rank differs from the others: a bad option or a
# missing data file on one rank, or other epochs, batch, rate, seed or schedule. Each
# once hung the job or trained a silently different model; now the ranks compare their
# outcome and a fingerprint of the run at start-up, and the job ends within seconds
# with the rank's message (prefixed with its rank) and a non-zero exit.
# Usage: cli_train_mpi_fail.sh DESCENT MPIEXEC DATA_DIR
set -u
. "$(dirname "$0")/mpi_lib.sh"
# the wrapper mpirun starts: rank $WHO gets the arguments after "--" too
cat >"$tmp/wrap" <<'WRAP'
#!/usr/bin/env bash
bin=$1; who=$2; shift 2
n=0; for a in "$@"; do [ "$a" = -- ] && break; n=$((n + 1)); done
args=("${@:1:$n}"); extra=("${@:$((n + 2))}")
[ "${OMPI_COMM_WORLD_RANK:-0}" = "$who" ] && args+=("${extra[@]}")
exec "$bin" "${args[@]}"
WRAP
chmod +x "$tmp/wrap"
base=(train --data "$data/iris.csv" --layers 8 --epochs 2 --batch 16 --quiet)

# expect NP RANK WANT_RC PATTERN EXTRA...: rank RANK of NP gets EXTRA; the job must
# end with exit WANT_RC (any non-zero for 0) within the timeout and stderr match PATTERN
expect() {
  local np=$1 who=$2 want=$3 pattern=$4
  shift 4
  timeout 60 "$mpiexec" --oversubscribe -np "$np" "$tmp/wrap" "$bin" "$who" "${base[@]}" -- "$@" \
    >"$tmp/out" 2>"$tmp/err"
  local rc=$?
  if [ "$rc" -eq 124 ]; then
    echo "FAIL: rank $who with $*: the job hung"; fail=$((fail + 1)); return
  fi
  if [ "$rc" -eq 0 ] || { [ "$want" -ne 0 ] && [ "$rc" -ne "$want" ]; }; then
    echo "FAIL: rank $who with $*: exit $rc, want ${want/#0/non-zero}"; fail=$((fail + 1))
  fi
  grep -qE -- "$pattern" "$tmp/err" ||
    { echo "FAIL: rank $who with $*: stderr lacks /$pattern/: $(head -5 "$tmp/err")"; fail=$((fail + 1)); }
  [ ! -s "$tmp/out" ] || { echo "FAIL: rank $who with $*: printed results"; fail=$((fail + 1)); }
}

differs='rank [12] has other options, optimizer settings, data or checkpoint than rank 0'
expect 2 1 2 "^\[rank 1\] descent train: --epochs must be an integer" --epochs 0
expect 2 1 2 "^\[rank 1\] descent train: bad or incomplete option '--nosuch'" --nosuch
expect 3 2 1 "^\[rank 2\] descent train: csv: cannot open '/nonexistent/x.csv'" --data /nonexistent/x.csv
grep -q '^descent train: rank 2 failed' "$tmp/err" || { echo "FAIL: rank 0 does not name rank 2"; fail=$((fail + 1)); }
expect 2 1 2 "$differs" --epochs 3
expect 2 1 2 "$differs" --batch 15
expect 2 1 2 "$differs" --optimizer 'adam(lr=0.01)'
expect 2 1 2 "$differs" --seed 4
expect 2 1 2 "$differs" --schedule 'cosine(T_max=20)'
# rank 0 alone wrong: the others stop too
expect 2 0 2 "^descent train: --batch must be" --batch 0
# --timeout: a rank that arrives late (it loads 400 copies of a data set, ~7M numbers)
# ends the job with a message naming it, when the others' wait runs out first
{ head -1 "$data/breast_cancer.csv"; for _ in $(seq 400); do tail -n +2 "$data/breast_cancer.csv"; done; } >"$tmp/big.csv"
base+=(--timeout 0.2)
expect 2 1 0 "^descent train: rank 1 did not answer; ending the job" --data "$tmp/big.csv"
base=("${base[@]:0:${#base[@]}-2}")

# --timeout during training: rank 1 stops (SIGSTOP) once its log shows it training;
# rank 0's step fails after the timeout (in the all-reduce, or with --zero in the ring
# reduce-scatter or the all-gather), and its end agreement ends the job naming rank 1
cat >"$tmp/stop" <<'STOP'
#!/usr/bin/env bash
log=$1
shift
[ "${OMPI_COMM_WORLD_RANK:-0}" = 1 ] || exec "$@"
"$@" &
pid=$!
until grep -q '^epoch' "$log" 2>/dev/null; do sleep 0.1; done
kill -STOP "$pid"
wait "$pid"
STOP
chmod +x "$tmp/stop"
for zero in "" --zero; do
  rm -rf "$tmp/stoplogs"
  mkdir "$tmp/stoplogs"
  timeout 60 "$mpiexec" --oversubscribe -np 2 "$tmp/stop" "$tmp/stoplogs/rank-1.log" "$bin" train \
    --data "$data/iris.csv" --layers 8 --epochs 1000000 --batch 16 --json --timeout 1 --log-dir "$tmp/stoplogs" \
    $zero >/dev/null 2>"$tmp/err"
  rc=$?
  [ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] && grep -q '"error":"rank 1 did not answer; ending the job"' "$tmp/err" ||
    { echo "FAIL: a rank stopped in training $zero: exit $rc: $(grep descent "$tmp/err" | head -3)"; fail=$((fail + 1)); }
done

# --log-dir: every rank's epoch lines in its own log; a rank's error in its log, and
# rank 0 points there
mkdir "$tmp/logs"
timeout 60 "$mpiexec" --oversubscribe -np 2 "$bin" train --data "$data/iris.csv" --layers 8 --epochs 2 --batch 16 --log-dir "$tmp/logs" \
  >/dev/null 2>"$tmp/err" || { echo "FAIL: --log-dir: $(head -3 "$tmp/err")"; fail=$((fail + 1)); }
for r in 0 1; do
  [ "$(grep -c '^epoch ' "$tmp/logs/rank-$r.log" 2>/dev/null)" = 2 ] ||
    { echo "FAIL: --log-dir: rank-$r.log lacks the 2 epoch lines"; fail=$((fail + 1)); }
done
base+=(--log-dir "$tmp/logs")
expect 2 1 1 "^descent train: rank 1 failed \(its message is in its log, rank-1.log\)" --data /nonexistent/x.csv
grep -q "cannot open '/nonexistent/x.csv'" "$tmp/logs/rank-1.log" ||
  { echo "FAIL: --log-dir: rank 1's error is not in its log"; fail=$((fail + 1)); }
[ "$fail" -eq 0 ] && echo "cli_train_mpi_fail: all checks passed"
exit "$fail"
