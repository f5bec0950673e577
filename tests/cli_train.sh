#!/usr/bin/env bash
# descent train: bad input gives exit 2 (or 1 for a file that cannot be used) with one
# line on stderr and nothing on stdout; good runs print one JSON object with the keys
# the README promises, and the history file has one row per epoch.
set -u
bin=$1
data=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/lib.sh"
check_prefix=(train)
iris=$data/iris.csv
check 2
check 2 --data "$iris" --epochs 0
check 2 --data "$iris" --epochs x
check 2 --data "$iris" --batch 0
check 2 --data "$iris" --layers 64,abc
check 2 --data "$iris" --layers 0.5
check 2 --data "$iris" --val-split 1
check 2 --data "$iris" --test-split -0.1
check 2 --data "$iris" --dropout 1
check 2 --data "$iris" --task guess
check 2 --data "$iris" --activation swish
check 2 --data "$iris" --init nosuch
check 2 --data "$iris" --optimizer 'adam(lr=-1)'
check 2 --data "$iris" --optimizer 'nosuch'
check 2 --data "$iris" --schedule 'nosuch'
check 2 --data "$iris" --schedule 'cosine(T_max=-1)'
check 2 --data "$iris" --threads 0
check 2 --data "$iris" --dtype f16
check 2 --data "$iris" --patience 3
check 2 --data "$iris" --target nosuch
check 2 --data "$iris" --targets "$iris"
check 2 --data "$tmp/x.npy"
check 2 --data "$iris" --bogus
check 2 --data "$iris" extra
check 2 --data "$data/diabetes.csv" --task classify
for spec in bogus 'ema(decay=1)' 'swa(every=0)' 'ema(beta=0.9)' ''; do
  check 2 --data "$iris" --epochs 1 --average "$spec"
done
check 1 --data /nonexistent.csv
printf 'a,b,y\n1,2,0\n3,x,1\n' > "$tmp/bad.csv"
check 1 --data "$tmp/bad.csv"
check 1 --data "$iris" --epochs 1 --history /nonexistent-dir/h.csv
check 2 --data "$iris" --epochs 1 --plot "$tmp/h.gif"
check 2 --data "$iris" --epochs 1 --plot "$tmp/h"
check 2 --data "$iris" --epochs 1 --plot
check 1 --data "$iris" --epochs 1 --plot /nonexistent-dir/h.png

# a good run: one JSON object with the promised keys, one history row per epoch
out=$("$bin" train --data "$iris" --layers 8 --epochs 3 --batch 16 --val-split 0.2 --seed 1 \
      --history "$tmp/h.csv" --json 2>"$tmp/err")
rc=$?
for key in '"train_loss":' '"test_accuracy":' '"epochs":3' '"seconds":' '"history":[{' '"val_loss":'; do
  case $out in *"$key"*) ;; *) echo "FAIL: json lacks $key: $out"; fail=$((fail + 1)) ;; esac
done
[ "$rc" -eq 0 ] || { echo "FAIL: good run exit $rc"; fail=$((fail + 1)); }
[ "$(printf '%s\n' "$out" | grep -c '')" -eq 1 ] || { echo "FAIL: more than one stdout line"; fail=$((fail + 1)); }
[ "$(grep -c '^epoch ' "$tmp/err")" -eq 3 ] || { echo "FAIL: want 3 epoch lines on stderr"; fail=$((fail + 1)); }
[ "$(grep -c '' "$tmp/h.csv")" -eq 4 ] || { echo "FAIL: history wants a header and 3 rows"; fail=$((fail + 1)); }
out=$("$bin" train --data "$data/diabetes.csv" --layers 8 --epochs 2 --schedule 'step(step_size=10)' --quiet --json 2>/dev/null)
for key in '"task":"regress"' '"test_rmse":' '"test_r2":' '"schedule":"step(step_size=10)"'; do
  case $out in *"$key"*) ;; *) echo "FAIL: regression json lacks $key: $out"; fail=$((fail + 1)) ;; esac
done
# the same seed gives the same run
a=$("$bin" train --data "$iris" --epochs 2 --seed 7 --quiet --json | sed 's/"seconds":[^,]*//g; s/"samples_per_second":[^,]*//; s/"load_seconds":[^,]*//')
b=$("$bin" train --data "$iris" --epochs 2 --seed 7 --quiet --json | sed 's/"seconds":[^,]*//g; s/"samples_per_second":[^,]*//; s/"load_seconds":[^,]*//')
[ "$a" = "$b" ] || { echo "FAIL: same seed, different runs"; fail=$((fail + 1)); }
# the optimizer's state as allocated: Adam keeps two buffers of the 4-8-3 net's 67
# values (536 bytes in f32), adafactor rows + columns per matrix (8x4: 12, 3x8: 11) and
# the biases' 8 + 3, 34 floats, and 8 doubles of workspace for the column sums: 200
for pair in adam:536 adafactor:200; do
  out=$("$bin" train --data "$iris" --layers 8 --epochs 2 --optimizer "${pair%%:*}" --quiet --json)
  case $out in *"\"optimizer_state_bytes\":${pair#*:},"*) ;;
    *) echo "FAIL: ${pair%%:*}'s state is not ${pair#*:} bytes: $out"; fail=$((fail + 1)) ;; esac
done
# OpenBLAS on generic kernels (played by a preloaded shim): one re-execution with
# OPENBLAS_CORETYPE set for a CPU with AVX2/AVX-512; a user's own setting is kept
if [ -n "${3:-}" ] && grep -qw avx2 /proc/cpuinfo; then
  want=Haswell
  grep -qw avx512f /proc/cpuinfo && want=SkylakeX
  core=$(env -u OPENBLAS_CORETYPE -u DSC_BLAS_REEXEC LD_PRELOAD="$3" "$bin" train --data "$iris" --epochs 1 --quiet --json |
         sed 's/.*"core":"\([^"]*\)".*/\1/')
  [ "$core" = "$want" ] || { echo "FAIL: re-exec core '$core', want $want"; fail=$((fail + 1)); }
  core=$(OPENBLAS_CORETYPE=Atom LD_PRELOAD="$3" "$bin" train --data "$iris" --epochs 1 --quiet --json |
         sed 's/.*"core":"\([^"]*\)".*/\1/')
  [ "$core" = "Atom" ] || { echo "FAIL: the user's OPENBLAS_CORETYPE was replaced by '$core'"; fail=$((fail + 1)); }
fi
[ "$fail" -eq 0 ] && echo "cli_train: all checks passed"
exit "$fail"
