"""Helpers for the training-parity fixtures of tests/data/training_parity (what the original PySOT
training code computes; README there).

Large tensors are stored as their norm and their values at fixed flat positions; ``compare`` checks a
tensor of ours against both.
"""
from __future__ import annotations

import os
import sys
import zlib
from typing import Dict

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from parity import synthetic_state_dict  # noqa: E402
from pysot.config import get_cfg  # noqa: E402
from pysot.models import build_model  # noqa: E402

TP_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "data", "training_parity")
DATA_DIR = os.path.join(TP_DIR, "data")


def load(name: str) -> Dict[str, np.ndarray]:
    with np.load(os.path.join(TP_DIR, name + ".npz")) as d:
        return {k: d[k] for k in d.files}


def config(which: str = "alex"):
    """The original experiment YAML stored in configs.npz, merged onto our defaults."""
    cfg = get_cfg()
    cfg.merge_from_other_cfg(cfg.load_cfg(str(load("configs")[which])))
    return cfg


def positions(name: str, n: int) -> np.ndarray:
    if n <= 4096:
        return np.arange(n)
    return np.sort(np.random.default_rng(zlib.crc32(name.encode())).choice(n, 4096, replace=False))


def compare(fixture: Dict[str, np.ndarray], prefix: str, name: str, value, rel: float = 1e-5,
            scale: float = 0.0) -> float:
    """Largest error of ``value`` against ``<prefix>_norm/<name>`` and ``<prefix>_val/<name>``, in units
    of the tolerance (``rel`` times the larger of the reference's largest magnitude and ``scale``;
    for the norm, of its norm and ``scale``): <= 1 passes.

    ``scale`` is the largest gradient of the whole model for gradients: the bias of a convolution
    followed by training-mode BatchNorm has a gradient that is 0 up to float noise (1e-8), which
    no implementation reproduces "relatively"."""
    v = np.asarray(value.detach().cpu() if isinstance(value, torch.Tensor) else value, dtype=np.float64).ravel()
    ref_norm = float(fixture[f"{prefix}_norm/{name}"])
    ref_val = np.asarray(fixture[f"{prefix}_val/{name}"], dtype=np.float64)
    got = v[positions(name, v.size)]
    err_val = np.abs(got - ref_val).max() / (rel * max(np.abs(ref_val).max(), scale, 1e-12))
    err_norm = abs(np.linalg.norm(v) - ref_norm) / (rel * max(ref_norm, scale, 1e-12))
    return float(max(err_val, err_norm))


def synthetic_model(cfg):
    """The model of ``cfg`` with every weight set by the fixtures' synthetic rule (no factors)."""
    model = build_model(cfg)
    manifest = [(k, tuple(v.shape)) for k, v in model.state_dict().items()]
    model.load_state_dict(synthetic_state_dict(manifest, {}), strict=True)
    return model


def batch(fixture: Dict[str, np.ndarray]) -> Dict[str, torch.Tensor]:
    keys = ("template", "search", "label_cls", "label_loc", "label_loc_weight")
    return {k: torch.from_numpy(np.array(fixture[f"batch_{k}"])) for k in keys}


def read_scalars(logdir: str) -> Dict[str, list]:
    """``{tag: [(step, value), ...]}`` from the TensorBoard event files tensorboardX wrote in ``logdir``
    (TFRecord framing: length u64, crc u32, payload, crc u32)."""
    import glob
    import struct

    from tensorboardX.proto import event_pb2

    out: Dict[str, list] = {}
    for path in sorted(glob.glob(os.path.join(logdir, "events.out.tfevents.*"))):
        with open(path, "rb") as f:
            data = f.read()
        pos = 0
        while pos + 12 <= len(data):
            n = struct.unpack("<Q", data[pos:pos + 8])[0]
            pos += 12
            event = event_pb2.Event()
            event.ParseFromString(data[pos:pos + n])
            pos += n + 4
            for v in event.summary.value:
                out.setdefault(v.tag, []).append((event.step, v.simple_value))
    return out
