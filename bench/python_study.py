"""The default study (pipelines/configs/label-smoothing.ini) as a plain PyTorch script, for a
side-by-side timing with `kdpipe run`. Same work: two MLP teachers (eps 0 and 0.1, 15 epochs,
shift-flip, per-epoch validation accuracy and MI probe), their logits for 4 views of the training
split written to HDF5, then 24 distilled students (T = 1, 2, 4, 8 x 3 seeds per teacher) and
6 baselines (hard, smooth 0.1 x 3 seeds), each 30 epochs on the same 5,000 examples with
per-epoch validation accuracy and a final evaluation of train, validation and test.
One process, sequential, torch.set_num_threads(all cores) — how such a script is usually written.

Usage: /usr/bin/python3 bench/python_study.py [--data-dir D] [--out DIR]   (needs python3-torch)
"""
import argparse
import gzip
import math
import os
import time

import h5py
import numpy as np
import torch
import torch.nn.functional as F

p = argparse.ArgumentParser()
p.add_argument("--data-dir", default="/usr/share/datasets/fashion-mnist")
p.add_argument("--out", default="/tmp/kdpipe-python-study")
p.add_argument("--smoke", action="store_true", help="1 epoch each and 1 seed: check the script runs")
args = p.parse_args()
torch.set_num_threads(os.cpu_count())
os.makedirs(args.out, exist_ok=True)


def idx(path):
    with gzip.open(path) as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, np.uint8, offset=4 + 4 * dims).reshape(shape)


d = args.data_dir
x_file = torch.tensor(idx(f"{d}/train-images-idx3-ubyte.gz")).float().div(255).sub(0.2860).div(0.3530)
y_file = torch.tensor(idx(f"{d}/train-labels-idx1-ubyte.gz")).long()
x_test = torch.tensor(idx(f"{d}/t10k-images-idx3-ubyte.gz")).float().div(255).sub(0.2860).div(0.3530)
y_test = torch.tensor(idx(f"{d}/t10k-labels-idx1-ubyte.gz")).long()
perm = torch.randperm(len(y_file), generator=torch.Generator().manual_seed(0))
x_val, y_val = x_file[perm[:5000]], y_file[perm[:5000]]
x_train, y_train = x_file[perm[5000:]], y_file[perm[5000:]]
ZERO = -0.2860 / 0.3530  # a zero pixel after normalisation


def augment(x, gen):
    """Random shift of up to 2 pixels (zero padding) and horizontal flip, per example."""
    b = x.shape[0]
    padded = F.pad(x, (2, 2, 2, 2), value=ZERO)
    dy = torch.randint(-2, 3, (b, 1, 1), generator=gen)
    dx = torch.randint(-2, 3, (b, 1, 1), generator=gen)
    flip = torch.randint(0, 2, (b, 1, 1), generator=gen).bool()
    r = torch.arange(28).view(1, 28, 1) - dy + 2
    c = torch.arange(28).view(1, 1, 28) - dx
    c = torch.where(flip, 27 - c, c) + 2
    return padded[torch.arange(b).view(b, 1, 1), r, c]


def mlp(widths, seed):
    torch.manual_seed(seed)
    layers, w = [torch.nn.Flatten()], 784
    for h in widths:
        layers += [torch.nn.Linear(w, h), torch.nn.ReLU()]
        w = h
    return torch.nn.Sequential(*layers, torch.nn.Linear(w, 10))


def accuracy(model, x, y):
    model.eval()
    with torch.no_grad():
        correct = sum((model(x[i:i + 500]).argmax(1) == y[i:i + 500]).sum().item()
                      for i in range(0, len(y), 500))
    model.train()
    return correct / len(y)


def train(model, x, y, epochs, lr, loss_fn, inputs, seed):
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9, nesterov=True, weight_decay=5e-4)
    n, bs = len(y), 128
    steps = math.ceil(n / bs) * epochs
    gen = torch.Generator().manual_seed(seed)
    step = 0
    for epoch in range(epochs):
        order = torch.randperm(n, generator=gen)
        for i in range(0, n, bs):
            rows = order[i:i + bs]
            for g in opt.param_groups:
                g["lr"] = lr * 0.5 * (1 + math.cos(math.pi * step / steps))
            loss = loss_fn(model(inputs(rows, epoch)), rows, epoch)
            opt.zero_grad()
            loss.backward()
            opt.step()
            step += 1
        accuracy(model, x_val, y_val)  # per-epoch validation, as kdpipe logs it
        yield epoch


def mi_estimate(model, probe_x, gen):
    model.eval()
    with torch.no_grad():
        ys = torch.stack([(lambda z: z[:, 0] - z[:, 1])(model(augment(probe_x, gen))) for _ in range(5)], 1)
    model.train()
    ys = ys.double()
    mu = ys.mean(1)
    var = ((ys - mu[:, None]) ** 2).mean()
    own = -((ys - mu[:, None]) ** 2) / (2 * var)
    mix = torch.logsumexp(-((ys.reshape(-1, 1) - mu[None, :]) ** 2) / (2 * var), 1) - math.log(len(mu))
    return (own.reshape(-1) - mix).mean().item()


timings, results = {}, {}
start = time.time()
probe = torch.cat([x_train[y_train == 0][:300], x_train[y_train == 1][:300]])
caches = {}
for eps in (0.0, 0.1):
    t0 = time.time()
    teacher = mlp([1200, 1200], 0)
    gen = torch.Generator().manual_seed(1)
    for _ in train(teacher, x_train, y_train, 1 if args.smoke else 15, 0.1,
                   lambda z, rows, e: F.cross_entropy(z, y_train[rows], label_smoothing=eps),
                   lambda rows, e: augment(x_train[rows], gen), 0):
        mi_estimate(teacher, probe, torch.Generator().manual_seed(2))
    results[f"teacher eps={eps}"] = accuracy(teacher, x_test, y_test)
    timings[f"teacher eps={eps}"] = time.time() - t0
    t0 = time.time()
    teacher.eval()
    gen = torch.Generator().manual_seed(3)
    with torch.no_grad():
        views = [torch.cat([teacher(x_train[i:i + 1024] if v == 0 else augment(x_train[i:i + 1024], gen))
                            for i in range(0, len(y_train), 1024)]) for v in range(4)]
    logits = torch.stack(views)
    with h5py.File(f"{args.out}/cache-eps{eps}.h5", "w") as f:
        f["logits"] = logits.numpy()
        for t in (1, 2, 4, 8):
            f[f"probs/T={t}"] = torch.softmax(logits / t, 2).numpy()
        f["labels"] = y_train.numpy()
    caches[eps] = logits
    timings[f"cache eps={eps}"] = time.time() - t0

subset = torch.sort(torch.randperm(len(y_train), generator=torch.Generator().manual_seed(4))[:5000]).values
xs, ys = x_train[subset], y_train[subset]
view_gens = {}


def student_inputs(rows, epoch):
    v = epoch % 4
    return xs[rows] if v == 0 else augment(xs[rows], view_gens.setdefault(v, torch.Generator().manual_seed(v)))


t0 = time.time()
runs = [("hard", None, None), ("smooth", None, None)] + [(eps, t, None) for eps in (0.0, 0.1) for t in (1, 2, 4, 8)]
for kind, temp, _ in runs:
    for seed in ((0,) if args.smoke else (0, 1, 2)):
        student = mlp([800, 800], seed)
        if kind == "hard":
            loss = lambda z, rows, e: F.cross_entropy(z, ys[rows])
        elif kind == "smooth":
            loss = lambda z, rows, e: F.cross_entropy(z, ys[rows], label_smoothing=0.1)
        else:
            target_logits = caches[kind][:, subset]

            def loss(z, rows, e, t=temp, tl=target_logits):
                p_t = torch.softmax(tl[e % 4][rows] / t, 1)
                return t * t * F.kl_div(torch.log_softmax(z / t, 1), p_t, reduction="batchmean")
        for _ in train(student, xs, ys, 1 if args.smoke else 30, 0.05, loss, student_inputs, seed):
            pass
        for x, y in ((x_train, y_train), (x_val, y_val), (x_test, y_test)):
            acc = accuracy(student, x, y)
        results.setdefault(f"student {kind} T={temp}", []).append(acc)
timings["students and baselines"] = time.time() - t0
timings["total"] = time.time() - start
for k, v in timings.items():
    print(f"{k}: {v:.1f} s")
for k, v in results.items():
    print(f"{k}: {np.mean(v):.4f}")
