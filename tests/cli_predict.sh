#!/usr/bin/env bash
# descent predict and evaluate on a model of descent train --save: the test scores of
# train equal evaluate's on the same --test-data file (classification with text labels,
# regression); predictions of a file without its target column; class labels and
# standardization carried by the checkpoint; wrong feature counts and unknown labels
# refused with one line. Also the data train reads: its own --val-data/--test-data
# splits (CSV, IDX, kept across --resume), .npz, .tsv, headerless CSV, --missing, and
# a batch larger than the data in bounded memory.
# Usage: cli_predict.sh DESCENT DATA_DIR
set -u
bin=$1
data=$(cd "$2" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/lib.sh"
py=/usr/bin/python3
# same A B: the same number, to the bit (the JSON numbers round-trip: same text)
same() { [ -n "$1" ] && [ "$1" = "$2" ]; }

# iris with its classes as text, split by row into a training and a test file
names=(setosa versicolor virginica)
awk -F, -v OFS=, 'NR == 1 { $NF = "species"; print > "'"$tmp"'/train.csv"; print > "'"$tmp"'/test.csv"; next }
  { split("setosa versicolor virginica", n, " "); $NF = n[$NF + 1];
    print > (NR % 5 == 0 ? "'"$tmp"'/test.csv" : "'"$tmp"'/train.csv") }' "$data/iris.csv"
cut -d, -f1-4 "$tmp/test.csv" > "$tmp/features.csv"
model=$tmp/iris.st
out=$("$bin" train --data "$tmp/train.csv" --test-data "$tmp/test.csv" --layers 8 --epochs 20 --seed 3 \
      --save "$model" --quiet --json)
[ $? -eq 0 ] || { echo "FAIL: train with --test-data: $out"; fail=$((fail + 1)); }
ev=$("$bin" evaluate --model "$model" --data "$tmp/test.csv" --json)
for k in loss accuracy; do
  same "$(num "$k" "$ev")" "$(num "test_$k" "$out")" ||
    { echo "FAIL: evaluate $k $(num "$k" "$ev") != train's test_$k $(num "test_$k" "$out")"; fail=$((fail + 1)); }
done
case $ev in *'"labels":["setosa","versicolor","virginica"]'*'"confusion":[['*) ;;
  *) echo "FAIL: evaluate json lacks labels or confusion: $ev"; fail=$((fail + 1)) ;; esac
# the confusion matrix counts every row, and its diagonal is the accuracy
$py - "$ev" <<'PY' || fail=$((fail + 1))
import json, sys
e = json.loads(sys.argv[1])
c = e["confusion"]
total = sum(map(sum, c))
ok = total == e["rows"] == 30 and abs(sum(c[i][i] for i in range(3)) / total - e["accuracy"]) < 1e-12
print("" if ok else "FAIL: confusion %s vs rows %d, accuracy %g" % (c, e["rows"], e["accuracy"]), end="")
sys.exit(0 if ok else 1)
PY
"$bin" evaluate --model "$model" --data "$tmp/test.csv" | grep -q '^accuracy ' ||
  { echo "FAIL: evaluate's table lacks accuracy"; fail=$((fail + 1)); }

# predict: the same file with and without its target column gives the same labels,
# which are the argmax of --proba, and --out .npy holds the class indices
a=$("$bin" predict --model "$model" --data "$tmp/test.csv")
b=$("$bin" predict --model "$model" --data "$tmp/features.csv")
[ "$a" = "$b" ] || { echo "FAIL: predict differs with the target column"; fail=$((fail + 1)); }
[ "$(printf '%s\n' "$a" | head -1)" = prediction ] && [ "$(printf '%s\n' "$a" | grep -c '')" -eq 31 ] ||
  { echo "FAIL: predict wants a header and 30 rows: $(printf '%s' "$a" | head -3)"; fail=$((fail + 1)); }
printf '%s\n' "$a" | tail -n +2 | grep -qvE '^(setosa|versicolor|virginica)$' &&
  { echo "FAIL: predict prints something other than labels"; fail=$((fail + 1)); }
"$bin" predict --model "$model" --data "$tmp/features.csv" --proba --out "$tmp/p.csv"
"$bin" predict --model "$model" --data "$tmp/features.csv" --out "$tmp/c.npy"
"$bin" predict --model "$model" --data "$tmp/features.csv" --out "$tmp/l.csv"
$py - "$tmp" <<'PY' || fail=$((fail + 1))
import csv, struct, sys
t = sys.argv[1]
rows = list(csv.reader(open(t + "/p.csv")))
names, probs = rows[0], [[float(v) for v in r] for r in rows[1:]]
labels = [l.strip() for l in open(t + "/l.csv")][1:]
b = open(t + "/c.npy", "rb").read()
hl = struct.unpack("<H", b[8:10])[0]
c = struct.unpack("<%dd" % ((len(b) - 10 - hl) // 8), b[10 + hl:])
best = [max(range(3), key=lambda j: p[j]) for p in probs]
ok = (names == ["setosa", "versicolor", "virginica"] and len(probs) == 30 and b"'shape': (30,)" in b[:10 + hl]
      and all(len(p) == 3 and abs(sum(p) - 1) < 1e-6 for p in probs)
      and list(c) == best and [names[int(i)] for i in c] == labels)
print("" if ok else "FAIL: --proba, --out .npy and labels disagree", end="")
sys.exit(0 if ok else 1)
PY

# refused with one line: wrong feature count, unknown label, bad options
check_prefix=(predict)
cut -d, -f1-3 "$tmp/test.csv" > "$tmp/three.csv"
check 1 --model "$model" --data "$tmp/three.csv"
check 2 --model "$model"
check 2 --data "$tmp/test.csv"
check 2 --model "$model" --data "$tmp/test.csv" --sep x
check 2 --model "$model" --data "$tmp/test.csv" --missing guess
check 2 --model "$model" --data "$tmp/test.csv" --out "$tmp/p.txt"
check 2 --model "$model" --data "$tmp/test.csv" --out "$tmp/p.csv.txt"
check 2 --model "$model" --data "$tmp/test.csv" --bogus
check 1 --model "$tmp/nonexistent.st" --data "$tmp/test.csv"
check 1 --model "$model" --data "$tmp/test.csv" --out /nonexistent-dir/p.csv
check_prefix=(evaluate)
sed '3s/setosa/setosx/; 3s/versicolor/setosx/; 3s/virginica/setosx/' "$tmp/test.csv" > "$tmp/unknown.csv"
check 1 --model "$model" --data "$tmp/unknown.csv"
check 2 --model "$model" --data "$tmp/features.csv"   # no targets to evaluate against
check 1 --model "$model" --data "$tmp/three.csv"
[ -e /nonexistent-dir/p.csv ] && { echo "FAIL: a partial file"; fail=$((fail + 1)); }

# regression: evaluate's RMSE and R^2 are train's test scores; --proba is refused
head -1 "$data/diabetes.csv" > "$tmp/dtest.csv"; cp "$tmp/dtest.csv" "$tmp/dtrain.csv"
awk 'NR > 1 { print >> (NR % 4 == 0 ? "'"$tmp"'/dtest.csv" : "'"$tmp"'/dtrain.csv") }' "$data/diabetes.csv"
out=$("$bin" train --data "$tmp/dtrain.csv" --test-data "$tmp/dtest.csv" --layers 8 --epochs 5 --save "$tmp/d.st" --quiet --json)
ev=$("$bin" evaluate --model "$tmp/d.st" --data "$tmp/dtest.csv" --json)
# (to the bit: a loaded model evaluates in the chunks the trained one did, whatever --batch)
same "$(num rmse "$ev")" "$(num test_rmse "$out")" && same "$(num r2 "$ev")" "$(num test_r2 "$out")" &&
  same "$(num loss "$ev")" "$(num test_loss "$out")" ||
  { echo "FAIL: regression evaluate $ev vs train $out"; fail=$((fail + 1)); }
check_prefix=(predict)
check 2 --model "$tmp/d.st" --data "$tmp/dtest.csv" --proba

# --val-data with early stopping, and the user's splits kept by --resume: 2 + 1
# epochs give the scores of 3 straight ones
check_prefix=(train)
check 2 --data "$tmp/train.csv" --val-data "$tmp/test.csv" --val-split 0.2
check 2 --data "$tmp/train.csv" --test-data "$tmp/test.csv" --test-split 0.2
check 2 --data "$tmp/train.csv" --test-targets "$tmp/test.csv"
check 1 --data "$tmp/train.csv" --test-data "$tmp/three.csv"
check 1 --data "$tmp/train.csv" --test-data "$tmp/unknown.csv"
untimed() { sed -E 's/"(seconds|load_seconds|samples_per_second|resumed_at)":[^,}]*,?//g; s/"data":"[^"]*",?//'; }
straight=$("$bin" train --data "$tmp/train.csv" --val-data "$tmp/test.csv" --test-data "$tmp/test.csv" --patience 5 \
           --epochs 3 --layers 4 --quiet --json | untimed)
"$bin" train --data "$tmp/train.csv" --val-data "$tmp/test.csv" --test-data "$tmp/test.csv" --patience 5 \
  --epochs 2 --layers 4 --quiet --save "$tmp/r.st" > /dev/null
resumed=$("$bin" train --resume "$tmp/r.st" --epochs 1 --quiet --json | untimed)
[ "$straight" = "$resumed" ] || { echo "FAIL: resume with --val-data/--test-data: $straight != $resumed"; fail=$((fail + 1)); }
case $straight in *'"val_loss":'[0-9]*) ;; *) echo "FAIL: no val_loss with --val-data"; fail=$((fail + 1)) ;; esac

# MNIST-style files as published: train and t10k IDX pairs (gzip), and the same in .npz
$py - "$tmp" <<'PY'
import gzip, random, struct, sys, zipfile
t = sys.argv[1]
rnd = random.Random(0)
def npy(descr, shape, data):  # the .npy format, version 1.0
    h = "{'descr': '%s', 'fortran_order': False, 'shape': %s, }" % (descr, shape)
    h += " " * (-(10 + len(h) + 1) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(h)) + h.encode() + data
def idx(path, dims, data):
    with gzip.open(path, "wb") as f:
        f.write(struct.pack(">BBBB", 0, 0, 8, len(dims)) + struct.pack(">%dI" % len(dims), *dims) + data)
for name, n in (("train", 120), ("t10k", 40)):
    y = bytes(rnd.randrange(3) for _ in range(n))
    x = bytes(rnd.randrange(60) + 60 * y[i // 16] for i in range(n * 16))
    idx(f"{t}/{name}-images-idx3-ubyte.gz", (n, 4, 4), x)
    idx(f"{t}/{name}-labels-idx1-ubyte.gz", (n,), y)
    with zipfile.ZipFile(f"{t}/{name}.npz", "w", zipfile.ZIP_DEFLATED) as z:  # as np.savez_compressed
        z.writestr("x.npy", npy("|u1", "(%d, 16)" % n, x))
        z.writestr("y.npy", npy("|u1", "(%d,)" % n, y))
PY
out=$("$bin" train --data "$tmp/train-images-idx3-ubyte.gz" --targets "$tmp/train-labels-idx1-ubyte.gz" \
      --test-data "$tmp/t10k-images-idx3-ubyte.gz" --test-targets "$tmp/t10k-labels-idx1-ubyte.gz" \
      --epochs 3 --layers 8 --quiet --json --save "$tmp/m.st")
nz=$("$bin" train --data "$tmp/train.npz" --test-data "$tmp/t10k.npz" --epochs 3 --layers 8 --quiet --json)
[ "$(num test_accuracy "$out")" = "$(num test_accuracy "$nz")" ] && [ -n "$(num test_accuracy "$out")" ] ||
  { echo "FAIL: IDX and .npz of the same data differ: $out vs $nz"; fail=$((fail + 1)); }
ev=$("$bin" evaluate --model "$tmp/m.st" --data "$tmp/t10k.npz" --json)
same "$(num accuracy "$ev")" "$(num test_accuracy "$out")" && same "$(num loss "$ev")" "$(num test_loss "$out")" ||
  { echo "FAIL: evaluate on .npz $ev"; fail=$((fail + 1)); }
check 2 --data "$tmp/train-images-idx3-ubyte.gz" --targets "$tmp/train-labels-idx1-ubyte.gz" \
  --test-data "$tmp/t10k-images-idx3-ubyte.gz"
check 2 --data "$tmp/train.npz" --y-key labels

# a float32 model holds float32 data in float32: the same run as from float64 data
$py - "$tmp" <<'PY'
import random, struct, sys
t = sys.argv[1]
rnd = random.Random(1)
def npy(path, descr, shape, data):
    h = "{'descr': '%s', 'fortran_order': False, 'shape': %s, }" % (descr, shape)
    h += " " * (-(10 + len(h) + 1) % 64) + "\n"
    open(path, "wb").write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(h)) + h.encode() + data)
x32 = struct.pack("<1000f", *(rnd.gauss(0, 1) for _ in range(1000)))
x = struct.unpack("<1000f", x32)
npy(t + "/x32.npy", "<f4", "(200, 5)", x32)
npy(t + "/x64.npy", "<f8", "(200, 5)", struct.pack("<1000d", *x))
npy(t + "/y.npy", "<i8", "(200,)", struct.pack("<200q", *(int(x[5 * i] > 0) for i in range(200))))
PY
a=$("$bin" train --data "$tmp/x32.npy" --targets "$tmp/y.npy" --epochs 2 --quiet --json | untimed)
b=$("$bin" train --data "$tmp/x64.npy" --targets "$tmp/y.npy" --epochs 2 --quiet --json | untimed)
[ "$a" = "$b" ] || { echo "FAIL: float32 data trains otherwise than float64: $a vs $b"; fail=$((fail + 1)); }

# .tsv by extension, --sep, a headerless file keeps its first row, --missing
tr , '\t' < "$tmp/train.csv" > "$tmp/train.tsv"
tr , ';' < "$tmp/train.csv" > "$tmp/train.txt"
a=$("$bin" train --data "$tmp/train.csv" --epochs 1 --quiet --json | untimed)
b=$("$bin" train --data "$tmp/train.tsv" --epochs 1 --quiet --json | untimed)
c=$("$bin" train --data "$tmp/train.txt" --sep ';' --epochs 1 --quiet --json | untimed)
[ "$a" = "$b" ] && [ "$a" = "$c" ] || { echo "FAIL: .tsv or --sep ';' differ from the CSV"; fail=$((fail + 1)); }
tail -n +2 "$data/iris.csv" > "$tmp/headerless.csv"
[ "$(num rows "$("$bin" train --data "$tmp/headerless.csv" --epochs 1 --quiet --json)")" = 150 ] ||
  { echo "FAIL: a headerless CSV lost a row"; fail=$((fail + 1)); }
sed '5s/^[^,]*,/,/; 9s/^[^,]*,/NaN,/' "$tmp/train.csv" > "$tmp/holes.csv"
check 1 --data "$tmp/holes.csv" --epochs 1
[ "$(num rows "$("$bin" train --data "$tmp/holes.csv" --missing drop --epochs 1 --quiet --json)")" = 118 ] ||
  { echo "FAIL: --missing drop"; fail=$((fail + 1)); }
[ "$(num rows "$("$bin" train --data "$tmp/holes.csv" --missing mean --epochs 1 --quiet --json)")" = 120 ] ||
  { echo "FAIL: --missing mean"; fail=$((fail + 1)); }

# a batch of 2^24 on iris is the whole data: it fits in 1 GiB of address space (not
# under ASan, which reserves far more)
if [ -z "${ASAN_OPTIONS:-}" ]; then
  (ulimit -v 1048576; "$bin" train --data "$data/iris.csv" --batch 16777216 --epochs 1 --quiet > /dev/null) ||
    { echo "FAIL: --batch 16777216 needs more than 1 GiB"; fail=$((fail + 1)); }
fi
[ "$fail" -eq 0 ] && echo "cli_predict: all checks passed"
exit "$fail"
