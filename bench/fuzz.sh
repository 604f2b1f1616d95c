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

# One target: fuzz for $seconds with a fresh working corpus (new inputs) beside the seeds. Fork mode
# goes on past a finding, so one upstream crash does not end the run; each finding is then replayed
# and triaged (bench/fuzz_triage.py): a finding in kdpipe's code fails the run, one inside a
# library kdpipe calls (libhdf5, libtorch, ...) is counted and kept for its maintainers.
fuzz_one() {
  local t="$1"
  local work="$build/corpus/$t" found_dir="$build/crashes/$t" log="$build/logs/$t.log"
  rm -rf "$work" "$found_dir" && mkdir -p "$work" "$found_dir" "$build/logs"
  # Findings are replayed with whole stacks (the libraries have no frame pointers), so that a leak
  # is traced through them to the kdpipe call that made it.
  export ASAN_OPTIONS="detect_leaks=1:allocator_may_return_null=1"
  local whole_stacks="$ASAN_OPTIONS:fast_unwind_on_malloc=0"
  "$build/fuzz/$t" "$work" "tests/fuzz/corpus/$t" -max_total_time="$seconds" \
    -fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1 \
    -timeout=60 -rss_limit_mb=2560 -artifact_prefix="$found_dir/" > "$log" 2>&1 || true
  local execs corpus ours=0 alone=0 slow=0 upstream=""
  execs=$(sed -n 's/^#\([0-9]*\): cov:.*/\1/p' "$log" | tail -1)
  corpus=$(($(find "$work" -type f | wc -l) + $(find "tests/fuzz/corpus/$t" -type f | wc -l)))
  for finding in "$found_dir"/*; do
    [[ -f "$finding" && "$finding" != *.report ]] || continue
    # libFuzzer keeps inputs that took over 10 s as slow-unit-*: slow, not failing (a hang past
    # -timeout is a timeout-* finding).
    if [[ $(basename "$finding") == slow-unit-* ]]; then slow=$((slow + 1)); continue; fi
    ASAN_OPTIONS="$whole_stacks" timeout 120 "$build/fuzz/$t" -timeout=60 -rss_limit_mb=2560 \
      "$finding" > "$finding.report" 2>&1 || true
    local who
    who=$(/usr/bin/python3 bench/fuzz_triage.py "$finding.report" || true)
    who=${who:-untriaged}
    case "$who" in
      kdpipe | untriaged) ours=$((ours + 1)); echo "  $t: kdpipe finding $finding (report: $finding.report)" ;;
      unreproduced) alone=$((alone + 1)) ;;
      *) upstream+="$who " ;;
    esac
  done
  local libraries
  libraries=$(tr ' ' '\n' <<< "$upstream" | sed '/^$/d' | sort | uniq -c |
    awk '{printf "%s%s %s", s, $2, $1; s=", "}')
  printf '%-16s %5ss %10s execs %6s corpus inputs  findings: %s in kdpipe, %s inside libraries%s, %s not reproducible alone; %s inputs slower than 10 s\n' \
    "$t" "$seconds" "${execs:-?}" "$corpus" "$ours" "$(wc -w <<< "$upstream")" \
    "${libraries:+ ($libraries)}" "$alone" "$slow"
  ((ours == 0))
}
export -f fuzz_one
export build seconds
printf '%s\n' "${targets[@]}" | xargs -P "$jobs" -I{} bash -c 'fuzz_one {}'
