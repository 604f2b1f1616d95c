#!/usr/bin/env bash
# Builds the fuzz targets (tests/fuzz) with clang, ASan and libFuzzer and runs each for SECONDS,
# seeded from tests/fuzz/corpus/<target>. Prints one line per target: executions, corpus size and
# crashes. A crash's input is kept in build-fuzz/crashes/<target>/; copy it into
# tests/fuzz/corpus/<target>/ as crash-<what> once fixed, and the normal suite replays it.
#
# usage: bench/fuzz.sh SECONDS [TARGET ...]      (default: every target)
#   KD_FUZZ_JOBS   targets fuzzed at once (default: the number of cores)
#   KD_FUZZ_BUILD  build directory (default: build-fuzz)
# needs: clang-14 and libfuzzer-14-dev (.ci/setup installs them)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:?usage: bench/fuzz.sh SECONDS [TARGET ...]}"
shift
build="${KD_FUZZ_BUILD:-build-fuzz}"
jobs="${KD_FUZZ_JOBS:-$(nproc)}"
targets=("$@")
if ((${#targets[@]} == 0)); then
  for dir in tests/fuzz/corpus/*/; do targets+=("$(basename "$dir")"); done
fi

mkdir -p "$build"
sanitize="-fsanitize=address,fuzzer-no-link -fno-omit-frame-pointer"
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14 \
  -DCMAKE_C_FLAGS="$sanitize" -DCMAKE_CXX_FLAGS="$sanitize" \
  -DKD_FUZZ=ON -DKD_BUILD_BENCH=OFF -DKD_TSAN=OFF > "$build/configure.log" \
  || { cat "$build/configure.log"; exit 1; }
cmake --build "$build" -j"$(nproc)" --target "${targets[@]}" > "$build/build.log" \
  || { tail -50 "$build/build.log"; exit 1; }

# One target: fuzz for $seconds with a fresh working corpus (new inputs) beside the seeds.
fuzz_one() {
  local t="$1"
  local work="$build/corpus/$t" crashes="$build/crashes/$t" log="$build/logs/$t.log"
  rm -rf "$work" "$crashes" && mkdir -p "$work" "$crashes" "$(dirname "$log")"
  local rc=0
  ASAN_OPTIONS="detect_leaks=1:allocator_may_return_null=1" \
    "$build/fuzz/$t" "$work" "tests/fuzz/corpus/$t" -max_total_time="$seconds" \
    -timeout=20 -rss_limit_mb=2560 -print_final_stats=1 -artifact_prefix="$crashes/" \
    > "$log" 2>&1 || rc=$?
  local execs corpus found
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  corpus=$(($(find "$work" -type f | wc -l) + $(find "tests/fuzz/corpus/$t" -type f | wc -l)))
  found=$(find "$crashes" -type f | wc -l)
  printf '%-18s %6ss %12s execs %7s inputs in corpus %3s crashes  exit %s\n' \
    "$t" "$seconds" "${execs:-?}" "$corpus" "$found" "$rc"
  ((rc == 0 && found == 0)) || { tail -40 "$log" | sed "s/^/  $t: /"; return 1; }
}
export -f fuzz_one
export build seconds
printf '%s\n' "${targets[@]}" | xargs -P "$jobs" -I{} bash -c 'fuzz_one {}'
