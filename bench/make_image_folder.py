#!/usr/bin/env python3
"""Writes part of an MNIST-layout dataset (IDX files) as an image folder of PNGs.

usage: make_image_folder.py IDX_DIR OUT_DIR [--train N] [--test N]

OUT_DIR/train/<class>/<index>.png and OUT_DIR/test/<class>/<index>.png, the layout `kdpipe`
reads with --dataset OUT_DIR (torchvision's ImageFolder). Standard library only: the PNGs are
8-bit greyscale, written with zlib. For the README's walkthrough and the decode benchmark.
"""
import argparse
import gzip
import os
import struct
import zlib

FASHION = ["t-shirt", "trouser", "pullover", "dress", "coat",
           "sandal", "shirt", "sneaker", "bag", "ankle-boot"]


def read_idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    magic, = struct.unpack(">I", data[:4])
    dims = [struct.unpack(">I", data[4 + 4 * i:8 + 4 * i])[0] for i in range(magic & 0xFF)]
    return dims, data[4 + 4 * len(dims):]


def find(idx_dir, name):
    for candidate in (name + ".gz", name):
        if os.path.exists(os.path.join(idx_dir, candidate)):
            return os.path.join(idx_dir, candidate)
    raise SystemExit(f"{idx_dir}: no {name}[.gz]")


def png(width, height, pixels):
    def chunk(kind, body):
        return (struct.pack(">I", len(body)) + kind + body +
                struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))
    rows = b"".join(b"\x00" + pixels[y * width:(y + 1) * width] for y in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit greyscale
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) +
            chunk(b"IEND", b""))


def write_split(idx_dir, prefix, out_dir, count):
    (n, h, w), pixels = read_idx(find(idx_dir, f"{prefix}-images-idx3-ubyte"))
    _, labels = read_idx(find(idx_dir, f"{prefix}-labels-idx1-ubyte"))
    names = FASHION if "fashion" in os.path.abspath(idx_dir) else [str(c) for c in range(10)]
    for i in range(min(count, n)):
        folder = os.path.join(out_dir, names[labels[i]])
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, f"{i:05d}.png"), "wb") as f:
            f.write(png(w, h, pixels[i * h * w:(i + 1) * h * w]))
    return min(count, n)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("idx_dir")
    parser.add_argument("out_dir")
    parser.add_argument("--train", type=int, default=60000)
    parser.add_argument("--test", type=int, default=10000)
    a = parser.parse_args()
    n_train = write_split(a.idx_dir, "train", os.path.join(a.out_dir, "train"), a.train)
    n_test = write_split(a.idx_dir, "t10k", os.path.join(a.out_dir, "test"), a.test)
    print(f"{a.out_dir}: {n_train} training and {n_test} test PNGs")


if __name__ == "__main__":
    main()
