"""Two teachers for `kdpipe judge`, written as a Python user would (Debian's python3-torch and
python3-h5py).

  judge_teachers.py DIR   writes DIR/problem.h5, a synthetic 5-class problem of 20 float32
                          features on a unit scale (/train/inputs [3000, 20], /test/inputs
                          [1000, 20]); DIR/good.pt, an MLP trained on it; DIR/bad.pt, the same
                          MLP trained with the labels of 70% of the examples shuffled (a worse
                          teacher by construction); and DIR/copy.pt, a byte-for-byte copy of
                          good.pt under another name
"""
import shutil
import sys

import h5py
import numpy as np
import torch
import torch.nn.functional as F

from feature_models import Teacher  # the same 20-feature, 5-class MLP (beside this file)


def train(x, y, seed):
    torch.manual_seed(seed)
    model = Teacher()
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    x, y = torch.tensor(x, dtype=torch.float32), torch.tensor(y)
    for _ in range(30):
        order = torch.randperm(len(y))
        for i in range(0, len(y), 100):
            rows = order[i:i + 100]
            opt.zero_grad()
            F.cross_entropy(model(x[rows]), y[rows]).backward()
            opt.step()
    return torch.jit.script(model.eval())


def main(out):
    rng = np.random.default_rng(11)
    centres = rng.normal(0, 0.55, (5, 20))

    def sample(n):
        y = rng.integers(0, 5, n)
        return (centres[y] + rng.normal(0, 1, (n, 20))).astype(np.float32), y.astype(np.int64)

    (x, y), test = sample(3000), sample(1000)
    with h5py.File(out + "/problem.h5", "w") as f:
        for split, (a, b) in (("train", (x, y)), ("test", test)):
            f[split + "/inputs"] = a
            f[split + "/labels"] = b
        f.attrs["class_names"] = ["a", "b", "c", "d", "e"]
    train(x, y, 0).save(out + "/good.pt")
    noisy = y.copy()
    shuffled = rng.random(len(y)) < 0.7
    noisy[shuffled] = rng.permutation(noisy[shuffled])
    train(x, noisy, 0).save(out + "/bad.pt")
    shutil.copyfile(out + "/good.pt", out + "/copy.pt")


if __name__ == "__main__":
    main(sys.argv[1])
