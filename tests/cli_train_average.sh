#!/usr/bin/env bash
# descent train --average SPEC: the JSON keys and table rows at the average beside the
# live ones; EMA with decay 0 scores as the live weights; an SWA that never folds holds
# the initial weights, so it scores as a run that barely moves them (lr 1e-30); the history
# file's columns. (Bad specs: cli_train.sh; resume: cli_train_resume.sh; mpirun:
# dist/cli_train_mpi.sh.)
# Usage: cli_train_average.sh DESCENT DATA_DIR
set -u
bin=$1
data=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/lib.sh"
has() { # what json keys...
  local what=$1 json=$2
  shift 2
  for key in "$@"; do
    grep -q "\"$key\":" <<<"$json" || { echo "FAIL: $what lacks \"$key\""; fail=$((fail + 1)); }
  done
}

# classification, EMA with decay 0: the average is the live weights (to one rounding per fold)
cls=(train --data "$data/wine.csv" --layers 8 --optimizer 'adam(lr=0.02)' --epochs 3 --batch 16 --val-split 0.2
     --seed 2 --dtype f64 --quiet --json)
out=$("$bin" "${cls[@]}" --average 'ema(decay=0)' --history "$tmp/h.csv") || { echo "FAIL: ema run"; fail=$((fail + 1)); }
has "classification" "$out" average average_val_loss average_val_accuracy average_test_loss average_test_accuracy
for key in test_loss val_loss; do
  close "$(num average_$key "$out")" "$(num $key "$out")" ||
    { echo "FAIL: ema(decay=0): average_$key $(num average_$key "$out") vs $key $(num $key "$out")"; fail=$((fail + 1)); }
done
[ "$(num average_test_accuracy "$out")" = "$(num test_accuracy "$out")" ] ||
  { echo "FAIL: ema(decay=0): the accuracies differ"; fail=$((fail + 1)); }
[ "$(grep -o '"average_val_loss"' <<<"$out" | grep -c '')" -eq 4 ] ||
  { echo "FAIL: want average_val_loss in the result and each of 3 epochs"; fail=$((fail + 1)); }
head -1 "$tmp/h.csv" | grep -q ',seconds,avg_val_loss,avg_val_accuracy$' && [ "$(grep -c '' "$tmp/h.csv")" -eq 4 ] ||
  { echo "FAIL: history file: $(head -2 "$tmp/h.csv")"; fail=$((fail + 1)); }
# without --average nothing changes
plain=$("$bin" "${cls[@]}")
grep -q '"average' <<<"$plain" && { echo "FAIL: average keys without --average"; fail=$((fail + 1)); }
[ "$(num test_loss "$plain")" = "$(num test_loss "$out")" ] ||
  { echo "FAIL: the average changed training: $(num test_loss "$plain") vs $(num test_loss "$out")"; fail=$((fail + 1)); }

# regression, an SWA that starts after the last update: the initial weights
reg=(train --data "$data/diabetes.csv" --layers 8 --epochs 2 --batch 32 --seed 5 --quiet --json)
out=$("$bin" "${reg[@]}" --optimizer 'adam(lr=0.01)' --average 'swa(start=1000000)')
still=$("$bin" "${reg[@]}" --optimizer 'sgd(lr=1e-30)') # steps far below the weights' rounding
has "regression" "$out" average_test_loss average_test_rmse average_test_r2
for key in loss rmse r2; do
  close "$(num average_test_$key "$out")" "$(num test_$key "$still")" ||
    { echo "FAIL: swa never folded: average_test_$key $(num average_test_$key "$out") vs $(num test_$key "$still")"; fail=$((fail + 1)); }
done
[ "$(num test_loss "$out")" != "$(num test_loss "$still")" ] || { echo "FAIL: adam did not train"; fail=$((fail + 1)); }

# ASGD's own average (--average ax) is the optimizer's state ax: from step t0 + 2 on it
# folds p_t with weight 1/(t - 1 - t0), as swa(start=t0+2) does with 1/(n + 1), so the two
# score alike to the bit (24 steps here, t0 = 10, 20, and 1e6: ax is p, never averaged)
asgd=(train --data "$data/wine.csv" --layers 8 --epochs 3 --batch 16 --val-split 0.2 --seed 2 --quiet --json)
for dt in f32 f64; do
  for t0 in 10 20; do
    ax=$("$bin" "${asgd[@]}" --dtype $dt --optimizer "asgd(lr=0.05, t0=$t0)" --average ax) &&
      swa=$("$bin" "${asgd[@]}" --dtype $dt --optimizer "asgd(lr=0.05, t0=$t0)" --average "swa(start=$((t0 + 2)))") ||
      { echo "FAIL: asgd t0=$t0 $dt runs"; fail=$((fail + 1)); continue; }
    for key in average_val_loss average_test_loss average_test_accuracy test_loss; do
      [ "$(num $key "$ax")" = "$(num $key "$swa")" ] ||
        { echo "FAIL: asgd t0=$t0 $dt: $key at ax $(num $key "$ax") vs at swa $(num $key "$swa")"; fail=$((fail + 1)); }
    done
    [ "$(num average_test_loss "$ax")" != "$(num test_loss "$ax")" ] ||
      { echo "FAIL: asgd t0=$t0 $dt: ax scores as the live weights"; fail=$((fail + 1)); }
  done
  ax=$("$bin" "${asgd[@]}" --dtype $dt --optimizer 'asgd(lr=0.05)' --average ax --history "$tmp/ax.csv")
  for key in val_loss test_loss test_accuracy; do
    [ "$(num average_$key "$ax")" = "$(num $key "$ax")" ] ||
      { echo "FAIL: asgd t0=1e6 $dt: average_$key $(num average_$key "$ax") vs $key $(num $key "$ax")"; fail=$((fail + 1)); }
  done
  head -1 "$tmp/ax.csv" | grep -q ',seconds,avg_val_loss,avg_val_accuracy$' ||
    { echo "FAIL: ax history file: $(head -1 "$tmp/ax.csv")"; fail=$((fail + 1)); }
done
# any other optimizer is refused, naming it; ax takes no keys
for bad in "adam|ax|the optimizer is adam" "asgd|ax(t0=3)|ax: takes no keys"; do
  IFS='|' read -r opt avg msg <<<"$bad"
  err=$("$bin" "${asgd[@]}" --optimizer "$opt" --average "$avg" 2>&1 >/dev/null)
  rc=$?
  [ $rc -eq 2 ] && grep -qF "$msg" <<<"$err" && [ "$(grep -c '' <<<"$err")" -eq 1 ] ||
    { echo "FAIL: --optimizer $opt --average $avg: exit $rc: $err"; fail=$((fail + 1)); }
done

# the table: the spec, and an 'averaged' row under validation and under test
table=$("$bin" train --data "$data/iris.csv" --layers 8 --epochs 2 --val-split 0.2 --average 'swa' --quiet)
grep -q '^average   swa$' <<<"$table" && [ "$(grep -c '^  averaged ' <<<"$table")" -eq 2 ] ||
  { echo "FAIL: table: $table"; fail=$((fail + 1)); }

if [ $fail -ne 0 ]; then echo "$fail train average checks failed"; exit 1; fi
echo "all train average checks passed"
