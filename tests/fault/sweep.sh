#!/usr/bin/env bash
# sweep.sh: every allocation path of the command's scenarios fails once, in turn
# (SQLite's fault injection; alloc_fail.c is the preloaded allocator).
#
#   sweep.sh DESCENT SHIM DATA_DIR [STRIDE]
#
# A scenario is a descent command line, run once to list its allocations (and to keep
# its output as the reference), then once per call path of an allocation not tried
# yet by an earlier scenario, that allocation failing (the first allocation of each
# path: the 300 cJSON nodes of a header parse are one path, each metadata key a save
# adds is another). Each run must either
#   - fail: exit 1 or 2 (never a signal, never a sanitizer's report), saying "out of
#     memory" on stderr, with the checkpoint it would have written byte-identical to
#     the good one that was there before (or, when the save was done and printing
#     its --json result failed, the new one, which resumes); or
#   - succeed: exit 0 with the reference's output (timings aside: never an object a
#     failed allocation left items out of), and a checkpoint
#     that resumes (the failed allocation was one that may fail harmlessly).
# Two runs go at a time. STRIDE > 1 tries every STRIDE-th path only (the sanitizer
# build, where each run costs more).
set -u
bin=$1 shim=$2 data=$3 stride=${4:-1}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
export DSC_BLAS_REEXEC=1 OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 # no re-execution, no BLAS threads
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0:detect_leaks=1:exitcode=99"
export LSAN_OPTIONS="${LSAN_OPTIONS:+$LSAN_OPTIONS:}suppressions=$(dirname "$0")/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}halt_on_error=1:exitcode=98"
WORKERS=2
touch "$dir/tried"
problem='rosenbrock(n=3)'

# what a run prints, timings (in text and in --json) and the temporary directory aside
clean() {
  sed -E -e 's/[0-9.e+-]+ ?(s|ms|seconds|samples\/s)\b/T/g' -e 's/"(seconds|samples_per_second)":[0-9.eE+-]+/"\1":T/g' \
    -e "s#$dir#DIR#g"
}

# try W GOOD CHECK N...: worker W runs the command in cmd[] with each allocation N
# failing; @SAVED@ in it is the worker's checkpoint, a copy of GOOD before each run
try() {
  local w=$1 good=$2 check=$3 n what rc
  shift 3
  local saved=$dir/w$w.st out=$dir/w$w.out err=$dir/w$w.err
  local args=("${cmd[@]//@SAVED@/$saved}")
  for n in "$@"; do
    [ -n "$good" ] && cp "$good" "$saved"
    DSC_FAULT_FAIL=$n LD_PRELOAD=$shim "${args[@]}" >"$out" 2>"$err"
    rc=$? what=""
    if [ "$rc" = 0 ]; then
      [ "$(sed "s#$saved#SAVED#g" "$out" | clean)" = "$want" ] || what="succeeded with other output: $(head -c 300 "$out")"
      if [ -z "$what" ] && [ -n "$check" ] && ! $check "$saved" >/dev/null 2>"$err"; then
        what="succeeded, but its checkpoint does not resume: $(cat "$err")"
      fi
    elif [ "$rc" = 1 ] || [ "$rc" = 2 ]; then
      grep -q "out of memory" "$err" || what="exit $rc without 'out of memory': $(head -c 300 "$err")"
      # (only a failure after the save, in printing its --json result, may leave the new
      # checkpoint, which must then be whole: it resumes)
      if [ -n "$good" ] && ! cmp -s "$good" "$saved" &&
        ! { grep -q "building the JSON output" "$err" && $check "$saved" >/dev/null 2>&1; }; then
        what="$what; the old checkpoint was replaced"
      fi
    else
      what="exit $rc (a crash or a sanitizer's report): $(tail -c 800 "$err")"
    fi
    [ -z "$what" ] || echo "FAIL: $name, allocation $n of $total: $what"
  done
}

# scenario NAME GOOD CHECK CMD...: GOOD (may be empty) is the checkpoint @SAVED@ holds
# before each run; CHECK a command that must accept it after a successful run ("")
scenario() {
  name=$1
  local good=$2 check=$3 points n=0
  shift 3
  cmd=("$@")
  [ -n "$good" ] && cp "$good" "$dir/w0.st"
  DSC_FAULT_SITES=$dir/sites DSC_FAULT_REPORT=$dir/report LD_PRELOAD=$shim "${cmd[@]//@SAVED@/$dir/w0.st}" \
    >"$dir/w0.out" 2>"$dir/w0.err"
  local rc=$?
  if [ "$rc" != 0 ]; then
    echo "FAIL: $name: the reference run exits $rc: $(cat "$dir/w0.err")"
    echo x >>"$dir/failures"
    return
  fi
  total=$(tail -n 1 "$dir/report" | cut -d' ' -f1)
  rm -f "$dir/report"
  want=$(sed "s#$dir/w0.st#SAVED#g" "$dir/w0.out" | clean)
  # the first allocation of each path no scenario has tried, every stride-th of them
  points=$(awk -v stride="$stride" -v tried="$dir/tried" 'BEGIN { while ((getline h <tried) > 0) seen[h] = 1 }
                                                         !seen[$1]++ { if (k++ % stride == 0) print NR }' "$dir/sites")
  cat "$dir/sites" >>"$dir/tried"
  local lists=()
  for p in $points; do lists[n % WORKERS]+=" $p"; n=$((n + 1)); done
  for ((w = 0; w < WORKERS; w++)); do
    # shellcheck disable=SC2086 # the lists are numbers
    try "$w" "$good" "$check" ${lists[w]:-} >"$dir/w$w.log" &
  done
  wait
  cat "$dir"/w*.log | tee -a "$dir/failures"
  echo "ok: $name: $n of its $total allocations failed in turn"
}

resume_opt() { "$bin" optimize --resume "$1" --steps 1; }
resume_train() { "$bin" train --resume "$1" --epochs 1 --quiet; }

opt=("$bin" optimize --problem "$problem" --optimizer 'adam(lr=1e-2, amsgrad=true)' --schedule 'plateau(patience=1)'
     --average 'ema(decay=0.9)')
train=("$bin" train --data "$data/iris.csv" --layers 3 --batch 50 --val-split 0.2 --test-split 0.2
       --schedule 'cosine(T_max=8)' --average 'swa' --quiet)

# .npy data (format 1.0): npy FILE DESCR SHAPE DATA, DATA as printf escapes; 8 rows of 2
# float32 features (read straight into the dataset) and int64 targets (converted)
npy() {
  local h="{'descr': '$2', 'fortran_order': False, 'shape': $3, }"
  while (((10 + ${#h} + 1) % 64)); do h+=" "; done
  printf "\\223NUMPY\\1\\0\\$(printf %03o $((${#h} + 1)))\\0%s\\n" "$h" >"$1" # the length is < 256
  printf "$4" >>"$1"
}
f='\0\0\0\0\0\0\200\77\0\0\0\100\0\0\100\100' # 0, 1, 2, 3
npy "$dir/x.npy" '<f4' '(8, 2)' "$f$f$f$f"
one='\1\0\0\0\0\0\0\0' zero='\0\0\0\0\0\0\0\0'
npy "$dir/y.npy" '<i8' '(8,)' "$zero$one$zero$one$zero$one$zero$one"

# the good files the saves replace, and the runs resume from (one step and one epoch
# fewer than the runs that replace them, so that a replaced file shows)
"${opt[@]}" --steps 2 --save "$dir/opt_good.st" >/dev/null || { echo "FAIL: optimize --save"; exit 1; }
"${train[@]}" --epochs 1 --save "$dir/train_good.st" >/dev/null || { echo "FAIL: train --save"; exit 1; }
: >"$dir/failures"

scenario "optimize --save" "$dir/opt_good.st" resume_opt "${opt[@]}" --steps 3 --save @SAVED@
scenario "optimize --resume --save" "$dir/opt_good.st" resume_opt \
  "$bin" optimize --resume "$dir/opt_good.st" --steps 2 --save @SAVED@
scenario "train --save" "$dir/train_good.st" resume_train "${train[@]}" --epochs 2 --save @SAVED@
scenario "train --resume --save" "$dir/train_good.st" resume_train \
  "$bin" train --resume "$dir/train_good.st" --epochs 1 --quiet --save @SAVED@
scenario "compare" "" "" "$bin" compare --problem "$problem" --optimizer 'sgd(lr=1e-3)' --optimizer 'adam(lr=1e-2)' \
  --steps 3
scenario "schedule" "" "" "$bin" schedule --schedule 'onecycle(max_lr=0.1, total_steps=6)' --lr 0.01 --steps 6
scenario "inspect" "" "" "$bin" inspect "$dir/train_good.st"
# a sharded set of descent train --zero (made by one rank, when MPI is here): rebuilt in
# one process (index, sidecar, shards), and read by inspect
if mpiexec=$(command -v mpiexec) &&
  OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 "$mpiexec" -np 1 "${train[@]}" --epochs 1 --zero \
    --save "$dir/shard_good.st" --shard-checkpoints >/dev/null 2>&1; then
  scenario "train --resume SHARDED --save" "$dir/train_good.st" resume_train \
    "$bin" train --resume "$dir/shard_good.st" --epochs 1 --quiet --save @SAVED@
  scenario "inspect SHARDED" "" "" "$bin" inspect "$dir/shard_good.st"
fi
# --json: a builder whose cJSON allocation failed must not print what is left of its
# object (schedule --json printed {} and exited 0); only the paths new to these run
scenario "optimize --json --save" "$dir/opt_good.st" resume_opt "${opt[@]}" --steps 3 --json --save @SAVED@
scenario "train --json" "" "" "${train[@]}" --epochs 2 --json
scenario "compare --json" "" "" "$bin" compare --problem "$problem" --optimizer 'sgd(lr=1e-3)' \
  --optimizer 'adam(lr=1e-2)' --steps 3 --json
scenario "schedule --json" "" "" "$bin" schedule --schedule 'onecycle(max_lr=0.1, total_steps=6)' --lr 0.01 --steps 6 \
  --json
scenario "inspect --json" "" "" "$bin" inspect --json "$dir/train_good.st"
scenario "evaluate --json" "" "" "$bin" evaluate --model "$dir/train_good.st" --data "$data/iris.csv" --json
scenario "train .npy" "" "" "$bin" train --data "$dir/x.npy" --targets "$dir/y.npy" --layers 3 --batch 4 \
  --test-split 0.25 --epochs 1 --quiet --json

fail=$(grep -c . "$dir/failures")
echo "$fail failures"
[ "$fail" = 0 ]
