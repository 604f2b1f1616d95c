"""Reads a kdpipe logit cache with h5py, as a Python user would, and prints what it found as JSON.

Usage: read_cache.py CACHE.h5
"""
import json
import sys

import h5py
import numpy as np

with h5py.File(sys.argv[1], "r") as f:
    logits = f["logits"][...]
    labels = f["labels"][...]
    attrs = {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in f.attrs.items()}
    attrs = {k: (v.item() if isinstance(v, np.generic) else v) for k, v in attrs.items()}
    probs = {name: f["probs"][name][...] for name in f["probs"]}
    t = attrs["temperatures"][-1]
    z = logits.astype(np.float64) / t
    softmax = np.exp(z - z.max(axis=2, keepdims=True))
    softmax /= softmax.sum(axis=2, keepdims=True)
    print(json.dumps({
        "attrs": attrs,
        "logits_shape": list(logits.shape),
        "logits_dtype": str(logits.dtype),
        "logits_sum": float(logits.astype(np.float64).sum()),
        "logits_first": logits[0, 0].astype(np.float64).tolist(),
        "labels": labels.tolist(),
        "labels_dtype": str(labels.dtype),
        "probs": sorted(probs),
        "probs_last_error": float(np.abs(probs[sorted(probs)[-1]] - softmax).max()),
    }))
