#!/usr/bin/env bash
# Writes the fuzz targets' seed corpora, tests/fuzz/corpus/<target>/seed-*, from real and generated
# files: Fashion-MNIST's own first images, files the kdpipe binary writes (a checkpoint, a cache, an
# array file), the repository's study files and small images. Run once after a format changes and
# commit the result; the normal suite replays the corpora (fuzz_replay.*).
#
# usage: tests/fuzz/make_seeds.sh BUILD_DIR
# needs: /usr/bin/python3 with h5py and numpy, gzip, cjpeg (libjpeg-turbo-progs)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
kdpipe="$(cd "$1" && pwd)/kdpipe"
corpus="$here/corpus"
py=/usr/bin/python3
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
seed() { mkdir -p "$corpus/$1"; cp "$2" "$corpus/$1/seed-$3"; }

# IDX: the first 3 Fashion-MNIST test images and labels (headers rewritten to count 3), raw and
# gzipped, and a generated 2x2 file.
fm=/usr/share/datasets/fashion-mnist
"$py" - "$fm" "$work" <<'PY'
import gzip, struct, sys
src, out = sys.argv[1], sys.argv[2]
with gzip.open(f"{src}/t10k-images-idx3-ubyte.gz") as f:
    f.read(16); pixels = f.read(3 * 28 * 28)
with gzip.open(f"{src}/t10k-labels-idx1-ubyte.gz") as f:
    f.read(8); labels = f.read(3)
open(f"{out}/images", "wb").write(struct.pack(">IIII", 0x803, 3, 28, 28) + pixels)
open(f"{out}/labels", "wb").write(struct.pack(">II", 0x801, 3) + labels)
open(f"{out}/tiny", "wb").write(struct.pack(">IIII", 0x803, 2, 2, 2) + bytes(range(8)))
PY
for f in images labels tiny; do
  seed idx_fuzz "$work/$f" "$f-idx-ubyte"
  gzip -c -n "$work/$f" > "$work/$f.gz" && seed idx_fuzz "$work/$f.gz" "$f-idx-ubyte.gz"
done

# CIFAR: two records in the CIFAR-100 layout (coarse and fine label bytes); read as CIFAR-10 they
# are one record short, which the target also tries.
"$py" -c "
import sys
rec = lambda i: bytes([i % 20, i % 100]) + bytes((7 * j + i) % 256 for j in range(3072))
open(sys.argv[1], 'wb').write(rec(1) + rec(2))
open(sys.argv[2], 'wb').write(bytes([3]) + bytes(j % 256 for j in range(3072)))" \
  "$work/cifar100.bin" "$work/cifar10.bin"
seed cifar_fuzz "$work/cifar100.bin" cifar100.bin
seed cifar_fuzz "$work/cifar10.bin" cifar10.bin

# Studies: the shipped one, and a small one using every section.
seed study_fuzz "$root/pipelines/configs/label-smoothing.ini" label-smoothing.ini
cat > "$work/small.ini" <<'INI'
# a small study: two teachers, two students each, a baseline
[study]
name = small
jobs = 2
[data]
dataset = fashion-mnist
val-size = 2
[teacher]
arch = mlp:4
smoothing = 0 0.1
epochs = 1
schedule = cosine
mi-examples = 2
mi-views = 2
[cache]
views = 2
temperatures = 1 4
[student]
arch = mlp:4
temperature = 4
alpha = 0.5 1
seeds = 1
train-subset = 0
epochs = 1
[baseline]
hard = true
smoothing =
[report]
projection-examples = 2
INI
seed study_fuzz "$work/small.ini" small.ini

# Images: a PNG (grey and RGB, 16-bit) and a baseline JPEG.
"$py" - "$work" <<'PY'
import struct, sys, zlib
out = sys.argv[1]
def png(path, w, h, colour, depth):
    chans = 3 if colour == 2 else 1
    row = lambda y: b"\0" + bytes((x * 37 + y * 11 + c) % 256 for x in range(w) for c in range(chans * depth // 8))
    raw = b"".join(row(y) for y in range(h))
    chunk = lambda t, d: struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
    ihdr = struct.pack(">IIBBBBB", w, h, depth, colour, 0, 0, 0)
    open(path, "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) +
                           chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
png(f"{out}/grey.png", 5, 4, 0, 8)
png(f"{out}/rgb16.png", 3, 3, 2, 16)
open(f"{out}/rgb.ppm", "wb").write(b"P6 6 4 255\n" + bytes((i * 29) % 256 for i in range(72)))
PY
cjpeg -quality 80 "$work/rgb.ppm" > "$work/rgb.jpg"
for f in grey.png rgb16.png rgb.jpg; do seed image_fuzz "$work/$f" "$f"; done

# An array file, a checkpoint and a cache, written by kdpipe itself from 12 + 4 tiny images.
"$py" "$root/tests/storage/write_arrays.py" "$work/h5py-arrays.h5" ok
seed array_file_fuzz "$work/h5py-arrays.h5" h5py-arrays.h5
"$kdpipe" teach --dataset "$work/h5py-arrays.h5" --arch mlp:4 --epochs 1 --val-size 2 \
  --mi-examples 2 --mi-views 2 --out "$work/teacher" > /dev/null
seed checkpoint_fuzz "$work/teacher/model.pt" model.pt
"$kdpipe" cache --teacher "$work/teacher" --dataset "$work/h5py-arrays.h5" --split train --val-size 2 \
  --views 2 --temperatures 1 4 --chunk 2 --out "$work/cache.h5" > /dev/null
seed cache_fuzz "$work/cache.h5" cache.h5
"$kdpipe" cache --teacher "$work/teacher" --dataset "$work/h5py-arrays.h5" --split test --val-size 2 \
  --half --compress 4 --out "$work/cache-half.h5" > /dev/null
seed cache_fuzz "$work/cache-half.h5" cache-half.h5
"$kdpipe" cache --teacher "$work/teacher" --dataset "$work/h5py-arrays.h5" --split train --val-size 2 \
  --views 2 --temperatures 1 4 --chunk 2 --top-k 2 --out "$work/cache-top2.h5" > /dev/null
seed cache_fuzz "$work/cache-top2.h5" cache-top2.h5

# What a report reads back: a teacher's and a student's metrics.json and a manifest.
seed results_fuzz "$work/teacher/metrics.json" teacher-metrics.json
"$kdpipe" distill --cache "$work/cache.h5" --dataset "$work/h5py-arrays.h5" --arch mlp:4 \
  --val-size 2 --epochs 1 --out "$work/student" > /dev/null
seed results_fuzz "$work/student/metrics.json" student-metrics.json
sed "s|^dataset = fashion-mnist|dataset = $work/h5py-arrays.h5|" "$work/small.ini" > "$work/run.ini"
"$kdpipe" run "$work/run.ini" --out "$work/run" > /dev/null
seed results_fuzz "$work/run/manifest.json" manifest.json
echo "seeds written to $corpus"
