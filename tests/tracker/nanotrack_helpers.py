"""Shared helpers of the NanoTrack tests: the released weights, real sequences, reference runs."""
from __future__ import annotations

import glob
import os
from typing import List, Optional, Tuple

import numpy as np
import pytest

from shared_paths import REPO, SHARED
WEIGHTS = os.path.join(SHARED, "weights", "nanotrack")
SEQUENCES = os.path.join(SHARED, "data", "sequences")
# the four real sequences of ../shared/data/sequences (name -> folder)
REAL_SEQUENCES = {"bag": "VOT/bag", "ball1": "VOT/ball1", "book": "VOT/book", "Biker": "OTB/Biker"}


def require(path: str) -> str:
    """``path``, or skip the test where the shared material is absent."""
    if not os.path.exists(path):
        pytest.skip(f"{path} is not present")
    return path


def nanotrack_tracker(version: int, opts: Tuple[str, ...] = ("TRACK.CLIP_BOX_TO_IMAGE", "False"),
                      fast: Optional[bool] = None):
    """(cfg, tracker) of our experiment with the released snapshot, on the CPU (``fast``: as
    :func:`~pysot.tracker.build_tracker`; the default is the fast path)."""
    from pysot.config import load_cfg
    from pysot.models import build_model
    from pysot.tracker import build_tracker
    from pysot.utils.model_load import load_pretrain

    weights = require(os.path.join(WEIGHTS, f"nanotrackv{version}.pth"))
    cfg = load_cfg(os.path.join(REPO, "experiments", f"nanotrack_v{version}", "config.yaml"), list(opts))
    model = build_model(cfg).eval()
    load_pretrain(model, weights, strict=True)
    return cfg, build_tracker(cfg, model, fast=fast)


def sequence_frames(name: str) -> List[np.ndarray]:
    """BGR frames of one of :data:`REAL_SEQUENCES` (skips when ../shared is absent)."""
    import cv2

    folder = require(os.path.join(SEQUENCES, REAL_SEQUENCES[name]))
    files = []
    for pattern in ("img/*.jpg", "color/*.jpg", "*.jpg"):  # OTB, VOT, flat (VOT bag)
        files = files or sorted(glob.glob(os.path.join(folder, pattern)))
    return [cv2.imread(f) for f in files]


def reference(version: int, name: str):
    """The original code's run: ../shared/parity/real (V2 bag/book) or tests/data/nanotrack (built here)."""
    shared = os.path.join(SHARED, "parity", "real", f"nanotrack_v{version}__{name}.npz")
    if os.path.isfile(shared):
        return np.load(shared)
    return np.load(os.path.join(REPO, "tests", "data", "nanotrack", f"nanotrack_v{version}__{name}.npz"))
