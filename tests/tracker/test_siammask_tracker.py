"""SiamMask: mask placement, polygon, fallbacks (scripted model); parity is in test_tracker_parity.py."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from pysot.tracker import SiamMaskTracker
from tracker_helpers import ScriptedRPN, assert_box_sane


class ScriptedMaskModel(ScriptedRPN):
    """Best anchor at the map centre; its refined mask is a centred square of half the window's side."""

    def __init__(self, fill: float = 20.0):
        super().__init__(lambda f, t, n: [(2, n // 2, n // 2, 0.9, (0, 0, 0, 0))])
        self.fill = fill
        self.asked = []

    def mask_refine(self, pos):
        self.asked.append(pos)
        logits = torch.full((127, 127), -20.0)
        logits[32:95, 32:95] = self.fill
        return logits.reshape(1, -1)


def _frame():
    return np.random.default_rng(2).integers(0, 255, (240, 320, 3), dtype=np.uint8)


def test_mask_lands_on_the_target_and_polygon_follows():
    model = ScriptedMaskModel()
    tracker = SiamMaskTracker(model, mask_threshold=0.15)
    tracker.init(_frame(), [140, 100, 40, 40])
    out = tracker.track(_frame())
    assert model.asked == [(12, 12)]  # (row, col) of the chosen cell on the 25x25 map
    mask = out["mask"]
    assert mask.shape == (240, 320) and mask.dtype == np.float32 and 0 <= mask.min() and mask.max() <= 1
    ys, xs = np.nonzero(mask > 0.5)
    # The exemplar window is s_z = 80 image px around the centre (159.5, 119.5); half of it is on.
    assert xs.mean() == pytest.approx(159.5, abs=1.5) and ys.mean() == pytest.approx(119.5, abs=1.5)
    assert xs.max() - xs.min() == pytest.approx(40, abs=3)
    poly = np.asarray(out["polygon"]).reshape(4, 2)
    assert poly[:, 0].min() == pytest.approx(xs.min(), abs=1.5) and poly[:, 1].max() == pytest.approx(ys.max(), abs=1.5)
    assert_box_sane(out["bbox"], (240, 320))


def test_empty_mask_falls_back_to_the_box():
    tracker = SiamMaskTracker(ScriptedMaskModel(fill=-20.0))
    tracker.init(_frame(), [140, 100, 40, 40])
    out = tracker.track(_frame())
    x, y, w, h = out["bbox"]
    assert out["polygon"] == pytest.approx([x, y, x + w, y, x + w, y + h, x, y + h])


def test_model_without_refine_head_is_rejected():
    with pytest.raises(ValueError, match="REFINE"):
        SiamMaskTracker(ScriptedRPN(lambda f, t, n: []))
