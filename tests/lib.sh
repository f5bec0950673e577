# lib.sh: what the shell tests share; sourced after bin= is set. fail counts failures.
fail=0
check_prefix=() # words put before the arguments of check (e.g. a subcommand)

# check EXPECTED-EXIT ARGS...: bad input to the command gives that exit code, exactly
# one line on stderr and nothing on stdout (never a crash: codes >= 128 are signals).
check() {
  local want=$1; shift
  local out err rc lines ef
  ef=$(mktemp)
  out=$("$bin" ${check_prefix[@]+"${check_prefix[@]}"} "$@" 2>"$ef"); rc=$?
  err=$(cat "$ef")
  rm -f "$ef"
  lines=$(printf '%s' "$err" | grep -c '')
  if [ "$rc" -ne "$want" ] || [ "$lines" -ne 1 ] || [ -n "$out" ]; then
    echo "FAIL: descent ${check_prefix[*]+${check_prefix[*]} }$* -> exit $rc (want $want), $lines stderr lines, stdout '${out:0:80}'"
    echo "      stderr: $err"
    fail=$((fail + 1))
  fi
}

# num KEY JSON: a number of a flat JSON object.
num() { sed -n "s/.*\"$1\":\([-0-9.e+]*\).*/\1/p" <<<"$2"; }

# close A B [REL [ABS]]: A is a number within REL * |B| + ABS of B (defaults 1e-9, 0).
close() {
  awk -v a="$1" -v b="$2" -v r="${3:-1e-9}" -v s="${4:-0}" \
    'BEGIN { d = a - b; if (d < 0) d = -d; exit !(a != "" && d <= r * (b < 0 ? -b : b) + s) }'
}
