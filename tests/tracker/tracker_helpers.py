"""Shared helpers of the tracker tests: models built from the parity fixtures' configs and weights."""
from __future__ import annotations

import os
import tempfile
from typing import Dict, Optional, Tuple

import numpy as np

from parity import load_fixture, synthetic_state_dict

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SEQUENCES = os.path.join(REPO, "tests", "data", "sequences")


def cfg_from_text(text: str, opts: Optional[list] = None):
    """A config node from YAML text (merged through the real loader, so its checks apply)."""
    from pysot.config import load_cfg

    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
        f.write(text)
        path = f.name
    try:
        return load_cfg(path, opts)
    finally:
        os.remove(path)


def fixture_cfg_and_model(name: str, opts: Optional[list] = None) -> Tuple[object, object, Dict[str, object]]:
    """(cfg, model with the fixture's synthetic weights, fixture) for a PySOT parity fixture."""
    from pysot.models import build_model

    fx = load_fixture(name)
    # The fixtures record the original's raw boxes, which may stick out of the frame.
    cfg = cfg_from_text(fx["config"], ["TRACK.CLIP_BOX_TO_IMAGE", "False"] + list(opts or []))
    cfg.CUDA = False
    model = build_model(cfg).eval()
    model.load_state_dict(synthetic_state_dict(fx["manifest"], fx["factors"]), strict=True)
    return cfg, model, fx


def dasiamrpn_cfg_and_model(name: str, opts: Optional[list] = None, weights: Optional[str] = None):
    """(cfg, model, fixture) for a DaSiamRPN fixture: our experiment YAML + converted release weights.

    ``weights``: the fixture whose synthetic weights to load, when it is not ``name``
    (SiamRPNotb has SiamRPNvot's layout and parameter names, and no fixture of its own).
    """
    from pysot.config import load_cfg
    from pysot.models import build_model
    from pysot.models.convert import convert_dasiamrpn

    fx = load_fixture(weights or name)
    cfg = load_cfg(os.path.join(REPO, "experiments", name, "config.yaml"),
                   ["TRACK.CLIP_BOX_TO_IMAGE", "False"] + list(opts or []))
    cfg.CUDA = False
    model = build_model(cfg).eval()
    model.load_state_dict(convert_dasiamrpn(synthetic_state_dict(fx["manifest"], fx["factors"])), strict=True)
    return cfg, model, fx


def load_sequence(name: str) -> Tuple[list, np.ndarray]:
    """Frames (BGR uint8) and ``[N, 4]`` xywh ground truth of ``tests/data/sequences/<name>``."""
    import cv2

    folder = os.path.join(SEQUENCES, name)
    names = sorted(n for n in os.listdir(folder) if n.endswith(".jpg"))
    frames = [cv2.imread(os.path.join(folder, n)) for n in names]
    gt = np.loadtxt(os.path.join(folder, "groundtruth.txt"), delimiter=",").reshape(-1, 4)
    return frames, gt


def run_tracker(tracker, frames, init_box, limit: Optional[int] = None):
    """Init on frame 0, track the rest; returns the list of outputs (frame 1 onwards)."""
    tracker.init(frames[0], init_box)
    n = len(frames) if limit is None else min(limit, len(frames))
    return [tracker.track(frames[i]) for i in range(1, n)]


def assert_box_sane(box, image_shape) -> None:
    """Finite, non-negative size, inside the image."""
    h, w = image_shape[:2]
    box = np.asarray(box, dtype=np.float64)
    assert box.shape == (4,) and np.all(np.isfinite(box)), box
    assert box[2] >= 0 and box[3] >= 0, box
    assert box[0] >= 0 and box[1] >= 0 and box[0] + box[2] <= w + 1e-9 and box[1] + box[3] <= h + 1e-9, box


# ---------------------------------------------------------------- scripted models
def _logit(p: float) -> float:
    p = min(max(p, 1e-7), 1 - 1e-7)
    return float(np.log(p / (1 - p)))


class ScriptedRPN:
    """A stand-in RPN model whose outputs follow a script, for testing tracker logic.

    ``peaks(frame, is_target, score_size)`` returns a list of
    ``(anchor, row, col, score, (dx, dy, dw, dh))``; every other anchor scores
    ~0. ``frame`` counts searches under the target's template (1 = first
    tracked frame); ``is_target`` is False while a distractor's exemplar is
    the template. ``search_sizes`` records the crop side of each frame.
    """

    def __init__(self, peaks, anchor_num: int = 5, exemplar_size: int = 127, stride: int = 8, base_size: int = 8):
        import torch

        self.peaks = peaks
        self.anchor_num = anchor_num
        self.exemplar_size = exemplar_size
        self.stride = stride
        self.base_size = base_size
        self.weight = torch.nn.Parameter(torch.zeros(1))
        self.search_sizes = []
        self.target_template = None
        self.is_target = True
        self.frame = 0
        self.distractor_templates = 0

    def parameters(self):
        return iter([self.weight])

    def eval(self):
        return self

    def template(self, z):
        import torch

        if self.target_template is None:
            self.target_template = z.clone()
        self.is_target = bool(torch.equal(z, self.target_template))
        self.distractor_templates += 0 if self.is_target else 1

    def track(self, x):
        import torch

        size = x.shape[-1]
        n = (size - self.exemplar_size) // self.stride + 1 + self.base_size
        a = self.anchor_num
        cls = torch.zeros(1, 2 * a, n, n)
        cls[:, a:] = -20.0  # background everywhere unless scripted
        loc = torch.zeros(1, 4 * a, n, n)
        if self.is_target:
            self.frame += 1
            self.search_sizes.append(size)
        for anchor, row, col, score, deltas in self.peaks(self.frame, self.is_target, n):
            cls[0, a + anchor, row, col] = _logit(score)
            for k in range(4):
                loc[0, k * a + anchor, row, col] = deltas[k]
        return {"cls": cls, "loc": loc, "mask": None}


class ScriptedSiamFC:
    """Stand-in SiamFC model: ``responses(frame_index, batch)`` gives ``[B, 17, 17]`` maps."""

    def __init__(self, responses):
        import torch

        self.responses = responses
        self.weight = torch.nn.Parameter(torch.zeros(1))
        self.frame = 0
        self.template_batch = None
        self.search_shapes = []

    def parameters(self):
        return iter([self.weight])

    def eval(self):
        return self

    def template(self, z):
        self.template_batch = z.shape[0]

    def track(self, x):
        import torch

        self.frame += 1
        self.search_shapes.append(tuple(x.shape))
        maps = np.asarray(self.responses(self.frame, x.shape[0]), dtype=np.float32)
        return {"cls": torch.from_numpy(maps[:, None]), "loc": None, "mask": None}
