"""Models a user writes in Python, scripted for kdpipe's tests of TorchScript students.

  scripted_models.py save DIR             writes DIR/cnn.pt (BatchNorm, a residual block,
                                          dropout), DIR/mlp.pt (LayerNorm), and three modules
                                          kdpipe cannot train: noparams.pt, tuple.pt, flat.pt
  scripted_models.py grad MODEL IN OUT    one training batch of IN (x, y, seed) through MODEL in
                                          train mode: writes OUT {loss, grads by parameter name}
  scripted_models.py logits MODEL IN OUT  MODEL (as kdpipe saved it, loaded with nothing from
                                          kdpipe) in eval mode on IN's x: OUT {logits, meta}
"""
import sys

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

    def forward(self, x):
        x = self.block(F.relu(self.bn(self.stem(x))))
        x = F.adaptive_avg_pool2d(x, 1).flatten(1)
        return self.head(self.drop(x))


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


class FlatInput(nn.Module):
    """Takes [B, 784] rows, not images: the wrong input rank for image data."""

    def __init__(self):
        super().__init__()
        self.head = nn.Linear(784, 10)

    def forward(self, x):
        return self.head(x)


def main():
    mode = sys.argv[1]
    if mode == "save":
        torch.manual_seed(0)
        torch.jit.script(SmallCnn()).save(sys.argv[2] + "/cnn.pt")
        torch.jit.script(LnMlp()).save(sys.argv[2] + "/mlp.pt")
        torch.jit.script(NoParameters()).save(sys.argv[2] + "/noparams.pt")
        torch.jit.script(TwoOutputs()).save(sys.argv[2] + "/tuple.pt")
        torch.jit.script(FlatInput()).save(sys.argv[2] + "/flat.pt")
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


if __name__ == "__main__":
    main()
