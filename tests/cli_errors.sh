#!/usr/bin/env bash
# Bad input to the descent command: a non-zero exit, exactly one line on stderr,
# nothing on stdout, and never a crash (exit codes >= 128 are signals).
set -u
bin=$1
fail=0
check() { # expected-exit args...
  local want=$1; shift
  local out err rc
  out=$("$bin" "$@" 2>/tmp/dsc_err.$$); rc=$?
  err=$(cat /tmp/dsc_err.$$)
  local lines; lines=$(printf '%s' "$err" | grep -c '')
  if [ "$rc" -ne "$want" ] || [ "$lines" -ne 1 ] || [ -n "$out" ]; then
    echo "FAIL: descent $* -> exit $rc (want $want), $lines stderr lines, stdout '${out:0:80}'"
    echo "      stderr: $err"
    fail=$((fail + 1))
  fi
}
check 2
check 2 nosuchcommand
check 2 optimize --steps 10
check 2 optimize --optimizer adam
check 2 optimize --optimizer adam --steps -1
check 2 optimize --optimizer adam --steps abc
check 2 optimize --optimizer adam --steps 10x
check 2 optimize --optimizer adam --steps 10 --dtype f16
check 2 optimize --optimizer adam --steps 10 --problem nosuch
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
check 2 optimize --optimizer 'lookahead(inner=adam(lr=0), k=5)' --steps 10
check 2 optimize --optimizer 'lookahead(inner=schedulefree_adamw)' --steps 10
check 2 optimize --optimizer adam --steps 10 --bogus
check 2 optimize --optimizer adam --steps 10 extra
check 2 optimize --optimizer adam --steps
check 1 optimize --optimizer adam --steps 10 --trace /nonexistent-dir/t.csv
rm -f /tmp/dsc_err.$$
if [ $fail -ne 0 ]; then echo "$fail CLI error checks failed"; exit 1; fi
echo "all CLI error checks passed"
