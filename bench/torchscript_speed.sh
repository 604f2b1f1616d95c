#!/usr/bin/env bash
# Training speed of a model written in Python against the same model from kdpipe's zoo: a
# TorchScript MLP of mlp:800-800's shape (784-800-800-10, ReLU) and mlp:800-800 itself, each
# taught for EPOCHS epochs on Fashion-MNIST in one run of this script, --threads THREADS.
# Prints each one's training images/s (from metrics.json) and their ratio (target: >= 90%).
#   bash bench/torchscript_speed.sh [BUILD_DIR] [EPOCHS] [THREADS]
set -euo pipefail
build=${1:-build}
epochs=${2:-3}
threads=${3:-2}
kdpipe=$(realpath "$build/kdpipe")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# torch.jit.script reads the class's source: the script goes to a file, not stdin.
cat > "$work/mlp800.py" <<'PY'
import sys
import torch
from torch import nn

class Mlp(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 800)
        self.fc2 = nn.Linear(800, 800)
        self.head = nn.Linear(800, 10)

    def forward(self, x):
        h = torch.relu(self.fc1(x.flatten(1)))
        return self.head(torch.relu(self.fc2(h)))

torch.jit.script(Mlp()).save(sys.argv[1])
PY
/usr/bin/python3 "$work/mlp800.py" "$work/mlp800.pt"
rate() {  # images/s of training, from the stage's metrics.json
  /usr/bin/python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["timing"]["images_per_second"])' "$1/metrics.json"
}
for arch in mlp:800-800 "torchscript:$work/mlp800.pt"; do
  out="$work/$(echo "$arch" | tr -c 'a-z0-9' _)"
  "$kdpipe" teach --arch "$arch" --epochs "$epochs" --mi-examples 10 --threads "$threads" \
      --out "$out" > /dev/null 2> "$out.log" || { cat "$out.log"; exit 1; }
  echo "$arch $(rate "$out")"
done | tee "$work/rates"
awk 'NR == 1 { zoo = $2 } NR == 2 { ts = $2 }
     END { printf "torchscript / zoo: %.1f%%\n", 100 * ts / zoo }' "$work/rates"
