#!/usr/bin/env bash
# Students from a top-k cache against students from the full cache of the same teacher, paired by
# seed, on Fashion-MNIST: one teacher (mlp:1200-1200, 10 epochs), one full cache and one of K
# (4 views, T = 4, 5000 training examples per student as the default study), then SEEDS students
# of mlp:800-800 from each (30 epochs). Prints each pair, the mean difference (top-k − full, in
# points of test accuracy) and its 95% t interval, and the two caches' bytes per example and view.
# Usage: bash bench/top_k_students.sh [K] [SEEDS] [BUILD_DIR] [RULE]   (from the repository root)
set -euo pipefail
k=${1:-3}
seeds=${2:-5}
build=${3:-build}
rule=${4:-uniform}
work=$(mktemp -d /tmp/kdpipe-topk-XXXXXX)
trap 'rm -rf "$work"' EXIT
kd="$build/kdpipe"
"$kd" teach --arch mlp:1200-1200 --epochs 10 --threads 0 --out "$work/teacher" > /dev/null
for cache in full top; do
  extra=""
  [[ $cache == top ]] && extra="--top-k $k --top-k-rule $rule"
  # shellcheck disable=SC2086
  "$kd" cache --teacher "$work/teacher" --views 4 --temperatures 4 $extra \
    --out "$work/$cache.h5" > /dev/null
  "$kd" inspect "$work/$cache.h5" | grep -E "soft labels|missing mass" || true
done
for ((seed = 0; seed < seeds; ++seed)); do
  for cache in full top; do
    "$kd" distill --cache "$work/$cache.h5" --arch mlp:800-800 --temperature 4 --alpha 1 \
      --train-subset 5000 --epochs 30 --lr 0.05 --seed "$seed" --threads 0 \
      --out "$work/$cache-$seed" > /dev/null
  done
done
/usr/bin/python3 - "$work" "$seeds" "$k" <<'PY'
import json, sys, statistics
from scipy import stats
work, seeds, k = sys.argv[1], int(sys.argv[2]), sys.argv[3]
acc = lambda d: json.load(open(f"{work}/{d}/metrics.json"))["test"]["accuracy"] * 100
diffs = []
for s in range(seeds):
    full, top = acc(f"full-{s}"), acc(f"top-{s}")
    diffs.append(top - full)
    print(f"seed {s}: full {full:.2f}  top-{k} {top:.2f}  difference {top - full:+.2f} points")
mean = statistics.mean(diffs)
half = stats.t.ppf(0.975, seeds - 1) * statistics.stdev(diffs) / seeds ** 0.5
print(f"top-{k} - full: {mean:+.3f} points, 95% interval [{mean - half:+.3f}, {mean + half:+.3f}]")
PY
