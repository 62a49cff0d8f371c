"""Tracker parity with the original code on real frames, targets crossing the image border included.

Each ``tests/data/real_parity/<experiment>__<clip>.npz`` holds what the original
implementation (the DaSiamRPN release under Python 2 semantics, or PySOT) reported
on the frames of ``clips/<clip>`` with the synthetic parity weights; see the README there.
The raw box (``state["raw_bbox"]``) must match within 0.05 px, the score within 1e-4.
"""
from __future__ import annotations

import glob
import os

import numpy as np
import pytest

from conftest import SHARED
from tracker_helpers import REPO, dasiamrpn_cfg_and_model

BOX_TOL = 0.05
SCORE_TOL = 1e-4
REAL_PARITY = os.path.join(REPO, "tests", "data", "real_parity")


def _load_reference(path):
    with np.load(path) as d:
        return {k: d[k] for k in d.files}


def _clip_frames(folder):
    import cv2

    return [cv2.imread(p) for p in sorted(glob.glob(os.path.join(folder, "*.jpg")))]


def _check(tracker, frames, ref, where):
    """Init on frame 0 with ``ref["init"]``, then every frame against ``ref["boxes"]``/``ref["scores"]``."""
    tracker.init(frames[0], ref["init"])
    for i in range(1, len(ref["boxes"])):
        out = tracker.track(frames[i])
        err = np.abs(np.asarray(out["raw_bbox"]) - ref["boxes"][i]).max()
        assert err <= BOX_TOL, f"{where} frame {i}: raw box {out['raw_bbox']} vs {ref['boxes'][i]} (err {err:.4f})"
        score_err = abs(out["best_score"] - ref["scores"][i])
        assert score_err <= SCORE_TOL, f"{where} frame {i}: score {out['best_score']} vs {ref['scores'][i]}"


def _dasiamrpn_tracker(experiment):
    from pysot.tracker import build_tracker

    # The box is compared raw; the displayed one stays clipped.
    cfg, model, _ = dasiamrpn_cfg_and_model(experiment, ["TRACK.CLIP_BOX_TO_IMAGE", "True"])
    return build_tracker(cfg, model)


def test_dasiamrpn_book_first_frames():
    """The search crop sticks out of the top of ``book`` from frame 1 on: the release rounds the
    window origin half away from zero (Python 2), PySOT half up."""
    ref = _load_reference(os.path.join(REAL_PARITY, "dasiamrpn_vot__book_first4.npz"))
    frames = _clip_frames(os.path.join(REAL_PARITY, "clips", "book_first4"))
    _check(_dasiamrpn_tracker("dasiamrpn_vot"), frames, ref, "dasiamrpn_vot book")


@pytest.mark.slow
def test_dasiamrpn_book_whole_sequence():
    """All 175 frames of VOT ``book`` against ``../shared/parity/real/dasiamrpn_vot__book.npz`` (~1 min)."""
    path = os.path.join(SHARED, "parity", "real", "dasiamrpn_vot__book.npz")
    folder = os.path.join(SHARED, "data", "sequences", "VOT", "book", "color")
    if not (os.path.isfile(path) and os.path.isdir(folder)):
        pytest.skip("../shared/parity/real or ../shared/data/sequences/VOT/book is not present")
    _check(_dasiamrpn_tracker("dasiamrpn_vot"), _clip_frames(folder), _load_reference(path), "dasiamrpn_vot book")
