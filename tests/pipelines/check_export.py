"""Loads a kdpipe export with torch.jit.load (Debian's python3-torch) and compares its logits.

usage: check_export.py MODEL.pt PIXELS.bin LOGITS.bin C H W CLASSES
PIXELS.bin holds uint8 [B, C, H, W] images; LOGITS.bin float32 [B, CLASSES], kdpipe's logits for
them. Prints the largest difference of classify(pixels) and of forward(preprocess(pixels)) as JSON.
"""
import json
import sys

import numpy as np
import torch


def main(model, pixels, logits, c, h, w, classes):
    c, h, w, classes = int(c), int(h), int(w), int(classes)
    images = torch.from_numpy(np.fromfile(pixels, np.uint8).reshape(-1, c, h, w).copy())
    want = torch.from_numpy(np.fromfile(logits, np.float32).reshape(-1, classes).copy())
    extra = {"kdpipe.json": ""}
    m = torch.jit.load(model, _extra_files=extra)
    described = json.loads(extra["kdpipe.json"])
    with torch.no_grad():
        classified = m.classify(images)
        x = (images.float() / 255.0 - torch.tensor(m.mean).view(1, -1, 1, 1)) / torch.tensor(
            m.std).view(1, -1, 1, 1)
        forwarded = m(x)
    print(json.dumps({
        "classify_max_diff": float((classified - want).abs().max()),
        "forward_max_diff": float((forwarded - want).abs().max()),
        "class_names": list(m.class_names),
        "input_shape": list(m.input_shape),
        "described_arch": described["arch"],
    }))


if __name__ == "__main__":
    main(*sys.argv[1:])
