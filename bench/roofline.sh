#!/usr/bin/env bash
# The default study (or STUDY.ini) as a roofline table, in one run: runs the study into a fresh
# run directory, timing it; measures this machine's sgemm rate (1024^2, Debian's PyTorch: the same
# LibTorch and OpenBLAS) at 1 thread and at all cores; then bench/roofline.py.
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

sgemm=$(/usr/bin/python3 - "$cores" <<'PY'
import sys, time, torch
rates = []
for t in sorted({1, int(sys.argv[1])}):
    torch.set_num_threads(t)
    a, b = torch.randn(1024, 1024), torch.randn(1024, 1024)
    torch.mm(a, b)
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < 2:
        torch.mm(a, b); n += 1
    rates.append(f"{t}={2 * 1024**3 * n / (time.perf_counter() - start) / 1e9:.1f}")
print(",".join(rates))
PY
)
echo "run directory: $work/run"
/usr/bin/python3 "$here/bench/roofline.py" "$work/run" --wall "$wall" --sgemm "$sgemm" \
  --json "$work/roofline.json"
