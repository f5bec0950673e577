#!/usr/bin/env bash
# descent train --model: a CNN on digits as 1x8x8 images (its JSON names the model and
# the shape); --history, --plot and --average with it; --save + --resume gives the JSON
# of the straight run (every loss and score); errors that name the layer, and options
# that do not go with --model, are refused with one line. With MPIEXEC, data-parallel
# runs (plain and --zero) end where one process ends.
# Usage: cli_train_cnn.sh DESCENT DATA_DIR [MPIEXEC]
set -u
bin=$1
data=$(cd "$2" && pwd)
mpiexec=${3:-}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/lib.sh"
untimed() { sed -E 's/"(seconds|samples_per_second|resumed_at|load_seconds)":[^,}]*,?//g'; }
digits="$data/digits.csv"
cnn='conv2d(4,k=3,pad=1),relu,batchnorm2d,maxpool2d(2),flatten,dropout(0.2),dense(16),relu,dense(10)'
args=(train --data "$digits" --model "$cnn" --shape 1x8x8 --optimizer 'adam(lr=3e-3)' --batch 32 --seed 2
      --val-split 0.1 --quiet --json)

# (drawing leaves fontconfig's caches, which a sanitizer build is told about)
out=$(LSAN_OPTIONS=suppressions=$(dirname "$0")/lsan.supp \
      "$bin" "${args[@]}" --epochs 3 --history "$tmp/h.csv" --plot "$tmp/h.svg" --average 'ema(decay=0.9)') ||
  { echo "FAIL: the CNN run"; fail=$((fail + 1)); }
case $out in *'"model":"'"$cnn"'","shape":[1,8,8]'*) ;; *) echo "FAIL: json lacks the model and shape: ${out:0:300}"; fail=$((fail + 1)) ;; esac
acc=$(num test_accuracy "$out")
close "$acc" 0.75 0.25 || { echo "FAIL: test accuracy $acc after 3 epochs"; fail=$((fail + 1)); }
[ "$(grep -c '' "$tmp/h.csv")" -eq 4 ] || { echo "FAIL: want a header and 3 history rows"; fail=$((fail + 1)); }
[ -s "$tmp/h.svg" ] || { echo "FAIL: no figure"; fail=$((fail + 1)); }
[ -n "$(num average_test_accuracy "$out")" ] || { echo "FAIL: no averaged test accuracy"; fail=$((fail + 1)); }

# images from a 4-D .npy with its targets in a second file (--targets goes with --model;
# the shape comes from the array): 40 images of 1x4x4, written with Python's standard library
/usr/bin/python3 - "$tmp" <<'PY'
import struct, sys
def npy(path, descr, shape, fmt, values):
    head = "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }" % (descr, "".join("%d, " % d for d in shape))
    head += " " * (63 - (10 + len(head)) % 64) + "\n"
    with open(path, "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(head)) + head.encode())
        f.write(struct.pack("<%d%s" % (len(values), fmt), *values))
n = 40
npy(sys.argv[1] + "/x.npy", "<f4", (n, 1, 4, 4), "f", [((i * 7 + j) % 11) / 11.0 for i in range(n) for j in range(16)])
npy(sys.argv[1] + "/y.npy", "<i8", (n,), "q", [i % 2 for i in range(n)])
PY
out=$("$bin" train --data "$tmp/x.npy" --targets "$tmp/y.npy" --model 'conv2d(2,k=3,pad=1),relu,flatten,dense(2)' \
      --epochs 1 --batch 8 --quiet --json 2>"$tmp/err") ||
  { echo "FAIL: --model with .npy images and --targets: $(head -2 "$tmp/err")"; fail=$((fail + 1)); }
case $out in *'"shape":[1,4,4]'*) ;; *) echo "FAIL: the .npy's image shape: ${out:0:300}"; fail=$((fail + 1)) ;; esac

# 2 epochs, save, 2 more from the file: the 4 straight epochs' every number
"$bin" "${args[@]}" --epochs 4 | untimed >"$tmp/want.json" &&
  "$bin" "${args[@]}" --epochs 2 --save "$tmp/a.st" >/dev/null &&
  "$bin" train --resume "$tmp/a.st" --epochs 2 --quiet --json | untimed >"$tmp/got.json" ||
  { echo "FAIL: the resume runs"; fail=$((fail + 1)); }
cmp -s "$tmp/want.json" "$tmp/got.json" || { echo "FAIL: resume differs:"; diff "$tmp/want.json" "$tmp/got.json" | head -5; fail=$((fail + 1)); }

check 2 --data "$digits" --model 'conv2d(4,k=9),flatten,dense(10)' --shape 1x8x8
check 2 --data "$digits" --model 'conv2d(4,k=3),dense(10)' --shape 1x8x8
check 2 --data "$digits" --model 'conv2d(4,k=3),flatten,dense(10)'
check 2 --data "$digits" --model 'conv2d(4,k=3),flatten,dense(10)' --shape 1x8x9
check 2 --data "$digits" --model 'conv2d(4,k=3),flatten,dense(10)' --shape 1x8
check 2 --data "$digits" --model 'conv2d(4,k=3),flatten,dense(7)' --shape 1x8x8
check 2 --data "$digits" --model 'conv2d(4,k=3),flatten,dense(10)' --shape 1x8x8 --layers 8
check 2 --data "$digits" --model 'flatten,dense(10),whatever' --shape 1x8x8
check 2 --data "$digits" --layers 8 --shape 1x8x8
err=$("$bin" train --data "$digits" --model 'conv2d(4,k=3),relu,maxpool2d(2),conv2d(8,k=5),flatten,dense(10)' \
      --shape 1x8x8 2>&1 >/dev/null)
case $err in *"conv2: kernel 5 is larger than its input's height 3 (padded: 3)"*) ;;
  *) echo "FAIL: the error does not name the layer: $err"; fail=$((fail + 1)) ;; esac

if [ -n "$mpiexec" ]; then
  plain=(train --data "$digits" --model 'conv2d(4,k=3,pad=1),relu,maxpool2d(2),flatten,dense(10)' --shape 1x8x8
         --epochs 2 --batch 24 --seed 3 --quiet --json)
  one=$("$bin" "${plain[@]}")
  for zero in "" --zero; do
    out=$(timeout 120 "$mpiexec" --oversubscribe -np 2 "$bin" "${plain[@]}" $zero 2>"$tmp/err") ||
      { echo "FAIL: np 2 $zero: $(head -3 "$tmp/err")"; fail=$((fail + 1)); continue; }
    for key in train_loss test_loss test_accuracy; do
      close "$(num $key "$out")" "$(num $key "$one")" 1e-5 1e-7 ||
        { echo "FAIL: np 2 $zero: $key $(num $key "$out"), one process $(num $key "$one")"; fail=$((fail + 1)); }
    done
  done
fi
[ "$fail" -eq 0 ] && echo "cli_train_cnn: all passed"
exit $((fail > 0))
