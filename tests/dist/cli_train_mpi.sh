#!/usr/bin/env bash
# descent train under mpirun: 2 and 3 ranks, plain and --zero, end where one process
# ends (final losses to float rounding: the global batch is split, not multiplied);
# only rank 0 prints (one JSON object, the epoch lines once); --zero holds about 1/N
# of the optimizer state on rank 0; --save and --resume across rank counts; --average.
# Usage: cli_train_mpi.sh DESCENT MPIEXEC DATA_DIR
set -u
. "$(dirname "$0")/mpi_lib.sh"
args=(train --data "$data/breast_cancer.csv" --layers 16 --epochs 4 --batch 24 --seed 3
      --optimizer 'adamw(lr=0.01)' --json)
near() { close "$1" "$2" 1e-6 1e-9; } # to float rounding

one=$("$bin" "${args[@]}" 2>/dev/null) || { echo "FAIL: one process"; exit 1; }
for np in 2 3; do
  for zero in "" --zero; do
    # 1 KiB buckets: several reductions start during each backward pass
    out=$(timeout 120 "$mpiexec" --oversubscribe -np "$np" "$bin" "${args[@]}" $zero --bucket-kb 1 2>"$tmp/err")
    rc=$?
    what="np $np $zero"
    [ "$rc" -eq 0 ] || { echo "FAIL: $what: exit $rc: $(head -3 "$tmp/err")"; fail=$((fail + 1)); continue; }
    [ "$(printf '%s\n' "$out" | grep -c '')" -eq 1 ] || { echo "FAIL: $what: want one stdout line"; fail=$((fail + 1)); }
    [ "$(grep -c '^epoch ' "$tmp/err")" -eq 4 ] || { echo "FAIL: $what: want 4 epoch lines (rank 0 only)"; fail=$((fail + 1)); }
    case $out in *"\"ranks\":$np,"*) ;; *) echo "FAIL: $what: json lacks ranks $np"; fail=$((fail + 1)) ;; esac
    for key in train_loss test_loss test_accuracy; do
      near "$(num $key "$out")" "$(num $key "$one")" ||
        { echo "FAIL: $what: $key $(num $key "$out") vs one process $(num $key "$one")"; fail=$((fail + 1)); }
    done
    full=$(num optimizer_state_bytes "$one")
    mine=$(num optimizer_state_bytes "$out")
    if [ -n "$zero" ]; then # rank 0's shard: the larger share of 1/np
      awk -v m="$mine" -v f="$full" -v n="$np" 'BEGIN { exit !(m >= f / n && m <= f / n + 64) }' ||
        { echo "FAIL: $what: rank 0 holds $mine bytes of state, want ~$full/$np"; fail=$((fail + 1)); }
    else
      [ "$mine" = "$full" ] || { echo "FAIL: $what: state $mine, want $full"; fail=$((fail + 1)); }
    fi
  done
done
# a last batch of one row (120 % 7): ranks 1 and 2 have none and still take part
small=(train --data "$data/iris.csv" --layers 8 --epochs 2 --batch 7 --seed 5 --quiet --json)
a=$("$bin" "${small[@]}" 2>/dev/null)
b=$(timeout 120 "$mpiexec" --oversubscribe -np 3 "$bin" "${small[@]}" --zero 2>/dev/null)
near "$(num test_loss "$b")" "$(num test_loss "$a")" ||
  { echo "FAIL: batch 7 on 3 ranks: test_loss $(num test_loss "$b") vs $(num test_loss "$a")"; fail=$((fail + 1)); }
# a last batch of one row with several buckets: the rank with the row starts them during
# its backward pass, the empty ranks in the wait, in the same order (once MPI_ERR_TRUNCATE)
small=(train --data "$data/iris.csv" --layers 64 --epochs 2 --batch 7 --seed 5 --quiet --json --bucket-kb 1)
a=$("$bin" "${small[@]}" 2>/dev/null)
b=$(timeout 120 "$mpiexec" --oversubscribe -np 3 "$bin" "${small[@]}" 2>"$tmp/err")
near "$(num test_loss "$b")" "$(num test_loss "$a")" ||
  { echo "FAIL: 3 buckets, empty ranks: test_loss $(num test_loss "$b") vs $(num test_loss "$a"): $(head -3 "$tmp/err")"; fail=$((fail + 1)); }
# dropout: a unit's mask follows the seed, the batch and the row's place in the global
# batch, not the rank that computes the row, so N ranks drop what one process drops
drop=(train --data "$data/breast_cancer.csv" --layers 16 --epochs 3 --batch 24 --seed 3 --dropout 0.3 --quiet --json)
a=$("$bin" "${drop[@]}" 2>/dev/null)
for np in 3; do
  b=$(timeout 120 "$mpiexec" --oversubscribe -np "$np" "$bin" "${drop[@]}" 2>"$tmp/err")
  for key in train_loss test_loss; do
    near "$(num $key "$b")" "$(num $key "$a")" ||
      { echo "FAIL: dropout on $np ranks: $key $(num $key "$b") vs one process $(num $key "$a")"; fail=$((fail + 1)); }
  done
done
# schedules step on every rank as in one process; a loss-driven one sees the whole batch's loss
for sched in 'cosine(T_max=40)' 'plateau(patience=2, factor=0.5)'; do
  run=(train --data "$data/breast_cancer.csv" --layers 8 --epochs 3 --batch 16 --seed 2 --optimizer 'sgd(lr=0.5)'
       --schedule "$sched" --quiet --json)
  a=$("$bin" "${run[@]}" 2>/dev/null)
  b=$(timeout 120 "$mpiexec" --oversubscribe -np 2 "$bin" "${run[@]}" --zero 2>/dev/null)
  for key in test_loss lr; do
    near "$(num $key "$b")" "$(num $key "$a")" ||
      { echo "FAIL: $sched on 2 ranks: $key $(num $key "$b") vs $(num $key "$a")"; fail=$((fail + 1)); }
  done
  [ "$(num lr "$a")" != 0.5 ] || { echo "FAIL: $sched never changed the rate"; fail=$((fail + 1)); }
done
# checkpoints: one complete file gathered at rank 0 (also with --zero), resumed by one
# process; a one-process checkpoint resumed on 2 ranks; 3 + 2 epochs end where 5 do
ck=(train --data "$data/breast_cancer.csv" --layers 16 --batch 24 --seed 3 --optimizer 'adamw(lr=0.01)'
    --schedule 'cosine(T_max=100)' --val-split 0.2 --quiet --json)
five=$("$bin" "${ck[@]}" --epochs 5 2>/dev/null)
"$bin" "${ck[@]}" --epochs 3 --save "$tmp/one.st" >/dev/null 2>&1 || { echo "FAIL: one-process --save"; fail=$((fail + 1)); }
for zero in "" --zero; do
  got=$(timeout 120 "$mpiexec" --oversubscribe -np 2 "$bin" train --resume "$tmp/one.st" --epochs 2 --quiet --json $zero 2>"$tmp/err")
  a=$(timeout 120 "$mpiexec" --oversubscribe -np 3 "$bin" "${ck[@]}" --epochs 3 $zero --save "$tmp/three.st" 2>"$tmp/err") &&
    back=$("$bin" train --resume "$tmp/three.st" --epochs 2 --quiet --json 2>>"$tmp/err") ||
    { echo "FAIL: --save on 3 ranks $zero, resumed in one process: $(head -3 "$tmp/err")"; fail=$((fail + 1)); }
  for key in train_loss val_loss test_loss lr; do
    near "$(num $key "$got")" "$(num $key "$five")" ||
      { echo "FAIL: one process 3 + 2 ranks $zero 2: $key $(num $key "$got") vs $(num $key "$five")"; fail=$((fail + 1)); }
    near "$(num $key "$back")" "$(num $key "$five")" ||
      { echo "FAIL: 3 ranks $zero 3 + one process 2: $key $(num $key "$back") vs $(num $key "$five")"; fail=$((fail + 1)); }
  done
  # the file holds the whole state, not rank 0's shard
  "$bin" inspect "$tmp/three.st" | grep -qE 'state/fc1.weight/exp_avg_sq +F32 +\[16, 30\]' ||
    { echo "FAIL: 3 ranks $zero: the checkpoint lacks the full state of fc1.weight"; fail=$((fail + 1)); }
done

# a resume on 2 ranks reads each rank's own state from the file (the network loaded
# without it): 3 + 2 epochs on 2 ranks end bit for bit where 5 on 2 ranks do
for zero in "" --zero; do
  a=$(timeout 120 "$mpiexec" --oversubscribe -np 2 "$bin" "${ck[@]}" --epochs 5 $zero 2>"$tmp/err")
  timeout 120 "$mpiexec" --oversubscribe -np 2 "$bin" "${ck[@]}" --epochs 3 $zero --save "$tmp/two.st" >/dev/null 2>>"$tmp/err"
  b=$(timeout 120 "$mpiexec" --oversubscribe -np 2 "$bin" train --resume "$tmp/two.st" --epochs 2 --quiet --json $zero 2>>"$tmp/err")
  for key in train_loss val_loss test_loss lr; do
    [ -n "$(num $key "$a")" ] && [ "$(num $key "$b")" = "$(num $key "$a")" ] ||
      { echo "FAIL: 2 ranks $zero 3 + 2: $key $(num $key "$b") vs $(num $key "$a") $(head -3 "$tmp/err")"; fail=$((fail + 1)); }
  done
done

# a weight average: every rank keeps the same one; scores at it as in one process, and
# a checkpoint of 2 ranks resumes in one process where 3 + 2 epochs of one process end
av=(train --data "$data/breast_cancer.csv" --layers 16 --batch 24 --seed 3 --optimizer 'adamw(lr=0.01)'
    --val-split 0.2 --average 'ema(decay=0.9, every=2)' --quiet --json)
five=$("$bin" "${av[@]}" --epochs 5 2>/dev/null)
for zero in "" --zero; do
  got=$(timeout 120 "$mpiexec" --oversubscribe -np 2 "$bin" "${av[@]}" --epochs 3 $zero --save "$tmp/avg.st" 2>"$tmp/err") &&
    back=$("$bin" train --resume "$tmp/avg.st" --epochs 2 --quiet --json 2>>"$tmp/err") ||
    { echo "FAIL: --average on 2 ranks $zero: $(head -3 "$tmp/err")"; fail=$((fail + 1)); }
  for key in average_val_loss average_test_loss; do
    near "$(num $key "$back")" "$(num $key "$five")" ||
      { echo "FAIL: --average 2 ranks $zero 3 + one process 2: $key $(num $key "$back") vs $(num $key "$five")"; fail=$((fail + 1)); }
  done
done

# ASGD's ax is optimizer state, which the data-parallel step keeps apart: refused, once
timeout 60 "$mpiexec" --oversubscribe -np 2 "$bin" train --data "$data/iris.csv" --optimizer asgd --average ax \
  >"$tmp/out" 2>"$tmp/err"
rc=$?
[ "$rc" -eq 2 ] && [ "$(grep -c '^descent train: --average ax is not available under mpirun' "$tmp/err")" -eq 1 ] &&
  [ ! -s "$tmp/out" ] || { echo "FAIL: --average ax under mpirun: exit $rc, stderr: $(cat "$tmp/err")"; fail=$((fail + 1)); }
# a bad spec fails on every rank; only rank 0 says so, once
timeout 60 "$mpiexec" --oversubscribe -np 2 "$bin" train --data "$data/iris.csv" --optimizer 'adam(lr=-1)' \
  >"$tmp/out" 2>"$tmp/err"
rc=$?
[ "$rc" -ne 0 ] && [ "$(grep -c '^descent train:' "$tmp/err")" -eq 1 ] && [ ! -s "$tmp/out" ] ||
  { echo "FAIL: bad spec under mpirun: exit $rc, stderr: $(cat "$tmp/err")"; fail=$((fail + 1)); }
# --bucket-kb out of range: a usage error, one line
"$bin" train --data "$data/iris.csv" --bucket-kb 0 >"$tmp/out" 2>"$tmp/err"
rc=$?
[ "$rc" -eq 2 ] && [ "$(grep -c '' "$tmp/err")" -eq 1 ] && [ ! -s "$tmp/out" ] ||
  { echo "FAIL: --bucket-kb 0: exit $rc, stderr: $(cat "$tmp/err")"; fail=$((fail + 1)); }
[ "$fail" -eq 0 ] && echo "cli_train_mpi: all checks passed"
exit "$fail"
