"""Writes an array-file dataset the way a kdpipe user would, with h5py, in one of several shapes.

usage: write_arrays.py FILE CASE
Pixels are (7 * flat index) mod 256 of an [N, H, W, C] array; labels are index mod 3.
"""
import sys

import h5py
import numpy as np


def split(f, name, n, shape=(6, 5, 3), dtype=np.uint8, labels=None):
    images = (np.arange(n * int(np.prod(shape))) * 7 % 256).astype(dtype).reshape((n,) + shape)
    f[name + "/images"] = images
    f[name + "/labels"] = np.arange(n) % 3 if labels is None else labels


def main(path, case):
    with h5py.File(path, "w") as f:
        if case == "unwritten-images":  # declares a million images, holds none of them
            f.create_dataset("train/images", shape=(1000000, 28, 28), dtype=np.uint8,
                             chunks=(1, 28, 28))
            f["train/labels"] = np.zeros(1000000, np.int64)
            split(f, "test", 4, shape=(28, 28))
            return
        if case == "half-written-images":  # a writer that stopped after 6 of 12 images
            d = f.create_dataset("train/images", shape=(12, 6, 5, 3), dtype=np.uint8,
                                 chunks=(1, 6, 5, 3))
            d[:6] = 7
            f["train/labels"] = np.arange(12) % 3
            split(f, "test", 4)
            return
        if case == "huge-label":  # one label that would make a billion classes
            split(f, "train", 12, shape=(6, 5), labels=np.array([10**9] + [0] * 11))
            split(f, "test", 4, shape=(6, 5))
            return
        if case in ("empty-images", "one-pixel"):  # 0x0 images; 1x1 images
            side = 0 if case == "empty-images" else 1
            split(f, "train", 12, shape=(side, side))
            split(f, "test", 4, shape=(side, side))
            return
        if case == "grey-nhw":
            split(f, "train", 12, shape=(6, 5))
            split(f, "test", 4, shape=(6, 5))
            return
        split(f, "train", 12,
              dtype={"float-images": np.float32, "int8-images": np.int8}.get(case, np.uint8),
              labels=np.arange(12) % 3 + (2 if case == "label-out-of-range" else 0))
        if case == "missing-test-labels":
            f["test/images"] = np.zeros((4, 6, 5, 3), np.uint8)
        elif case == "misshaped-labels":
            split(f, "test", 4, labels=np.zeros((4, 2), np.int64))
        elif case == "other-test-shape":
            split(f, "test", 4, shape=(6, 6, 3))
        else:
            split(f, "test", 4)
        if case == "bytes-names":
            f.attrs["class_names"] = np.array([b"cat", b"dog", b"eel"])
        elif case != "no-names":
            f.attrs["class_names"] = ["cat", "dog", "eel"]


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
