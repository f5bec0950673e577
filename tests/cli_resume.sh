#!/usr/bin/env bash
# descent optimize --save / --resume: 17 steps, save, resume for 23 steps ends on the
# same bits (loss and x printed with 17 digits) as 40 straight steps, for every
# optimizer, f32 and f64, and every kind of schedule; a chain of resumes (17 + 10 + 13)
# too; with a weight average too. descent inspect lists a checkpoint's tensors.
set -u
bin=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
. "$(dirname "$0")/lib.sh" # fail=0, num
specs=(
  'sgd(lr=1e-3)' 'sgd(lr=1e-3, momentum=0.9, nesterov=true)' 'sgd(lr=1e-3, momentum=0.9, lr_in_buffer=true)'
  'adagrad(lr=0.1, lr_decay=0.01)' 'rmsprop(lr=1e-2, momentum=0.5, centered=true)' 'adadelta'
  'adam(lr=1e-2, amsgrad=true)' 'adamw(lr=1e-2)' 'adamax(lr=1e-2)' 'nadam(lr=1e-2)' 'radam(lr=1e-2)'
  'adabelief(lr=1e-2)' 'adam(lr=1e-2, clip_norm=1)' 'lion(lr=1e-3)' 'lamb(lr=1e-2)' 'lars(lr=1e-2, momentum=0.9)'
  'schedulefree_adamw(lr=1e-2, warmup_steps=5)' 'muon(lr=1e-2)' 'rprop(lr=1e-2)' 'asgd(lr=1e-2, t0=10)' 'lbfgs(max_iter=4, history_size=3, line_search_fn=strong_wolfe)' 'lbfgs(lr=0.1, max_iter=3)' 'adafactor(lr=0.05)' 'adam(lr=1e-2, lookahead_k=5)' 'lookahead(inner=adam(lr=1e-2), k=5, alpha=0.5)'
)
result() { # the loss and x of a --json line
  sed -e 's/.*\("loss":[^,]*\).*\("x":\[[^]]*\]\).*/\1 \2/' <<<"$1"
}
for spec in "${specs[@]}"; do
  for dt in f32 f64; do
    problem='rosenbrock(n=3)'
    want=$("$bin" optimize --problem "$problem" --optimizer "$spec" --dtype $dt --steps 40 --json) || { echo "FAIL: 40 steps of $spec"; fail=$((fail+1)); continue; }
    "$bin" optimize --problem "$problem" --optimizer "$spec" --dtype $dt --steps 17 --save "$dir/a.st" >/dev/null &&
      got=$("$bin" optimize --resume "$dir/a.st" --steps 23 --json) &&
      "$bin" optimize --resume "$dir/a.st" --steps 10 --save "$dir/b.st" >/dev/null &&
      chain=$("$bin" optimize --resume "$dir/b.st" --steps 13 --json) || { echo "FAIL: save/resume of $spec $dt"; fail=$((fail+1)); continue; }
    if [ "$(result "$want")" != "$(result "$got")" ] || [ "$(result "$want")" != "$(result "$chain")" ]; then
      echo "FAIL: $spec $dt: 40 straight steps: $(result "$want")"
      echo "      17 + 23 resumed:             $(result "$got")"
      echo "      17 + 10 + 13 resumed:        $(result "$chain")"
      fail=$((fail+1))
    fi
    case "$got" in *'"step":40'*) ;; *) echo "FAIL: $spec $dt: resumed run does not report step 40: $got"; fail=$((fail+1));; esac
  done
done
# resume_check NAME EXTRACT ARGS...: 40 straight steps of descent optimize ARGS against 17,
# --save, --resume for 23, compared through the function EXTRACT; the 40 steps' JSON is
# left in $want
resume_check() {
  local name=$1 extract=$2 got
  shift 2
  want=$("$bin" optimize "$@" --steps 40 --json) &&
    "$bin" optimize "$@" --steps 17 --save "$dir/r.st" >/dev/null &&
    got=$("$bin" optimize --resume "$dir/r.st" --steps 23 --json) || { echo "FAIL: $name did not run"; fail=$((fail+1)); return; }
  if [ "$($extract "$want")" != "$($extract "$got")" ]; then
    echo "FAIL: $name: 40 straight steps: $($extract "$want")"
    echo "      17 + 23 resumed:             $($extract "$got")"
    fail=$((fail+1))
  fi
}
# schedules (their position, rate, loss history) and gradient accumulation resume too
schedules=(
  'cosine(T_max=40)' 'step(step_size=7, gamma=0.5)' 'onecycle(max_lr=0.05, total_steps=40)'
  'plateau(patience=2, factor=0.5)' 'king(patience=4)' 'cosine_restarts(T_0=7, T_mult=2)'
  'sequential(linear(total_iters=5), cosine(T_max=35), milestones=[5])'
  'cyclic(max_lr=0.05, step_size_up=4, mode=triangular2)' 'noam(model_dim=16, warmup_steps=5)'
  'exponential_stages(decay=0.5, stage_length=6, staircase=true)'
)
for sched in "${schedules[@]}"; do
  for run in 'adam(lr=1e-2) f32' 'sgd(lr=1e-3, momentum=0.9) f64' 'adam(lr=1e-2, accumulate=3) f64'; do
    spec=${run% *}; dt=${run##* }
    resume_check "$spec with $sched, $dt" result --problem 'rosenbrock(n=3)' --optimizer "$spec" \
      --schedule "$sched" --dtype "$dt"
  done
done
# a weight average (--average) resumes too: the loss and point at the average as well,
# for ema and swa, f32 and f64, and around lookahead and schedule-free
avg_result() { # loss, x, average_loss and average_x of a --json line
  sed -e 's/.*\("loss":[^,]*\).*\("x":\[[^]]*\]\).*\("average_loss":[^,]*\).*\("average_x":\[[^]]*\]\).*/\1 \2 \3 \4/' <<<"$1"
}
for average in 'ema(decay=0.9)' 'swa(start=5, every=2)'; do
  for spec in 'adam(lr=1e-2)' 'lookahead(inner=adam(lr=1e-2), k=5, alpha=0.5)' 'schedulefree_adamw(lr=1e-2)'; do
    for dt in f32 f64; do
      resume_check "$spec --average $average, $dt" avg_result --problem 'rosenbrock(n=3)' --optimizer "$spec" \
        --average "$average" --dtype "$dt"
      case "$want" in *'"average_loss":'*'"average_x":'*) ;; *) echo "FAIL: no average in: $want"; fail=$((fail+1));; esac
    done
  done
done
out=$("$bin" inspect "$dir/r.st") # the last: swa around schedule-free, f64
for want in 'average                          swa(start=5, every=2)' 'average.updates                  17' \
            'average.averaged                 6' 'average/x/swa                            F64      [3]' \
            'state/x/z'; do
  grep -qF -- "$want" <<<"$out" || { echo "FAIL: inspect lacks '$want':"; echo "$out"; fail=$((fail+1)); }
done
# ASGD's own average (--average ax, its state ax) resumes too; before the averaging
# starts (t0 = 30) ax is the parameters, after it differs from them
for dt in f32 f64; do
  resume_check "asgd --average ax, $dt" avg_result --problem 'rosenbrock(n=3)' --optimizer 'asgd(lr=1e-3, t0=10)' \
    --average ax --dtype "$dt"
  case "$want" in *'"average":"ax","average_loss":'*) ;; *) echo "FAIL: no ax average in: $want"; fail=$((fail+1));; esac
done
early=$("$bin" optimize --problem 'rosenbrock(n=3)' --optimizer 'asgd(lr=1e-3, t0=30)' --average ax --steps 20 --json)
[ "$(num loss "$early")" = "$(num average_loss "$early")" ] || { echo "FAIL: ax is not p before t0: $early"; fail=$((fail+1)); }
[ "$(num loss "$want")" != "$(num average_loss "$want")" ] || { echo "FAIL: ax is p after t0: $want"; fail=$((fail+1)); }
line=$("$bin" optimize --problem rosenbrock --optimizer 'asgd(lr=1e-3)' --average ax --steps 3)
grep -qE '; ax: loss [0-9.e+-]+ at \(' <<<"$line" || { echo "FAIL: optimize --average ax prints: $line"; fail=$((fail+1)); }
# the table line reports the average too
line=$("$bin" optimize --problem rosenbrock --optimizer 'adam(lr=1e-2)' --average 'ema(decay=0.5)' --steps 3)
grep -qE '; ema\(decay=0\.5\): loss [0-9.e+-]+ at \(' <<<"$line" || { echo "FAIL: optimize --average prints: $line"; fail=$((fail+1)); }
# what inspect shows of the last checkpoint (adam with clip_norm, f64, step 27)
out=$("$bin" inspect "$dir/b.st")
for want in 'format                           descent.checkpoint' 'step                             27' 'extra.problem                    rosenbrock(n=3)' \
            'state/x/exp_avg_sq' 'F64      [3]                            24'; do
  grep -qF -- "$want" <<<"$out" || { echo "FAIL: inspect lacks '$want':"; echo "$out"; fail=$((fail+1)); }
done
# resuming from a file and saving over it
"$bin" optimize --resume "$dir/b.st" --steps 3 --save "$dir/b.st" >/dev/null || { echo "FAIL: save over the resumed file"; fail=$((fail+1)); }
"$bin" inspect "$dir/b.st" | grep -qF 'step                             30' || { echo "FAIL: the file saved over is not at step 30"; fail=$((fail+1)); }
json=$("$bin" inspect --json "$dir/b.st")
grep -qF '{"name":"param/x","dtype":"F64","shape":[3],"bytes":24,"data_offsets":[0,24]}' <<<"$json" ||
  { echo "FAIL: inspect --json: $json"; fail=$((fail+1)); }
if [ $fail -ne 0 ]; then echo "$fail resume checks failed"; exit 1; fi
echo "all resume checks passed"
