#!/usr/bin/env bash
# Peak resident memory of `kdpipe teach --arch mlp:16 --epochs 1` on array files of 30,000 and
# 120,000 random 56x56x3 images (0.30 and 1.19 GB of pixels, /train and /test), and the line
# through the two: the floor and the copies of the pixels held. Needs python3-h5py.
# Usage: bash bench/load_memory.sh [BUILD_DIR]   (from the repository root)
set -euo pipefail
build=${1:-build}
work=$(mktemp -d /tmp/kdpipe-loadmem-XXXXXX)
trap 'rm -rf "$work"' EXIT
cat > "$work/make.py" <<'PY'
import sys, h5py, numpy as np
path, n, side = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = np.random.default_rng(0)
with h5py.File(path, "w") as f:
    for split, m in (("train", n), ("test", max(1000, n // 20))):
        d = f.create_dataset(f"{split}/images", (m, side, side, 3), dtype="uint8",
                             chunks=(min(m, 256), side, side, 3))
        labels = rng.integers(0, 10, m)
        for s in range(0, m, 4096):
            e = min(m, s + 4096)
            base = (labels[s:e, None, None, None] * 20).astype(np.int16)
            d[s:e] = np.clip(base + rng.integers(0, 60, (e - s, side, side, 3)), 0, 255)
        f.create_dataset(f"{split}/labels", data=labels.astype(np.int64))
PY
declare -A rss pixels
for n in 30000 120000; do
  /usr/bin/python3 "$work/make.py" "$work/d$n.h5" "$n" 56
  pixels[$n]=$(( (n + (n / 20 > 1000 ? n / 20 : 1000)) * 56 * 56 * 3 ))
  /usr/bin/time -f "%M" -o "$work/rss" "$build/kdpipe" teach --dataset "$work/d$n.h5" --arch mlp:16 \
    --epochs 1 --lr 0.001 --threads 2 --out "$work/t$n" > /dev/null
  rss[$n]=$(( $(cat "$work/rss") * 1024 ))
  rm -f "$work/d$n.h5"
  printf '%6d images: %.3f GB of pixels, peak RSS %.3f GB\n' "$n" \
    "$(echo "${pixels[$n]} / 1000000000" | bc -l)" "$(echo "${rss[$n]} / 1000000000" | bc -l)"
done
slope=$(echo "(${rss[120000]} - ${rss[30000]}) / (${pixels[120000]} - ${pixels[30000]})" | bc -l)
floor=$(echo "(${rss[30000]} - $slope * ${pixels[30000]}) / 1000000000" | bc -l)
printf 'peak RSS = %.2f GB + %.2f x the pixels\n' "$floor" "$slope"
