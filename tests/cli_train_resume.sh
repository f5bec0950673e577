#!/usr/bin/env bash
# descent train --save / --resume: 3 epochs + save + resume 2 epochs prints the JSON of
# 5 straight epochs (every loss, metric, rate and test score; only timings differ) and
# saves the same weights, optimizer state and position; with dropout, a schedule and a
# validation split in f32, early stopping in f64, a chain of resumes, --save-every,
# weight averages (EMA, SWA with early stopping, ASGD's ax).
# Damaged files and options the checkpoint fixes are refused with one line.
# Usage: cli_train_resume.sh DESCENT DATA_DIR
set -u
bin=$1
data=$(cd "$2" && pwd) # the files are stored as absolute paths; so the straight runs name them
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail=0
untimed() { sed -E 's/"(seconds|samples_per_second|resumed_at|load_seconds)":[^,}]*,?//g'; }
# Both checkpoints hold the same tensors and metadata; the history's seconds column aside.
same_files() {
  /usr/bin/python3 - "$1" "$2" <<'EOF'
import json, struct, sys
def read(path):
    b = open(path, 'rb').read()
    n = struct.unpack('<Q', b[:8])[0]
    h = json.loads(b[8:8 + n])
    meta = h.pop('__metadata__')
    meta.pop('checksum')
    meta.pop('header_checksum')
    data = b[8 + n:]
    t = {k: data[v['data_offsets'][0]:v['data_offsets'][1]] for k, v in h.items()}
    if 'extra/fit.history' in t:  # rows of 8 doubles; the last is seconds
        r = t['extra/fit.history']
        t['extra/fit.history'] = b''.join(r[i:i + 56] for i in range(0, len(r), 64))
    return meta, t
a, b = read(sys.argv[1]), read(sys.argv[2])
if a != b:
    diff = [k for k in set(a[1]) | set(b[1]) if a[1].get(k) != b[1].get(k)]
    diff += [k for k in set(a[0]) | set(b[0]) if a[0].get(k) != b[0].get(k)]
    sys.exit('differ: ' + ', '.join(sorted(diff)))
EOF
}
# TOTAL FIRST ARGS...: TOTAL straight epochs (want.*); FIRST, save, and --resume for
# the rest (a.st after FIRST, got.*)
split_run() {
  local total=$1 first=$2
  shift 2
  "$bin" "$@" --epochs "$total" --save "$dir/want.st" >"$dir/want.json" &&
    "$bin" "$@" --epochs "$first" --save "$dir/a.st" >/dev/null &&
    "$bin" train --resume "$dir/a.st" --epochs $((total - first)) --json --quiet --save "$dir/got.st" >"$dir/got.json" ||
    { echo "FAIL: the runs of $*"; fail=$((fail + 1)); }
}
check() { # what: want.json/st against got.json/st
  local what=$1
  if [ "$(untimed <"$dir/want.json")" != "$(untimed <"$dir/got.json")" ]; then
    echo "FAIL: $what: straight: $(untimed <"$dir/want.json")"
    echo "      resumed:  $(untimed <"$dir/got.json")"
    fail=$((fail + 1))
  fi
  same_files "$dir/want.st" "$dir/got.st" || { echo "FAIL: $what: the checkpoints differ"; fail=$((fail + 1)); }
}

# f32 classification: dropout, a schedule, a validation split
args=(train --data "$data/iris.csv" --layers 8,6 --optimizer 'adam(lr=0.01)' --schedule 'cosine(T_max=40)'
      --batch 16 --val-split 0.2 --seed 3 --dropout 0.2 --quiet --json)
split_run 5 3 "${args[@]}"
check "f32 3 + 2"
grep -q '"epochs":5,' "$dir/got.json" && grep -q '"resumed_at":3' "$dir/got.json" ||
  { echo "FAIL: the resumed run reports $(cat "$dir/got.json")"; fail=$((fail + 1)); }
# a chain: 3 + 1 + 1, resuming a resumed file and saving over it
"$bin" train --resume "$dir/a.st" --epochs 1 --quiet --save "$dir/b.st" >/dev/null &&
  "$bin" train --resume "$dir/b.st" --epochs 1 --json --quiet --save "$dir/b.st" >"$dir/got.json" &&
  cp "$dir/b.st" "$dir/got.st" || { echo "FAIL: chain runs"; fail=$((fail + 1)); }
check "f32 3 + 1 + 1"
# --save-every leaves training alone and ends on the same file
"$bin" "${args[@]}" --epochs 5 --save "$dir/got.st" --save-every 2 >"$dir/got.json" || { echo "FAIL: --save-every"; fail=$((fail + 1)); }
check "--save-every 2"

# a cosine run that has ended (rate 0 at T_max: 2 epochs of 4 updates) resumes, and its
# schedule goes on with torch's formula (the rate rises again past T_max) as a straight
# run's does; the file holds the group at lr=0 (issue 13: refused on load before)
args=(train --data "$data/iris.csv" --layers 8 --optimizer 'sgd(lr=0.1, momentum=0.9)' --schedule 'cosine(T_max=8)'
      --batch 30 --quiet --json)
split_run 4 2 "${args[@]}"
check "finished cosine 2 + 2"
"$bin" inspect "$dir/a.st" | grep -qF 'group.0.hparams                  sgd(lr=0, momentum=' ||
  { echo "FAIL: the finished cosine's file should hold lr=0: $("$bin" inspect "$dir/a.st" | grep hparams)"; fail=$((fail + 1)); }
grep -q '"lr":0,.*"lr":0.05[0-9]*,.*"lr":0.1[0-9]*,' "$dir/got.json" ||
  { echo "FAIL: the resumed cosine's rates: $(cat "$dir/got.json")"; fail=$((fail + 1)); }

# f64 regression with early stopping: the best epoch (2) precedes the save, so the file's
# model holds the best weights and training goes on from the last ones; it stops at 5
args=(train --data "$data/diabetes.csv" --layers 8 --optimizer 'sgd(lr=0.02, momentum=0.9)' --dtype f64
      --batch 16 --val-split 0.2 --patience 3 --seed 1 --quiet --json)
split_run 7 3 "${args[@]}"
check "f64 early stopping 3 + 4"
grep -q '"epochs":5,.*"stopped_early":true,"best_epoch":2,' "$dir/want.json" || { echo "FAIL: the f64 run should stop early: $(cat "$dir/want.json")"; fail=$((fail + 1)); }
# a run that stopped has ended
"$bin" train --resume "$dir/want.st" --epochs 1 >"$dir/out" 2>"$dir/err"
rc=$?
[ "$rc" -eq 2 ] && [ "$(grep -c '' "$dir/err")" -eq 1 ] && grep -q 'stopped early' "$dir/err" ||
  { echo "FAIL: resuming a stopped run: exit $rc: $(cat "$dir/err")"; fail=$((fail + 1)); }

# a weight average: its buffers, counters and validation columns carry over too
args=(train --data "$data/wine.csv" --layers 8 --optimizer 'adam(lr=0.02)' --batch 16 --val-split 0.2 --seed 4
      --dropout 0.1 --average 'ema(decay=0.8, every=2, start=3)' --quiet --json)
split_run 5 3 "${args[@]}"
check "ema 3 + 2"
grep -q '"average":"ema(decay=0.8, every=2, start=3)".*"average_test_loss":[0-9]' "$dir/got.json" ||
  { echo "FAIL: the resumed run does not report its average: $(cat "$dir/got.json")"; fail=$((fail + 1)); }
args=(train --data "$data/diabetes.csv" --layers 8 --optimizer 'sgd(lr=0.02, momentum=0.9)' --dtype f64
      --batch 16 --val-split 0.2 --patience 3 --seed 1 --average 'swa(start=20)' --quiet --json)
split_run 7 3 "${args[@]}"
check "swa with early stopping 3 + 4"

# inspect shows the model's and the command's metadata and the position's tensors
out=$("$bin" inspect "$dir/a.st")
for want in 'extra.fit.epoch                  3' 'extra.mlp.sizes                  10,8,1' 'extra.train.patience             3' \
            'extra/fit.history' 'extra/fit.best'; do
  grep -qF -- "$want" <<<"$out" || { echo "FAIL: inspect lacks '$want'"; fail=$((fail + 1)); }
done

# refusals: one line on stderr, nothing on stdout
refuse() { # want_rc, what, args...
  local want=$1 what=$2
  shift 2
  "$bin" "$@" >"$dir/out" 2>"$dir/err"
  local rc=$?
  if [ "$rc" -ne "$want" ] || [ "$(grep -c '' "$dir/err")" -ne 1 ] || [ -s "$dir/out" ] ||
     ! grep -q '^descent train: ' "$dir/err"; then
    echo "FAIL: $what: exit $rc (want $want), stderr: $(cat "$dir/err")"
    fail=$((fail + 1))
  fi
}
size=$(wc -c <"$dir/a.st")
head -c $((size - 10)) "$dir/a.st" >"$dir/short.st"
refuse 1 "truncated file" train --resume "$dir/short.st" --epochs 1
cp "$dir/a.st" "$dir/flip.st"
printf '\x55' | dd of="$dir/flip.st" bs=1 seek=$((size - 3)) conv=notrunc 2>/dev/null
refuse 1 "flipped byte" train --resume "$dir/flip.st" --epochs 1
refuse 1 "missing file" train --resume "$dir/none.st" --epochs 1
"$bin" optimize --problem 'rosenbrock(n=2)' --optimizer adam --steps 2 --save "$dir/opt.st" >/dev/null
refuse 2 "an optimizer's checkpoint" train --resume "$dir/opt.st" --epochs 1
refuse 2 "--layers with --resume" train --resume "$dir/a.st" --layers 4
refuse 2 "--seed with --resume" train --resume "$dir/a.st" --seed 4
refuse 2 "--average with --resume" train --resume "$dir/a.st" --average 'ema(decay=0.8, every=2, start=3)' --epochs 1
refuse 2 "--save-every without --save" train --data "$data/iris.csv" --save-every 2
refuse 1 "other data" train --resume "$dir/a.st" --data "$data/iris.csv" --epochs 1
refuse 1 "unwritable --save" train --data "$data/iris.csv" --epochs 1 --save "$dir/no/such/dir/x.st"
grep -q 'no/such/dir' "$dir/err" || { echo "FAIL: the unwritable --save names the file: $(cat "$dir/err")"; fail=$((fail + 1)); }

# ASGD's own average (--average ax): the optimizer's state ax, averaging from step 12 on
# (t0=10), so the 8 steps of each epoch resume in the averaging (the file holds no
# average/ tensors of its own: state/<name>/ax is the average)
args=(train --data "$data/wine.csv" --layers 8 --optimizer 'asgd(lr=0.05, t0=10)' --batch 16 --val-split 0.2 --seed 4
      --average ax --quiet --json)
for dt in f32 f64; do
  split_run 5 3 "${args[@]}" --dtype $dt
  check "asgd --average ax $dt 3 + 2"
  grep -q '"average":"ax".*"average_test_loss":[0-9]' "$dir/got.json" ||
    { echo "FAIL: the resumed run does not report its ax average: $(cat "$dir/got.json")"; fail=$((fail + 1)); }
  "$bin" inspect "$dir/a.st" | grep -q 'average/' &&
    { echo "FAIL: the ax checkpoint holds average/ tensors: $("$bin" inspect "$dir/a.st" | grep average)"; fail=$((fail + 1)); }
done

if [ $fail -ne 0 ]; then echo "$fail train resume checks failed"; exit 1; fi
echo "all train resume checks passed"
