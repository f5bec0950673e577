#!/usr/bin/env bash
# make install's result works for a user: the header, the library and descent.pc
# let a program outside the tree compile, link and run.
set -eu
build=$1; src=$2
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
cmake --install "$build" --prefix "$prefix" >/dev/null
pc=$(find "$prefix" -name descent.pc)
[ -n "$pc" ] || { echo "descent.pc not installed"; exit 1; }
export PKG_CONFIG_PATH=$(dirname "$pc")
cc -std=c11 -Wall -Wextra -Wpedantic -Werror "$src/examples/quickstart.c" -o "$prefix/quickstart" \
   $(pkg-config --cflags descent) $(pkg-config --libs --static descent) -Wl,-rpath,"$(pkg-config --variable=libdir descent)"
out=$("$prefix/quickstart")
echo "$out"
[ "$out" = "slope 3.0000, intercept 1.0000" ] || { echo "unexpected output"; exit 1; }
echo "install check passed"
