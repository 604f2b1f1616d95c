#!/usr/bin/env bash
# The GPU check of issue 3, prepared to run in one call on a lent GPU machine (Ubuntu 24.04, a CUDA
# PyTorch 2.x whose LibTorch we build against, but no oneTBB and no Boost.Program_options there):
#
#   here:  bash bench/gpu_check.sh fetch        # apt-get download those libraries (and copy the
#                                               # Fashion-MNIST files) into .deps/ (git-ignored)
#   there: bash bench/gpu_check.sh run [OUT]    # with .deps carried: unpack them, configure against
#                                               # the CUDA LibTorch, build, run the whole suite, time
#                                               # the cache on CUDA against the CPU
#
# `run` also works on a machine with no GPU and no .deps (the system's libraries; CUDA tests skip),
# which is how it is checked between GPU sessions. Every step's log lands in OUT (default
# build-gpu/out), written as it goes, so a run cut short still says how far it got.
set -euo pipefail
cd "$(dirname "$0")/.."

deb_packages=(libtbb12 libtbbmalloc2 libtbbbind-2-5 libtbb-dev
              libboost-program-options1.74.0 libboost-program-options1.74-dev libboost1.74-dev)

fetch() {
  mkdir -p .deps/debs .deps/fashion-mnist
  (cd .deps/debs && apt-get download "${deb_packages[@]}")
  cp /usr/share/datasets/fashion-mnist/*.gz .deps/fashion-mnist/
  du -sh .deps
}

run() {
  local out=${1:-build-gpu/out} build=build-gpu deps=/tmp/kdpipe-deps
  mkdir -p "$out"
  out=$(cd "$out" && pwd)
  # The TSan build of the executor needs nothing of the GPU: it stays on the CI machine.
  local cmake_args=(-DCMAKE_BUILD_TYPE=Release -DKD_TSAN=OFF)
  command -v ninja > /dev/null && cmake_args+=(-G Ninja)
  local prefix=""
  if torch_prefix=$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)' 2> /dev/null); then
    prefix=$torch_prefix
  fi
  if compgen -G ".deps/debs/*.deb" > /dev/null; then
    mkdir -p "$deps"
    for deb in .deps/debs/*.deb; do dpkg -x "$deb" "$deps"; done
    local lib=$deps/usr/lib/x86_64-linux-gnu
    prefix="${prefix:+$prefix;}$deps/usr"
    cmake_args+=(-DTBB_DIR="$lib/cmake/TBB" -DBoost_DIR="$lib/cmake/Boost-1.74.0"
                 -DBoost_NO_SYSTEM_PATHS=ON)
    export LD_LIBRARY_PATH=$lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
  fi
  [[ -n $prefix ]] && cmake_args+=(-DCMAKE_PREFIX_PATH="$prefix")
  local data=/usr/share/datasets/fashion-mnist
  [[ -d .deps/fashion-mnist ]] && data=$PWD/.deps/fashion-mnist

  { nvidia-smi || echo "no nvidia-smi"; } > "$out/machine.txt" 2>&1
  { nproc; g++ --version | head -1; cmake --version | head -1; } >> "$out/machine.txt" 2>&1
  echo "== configure: ${cmake_args[*]}"
  cmake -S . -B "$build" "${cmake_args[@]}" > "$out/configure.log" 2>&1 || {
    tail -30 "$out/configure.log"
    return 1
  }
  grep -h "KD_WITH_CUDA" "$build/generated/lib/core/config.h" | tail -1
  echo "== build"
  local t0=$SECONDS
  cmake --build "$build" -j"$(nproc)" > "$out/build.log" 2>&1 || {
    grep -m 20 -B2 -A6 "error" "$out/build.log"
    return 1
  }
  echo "built in $((SECONDS - t0)) s"
  echo "== tests"
  t0=$SECONDS
  # Tests use every core for LibTorch; a few at a time keep OpenMP from oversubscribing.
  ctest --test-dir "$build" --output-on-failure -j4 > "$out/ctest.log" 2>&1 || true
  tail -15 "$out/ctest.log"
  "$build/kd_storage_tests" --gtest_filter='*Cuda*' > "$out/cuda_test.log" 2>&1 || true
  grep -E "OK|SKIPPED|FAILED" "$out/cuda_test.log" || tail -5 "$out/cuda_test.log"
  echo "tests in $((SECONDS - t0)) s"
  echo "== cache throughput, CPU against CUDA"
  local device=cpu
  grep -q "KD_WITH_CUDA 1" "$build/generated/lib/core/config.h" && nvidia-smi > /dev/null 2>&1 &&
    device=cuda
  "$build/bench/kd_bench_cache" --data-dir "$data" --device "$device" --threads "$(nproc)" \
    --cuda-workers 1,2,4 --reps 2 --json "$out/bench-cache.json" 2>&1 | tee "$out/bench-cache.txt"
}

case "${1:-}" in
  fetch) fetch ;;
  run) run "${2:-}" ;;
  *)
    echo "usage: bash bench/gpu_check.sh fetch|run [OUT]" >&2
    exit 2
    ;;
esac
