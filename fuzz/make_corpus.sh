#!/usr/bin/env bash
# Regenerates fuzz/corpus/checkpoint: small valid checkpoints from the descent command
# and damaged or foreign variants of them. Usage: fuzz/make_corpus.sh build/descent
set -eu
bin=$1
out=$(dirname "$0")/corpus/checkpoint
mkdir -p "$out"
"$bin" optimize --optimizer 'adam(lr=1e-2)' --steps 3 --save "$out/adam_f64.st" >/dev/null
"$bin" optimize --optimizer 'nadam(lr=1e-2)' --dtype f32 --steps 3 --save "$out/nadam_f32.st" >/dev/null
"$bin" optimize --optimizer 'sgd(lr=1e-3, momentum=0.9)' --steps 2 --save "$out/sgdm_f64.st" >/dev/null
"$bin" optimize --problem 'rosenbrock(n=3)' --optimizer 'adam(amsgrad=true, clip_norm=1)' --steps 2 \
  --save "$out/amsgrad_n3.st" >/dev/null
"$bin" optimize --optimizer 'rmsprop(centered=true, momentum=0.5)' --dtype f32 --steps 2 --start=0.5,0.25 \
  --save "$out/rmsprop_f32.st" >/dev/null
"$bin" optimize --optimizer 'adam(lr=1e-2, accumulate=2)' --schedule 'king(patience=2)' --steps 7 \
  --save "$out/king_accumulate.st" >/dev/null
"$bin" optimize --optimizer 'schedulefree_adamw(lr=1e-2)' --schedule 'sequential(linear(total_iters=2), cosine(T_max=5), milestones=[2])' \
  --steps 4 --save "$out/schedulefree_sequential.st" >/dev/null
# weight averages beside the optimizer (average/x/ema, average/x/swa)
"$bin" optimize --optimizer 'adam(lr=1e-2)' --average 'ema(decay=0.9)' --steps 3 --save "$out/ema_adam.st" >/dev/null
"$bin" optimize --optimizer 'lookahead(inner=sgd(lr=1e-3), k=2)' --average 'swa(start=1)' --dtype f32 --steps 3 \
  --save "$out/swa_lookahead_f32.st" >/dev/null
good=$out/adam_f64.st
head -c 100 "$good" >"$out/truncated_header.st"
head -c $(($(stat -c %s "$good") - 3)) "$good" >"$out/truncated_data.st"
{ printf '\xff\xff\xff\xff\xff\xff\xff\x7f'; tail -c +9 "$good"; } >"$out/absurd_length.st"
printf '\x02\x00\x00\x00\x00\x00\x00\x00{}' >"$out/empty_object.st"
printf '\x38\x00\x00\x00\x00\x00\x00\x00{"a":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}}  \x00\x3c\x00\x3c' \
  >"$out/foreign_f16.st"
printf '\x10\x00\x00\x00\x00\x00\x00\x00{"__metadata__":' >"$out/bad_json.st"
