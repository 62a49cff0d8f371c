"""SiamFC: the scale pyramid, the displacement mapping, and runs of the real model."""
from __future__ import annotations

import os

import numpy as np
import pytest
import torch

from parity import load_video
from pysot.tracker import SiamFCTracker
from tracker_helpers import REPO, ScriptedSiamFC, assert_box_sane, load_sequence, run_tracker


def _peak_maps(batch, peak_row=8, peak_col=8, heights=None):
    maps = np.zeros((batch, 17, 17), np.float32)
    for b in range(batch):
        maps[b, peak_row, peak_col] = 1.0 if heights is None else heights[b]
    return maps


def _frame():
    return np.random.default_rng(1).integers(0, 255, (240, 320, 3), dtype=np.uint8)


def test_scale_factors_and_batched_search():
    model = ScriptedSiamFC(lambda frame, b: _peak_maps(b))
    tracker = SiamFCTracker(model)
    assert tracker.scale_factors == pytest.approx([1 / 1.0375, 1.0, 1.0375])
    tracker.init(_frame(), [100, 80, 40, 30])
    assert model.template_batch == 3  # one exemplar per scale, so the batches pair up
    out = tracker.track(_frame())
    assert model.search_shapes == [(3, 3, 255, 255)]
    # A centred peak of equal height at every scale: the penalty keeps the middle scale.
    assert out["scale"] == 1.0
    assert tracker.size == pytest.approx([40, 30])
    # 272 upsampled pixels have no centre pixel: a centred peak moves the target by
    # at most half an upsampled pixel (0.5 * 8 / 16 crop px).
    half_pixel = 0.5 * 8 / 16 * np.sqrt((40 + 35) * (30 + 35)) / 127
    assert tracker.center_pos == pytest.approx([119.5, 94.5], abs=half_pixel + 1e-9)


@pytest.mark.parametrize("winner, expected", [(0, 1 / 1.0375), (2, 1.0375)])
def test_scale_pyramid_chooses_the_strongest_scale_with_damping(winner, expected):
    heights = [1.0, 1.0, 1.0]
    heights[winner] = 1.1  # beats the 0.9745 penalty
    model = ScriptedSiamFC(lambda frame, b: _peak_maps(b, heights=heights))
    tracker = SiamFCTracker(model)
    tracker.init(_frame(), [100, 80, 40, 30])
    out = tracker.track(_frame())
    assert out["scale"] == pytest.approx(expected)
    damped = (1 - 0.59) + 0.59 * expected
    assert tracker.size == pytest.approx([40 * damped, 30 * damped])
    # A peak just 2% above the others loses to the penalty.
    heights[winner] = 1.02
    tracker.init(_frame(), [100, 80, 40, 30])
    assert tracker.track(_frame())["scale"] == 1.0


def test_displacement_follows_peak_through_stride_and_upsampling():
    # Peak one cell right of centre on every scale: 8 px in the 255 crop, i.e. 8 * s_x / 255 in the image.
    model = ScriptedSiamFC(lambda frame, b: _peak_maps(b, peak_col=9))
    tracker = SiamFCTracker(model, window_influence=0.0)
    tracker.init(_frame(), [100, 80, 40, 30])
    s_x = np.sqrt((40 + 35) * (30 + 35)) * 255 / 127
    tracker.track(_frame())
    # Bicubic upsampling puts the maximum within one upsampled pixel of the cell centre.
    assert abs(tracker.center_pos[0] - (119.5 + 8 * s_x / 255)) <= 1.0 * s_x / 255
    assert tracker.center_pos[1] == pytest.approx(94.5, abs=0.5 * s_x / 255)


def test_flat_response_is_finite():
    model = ScriptedSiamFC(lambda frame, b: np.zeros((b, 17, 17), np.float32))
    tracker = SiamFCTracker(model)
    tracker.init(_frame(), [100, 80, 40, 30])
    out = tracker.track(_frame())
    assert_box_sane(out["bbox"], (240, 320))
    assert out["best_score"] == pytest.approx(0.5)


def _siamfc_real():
    from pysot.config import load_cfg
    from pysot.models import build_model
    from pysot.tracker import build_tracker

    cfg = load_cfg(os.path.join(REPO, "experiments", "siamfc_alex", "config.yaml"))
    torch.manual_seed(0)
    model = build_model(cfg).eval()
    return cfg, build_tracker(cfg, model)


def test_siamfc_yaml_sets_the_published_values():
    cfg, tracker = _siamfc_real()
    assert isinstance(tracker, SiamFCTracker)
    got = (tracker.exemplar_size, tracker.instance_size, tracker.scale_num, tracker.scale_step, tracker.scale_penalty,
           tracker.scale_lr, tracker.window_influence, tracker.response_up, tracker.total_stride, tracker.context_amount)
    assert got == (127, 255, 3, 1.0375, 0.9745, 0.59, 0.176, 16, 8, 0.5)


@pytest.mark.parametrize("source", ["synthetic", "ball1"])
def test_siamfc_real_model_runs(source):
    _, tracker = _siamfc_real()
    if source == "synthetic":
        frames, gt = load_video()
        frames = list(frames[:10])
    else:
        frames, gt = load_sequence("ball1")
    outputs = run_tracker(tracker, frames, gt[0])
    for out in outputs:
        assert_box_sane(out["bbox"], frames[0].shape)
        assert 0.0 <= out["best_score"] <= 1.0
        assert np.isclose(tracker.scale_factors, out["scale"]).sum() == 1
