"""Shared helpers of the VitTrack tests: the original code's reference outputs and their synthetic weights."""
from __future__ import annotations

import json
import os

import numpy as np
import torch

from parity import synthetic_tensor
from shared_paths import REPO

FIXTURE = os.path.join(REPO, "tests", "data", "vittrack", "original_synthetic.npz")
CONFIG = os.path.join(REPO, "experiments", "vittrack", "config.yaml")


def load_reference() -> dict:
    """The original VitTracker's outputs (tests/data/vittrack/README.md), JSON entries decoded."""
    with np.load(FIXTURE) as d:
        out = {k: d[k] for k in d.files}
    out["manifest"] = json.loads(str(out["manifest"]))
    out["adjust"] = json.loads(str(out["adjust"]))
    return out


def reference_inputs():
    """The network inputs the reference was run on: ``z [1, 3, 128, 128]``, ``x [1, 3, 256, 256]``."""
    rng = np.random.default_rng(20)
    z = rng.standard_normal((1, 3, 128, 128)).astype(np.float32)
    x = rng.standard_normal((1, 3, 256, 256)).astype(np.float32)
    return torch.from_numpy(z), torch.from_numpy(x)


def original_synthetic_state_dict(ref: dict) -> dict:
    """The reference's weights under the original's keys: the parity rule, then ``adjust``
    (added to a bias, multiplied into a weight)."""
    state = {}
    for name, shape in ref["manifest"]:
        t = synthetic_tensor(name, shape)
        if name in ref["adjust"]:
            value = np.float32(ref["adjust"][name])
            t = t + value if name.endswith("bias") else t * value
        state[name] = torch.from_numpy(np.array(t, copy=True))
    return state


def synthetic_model(opts=()):
    """(cfg, model) of experiments/vittrack with the reference's weights, eval mode, CPU."""
    from pysot.config import load_cfg
    from pysot.models import build_model
    from pysot.models.one_stream import from_original_state_dict

    cfg = load_cfg(CONFIG, list(opts))
    model = build_model(cfg).eval()
    model.load_state_dict(from_original_state_dict(original_synthetic_state_dict(load_reference())), strict=True)
    return cfg, model
