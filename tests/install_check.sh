#!/usr/bin/env bash
# make install's result works for a user: a program outside the tree compiles, links
# and runs against the installed headers and libraries, shared and static, found
# through descent.pc and through find_package(descent). Every header the README names
# is installed, and so are the man page and the bash completion.
set -eu
build=$1; src=$(cd "$2" && pwd)
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
cmake --install "$build" --prefix "$prefix" >/dev/null
fail=0
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }

for h in $(cat "$src/README.md" "$src"/docs/*.md | grep -o 'descent[a-z_]*\.h' | sort -u); do
  [ "$h" = descent_dist.h ] && ! grep -q '^MPI_C_FOUND:.*=TRUE' "$build/CMakeCache.txt" && continue
  [ -f "$prefix/include/$h" ] || bad "the README names $h, which is not installed"
done
# the licence: installed beside the README, and named in every header and descent.pc
[ -f "$prefix/share/doc/descent/LICENSE" ] || bad "LICENSE is not installed"
for h in "$prefix"/include/descent*.h; do
  grep -q 'SPDX-License-Identifier: MIT' "$h" || bad "$(basename "$h") does not name its licence"
done

pc=$(find "$prefix" -name descent.pc)
[ -n "$pc" ] || { echo "descent.pc not installed"; exit 1; }
export PKG_CONFIG_PATH=$(dirname "$pc")
libdir=$(pkg-config --variable=libdir descent)
want="slope 3.0000, intercept 1.0000"
# run NAME: the program runs (with no search path for libdescent but its rpath)
run() {
  local out
  out=$("$prefix/$1") || { bad "$1 does not run"; return; }
  [ "$out" = "$want" ] || bad "$1 printed '$out'"
}
# is_static NAME: libdescent is inside the program, not a library it loads
is_static() { ! readelf -d "$prefix/$1" | grep -q 'libdescent\.so' || bad "$1 needs libdescent.so"; }
cflags="-std=c11 -Wall -Wextra -Wpedantic -Werror"

# shared, through pkg-config
cc $cflags "$src/examples/quickstart.c" -o "$prefix/pc_shared" $(pkg-config --cflags --libs descent) \
  -Wl,-rpath,"$libdir" && run pc_shared
# static, through pkg-config: the archive and what --static says it needs
# shellcheck disable=SC2046
cc $cflags "$src/examples/quickstart.c" -o "$prefix/pc_static" $(pkg-config --cflags descent) "$libdir/libdescent.a" \
  $(pkg-config --static --libs descent | sed 's/\(^\| \)-ldescent\( \|$\)/ /') && is_static pc_static && run pc_static ||
  bad "static link through pkg-config --static"

# find_package(descent): both imported targets
mkdir "$prefix/consumer"
cat >"$prefix/consumer/CMakeLists.txt" <<CMAKE
cmake_minimum_required(VERSION 3.18)
project(consumer C)
find_package(descent 0.1 REQUIRED)
add_executable(cm_shared "$src/examples/quickstart.c")
target_link_libraries(cm_shared PRIVATE descent::descent)
add_executable(cm_static "$src/examples/quickstart.c")
target_link_libraries(cm_static PRIVATE descent::descent_static)
set_target_properties(cm_shared cm_static PROPERTIES RUNTIME_OUTPUT_DIRECTORY "$prefix")
CMAKE
if cmake -S "$prefix/consumer" -B "$prefix/consumer/build" -DCMAKE_PREFIX_PATH="$prefix" >"$prefix/cmake.log" 2>&1 &&
   cmake --build "$prefix/consumer/build" >>"$prefix/cmake.log" 2>&1; then
  run cm_shared
  is_static cm_static
  run cm_static
else
  cat "$prefix/cmake.log"
  bad "find_package(descent) and its targets"
fi

[ -f "$prefix/share/man/man1/descent.1" ] || bad "man1/descent.1 not installed"
[ -f "$prefix/share/bash-completion/completions/descent" ] || bad "the bash completion is not installed"

if [ $fail -ne 0 ]; then echo "$fail install checks failed"; exit 1; fi
echo "install check passed"
