#!/usr/bin/env bash
# The man page (help2man) and the bash completion cover every command the descent
# command lists, and the completion offers each command's options.
# Usage: cli_docs.sh DESCENT_BINARY REPO_ROOT MAN_PAGE
set -u
bin=$1; root=$2; man=$3
fail=0
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }
commands=$("$bin" --help | sed -n '/^commands:/,/^$/s/^  \([a-z][a-z0-9_-]*\) .*/\1/p')
[ "$(wc -w <<<"$commands")" -ge 8 ] || bad "descent --help lists too few commands: $commands"

# the man page: a section per command holding its --help
for c in $commands; do
  grep -q "^\.SS descent $c\$" "$man" || bad "the man page has no section for $c"
done
grep -q '^\.SH SYNOPSIS' "$man" && grep -q '^\.SH COMMANDS' "$man" || bad "the man page lacks SYNOPSIS or COMMANDS"
grep -q -- '--optimizer' "$man" || bad "the man page lacks the commands' options"

# the completion, as bash calls it
# shellcheck source=/dev/null
. "$root/completions/descent"
complete_words() { COMP_WORDS=("$bin" "$@"); COMP_CWORD=$(($# )); COMPREPLY=(); _descent; echo "${COMPREPLY[*]}"; }
all=$(complete_words "")
for c in $commands help --version; do
  grep -qw -- "$c" <<<"$all" || bad "completing the command does not offer $c: $all"
done
[ "$(complete_words tr)" = train ] || bad "tr completes to '$(complete_words tr)', want train"
[ "$(complete_words help sch)" = schedule ] || bad "help sch completes to '$(complete_words help sch)'"
[ "$(complete_words optimize --opt)" = --optimizer ] || bad "optimize --opt completes to '$(complete_words optimize --opt)'"
for c in $commands; do
  # every option of the command's --help is offered after a bare "--"
  opts=$(complete_words "$c" --)
  for o in $("$bin" "$c" --help | grep -o -- '--[a-z][a-z0-9-]*' | sort -u); do
    grep -qw -- "$o" <<<"$opts" || bad "$c -- does not offer $o"
  done
  [ -n "$opts" ] || bad "$c has no options to complete"
done
[ -z "$(complete_words optimize --trace x)" ] || bad "a file value is completed by bash's default, not by _descent"

if [ $fail -ne 0 ]; then echo "$fail docs checks failed"; exit 1; fi
echo "man page and completion checks passed"
