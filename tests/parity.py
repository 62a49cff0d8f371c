"""Parity fixtures (copied from the original PySOT / DaSiamRPN runs into tests/data/parity).

``synthetic_state_dict`` rebuilds the fixtures' weights by the rule in
tests/data/parity/README.md, keyed by the fixture's manifest names.
"""
from __future__ import annotations

import json
import os
import zlib
from typing import Dict

import numpy as np
import torch

PARITY_DIR = os.path.join(os.path.dirname(__file__), "data", "parity")
PYSOT_FIXTURES = [
    "siamrpn_alex_dwxcorr",
    "siamrpn_r50_l234_dwxcorr",
    "siamrpn_r50_l234_dwxcorr_otb",
    "siamrpn_mobilev2_l234_dwxcorr",
    "siamrpn_r50_l234_dwxcorr_lt",
    "siammask_r50_l3",
]
DASIAMRPN_FIXTURES = ["dasiamrpn_vot", "dasiamrpn_big"]


def load_fixture(name: str) -> Dict[str, object]:
    """All arrays of ``<name>.npz``; JSON/text entries decoded (config stays text)."""
    with np.load(os.path.join(PARITY_DIR, name + ".npz")) as d:
        out = {k: d[k] for k in d.files}
    for key in ("manifest", "factors", "tracker_params"):
        if key in out:
            out[key] = json.loads(str(out[key]))
    if "config" in out:
        out["config"] = str(out["config"])
    return out


def load_video():
    with np.load(os.path.join(PARITY_DIR, "video.npz")) as d:
        return d["frames"], d["gt"]


def synthetic_tensor(name: str, shape) -> np.ndarray:
    shape = tuple(int(s) for s in shape)
    rng = np.random.default_rng(zlib.crc32(name.encode("utf-8")))
    if name.endswith("num_batches_tracked"):
        return np.zeros(shape, dtype=np.int64)
    if name.endswith("running_mean"):
        v = 0.1 * rng.standard_normal(shape)
    elif name.endswith("running_var"):
        v = 0.5 + rng.random(shape)
    elif len(shape) == 1 and name.endswith("weight"):
        v = 1.0 + 0.1 * rng.standard_normal(shape)
    elif name.endswith("bias") or len(shape) <= 1:
        v = 0.05 * rng.standard_normal(shape)
    else:
        v = rng.standard_normal(shape) * np.sqrt(1.0 / np.prod(shape[1:]))
    return v.astype(np.float32)


def synthetic_state_dict(manifest, factors) -> Dict[str, torch.Tensor]:
    sd = {}
    for name, shape in manifest:
        t = synthetic_tensor(name, shape)
        if name in factors:
            t = t * np.float32(factors[name])
        # np.array keeps 0-d shapes (num_batches_tracked); ascontiguousarray would make them 1-d.
        sd[name] = torch.from_numpy(np.array(t, copy=True))
    return sd


def within(a, b, rel=1e-3) -> float:
    """Max abs difference divided by the fixture's tolerance (<= 1 passes)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    tol = rel * max(1.0, float(np.abs(b).max()))
    return float(np.abs(a - b).max()) / tol
