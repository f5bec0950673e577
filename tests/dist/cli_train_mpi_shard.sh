#!/usr/bin/env bash
# descent train --zero --shard-checkpoints under mpirun: --save writes a sharded set (an
# index, each rank's shard of the optimizer state, rank 0's network as the sidecar);
# --resume of the set on 1 process, 1, 2 and 3 ranks ends bit for bit where the same
# resume of the same run's single-file checkpoint ends (history and predictions), for
# adamw with a schedule and for schedule-free; predict, evaluate and inspect take the
# index; the option's refusals; a save that fails on one rank (a full disk) leaves the
# previous set whole; a corrupted, truncated or missing file of the set fails the
# resume on every rank, naming the file, and changes nothing.
# Usage: cli_train_mpi_shard.sh DESCENT MPIEXEC DATA_DIR
set -u
. "$(dirname "$0")/mpi_lib.sh"
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }
# the JSON report without what the clock decides
steady() { sed -E 's/"(seconds|load_seconds|samples_per_second)":[-0-9.e+]*,?//g; s/"blas":\{[^}]*\},?//'; }
set_files() { ls "$tmp" | grep -c "^$1\.shard-"; }
csv=$data/breast_cancer.csv

# schedule-free: the mode travels with the state (the evaluation point itself is
# test_dist_state's: descent train saves at the training point)
for opt in 'adamw(lr=0.01)' 'schedulefree_adamw(lr=0.01, warmup_steps=5)'; do
  run=(train --data "$csv" --layers 16 --batch 24 --seed 3 --optimizer "$opt" --schedule 'cosine(T_max=100)'
       --val-split 0.2 --quiet --json)
  rm -f "$tmp"/s.st* "$tmp"/u.st
  # --save-every: each save a new set, the previous one removed once the index names the new
  mpi 2 "$bin" "${run[@]}" --epochs 3 --zero --save "$tmp/s.st" --save-every 1 --shard-checkpoints >/dev/null \
    2>"$tmp/err" || bad "$opt: sharded save: $(head -3 "$tmp/err")"
  mpi 2 "$bin" "${run[@]}" --epochs 3 --zero --save "$tmp/u.st" >/dev/null 2>>"$tmp/err" || bad "$opt: unsharded save"
  [ "$(set_files s.st)" -eq 3 ] || bad "$opt: want 2 shards and a sidecar, got: $(ls "$tmp")"
  side=$(ls "$tmp"/s.st.shard-*-sidecar)
  # no file holds the whole optimizer state: the sidecar none, each shard its rank's pieces
  "$bin" inspect "$side" | grep -q 'state/' && bad "$opt: the sidecar holds optimizer state"
  "$bin" inspect "$(ls "$tmp"/s.st.shard-*-0-of-2)" | grep -qE '^ *state/fc1\.weight\[0:[0-9]+\]/' ||
    bad "$opt: shard 0 lacks its piece of fc1.weight's state"
  # 0: one process without mpirun; 2: each rank its own shard; 3: each rank its slices
  case $opt in adamw*) counts="0 2 3" ;; *) counts="0 3" ;; esac
  for np in $counts; do
    for set in s u; do
      cmd=("$bin" train --resume "$tmp/$set.st" --epochs 2 --quiet --json --save "$tmp/r$set.st")
      if [ "$np" -eq 0 ]; then "${cmd[@]}" >"$tmp/$set.json" 2>"$tmp/err"
      else mpi "$np" "${cmd[@]}" --zero >"$tmp/$set.json" 2>"$tmp/err"; fi ||
        bad "$opt: resume $set.st on $np ranks: $(head -3 "$tmp/err")"
      "$bin" predict --model "$tmp/r$set.st" --data "$csv" --proba --out "$tmp/p$set.npy" 2>>"$tmp/err" ||
        bad "$opt: predict r$set.st: $(head -3 "$tmp/err")"
    done
    [ "$(steady <"$tmp/s.json")" = "$(steady <"$tmp/u.json")" ] && grep -q '"resumed_at":3' "$tmp/s.json" ||
      bad "$opt: $np ranks: the sharded resume's report differs: $(diff <(steady <"$tmp/s.json" | tr , '\n') \
        <(steady <"$tmp/u.json" | tr , '\n') | head -4)"
    cmp -s "$tmp/ps.npy" "$tmp/pu.npy" || bad "$opt: $np ranks: the sharded resume's weights differ"
  done
done

# predict, evaluate and inspect take the index: the network of the sidecar
"$bin" predict --model "$tmp/s.st" --data "$csv" --proba --out "$tmp/ps.npy" 2>"$tmp/err" &&
  "$bin" predict --model "$tmp/u.st" --data "$csv" --proba --out "$tmp/pu.npy" && cmp -s "$tmp/ps.npy" "$tmp/pu.npy" ||
  bad "predict --model INDEX: $(head -3 "$tmp/err")"
a=$("$bin" evaluate --model "$tmp/s.st" --data "$csv" --json 2>"$tmp/err" | sed 's/"model":"[^"]*"//')
b=$("$bin" evaluate --model "$tmp/u.st" --data "$csv" --json | sed 's/"model":"[^"]*"//')
[ -n "$a" ] && [ "$a" = "$b" ] || bad "evaluate --model INDEX: '$a' vs '$b' $(head -3 "$tmp/err")"
"$bin" inspect "$tmp/s.st" | head -1 | grep -q "index of a sharded checkpoint set; its network .* is $side" ||
  bad "inspect INDEX: $("$bin" inspect "$tmp/s.st" 2>&1 | head -2)"
"$bin" inspect --json "$tmp/s.st" | grep -q '"extra.mlp.sizes"' || bad "inspect --json INDEX"

# refusals: one line each, exit 2
check 2 train --data "$csv" --save "$tmp/x.st" --zero --shard-checkpoints # not under mpirun
check 2 train --data "$csv" --save "$tmp/x.st" --shard-checkpoints
check 2 train --data "$csv" --zero --shard-checkpoints
"$bin" train --data "$csv" --save "$tmp/x.st" --shard-checkpoints 2>&1 | grep -q 'needs --zero and --save' ||
  bad "--shard-checkpoints without --zero: unclear message"
"$bin" train --data "$csv" --zero --save "$tmp/x.st" --shard-checkpoints 2>&1 | grep -q 'is for mpirun' ||
  bad "--shard-checkpoints in one process: unclear message"
check 2 train --resume "$side" --epochs 1
"$bin" train --resume "$side" --epochs 1 2>&1 | grep -q 'resume from the set.s index' ||
  bad "--resume SIDECAR: unclear message"
for f in "$tmp/x.st" "$tmp/x.st.shard-"*; do [ -e "$f" ] && bad "a refused run wrote $f"; done
# an index without a network (the library's dsc_dist_checkpoint_save), one of a later version
head='{"format":"descent.sharded-checkpoint","version":'
tail='"ranks":1,"elements":530,"bucket_elems":6553600,"dtype":"f32","step":1,"skipped":0,"consecutive":0,"shards":["a"]'
printf '%s1,%s}\n' "$head" "$tail" >"$tmp/lib.st"
printf '%s3,%s,"more":1}\n' "$head" "$tail" >"$tmp/new.st"
for c in "train --resume $tmp/lib.st --epochs 1" "predict --model $tmp/lib.st --data $csv" "inspect $tmp/lib.st"; do
  # shellcheck disable=SC2086 # the words of c
  check 2 $c
  "$bin" $c 2>&1 | grep -q 'sharded checkpoint set without a network' || bad "$c: unclear message"
done
check 2 train --resume "$tmp/new.st" --epochs 1
"$bin" evaluate --model "$tmp/new.st" --data "$csv" 2>&1 | grep -q 'of version 3; .* reads versions 1 to 2' ||
  bad "an index of version 3: unclear message"

# a full disk on rank 1 while saving: every rank fails, the previous set stays whole and resumes
run=(train --data "$csv" --layers 16 --batch 24 --seed 3 --optimizer 'adamw(lr=0.01)' --quiet --json --zero)
mpi 2 "$bin" "${run[@]}" --epochs 1 --save "$tmp/f.st" --shard-checkpoints >/dev/null 2>"$tmp/err" ||
  bad "save f.st: $(head -3 "$tmp/err")"
before=$(cd "$tmp" && md5sum f.st*)
mpi 2 bash -c 'trap "" XFSZ; [ "$OMPI_COMM_WORLD_RANK" = 1 ] && ulimit -f 2; exec "$0" "$@"' \
  "$bin" train --resume "$tmp/f.st" --epochs 1 --quiet --json --zero --save "$tmp/f.st" --shard-checkpoints \
  >"$tmp/out" 2>"$tmp/err" && bad "a full disk on rank 1: the save succeeded"
grep -q '^\[rank 1\] .*cannot write .*f\.st\.shard-.*File too large' "$tmp/err" ||
  bad "a full disk on rank 1: rank 1 did not say why: $(head -3 "$tmp/err")"
[ "$(cd "$tmp" && md5sum f.st*)" = "$before" ] || bad "a failed save changed the set: $(ls "$tmp")"
[ ! -s "$tmp/out" ] || bad "a failed save printed results"
"$bin" train --resume "$tmp/f.st" --epochs 1 --quiet --json >/dev/null 2>"$tmp/err" ||
  bad "the previous set does not resume: $(head -3 "$tmp/err")"

# a damaged set: every rank fails before training, names the file, and nothing changes
damaged() { # WHAT FILE NP: a resume of f.st on NP ranks (0: one process) with --save f.st fails
  local what=$1 file=$2 np=$3 cmd=("$bin" train --resume "$tmp/f.st" --epochs 1 --quiet --json --save "$tmp/f.st")
  if [ "$np" -eq 0 ]; then "${cmd[@]}" >"$tmp/out" 2>"$tmp/err"
  else mpi "$np" "${cmd[@]}" --zero --shard-checkpoints >"$tmp/out" 2>"$tmp/err"; fi && bad "$what on $np ranks: resumed"
  grep -q "$(basename "$file")" "$tmp/err" || bad "$what on $np ranks: the message does not name the file: $(head -3 "$tmp/err")"
  [ "$np" -lt 2 ] || grep -q '^\[rank 1\] ' "$tmp/err" || grep -q 'another rank failed' "$tmp/err" ||
    bad "$what on $np ranks: not every rank failed: $(cat "$tmp/err")"
  [ ! -s "$tmp/out" ] || bad "$what on $np ranks: printed results"
  [ "$(cd "$tmp" && md5sum f.st* | grep -v "$(basename "$file")")" = "$(grep -v "$(basename "$file")" <<<"$before")" ] ||
    bad "$what on $np ranks: the set changed"
}
shard1=$(ls "$tmp"/f.st.shard-*-1-of-2)
fside=$(ls "$tmp"/f.st.shard-*-sidecar)
cp "$shard1" "$tmp/keep"
printf 'X' | dd of="$shard1" bs=1 seek=$(($(stat -c %s "$shard1") - 10)) conv=notrunc 2>/dev/null
damaged "a corrupted shard" "$shard1" 2
truncate -s 2000 "$shard1"
damaged "a truncated shard" "$shard1" 0
rm "$shard1"
damaged "a missing shard" "$shard1" 3
mv "$tmp/keep" "$shard1"
cp "$fside" "$tmp/keep"
truncate -s 3000 "$fside"
damaged "a truncated sidecar" "$fside" 2
mv "$tmp/keep" "$fside"
[ "$(cd "$tmp" && md5sum f.st*)" = "$before" ] || bad "the set was not restored for the last check"
"$bin" train --resume "$tmp/f.st" --epochs 1 --quiet --json >/dev/null 2>"$tmp/err" ||
  bad "the repaired set does not resume: $(head -3 "$tmp/err")"

[ "$fail" -eq 0 ] && echo "cli_train_mpi_shard: all checks passed"
exit "$fail"
