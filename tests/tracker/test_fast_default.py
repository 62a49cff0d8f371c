"""build_tracker uses the exact fast path by default on the CPU; a switch turns it off."""
import os

import numpy as np
import pytest
import torch

from pysot.config import load_cfg
from pysot.datasets.synthetic import render_clip
from pysot.models import build_model
from pysot.models.fast import FastModel
from pysot.tracker import build_tracker
from pysot.utils.model_load import load_pretrain

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TINY = os.path.join(REPO, "experiments", "siamrpn_alex_tiny", "config.yaml")


@pytest.fixture(scope="module")
def tiny():
    cfg = load_cfg(TINY)
    model = load_pretrain(build_model(cfg), os.path.join(REPO, "pysot", "data", "siamrpn_alex_tiny.pth")).eval()
    return cfg, model


def test_default_is_the_fast_path_and_switches_turn_it_off(tiny):
    cfg, model = tiny
    assert isinstance(build_tracker(cfg, model).model, FastModel)
    assert build_tracker(cfg, model, fast=False).model is model
    off = load_cfg(TINY, ["TRACK.FAST", "False"])
    assert build_tracker(off, model).model is model
    assert isinstance(build_tracker(off, model, fast=True).model, FastModel)  # the argument beats the config


def test_not_applied_where_exactness_is_not_established(tiny):
    cfg, model = tiny
    half = build_model(cfg).eval().to(torch.bfloat16)
    assert build_tracker(cfg, half).model is half
    fast = build_tracker(cfg, model).model
    assert build_tracker(cfg, fast).model is fast  # not wrapped twice


def test_default_tracks_like_the_plain_model(tiny):
    cfg, model = tiny
    frames, gt = render_clip(num_frames=12)
    boxes = {}
    for name, fast in (("plain", False), ("default", None)):
        tracker = build_tracker(cfg, model, fast=fast)
        tracker.init(frames[0], gt[0])
        boxes[name] = np.array([tracker.track(f)["bbox"] for f in frames[1:]])
    np.testing.assert_allclose(boxes["default"], boxes["plain"], atol=0.05)  # the parity tolerance
