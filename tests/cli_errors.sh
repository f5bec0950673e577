#!/usr/bin/env bash
# Bad input to the descent command: a non-zero exit, exactly one line on stderr,
# nothing on stdout, and never a crash (exit codes >= 128 are signals).
set -u
bin=$1
. "$(dirname "$0")/lib.sh"
check 2
check 2 nosuchcommand
check 2 optimize --steps 10
check 2 optimize --optimizer adam
check 2 optimize --optimizer adam --steps -1
check 2 optimize --optimizer adam --steps abc
check 2 optimize --optimizer adam --steps 10x
check 2 optimize --optimizer adam --steps 10 --dtype f16
check 2 optimize --optimizer adam --steps 10 --problem nosuch
# a kind that takes only row-sparse gradients, on the command's dense problems (and its refusal says why)
check 1 optimize --optimizer 'sparse_adam' --steps 5
if ! "$bin" optimize --optimizer sparse_adam --steps 5 2>&1 | grep -q "sparse_adam: dense gradients are not supported"; then
  echo "FAIL: optimize --optimizer sparse_adam does not say that dense gradients are not supported"
  fail=$((fail + 1))
fi
check 2 optimize --optimizer adam --steps 10 --start=1,abc
check 2 optimize --optimizer adam --steps 10 --start=1,2,3
check 2 optimize --optimizer adam --steps 10 --start=
check 2 optimize --optimizer 'adam(beta1=1.5)' --steps 10
check 2 optimize --optimizer 'adam(lr=)' --steps 10
check 2 optimize --optimizer 'adam(lr=0.1' --steps 10
check 2 optimize --optimizer 'nosuch' --steps 10
check 2 optimize --optimizer 'sgd(nesterov=true)' --steps 10
check 2 optimize --optimizer 'lion(eps=1)' --steps 10
check 2 optimize --optimizer 'lamb(decoupled_weight_decay=true)' --steps 10
check 2 optimize --optimizer 'muon(adjust_lr=x)' --steps 10
check 2 optimize --optimizer 'muon(ns_steps=0)' --steps 10
check 2 optimize --optimizer 'lookahead(k=5)' --steps 10
check 2 optimize --optimizer 'lookahead(inner=adam(lr=-1), k=5)' --steps 10
check 2 optimize --optimizer 'lookahead(inner=schedulefree_adamw)' --steps 10
check 2 optimize --optimizer adam --steps 10 --bogus
check 2 optimize --optimizer adam --steps 10 extra
check 2 optimize --optimizer adam --steps
check 1 optimize --optimizer adam --steps 10 --trace /nonexistent-dir/t.csv
check 2 optimize --optimizer adam --steps 10 --schedule 'nosuch'
check 2 optimize --optimizer adam --steps 10 --schedule 'cosine'
check 2 optimize --optimizer adam --steps 10 --schedule 'onecycle(total_steps=5)'
check 2 optimize --optimizer adam --steps 10 --schedule
check 1 optimize --optimizer 'sgd(nonfinite=error)' --steps 3 --start=1e200,1e200
check 2 schedule
check 2 schedule --lr 0.1 --steps 5
check 2 schedule --schedule 'cosine(T_max=5)' --steps 5
check 2 schedule --schedule 'cosine(T_max=5)' --lr 0.1
check 2 schedule --schedule 'cosine(T_max=5)' --lr -0.1 --steps 5
check 2 schedule --schedule 'cosine(T_max=5)' --lr abc --steps 5
check 2 schedule --schedule 'cosine(T_max=5)' --lr 0.1 --steps 0
check 2 schedule --schedule 'cosine(T_max=5)' --lr 0.1 --steps 5x
check 2 schedule --schedule 'cosine(T_max=5' --lr 0.1 --steps 5
check 2 schedule --schedule 'cosine(T_max=0)' --lr 0.1 --steps 5
check 2 schedule --schedule 'cosine(T_max=5, bogus=1)' --lr 0.1 --steps 5
check 2 schedule --schedule 'nosuch' --lr 0.1 --steps 5
check 2 schedule --schedule 'step' --lr 0.1 --steps 5
check 2 schedule --schedule 'multistep(milestones=3)' --lr 0.1 --steps 5
check 2 schedule --schedule 'sequential(linear, cosine(T_max=5))' --lr 0.1 --steps 5
check 2 schedule --schedule 'onecycle(total_steps=4, pct_start=0.5)' --lr 0.1 --steps 10
check 2 schedule --schedule 'plateau' --lr 0.1 --steps 5
check 2 schedule --schedule 'plateau' --lr 0.1 --steps 5 --losses /nonexistent-dir/losses.txt
check 2 schedule --schedule 'cosine(T_max=5)' --lr 0.1 --steps 5 --bogus
check 2 schedule --schedule 'cosine(T_max=5)' --lr 0.1 --steps 5 extra
check 2 schedule --schedule 'cosine(T_max=5)' --lr 0.1 --steps
check 2 schedule --schedule 'cosine(T_max=5)' --lr 0.1 --steps 5 --plot lr.jpg
check 2 schedule --schedule 'cosine(T_max=5)' --lr 0.1 --steps 5 --plot
check 1 schedule --schedule 'cosine(T_max=5)' --lr 0.1 --steps 5 --plot /nonexistent-dir/lr.png
# demo, from the repository root where it finds its data
pushd "$(dirname "$0")/.." >/dev/null
check 2 demo --bogus
check 2 demo --out
check 2 demo stray
check 1 demo --out /nonexistent-dir/out
popd >/dev/null
losses=/tmp/dsc_losses.$$
printf '1\n0.5\n' >"$losses"
check 2 schedule --schedule 'plateau' --lr 0.1 --steps 5 --losses "$losses"
printf '1\n0.5\nabc\n0.2\n' >"$losses"
check 2 schedule --schedule 'king(patience=2)' --lr 0.1 --steps 5 --losses "$losses"
printf '2\0003\n' >"$losses" # a NUL byte ends no number early
check 2 schedule --schedule 'plateau' --lr 0.1 --steps 2 --losses "$losses"
rm -f "$losses"
# a FIFO without a writer and an endless device are refused at once, not waited on
mkfifo "$losses"
for f in "$losses" /dev/zero; do
  timeout 20 "$bin" schedule --schedule 'plateau' --lr 0.1 --steps 2 --losses "$f" >/dev/null 2>&1
  rc=$?
  [ "$rc" -eq 2 ] || { echo "FAIL: schedule --losses $f -> exit $rc (want 2, at once)"; fail=$((fail + 1)); }
done
rm -f "$losses"
# compare
check 2 compare --problem rosenbrock --steps 10 --optimizer adam --schedule 'nosuch'
check 2 compare --problem rosenbrock --steps 10 --optimizer adam --schedule
check 2 compare --steps 10
check 2 compare --optimizer adam
check 2 compare --optimizer adam --steps x
check 2 compare --optimizer adam --optimizer 'adam(beta1=2)' --steps 10
check 2 compare --optimizer adam --steps 10 --problem 'quadratic(cond=0)'
check 2 compare --optimizer adam --steps 10 --problem 'linreg(d=0)'
check 2 compare --optimizer adam --steps 10 --problem 'beale(n=3)'
check 2 compare --optimizer adam --steps 10 --start=1,2,3
check 2 compare --optimizer adam --steps 10 --plot out.gif
check 2 compare --optimizer adam --steps 10 --plot
check 2 compare --optimizer adam --steps 1000000000 --plot out.png
check 2 compare --optimizer adam --steps 10 --dtype f8
check 2 compare --optimizer adam --steps 10 stray
check 2 compare $(for i in $(seq 17); do printf -- '--optimizer adam '; done) --steps 1
check 1 compare --optimizer adam --steps 10 --plot /nonexistent-dir/c.png
# found before any run: a million steps on the diabetes CSV for each optimizer would
# take many seconds, so a late check runs into the timeout (exit 124)
real_bin=$bin bin=timeout
check 1 5 "$real_bin" compare --problem "linreg(data=$(dirname "$0")/../data/diabetes.csv)" --steps 1000000 \
  --optimizer adam --optimizer sgd --optimizer rmsprop --plot /nonexistent-dir/x.png
bin=$real_bin
check 1 compare --optimizer adam --steps 10 --problem 'linreg(data=/nonexistent.csv)'
# paths
check 2 paths --penalty l1
check 2 paths --data data.csv
check 2 paths --data data.csv --penalty l3
check 2 paths --data data.csv --penalty l1 --lambdas 1:0.1:5
check 2 paths --data data.csv --penalty l1 --lambdas 0:1:5
check 2 paths --data data.csv --penalty l1 --lambdas 1e-3:1e3
check 2 paths --data data.csv --penalty l1 --lambdas 1e-3:1e3:0
check 2 paths --data data.csv --penalty l1 --lambdas 1e-3:1e3:5x
check 2 paths --data data.csv --penalty l1 --plot p.jpg
check 2 paths --data data.csv --penalty l1 --bogus
check 1 paths --data /nonexistent.csv --penalty l1
check 1 paths --data "$(dirname "$0")/../data/diabetes.csv" --penalty l1 --lambdas 1:10:3 --plot /nonexistent-dir/p.png
printf 'a,b\n1,x\n' > /tmp/dsc_bad.$$.csv
check 1 paths --data /tmp/dsc_bad.$$.csv --penalty l2
check 1 compare --optimizer adam --steps 10 --problem "linreg(data=/tmp/dsc_bad.$$.csv)"
rm -f /tmp/dsc_bad.$$.csv
# checkpoints: bad options, missing and damaged files (exit 1, one line, no crash)
ck=$(mktemp -d)
"$bin" optimize --optimizer 'adam(lr=1e-2)' --steps 5 --save "$ck/good.st" >/dev/null || { echo "FAIL: cannot save"; fail=$((fail + 1)); }
size=$(stat -c %s "$ck/good.st")
head -c 5 "$ck/good.st" >"$ck/short.st"
head -c 300 "$ck/good.st" >"$ck/cut_header.st"
head -c $((size - 4)) "$ck/good.st" >"$ck/cut_data.st"
{ printf '\xff\xff\xff\xff\xff\xff\xff\x7f'; tail -c +9 "$ck/good.st"; } >"$ck/absurd.st"
{ head -c 8 "$ck/good.st"; printf '{"a":'; tail -c +14 "$ck/good.st"; } >"$ck/json.st"
cp "$ck/good.st" "$ck/flip.st"
printf '\x42' | dd of="$ck/flip.st" bs=1 seek=$((size - 2)) conv=notrunc status=none
: >"$ck/empty.st"
head -c 4096 /dev/urandom >"$ck/random.st"
check 2 optimize --resume "$ck/good.st" --steps 5 --optimizer adam
check 2 optimize --resume "$ck/good.st" --steps 5 --problem rosenbrock
check 2 optimize --resume "$ck/good.st" --steps 5 --dtype f32
check 2 optimize --resume "$ck/good.st" --steps 5 --schedule 'cosine(T_max=5)'
check 2 optimize --resume "$ck/good.st"
check 2 optimize --resume "$ck/good.st" --steps 5 --average 'ema(decay=0.9)'
check 2 optimize --optimizer adam --steps 5 --average 'polyak'
check 2 optimize --optimizer adam --steps 5 --average 'ema(decay=1)'
check 2 optimize --optimizer adam --steps 5 --average 'swa(every=0)'
check 2 optimize --optimizer adam --steps 5 --average 'ema(decay=0.9, beta=1)'
check 2 optimize --optimizer adam --steps 5 --average
check 2 compare --optimizer adam --steps 5 --average 'ema(decay=-1)'
check 2 optimize --optimizer adam --steps 5 --average ax # ax is ASGD's
check 2 compare --optimizer asgd --optimizer adam --steps 5 --average ax
# checkpoints with an average whose metadata disagrees with its file (same length, so
# only the header text changes)
"$bin" optimize --optimizer 'adam(lr=1e-2)' --average 'ema(decay=0.9)' --steps 5 --save "$ck/avg.st" >/dev/null ||
  { echo "FAIL: cannot save with --average"; fail=$((fail + 1)); }
LC_ALL=C sed 's/"average":"ema(decay=0.90000000000000002/"average":"ema(decay=0.50000000000000000/' "$ck/avg.st" >"$ck/avg_spec.st"
LC_ALL=C sed 's/"average.averaged":"5"/"average.averaged":"6"/' "$ck/avg.st" >"$ck/avg_count.st"
LC_ALL=C sed 's/"average\/x\/ema"/"average\/y\/ema"/' "$ck/avg.st" >"$ck/avg_name.st"
for f in avg_spec avg_count avg_name; do
  cmp -s "$ck/avg.st" "$ck/$f.st" && { echo "FAIL: $f.st is not damaged"; fail=$((fail + 1)); }
  check 1 optimize --resume "$ck/$f.st" --steps 5
done
check 2 optimize --resume
check 1 optimize --optimizer adam --steps 5 --save /nonexistent-dir/x.st
check 2 inspect
check 2 inspect a b
check 2 inspect --bogus "$ck/good.st"
for f in nonexistent short cut_header cut_data absurd json flip empty random; do
  check 1 optimize --resume "$ck/$f.st" --steps 5
  check 1 inspect "$ck/$f.st"
done
check 1 inspect "$ck"
rm -rf "$ck"
check 2 bench
check 2 bench --optimizer adam --params 0
check 2 bench --optimizer adam --params 10x
check 2 bench --optimizer adam --params 3 --tensors 4
check 2 bench --optimizer adam --params 100 --dtype f16
# lbfgs steps with a closure: bench (per-element updates) and train (mini-batches) refuse it
# before anything is allocated or read
check 2 bench --optimizer lbfgs
check 2 train --data nosuch.csv --optimizer 'lbfgs(max_iter=5)'
case $("$bin" train --data nosuch.csv --optimizer lbfgs 2>&1) in
  *"lbfgs needs a closure over the whole loss"*) ;;
  *) echo "FAIL: descent train --optimizer lbfgs does not say why it refuses"; fail=$((fail + 1)) ;;
esac
check 2 optimize --optimizer 'lbfgs(weight_decay=0.1)' --steps 10
check 2 optimize --optimizer 'lbfgs(line_search_fn=wolfe)' --steps 10
check 2 bench --optimizer adafactor --params 1000 --tensors 3 --cols 10 # 334 is no multiple of 10
check 2 bench --optimizer adafactor --params 1000 --cols -1
check 2 bench --optimizer adam --params 100 --threads -1
check 2 bench --optimizer adam --params 100 --reps 0
check 2 bench --optimizer nosuch --params 100
check 2 bench --optimizer 'sgd(state_dtype=bf16)' --params 100
check 2 bench --optimizer 'adam(state_dtype=bf16)' --params 100 --dtype f64
check 2 bench --optimizer adam --params 100 extra
rm -f /tmp/dsc_err.$$
if [ $fail -ne 0 ]; then echo "$fail CLI error checks failed"; exit 1; fi
echo "all CLI error checks passed"
