#!/usr/bin/env bash
# The default study (or STUDY.ini) as a roofline table, in one run: runs the study into a fresh
# run directory, timing it; measures this machine's sgemm rate (1024^2, kd_bench_sgemm: the same
# LibTorch, OpenBLAS and kernels as kdpipe) at 1 thread and at all cores; then bench/roofline.py.
#
#   bash bench/roofline.sh [STUDY.ini] [KDPIPE options...]     (KDPIPE=path/to/kdpipe)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
kdpipe=${KDPIPE:-$here/build/kdpipe}
study=${1:-$here/pipelines/configs/label-smoothing.ini}
shift || true
work=$(mktemp -d "${TMPDIR:-/tmp}/kdpipe-roofline-XXXXXX")
cores=$(nproc)

start=$(date +%s%N)
"$kdpipe" run "$study" --plain --out "$work/run" "$@" | tail -3
wall=$(( ($(date +%s%N) - start) / 1000000 ))
wall=$(printf '%d.%03d' $((wall / 1000)) $((wall % 1000)))

# The sgemm rate with the kernels kdpipe itself uses (it picks OpenBLAS's kernels at start-up).
sgemm=$("${KD_BENCH_SGEMM:-$(dirname "$kdpipe")/bench/kd_bench_sgemm}" "$cores")
echo "run directory: $work/run"
/usr/bin/python3 "$here/bench/roofline.py" "$work/run" --wall "$wall" --sgemm "$sgemm" \
  --json "$work/roofline.json"
