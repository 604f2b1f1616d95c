#!/usr/bin/env bash
# Teachers trained on this machine's two cores as 2 ranks of 1 thread against 1 process of 2
# threads: one epoch of the default study's teacher (mlp:1200-1200 on Fashion-MNIST's 55,000
# training images) and of a CNN teacher (cnn:32 on 10,000 of them), images/s of training as
# metrics.json records it, all measured in this run, each configuration twice, alternating.
# Usage: bench/ranks_vs_threads.sh [BUILD_DIR]
set -euo pipefail
build=${1:-build}
kdpipe="$build/kdpipe"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
rate() { /usr/bin/python3 -c "import json,sys; print(round(json.load(open(sys.argv[1]))['timing']['images_per_second']))" "$1/metrics.json"; }
for spec in "mlp:1200-1200|5000" "cnn:32|50000"; do
  arch=${spec%|*}
  val=${spec#*|}
  for round in 1 2; do
    for config in "1 2" "2 1"; do
      set -- $config
      dir="$out/$arch-r$1-$round"
      "$kdpipe" teach --arch "$arch" --val-size "$val" --epochs 1 --mi-examples 10 \
        --ranks "$1" --threads "$2" --out "$dir" > /dev/null 2>&1
      echo "$arch --ranks $1 --threads $2 (round $round): $(rate "$dir") images/s"
    done
  done
done
