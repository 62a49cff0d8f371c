"""The embedded default model (``pysot.data.DEFAULT_MODEL``: NanoTrack V2's released weights) is a
real tracker: it follows the real VOT ``bag`` sequence, and its tensors are the upstream file's."""
import os

import numpy as np
import pytest
import torch

from shared_paths import SHARED
from pysot.utils.bbox import polygon_to_xywh_axis_aligned
from toolkit.utils.region import iou_xywh

BAG = os.path.join(SHARED, "data", "sequences", "VOT", "bag")
UPSTREAM = os.path.join(SHARED, "weights", "nanotrack", "nanotrackv2.pth")


def require(path):
    if not os.path.exists(path):
        pytest.skip(f"needs {path} (../shared)")
    return path


def bag_ground_truth(path):
    """VOT polygons as boxes: the axis-aligned box of equal area around the polygon's centre
    (``polygon_to_xywh_axis_aligned``, as PySOT's ``get_axis_aligned_bbox``), 0-based x, y, w, h."""
    boxes = []
    for row in np.loadtxt(path, delimiter=","):
        cx, cy, w, h = polygon_to_xywh_axis_aligned(row)
        boxes.append([cx - (w - 1) / 2, cy - (h - 1) / 2, w, h])
    return np.array(boxes)


def default_tracker():
    from pysot.config import load_cfg_from_checkpoint
    from pysot.data import DEFAULT_MODEL
    from pysot.models import build_model
    from pysot.tracker import build_tracker
    from pysot.utils.model_load import load_pretrain

    cfg = load_cfg_from_checkpoint(DEFAULT_MODEL)
    model = build_model(cfg).eval()
    load_pretrain(model, DEFAULT_MODEL, strict=True)
    return build_tracker(cfg, model)


def test_default_model_tracks_the_real_bag():
    from pysot.io.video import open_frames, track_video

    gt = bag_ground_truth(require(os.path.join(BAG, "groundtruth.txt")))
    run = track_video(default_tracker(), open_frames(BAG), list(gt[0]), show=False)
    boxes = np.array([r["bbox"] for r in run.results])
    assert len(boxes) == len(gt) == 196
    overlap = iou_xywh(gt[1:], boxes[1:])
    assert overlap.mean() >= 0.8, overlap.mean()  # measured 0.84; the tiny smoke-test model: 0.05


def test_default_model_is_the_upstream_release():
    from pysot.data import DEFAULT_MODEL
    from pysot.utils.checkpoint import load_checkpoint

    ours = load_checkpoint(DEFAULT_MODEL)
    upstream = load_checkpoint(require(UPSTREAM))["state_dict"]
    assert set(ours) == {"state_dict", "config"}
    assert list(ours["state_dict"]) == list(upstream)
    for key, value in upstream.items():
        assert torch.equal(ours["state_dict"][key], value), key


def test_shipped_files_carry_their_licence_and_origin():
    from pysot.data import DATA_DIR, DEFAULT_MODEL, TINY_MODEL

    assert os.path.isfile(DEFAULT_MODEL) and os.path.isfile(TINY_MODEL)
    notice = open(os.path.join(DATA_DIR, "NOTICE"), encoding="utf-8").read()
    assert "NanoTrack" in notice and "HonglinChu/SiamTrackers" in notice and "Apache License" in notice
    assert "Apache License" in open(os.path.join(DATA_DIR, "LICENSE"), encoding="utf-8").read()
    readme = open(os.path.join(DATA_DIR, "README.md"), encoding="utf-8").read()
    assert "938a320c560fd8c8d6a148a76a072bca29c529ce16591c9a2157859ee0ecc5e1" in readme  # upstream sha256
