#!/usr/bin/env bash
# Data larger than memory (issue 27): one epoch of `kdpipe teach --arch ARCH` on a 6 GB array file
# (Fashion-MNIST up-sampled to 96x96x3 and repeated: 217,000 training images), streamed with
# --memory 1500 inside a memory cgroup (v1) of 2 GB, and held with --memory 14000 outside it
# (12000 MB is a hair short of kdpipe's rule for holding: every split in half of --memory); the
# page cache is dropped before each. The pair runs RUNS times (default 3; this machine's rates
# vary by several percent from run to run). Prints each run's training rate (images/s, the
# epoch's training steps only), each pair's ratio streamed / held and their median, and each run's
# peak RSS and the cgroup's peak;
# then caches the streamed teacher (2 views) and distils an mlp:64 student from it (one epoch), both
# streamed in the same cgroup, and prints their peak RSS.
# Needs root (cgroup v1, drop_caches), python3-h5py, the fashion-mnist package and ~7 GB in DIR.
# Usage: [RUNS=N] bash bench/stream_teach.sh [BUILD_DIR] [DIR] [ARCH]   (from the repository root)
set -euo pipefail
build=${1:-build}
dir=${2:-/tmp/kdpipe-stream}
arch=${3:-mlp:256}
runs=${RUNS:-3}
mkdir -p "$dir"
data=$dir/fmnist96x217k.h5
if [ ! -f "$data" ]; then
  /usr/bin/python3 - "$data" <<'PY'
import gzip, sys, h5py, numpy as np
src = "/usr/share/datasets/fashion-mnist/"
def idx(name, offset):
    with gzip.open(src + name) as f:
        return np.frombuffer(f.read(), np.uint8, offset=offset)
side, n = 96, 217000
up = (np.arange(side) * 28) // side  # nearest-neighbour up-sampling
splits = {"train": (idx("train-images-idx3-ubyte.gz", 16).reshape(-1, 28, 28),
                    idx("train-labels-idx1-ubyte.gz", 8), n),
          "test": (idx("t10k-images-idx3-ubyte.gz", 16).reshape(-1, 28, 28),
                   idx("t10k-labels-idx1-ubyte.gz", 8), 10000)}
tmp = sys.argv[1] + ".tmp"
with h5py.File(tmp, "w") as f:
    for split, (images, labels, m) in splits.items():
        d = f.create_dataset(f"{split}/images", (m, side, side, 3), dtype="uint8",
                             chunks=(256, side, side, 3))
        for s in range(0, m, 4096):
            rows = np.arange(s, min(m, s + 4096)) % len(images)
            d[s:s + len(rows)] = images[rows][:, up][:, :, up][..., None].repeat(3, axis=3)
        f.create_dataset(f"{split}/labels", data=labels[np.arange(m) % len(labels)].astype(np.int64))
import os; os.rename(tmp, sys.argv[1])
PY
fi
echo "file: $(du -h "$data" | cut -f1)"
cg=/sys/fs/cgroup/memory/kdpipe-stream-bench
mkdir -p "$cg"
echo $((2 << 30)) > "$cg/memory.limit_in_bytes"
echo 0 > "$cg/memory.max_usage_in_bytes"
drop() { sync; echo 3 > /proc/sys/vm/drop_caches; }
stage() {  # $1 out, $2 "cgroup" or "", then the kdpipe command line
  local out=$dir/$1 where=$2
  shift 2
  rm -rf "$out"
  drop
  local cmd="exec env KDPIPE_WORK_FILE=$out.work.json $build/kdpipe $* --out $out"
  if [ -n "$where" ]; then
    bash -c "echo \$\$ > $cg/cgroup.procs; $cmd" > "$out.log" 2>&1
  else
    bash -c "$cmd" > "$out.log" 2>&1
  fi
}
teach="teach --dataset $data --arch $arch --epochs 1 --threads 2 --mi-examples 50"
for ((r = 1; r <= runs; ++r)); do
  stage streamed$r cgroup $teach --memory 1500
  stage held$r "" $teach --memory 14000
done
rm -rf "$dir/streamed" && cp -r "$dir/streamed1" "$dir/streamed"
# The rest of a study's stages on the same file, in the same cgroup.
stage streamed.h5 cgroup cache --teacher "$dir/streamed" --dataset "$data" --views 2 \
  --temperatures 4 --threads 2 --memory 1500
stage student cgroup distill --cache "$dir/streamed.h5" --dataset "$data" --arch mlp:64 \
  --temperature 4 --epochs 1 --threads 2 --memory 1500
/usr/bin/python3 - "$dir" "$cg" "$runs" <<'PY'
import json, statistics, sys
d, cg, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
ratios = []
for r in range(1, runs + 1):
    rate = {}
    for kind in ("streamed", "held"):
        run = f"{kind}{r}"
        m = json.load(open(f"{d}/{run}/metrics.json"))
        rate[kind] = m["epochs"][0]["images_per_second"]
        rss = json.load(open(f"{d}/{run}.work.json"))["peak_rss_mb"]
        print(f"{run}: streamed={m['dataset']['streamed']} order={m['dataset']['order']!r} "
              f"rate {rate[kind]:.0f} images/s, peak RSS {rss:.0f} MB")
    ratios.append(rate["streamed"] / rate["held"])
    print(f"pair {r}: streamed / held rate {ratios[-1]:.3f}")
for run in ("streamed.h5", "student"):
    print(f"{run}: peak RSS {json.load(open(f'{d}/{run}.work.json'))['peak_rss_mb']:.0f} MB")
print(f"cgroup peak {int(open(cg + '/memory.max_usage_in_bytes').read()) / 2**20:.0f} MB "
      f"(page cache included), failcnt {open(cg + '/memory.failcnt').read().strip()}")
print(f"streamed / held rate: median {statistics.median(ratios):.3f} of {runs} pairs")
PY
