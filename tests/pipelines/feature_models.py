"""A feature-array problem and two models for it, written as a Python user would (Debian's
python3-torch and python3-h5py).

  feature_models.py DIR   writes DIR/features.h5, a synthetic 5-class problem of 20 float32
                          features (/train/inputs [1500, 20], /test/inputs [500, 20], labels,
                          class_names); DIR/features16.h5, the same as float16; DIR/nan.h5,
                          with one value that is NaN; DIR/both.h5, with images beside the
                          training inputs; and two scripted
                          models of [B, 20] inputs: DIR/teacher.pt (an MLP with features(x) and
                          head) and DIR/student.pt (a narrower MLP with LayerNorm)
"""
import sys

import h5py
import numpy as np
import torch
from torch import nn
import torch.nn.functional as F


class Teacher(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(20, 64)
        self.head = nn.Linear(64, 5)

    @torch.jit.export
    def features(self, x):
        return F.relu(self.fc(x))

    def forward(self, x):
        return self.head(self.features(x))


class Student(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(20, 16)
        self.norm = nn.LayerNorm(16)
        self.head = nn.Linear(16, 5)

    def forward(self, x):
        return self.head(F.relu(self.norm(self.fc(x))))


def write(path, dtype, train, test):
    with h5py.File(path, "w") as f:
        for split, (x, y) in (("train", train), ("test", test)):
            f[split + "/inputs"] = x.astype(dtype)
            f[split + "/labels"] = y
        f.attrs["class_names"] = ["a", "b", "c", "d", "e"]


def main(out):
    rng = np.random.default_rng(7)
    centres = rng.normal(0, 1, (5, 20))
    scale = rng.uniform(0.5, 20, 20)  # values on very different scales: --standardize matters

    def sample(n):
        y = rng.integers(0, 5, n)
        x = (centres[y] + rng.normal(0, 1.2, (n, 20))) * scale + 3
        return x, y.astype(np.int64)

    train, test = sample(1500), sample(500)
    write(out + "/features.h5", np.float32, train, test)
    write(out + "/features16.h5", np.float16, train, test)
    damaged = train[0].copy()
    damaged[3, 4] = np.nan
    write(out + "/nan.h5", np.float32, (damaged, train[1]), test)
    write(out + "/both.h5", np.float32, train, test)
    with h5py.File(out + "/both.h5", "a") as f:
        f["train/images"] = np.zeros((1500, 4, 5), np.uint8)
    torch.manual_seed(0)
    torch.jit.script(Teacher()).save(out + "/teacher.pt")
    torch.jit.script(Student()).save(out + "/student.pt")


if __name__ == "__main__":
    main(sys.argv[1])
