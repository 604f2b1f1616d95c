"""Models a user writes in Python, scripted for kdpipe's tests of TorchScript students.

  scripted_models.py save DIR             writes DIR/cnn.pt (BatchNorm, a residual block,
                                          dropout; features(x) and head, as kdpipe's zoo),
                                          DIR/mlp.pt (LayerNorm; no features), scaled.pt
                                          (forward is not head(features)), frozen.pt (mlp.pt
                                          with fc1 saved frozen), and modules kdpipe cannot
                                          train: noparams.pt, tuple.pt, flat.pt, newer.pt (an
                                          operator LibTorch 1.13 lacks), allfrozen.pt,
                                          intlogits.pt (int64 logits)
  scripted_models.py grad MODEL IN OUT    one training batch of IN (x, y, seed) through MODEL in
                                          train mode: writes OUT {loss, grads by parameter name}
  scripted_models.py logits MODEL IN OUT  MODEL (as kdpipe saved it, loaded with nothing from
                                          kdpipe) in eval mode on IN's x: OUT {logits, meta}
  scripted_models.py fit CLASS IN SEED    a plain PyTorch loop: distils a new CLASS (SmallCnn or
                                          LnMlp) seeded SEED from IN's training inputs and teacher
                                          logits with IN's recipe; prints its test accuracy
"""
import math
import sys
import zipfile

import torch
from torch import nn
import torch.nn.functional as F


class Block(nn.Module):
    def __init__(self, width: int):
        super().__init__()
        self.conv = nn.Conv2d(width, width, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(width)

    def forward(self, x):
        return F.relu(x + self.bn(self.conv(x)))


class SmallCnn(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(1, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.block = Block(8)
        self.drop = nn.Dropout(0.25)
        self.head = nn.Linear(8, 10)

    @torch.jit.export
    def features(self, x):
        x = self.block(F.relu(self.bn(self.stem(x))))
        return F.adaptive_avg_pool2d(x, 1).flatten(1)

    def forward(self, x):
        return self.head(self.drop(self.features(x)))


class ScaledCnn(SmallCnn):
    """Has features(x) and head, but forward is not head(features(x)): no projection."""

    def forward(self, x):
        return 2 * self.head(self.features(x))


class LnMlp(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 32)
        self.norm = nn.LayerNorm(32)
        self.head = nn.Linear(32, 10)

    def forward(self, x):
        return self.head(F.relu(self.norm(self.fc1(x.flatten(1)))))


class NoParameters(nn.Module):
    def forward(self, x):
        return x.flatten(1)[:, :10]


class TwoOutputs(nn.Module):
    def __init__(self):
        super().__init__()
        self.head = nn.Linear(784, 10)

    def forward(self, x):
        z = self.head(x.flatten(1))
        return z, z


class IntegerLogits(nn.Module):
    def __init__(self):
        super().__init__()
        self.head = nn.Linear(784, 10)

    def forward(self, x):
        return self.head(x.flatten(1)).long()


class FlatInput(nn.Module):
    """Takes [B, 784] rows, not images: the wrong input rank for image data."""

    def __init__(self):
        super().__init__()
        self.head = nn.Linear(784, 10)

    def forward(self, x):
        return self.head(x)


def save_with_unknown_operator(source, path):
    """`source` as saved by a PyTorch with an operator that LibTorch 1.13 does not have."""
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(path, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename.endswith(".debug_pkl"):
                continue  # source ranges of the code as it was
            if "/code/" in info.filename and info.filename.endswith(".py"):
                data = data.replace(b"torch.relu(", b"torch.kdpipe_operator_from_the_future(")
            zout.writestr(info, data)


def fit(cls, data, seed):
    """Distillation as kdpipe's recipe defines it: SGD with Nesterov momentum and weight decay on
    every parameter, a cosine learning rate per step, loss α T² KL(p_T ‖ q_T) + (1 − α) CE."""
    r = data["recipe"]
    epochs, bs, lr, T, alpha = (int(r["epochs"]), int(r["batch_size"]), float(r["lr"]),
                                float(r["temperature"]), float(r["alpha"]))
    torch.manual_seed(seed)
    model = {"SmallCnn": SmallCnn, "LnMlp": LnMlp}[cls]()
    sgd = torch.optim.SGD(model.parameters(), lr=lr, momentum=float(r["momentum"]), nesterov=True,
                          weight_decay=float(r["weight_decay"]))
    x, y, z = data["x_train"], data["y_train"], data["teacher_logits"]
    n = x.shape[0]
    steps = math.ceil(n / bs)
    for epoch in range(epochs):
        model.train()
        order = torch.randperm(n)
        for step in range(steps):
            rows = order[step * bs:(step + 1) * bs]
            if rows.numel() < 2:
                continue
            for group in sgd.param_groups:
                group["lr"] = lr * 0.5 * (1 + math.cos(math.pi * (epoch * steps + step) /
                                                       (epochs * steps)))
            logits = model(x[rows])
            target = F.softmax(z[rows] / T, 1)
            kl = (torch.xlogy(target, target) - target * F.log_softmax(logits / T, 1)).sum(1).mean()
            loss = alpha * T * T * kl + (1 - alpha) * F.cross_entropy(logits, y[rows])
            sgd.zero_grad()
            loss.backward()
            sgd.step()
    model.eval()
    with torch.no_grad():
        predicted = model(data["x_test"]).argmax(1)
    return float((predicted == data["y_test"]).double().mean())


def main():
    mode = sys.argv[1]
    if mode == "save":
        torch.manual_seed(0)
        torch.jit.script(SmallCnn()).save(sys.argv[2] + "/cnn.pt")
        torch.jit.script(LnMlp()).save(sys.argv[2] + "/mlp.pt")
        torch.jit.script(ScaledCnn()).save(sys.argv[2] + "/scaled.pt")
        torch.jit.script(NoParameters()).save(sys.argv[2] + "/noparams.pt")
        torch.jit.script(TwoOutputs()).save(sys.argv[2] + "/tuple.pt")
        torch.jit.script(FlatInput()).save(sys.argv[2] + "/flat.pt")
        save_with_unknown_operator(sys.argv[2] + "/mlp.pt", sys.argv[2] + "/newer.pt")
        frozen = LnMlp()  # fine-tuning a head: the body saved with requires_grad = False
        for p in frozen.fc1.parameters():
            p.requires_grad_(False)
        torch.jit.script(frozen).save(sys.argv[2] + "/frozen.pt")
        for p in frozen.parameters():
            p.requires_grad_(False)
        torch.jit.script(frozen).save(sys.argv[2] + "/allfrozen.pt")
        torch.jit.script(IntegerLogits()).save(sys.argv[2] + "/intlogits.pt")
    elif mode == "grad":
        model = torch.jit.load(sys.argv[2])
        batch = torch.load(sys.argv[3])
        model.train()
        torch.manual_seed(int(batch["seed"]))
        loss = F.cross_entropy(model(batch["x"]), batch["y"])
        loss.backward()
        grads = {n: p.grad for n, p in model.named_parameters()}
        torch.save({"loss": loss.detach(), "grads": grads}, sys.argv[4])
    elif mode == "logits":
        extra = {"kdpipe_model.json": ""}
        model = torch.jit.load(sys.argv[2], _extra_files=extra)
        model.eval()
        with torch.no_grad():
            logits = model(torch.load(sys.argv[3])["x"])
        meta = extra["kdpipe_model.json"]
        meta = meta.decode() if isinstance(meta, bytes) else meta
        torch.save({"logits": logits, "meta": meta}, sys.argv[4])
    elif mode == "fit":
        print(fit(sys.argv[2], torch.load(sys.argv[3]), int(sys.argv[4])))


if __name__ == "__main__":
    main()
