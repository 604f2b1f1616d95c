#!/usr/bin/env bash
# Installs the build tree into a fresh prefix, then configures, builds and runs the consumer in
# tests/install/consumer against it: what a C++ user of `find_package(kdpipe)` does.
# usage: check_install.sh BUILD_DIR WORK_DIR CACHE.h5 MODEL.pt
set -euo pipefail
build=$1 work=$2 cache=$3 model=$4
here=$(cd "$(dirname "$0")" && pwd)
cmake --install "$build" --prefix "$work/prefix" > "$work/install.log"
test -x "$work/prefix/bin/kdpipe"
test -f "$work/prefix/share/kdpipe/configs/label-smoothing.ini"
"$work/prefix/bin/kdpipe" --version
launcher=()
if command -v ccache > /dev/null; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi
cmake -S "$here/consumer" -B "$work/consumer" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$work/prefix" "${launcher[@]}" > "$work/configure.log"
cmake --build "$work/consumer" > "$work/build.log"
"$work/consumer/read_cache" "$cache" "$model"
