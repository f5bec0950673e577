#!/usr/bin/env bash
# What the descent command writes arrives whole or not at all: stdout on a full device
# fails the command, a --trace, --history, --plot or predict --out that cannot be written
# completely (a full disk, simulated by a file size limit) fails it and leaves the previous file
# as it was, with no partial file or temporary beside it; the numbers of --json read
# back to the bits the CSV outputs print; errors under --json are one JSON line.
# Usage: cli_output.sh DESCENT_BINARY REPO_ROOT
set -u
bin=$1; root=$2
. "$(dirname "$0")/lib.sh"
py=/usr/bin/python3
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
iris=$root/data/iris.csv

bad() { echo "FAIL: $*"; fail=$((fail + 1)); }

# expect_fail NAME FILE CMD...: under a 1 KiB file size limit (write() fails with EFBIG,
# as on a full disk), CMD exits 1 with one line on stderr, prints nothing (no "plot"
# in a --json that was not drawn), FILE keeps its previous bytes, and no temporary is
# left in its directory.
expect_fail() {
  local name=$1 file=$2; shift 2
  printf 'previous\n' >"$file"
  local out rc
  out=$(trap '' XFSZ; ulimit -f 1; "$@" 2>"$dir/err"); rc=$?
  [ "$rc" -eq 1 ] || bad "$name on a full disk: exit $rc, want 1 ($(cat "$dir/err"))"
  [ "$(grep -c '' "$dir/err")" -eq 1 ] || bad "$name: stderr is not one line: $(cat "$dir/err")"
  [ -z "$out" ] || bad "$name: printed '${out:0:80}'"
  [ "$(cat "$file")" = previous ] || bad "$name: the previous $(basename "$file") was replaced ($(stat -c %s "$file") bytes)"
  ls "$dir" | grep -q '\.tmp\.' && bad "$name: a temporary was left: $(ls "$dir")"
  rm -f "$dir"/*.tmp.*
}
expect_fail "optimize --trace" "$dir/t.csv" "$bin" optimize --optimizer adam --steps 200 --trace "$dir/t.csv"
expect_fail "train --history" "$dir/h.csv" "$bin" train --data "$iris" --epochs 25 --quiet --history "$dir/h.csv"
expect_fail "schedule --plot png" "$dir/s.png" "$bin" schedule --schedule 'cosine(T_max=50)' --lr 0.1 --steps 50 \
  --plot "$dir/s.png" --json
expect_fail "schedule --plot svg" "$dir/s.svg" "$bin" schedule --schedule 'cosine(T_max=50)' --lr 0.1 --steps 50 \
  --plot "$dir/s.svg"
expect_fail "schedule --plot pdf" "$dir/s.pdf" "$bin" schedule --schedule 'cosine(T_max=50)' --lr 0.1 --steps 50 \
  --plot "$dir/s.pdf"
expect_fail "compare --plot" "$dir/c.png" "$bin" compare --optimizer adam --optimizer sgd --steps 200 --plot "$dir/c.png"
expect_fail "train --plot" "$dir/p.png" "$bin" train --data "$iris" --epochs 3 --quiet --plot "$dir/p.png"
"$bin" train --data "$iris" --epochs 2 --quiet --save "$dir/m.st" >/dev/null || bad "train --save"
for ext in csv npy; do
  expect_fail "predict --out .$ext" "$dir/p.$ext" "$bin" predict --model "$dir/m.st" --data "$iris" --proba \
    --out "$dir/p.$ext"
done

# a device that is full: stdout, a trace, a figure through a symlink
check_prefix=()
for args in "optimize --optimizer adam --steps 5 --json" "optimize --optimizer adam --steps 5" \
            "schedule --schedule cosine(T_max=5) --lr 0.1 --steps 5 --json" "inspect --help" "--version"; do
  # shellcheck disable=SC2086
  "$bin" $args >/dev/full 2>"$dir/err"; rc=$?
  [ "$rc" -eq 1 ] && [ "$(grep -c '' "$dir/err")" -eq 1 ] || bad "descent $args >/dev/full: exit $rc, stderr '$(cat "$dir/err")'"
done
check 1 optimize --optimizer adam --steps 5 --trace /dev/full
ln -s /dev/full "$dir/full.png"
check 1 schedule --schedule 'cosine(T_max=5)' --lr 0.1 --steps 5 --plot "$dir/full.png"
[ -L "$dir/full.png" ] || bad "the symlink to /dev/full was replaced"
rm -f "$dir/full.png"

# a good figure through a symlink replaces the link's target and keeps the link
"$bin" schedule --schedule 'cosine(T_max=5)' --lr 0.1 --steps 5 --plot "$dir/real.png" >/dev/null
ln -s real.png "$dir/link.png"
"$bin" schedule --schedule 'cosine(T_max=9)' --lr 0.1 --steps 9 --plot "$dir/link.png" >/dev/null ||
  bad "cannot draw through a symlink"
[ -L "$dir/link.png" ] && [ -s "$dir/real.png" ] || bad "the symlink was not kept"

# the output files replace a file as the user made it, as a checkpoint save does (one
# mechanism): a 0600 trace or figure stays 0600, a name of 255 bytes (the temporary's
# must fit too), a dangling relative symlink creates its target and stays a link
printf 'old\n' >"$dir/private.csv"; chmod 600 "$dir/private.csv"
"$bin" optimize --optimizer adam --steps 3 --trace "$dir/private.csv" >/dev/null || bad "a trace over a 0600 file"
[ "$(stat -c %a "$dir/private.csv")" = 600 ] && [ "$(head -c 3 "$dir/private.csv")" != old ] ||
  bad "the trace over a 0600 file is mode $(stat -c %a "$dir/private.csv")"
printf 'old\n' >"$dir/private.png"; chmod 600 "$dir/private.png"
"$bin" schedule --schedule 'cosine(T_max=5)' --lr 0.1 --steps 5 --plot "$dir/private.png" >/dev/null ||
  bad "a figure over a 0600 file"
[ "$(stat -c %a "$dir/private.png")" = 600 ] && [ "$(head -c 3 "$dir/private.png")" != old ] ||
  bad "the figure over a 0600 file is mode $(stat -c %a "$dir/private.png")"
long=$dir/$(printf 'n%.0s' {1..251}).csv
"$bin" optimize --optimizer adam --steps 3 --trace "$long" >/dev/null && [ -s "$long" ] ||
  bad "a trace named with 255 bytes"
"$bin" optimize --optimizer adam --steps 4 --trace "$long" >/dev/null && [ "$(grep -c '' "$long")" -eq 6 ] ||
  bad "a trace named with 255 bytes is not replaced"
ln -s later.csv "$dir/dangling.csv"
"$bin" optimize --optimizer adam --steps 3 --trace "$dir/dangling.csv" >/dev/null || bad "a trace through a dangling link"
[ -L "$dir/dangling.csv" ] && [ -s "$dir/later.csv" ] || bad "the dangling link was replaced, not its target created"
rm -f "$long" "$dir"/private.* "$dir/dangling.csv" "$dir/later.csv"
ls "$dir" | grep -q '\.tmp\.' && bad "a temporary was left: $(ls "$dir")"

# --json numbers read back to the bits of the CSV outputs (printed with %.17g)
"$bin" schedule --schedule 'cosine(T_max=997)' --lr 0.1 --steps 1000 >"$dir/lr.txt"
"$bin" schedule --schedule 'cosine(T_max=997)' --lr 0.1 --steps 1000 --json >"$dir/lr.json"
"$bin" optimize --problem 'rosenbrock(n=6)' --optimizer 'adam(lr=1e-2)' --steps 300 --average 'ema(decay=0.9)' \
  --trace "$dir/trace.csv" --json >"$dir/opt.json"
"$bin" optimize --problem 'rosenbrock(n=6)' --optimizer 'adam(lr=1e-2)' --steps 300 --dtype f32 \
  --trace "$dir/trace32.csv" --json >"$dir/opt32.json"
$py - "$dir" <<'PY' || bad "--json numbers differ from the CSV's"
import csv, json, sys
d = sys.argv[1]
lr = [float(l.split()[1]) for l in open(d + "/lr.txt")]
js = json.load(open(d + "/lr.json"))["lr"]
diff = [i for i, (a, b) in enumerate(zip(lr, js)) if a != b]
assert len(lr) == len(js) == 1000 and not diff, f"schedule: {len(diff)} of {len(lr)} rates differ, first at step {diff[:1]}"
for name in ("", "32"):
    rows = list(csv.reader(open(f"{d}/trace{name}.csv")))
    last = [float(v) for v in rows[-1]]
    o = json.load(open(f"{d}/opt{name}.json"))
    # the JSON's final loss is at the evaluation point, the trace's last row at the
    # training point: the same point for adam
    want = [last[1]] + last[2:]
    got = [o["loss"]] + o["x"]
    assert got == want, f"optimize{name}: {got} != {want}"
print("json numbers round-trip")
PY

# errors under --json: one JSON line on stderr with the message
"$bin" optimize --optimizer 'adam(beta1=1.5)' --steps 5 --json >"$dir/out" 2>"$dir/err"; rc=$?
$py -c 'import json,sys; e=json.loads(open(sys.argv[1]).read()); assert "beta1" in e["error"] and e["command"] == "optimize"' \
  "$dir/err" && [ "$rc" -eq 2 ] && [ ! -s "$dir/out" ] && [ "$(grep -c '' "$dir/err")" -eq 1 ] ||
  bad "optimize --json error: exit $rc, stderr '$(cat "$dir/err")'"
"$bin" schedule --schedule 'cosine(T_max=5)' --lr 0.1 --steps 5 --plot /nonexistent-dir/x.png --json 2>"$dir/err"
$py -c 'import json,sys; e=json.loads(open(sys.argv[1]).read()); assert "x.png" in e["error"]' "$dir/err" ||
  bad "schedule --json error is not JSON: $(cat "$dir/err")"

# a comparison's SVG holds what its resolution shows: 5000 steps of four optimizers
# with their paths over the contour took 16 MB in 45,000 paths
"$bin" compare --optimizer adam --optimizer sgd --optimizer 'rmsprop(lr=1e-3)' --optimizer 'sgd(lr=1e-3,momentum=0.9)' \
  --steps 5000 --plot "$dir/big.svg" >/dev/null || bad "compare --plot big.svg failed"
size=$(stat -c %s "$dir/big.svg"); paths=$(grep -c '<path' "$dir/big.svg")
[ "$size" -lt 3000000 ] && [ "$paths" -lt 10000 ] || bad "the comparison's SVG has $size bytes in $paths paths"

# help, version, counts
[ "$("$bin" help schedule)" = "$("$bin" schedule --help)" ] || bad "descent help schedule differs from schedule --help"
[ "$("$bin" -V)" = "$("$bin" --version)" ] && "$bin" -V | grep -q '^descent [0-9]' || bad "-V"
check 2 help nosuchcommand
"$bin" optimize --optimizer adam --steps 1 | grep -q ' 1 step: ' || bad "optimize: not '1 step'"
"$bin" train --data "$iris" --epochs 1 --quiet 2>/dev/null | grep -q '^1 epoch in ' || bad "train: not '1 epoch'"

if [ $fail -ne 0 ]; then echo "$fail output checks failed"; exit 1; fi
echo "all output checks passed"
