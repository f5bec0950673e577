#!/usr/bin/env bash
# Writes the descent(1) man page with help2man: NAME, SYNOPSIS and DESCRIPTION from
# `descent --help` and `--version`, then a COMMANDS section with the --help text of
# every command that `descent --help` lists, so a new command needs no change here.
# Usage: scripts/manpage.sh DESCENT_BINARY OUTPUT.1
set -eu
bin=$1; out=$2
inc=$(mktemp)
trap 'rm -f "$inc"' EXIT
commands=$("$bin" --help | sed -n '/^commands:/,/^$/s/^  \([a-z][a-z0-9_-]*\) .*/\1/p')
[ -n "$commands" ] || { echo "manpage.sh: no commands in '$bin --help'" >&2; exit 1; }
{
  echo "[COMMANDS]"
  for c in $commands; do
    echo ".SS descent $c"
    echo ".nf"
    # roff: a backslash is \e; a line starting with . or ' is text, not a request
    "$bin" "$c" --help | sed -e 's/\\/\\e/g' -e "s/^\\([.']\\)/\\\\\\&\\1/"
    echo ".fi"
  done
  echo "[SEE ALSO]"
  echo "The README and docs/ of the descent sources."
} >"$inc"
help2man --no-info --no-discard-stderr --name "gradient-based optimizers with torch.optim semantics" \
  --include "$inc" --output "$out" "$bin"
