#!/usr/bin/env bash
# The default study two ways, one after the other on this machine: `kdpipe run` and a plain
# PyTorch script doing the same work (bench/python_study.py; needs Debian's python3-torch, the
# same LibTorch 1.13). Prints both wall times and their ratio.
# Usage: bash bench/compare_study.sh [BUILD_DIR]   (from the repository root)
set -euo pipefail
build=${1:-build}
work=$(mktemp -d /tmp/kdpipe-compare-XXXXXX)
trap 'rm -rf "$work"' EXIT
start=$(date +%s.%N)
"$build/kdpipe" run pipelines/configs/label-smoothing.ini --out "$work/kdpipe" > "$work/kdpipe.log"
kd=$(echo "$(date +%s.%N) - $start" | bc)
start=$(date +%s.%N)
/usr/bin/python3 bench/python_study.py --out "$work/python" > "$work/python.log"
py=$(echo "$(date +%s.%N) - $start" | bc)
tail -n 13 "$work/kdpipe.log"
cat "$work/python.log"
printf 'kdpipe run: %.0f s | python script: %.0f s | python / kdpipe = %.2fx\n' "$kd" "$py" "$(echo "$py / $kd" | bc -l)"
