#!/usr/bin/env bash
# targets.sh: the speed targets of docs/performance.md, measured side by side.
#   bench/targets.sh [--rounds M] [--threads T] [--params N] [--section adam|tensors|kinds|bf16|sparse]...
# adam:    Adam, 50M f32 parameters in one tensor: descent, its plain loop, torch.optim
# tensors: Adam, 100 tensors of 100k: descent, torch.optim (single-tensor and foreach)
# kinds:   every kind against its plain loop, on T threads and on one (N parameters)
# bf16:    Adam with bf16 state against f32 state: speed (50M) and final losses
# sparse:  sparse_adam on a 1M x 64 table, 1 % of rows a step: its plain loop, dense adam
# Each figure is the median over M rounds of `descent bench`'s (or pytorch_step.py's)
# median of 10 steps; descent runs with nonfinite=ignore, the work torch.optim does.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
descent=${DESCENT:-$here/../build/descent}
py=/usr/bin/python3
rounds=5 threads=2 params=20000000
sections=() adam50=()
while [ $# -gt 0 ]; do
  case $1 in
    --rounds) rounds=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --params) params=$2; shift 2 ;;
    --section) sections+=("$2"); shift 2 ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "targets.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
[ ${#sections[@]} -gt 0 ] || sections=(adam tensors kinds bf16 sparse)
[ -x "$descent" ] || { echo "targets.sh: build descent first (make), or set DESCENT" >&2; exit 1; }
field() { "$py" -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }
med() { "$py" -c "import statistics,sys; v=sorted(float(x) for x in sys.argv[1:]); \
print(f'{statistics.median(v):.3f} [{v[0]:.3f}..{v[-1]:.3f}]')" "$@"; }
ratio() { "$py" -c "import statistics,sys; n=len(sys.argv)//2; a=sys.argv[1:n+1]; b=sys.argv[n+1:]; \
print(f'{statistics.median(float(x) for x in a)/statistics.median(float(x) for x in b):.2f}')" "$@"; }
echo "# $(date -u +%FT%TZ), $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'), load $(cut -d' ' -f1-3 /proc/loadavg), $rounds rounds"

# descent bench on one configuration, rounds times: arrays d (step) and p (plain loop)
run_descent() {
  d=() p=()
  for _ in $(seq "$rounds"); do
    j=$("$descent" bench "$@" --json)
    d+=("$(field ns_per_param <<<"$j")") p+=("$(field reference_ns_per_param <<<"$j")")
  done
}
run_torch() {
  t=()
  for _ in $(seq "$rounds"); do
    t+=("$("$py" "$here/pytorch_step.py" "$@" --json | field ns_per_param)")
  done
}

for s in "${sections[@]}"; do
  case $s in
  adam)
    echo "## Adam, 50M f32, one tensor, $threads threads (ns/param: median [min..max] of rounds)"
    run_descent --optimizer 'adam(nonfinite=ignore)' --params 50000000 --threads "$threads"
    run_torch --optimizer adam --params 50000000 --threads "$threads"
    adam50=("${d[@]}") # the bf16 section's f32 figure
    echo "descent $(med "${d[@]}")  plain loop $(med "${p[@]}")  torch $(med "${t[@]}")"
    echo "torch/descent $(ratio "${t[@]}" "${d[@]}")x  descent at $(ratio "${p[@]}" "${d[@]}") of the plain loop"
    ;;
  tensors)
    echo "## Adam, 100 tensors x 100k f32, $threads threads"
    run_descent --optimizer 'adam(nonfinite=ignore)' --params 10000000 --tensors 100 --threads "$threads"
    run_torch --optimizer adam --params 10000000 --tensors 100 --threads "$threads"
    t1=("${t[@]}")
    run_torch --optimizer adam --params 10000000 --tensors 100 --threads "$threads" --foreach
    echo "descent $(med "${d[@]}")  plain loop $(med "${p[@]}")  torch $(med "${t1[@]}")  torch foreach $(med "${t[@]}")"
    echo "torch/descent $(ratio "${t1[@]}" "${d[@]}")x (foreach $(ratio "${t[@]}" "${d[@]}")x)  descent at $(ratio "${p[@]}" "${d[@]}") of the plain loop"
    ;;
  kinds)
    echo "## every kind, $params f32 parameters in one tensor: step, plain loop, fraction"
    for k in sgd 'sgd(momentum=0.9)' adagrad 'rmsprop(momentum=0.9, centered=1)' adadelta adam \
             'adam(amsgrad=1)' adamw adamax nadam radam adabelief lion lamb 'lars(momentum=0.9)' \
             schedulefree_adamw muon rprop asgd adafactor 'lookahead(inner=adam)' 'adam(state_dtype=bf16)'; do
      spec="${k%)}"
      if [ "$spec" = "$k" ]; then spec="$k(nonfinite=ignore)"; else spec="$spec, nonfinite=ignore)"; fi
      case $k in lookahead*) spec='lookahead(inner=adam(nonfinite=ignore))' ;; esac
      for th in "$threads" 1; do
        run_descent --optimizer "$spec" --params "$params" --threads "$th"
        printf '%-44s %2s thr  step %-22s plain %-22s %s\n' "$spec" "$th" "$(med "${d[@]}")" \
          "$(med "${p[@]}")" "$(ratio "${p[@]}" "${d[@]}")"
      done
    done
    ;;
  bf16)
    echo "## bf16 state: speed (50M f32, $threads threads) and final loss"
    if [ ${#adam50[@]} -eq 0 ]; then # not measured by the adam section
      run_descent --optimizer 'adam(nonfinite=ignore)' --params 50000000 --threads "$threads"
      adam50=("${d[@]}")
    fi
    f=("${adam50[@]}")
    run_descent --optimizer 'adam(nonfinite=ignore, state_dtype=bf16)' --params 50000000 --threads "$threads"
    echo "f32 state $(med "${f[@]}")  bf16 state $(med "${d[@]}")  plain loop (20 B) $(med "${p[@]}")"
    for lr in 1e-2 1e-3; do
      for sd in param bf16; do
        j=$("$descent" optimize --problem 'rosenbrock(n=100)' --dtype f32 --steps 5000 \
            --optimizer "adam(lr=$lr, state_dtype=$sd)" --json)
        echo "rosenbrock(n=100) adam(lr=$lr) state $sd: final loss $(field loss <<<"$j")"
      done
    done
    for sd in param bf16; do
      j=$("$descent" train --data "$here/../data/digits.csv" --layers 64 --epochs 20 --batch 32 \
          --optimizer "adam(lr=1e-3, state_dtype=$sd)" --seed 1 --quiet --json)
      echo "digits MLP 64, 20 epochs, adam state $sd: $("$py" -c "import json,sys; d=json.load(sys.stdin); \
print('train loss', d['train_loss'], 'test loss', d['test_loss'], 'test accuracy', d['test_accuracy'])" <<<"$j")"
    done
    ;;
  sparse)
    echo "## sparse_adam, a 1M x 64 f32 table, 1 % of its rows touched a step, $threads threads (us/step)"
    sa=() sp=() a=()
    for _ in $(seq "$rounds"); do
      j=$("$descent" bench --optimizer 'sparse_adam(nonfinite=ignore)' --params 64000000 --dim 64 \
          --rows-touched 0.01 --threads "$threads" --json)
      sa+=("$(field us_per_step <<<"$j")") sp+=("$(field reference_us_per_step <<<"$j")")
      j=$("$descent" bench --optimizer 'adam(nonfinite=ignore)' --params 64000000 --threads "$threads" --json)
      a+=("$("$py" -c "import json,sys; print(json.load(sys.stdin)['ns_per_param'] * 64000)" <<<"$j")")
    done
    echo "sparse_adam $(med "${sa[@]}")  its plain loop $(med "${sp[@]}")  dense adam $(med "${a[@]}")"
    echo "dense adam / sparse_adam $(ratio "${a[@]}" "${sa[@]}")x  sparse_adam at $(ratio "${sp[@]}" "${sa[@]}") of its plain loop"
    ;;
  *) echo "targets.sh: unknown section $s" >&2; exit 2 ;;
  esac
done
