"""VitTracker against its two references: the original VitTracker Python tracker (postprocess
"original", tests/data/vittrack) and OpenCV's cv2.TrackerVit running our export (postprocess "opencv")."""
import glob
import os

import cv2
import numpy as np
import pytest

from pysot.tracker import build_tracker
from shared_paths import REPO
from tracker.nanotrack_helpers import REAL_SEQUENCES, SEQUENCES, require
from vittrack_helpers import load_reference, synthetic_model

requires_tracker_vit = pytest.mark.skipif(not hasattr(cv2, "TrackerVit_create"),
                                          reason="this OpenCV build has no cv2.TrackerVit")
FRAMES = 40  # frames of each sequence the reference ran on
# The default run checks the first 15 frames of bag; -m slow all 40 frames of the four sequences.
SEQUENCE_PARAMS = [("bag", 15)] + [pytest.param(n, FRAMES, marks=pytest.mark.slow, id=f"{n}-all")
                                   for n in ("bag", "ball1", "book", "Biker")]


def sequence_frames(name: str, count: int = FRAMES):
    """The first ``count`` BGR frames of a real sequence in ../shared (skips when absent)."""
    folder = require(os.path.join(SEQUENCES, REAL_SEQUENCES[name]))
    files = []
    for pattern in ("img/*.jpg", "color/*.jpg", "*.jpg"):  # OTB, VOT, flat (VOT bag)
        files = files or sorted(glob.glob(os.path.join(folder, pattern)))
    return [cv2.imread(f) for f in files[:count]]


def _track(tracker, frames, init):
    tracker.init(frames[0], list(init))
    boxes, scores, lost = [list(init)], [1.0], [False]
    for frame in frames[1:]:
        out = tracker.track(frame)
        boxes.append(out["raw_bbox"])
        scores.append(out["best_score"])
        lost.append(out["lost"])
    return np.array(boxes), np.array(scores), np.array(lost)


@pytest.mark.parametrize("name, count", SEQUENCE_PARAMS)
def test_original_postprocess_matches_the_original_tracker_on_real_sequences(name, count):
    ref = {k: v[:count] for k, v in load_reference().items() if k.startswith(("boxes_", "scores_"))}
    ref.update({k: v for k, v in load_reference().items() if k.startswith("init_")})
    frames = sequence_frames(name, count)
    cfg, model = synthetic_model(["TRACK.POSTPROCESS", "original"])
    boxes, scores, _ = _track(build_tracker(cfg, model), frames, ref[f"init_{name}"])
    assert boxes.shape == ref[f"boxes_{name}"].shape
    assert np.abs(boxes - ref[f"boxes_{name}"]).max() <= 0.05
    assert np.abs(scores - ref[f"scores_{name}"]).max() <= 1e-4


def run_cv_tracker_vit(net: str, frames, init, threshold: float = 0.2):
    """(boxes ``[N, 4]`` with the init box first, scores, ok flags) of cv2.TrackerVit."""
    params = cv2.TrackerVit_Params()
    params.net = net
    params.tracking_score_threshold = threshold
    tracker = cv2.TrackerVit_create(params)
    tracker.init(frames[0], tuple(int(v) for v in init))
    boxes, scores, ok = [list(int(v) for v in init)], [1.0], [True]
    for frame in frames[1:]:
        found, box = tracker.update(frame)
        boxes.append(list(box) if found else boxes[-1])
        scores.append(tracker.getTrackingScore())
        ok.append(found)
    return np.array(boxes, np.float64), np.array(scores), np.array(ok)


def _export(model, tmp_path):
    pytest.importorskip("onnx")
    from pysot.models.export_vit import export_opencv_vit

    return export_opencv_vit(model, str(tmp_path / "vittrack.onnx"))


def _repo_ball1():
    folder = os.path.join(REPO, "tests", "data", "sequences", "ball1")
    frames = [cv2.imread(f) for f in sorted(glob.glob(os.path.join(folder, "*.jpg")))]
    x, y, w, h = np.loadtxt(os.path.join(folder, "groundtruth.txt"), delimiter=",")[0]
    return frames, [int(x), int(y), int(w), int(h)]


@requires_tracker_vit
def test_opencv_postprocess_matches_cv_tracker_vit_on_repo_frames(tmp_path):
    frames, init = _repo_ball1()
    cfg, model = synthetic_model()
    net = _export(model, tmp_path)
    theirs, their_scores, ok = run_cv_tracker_vit(net, frames, init)
    ours, scores, lost = _track(build_tracker(cfg, model), frames, init)
    assert np.abs(ours - theirs).mean() <= 1.0
    assert np.abs(ours - theirs).max() == 0  # in practice: the same integer boxes
    assert np.abs(scores - their_scores)[1:].max() <= 1e-4
    assert np.array_equal(~lost, ok)


@requires_tracker_vit
@pytest.mark.parametrize("name, count", SEQUENCE_PARAMS)
def test_opencv_postprocess_matches_cv_tracker_vit_on_real_sequences(tmp_path, name, count):
    ref = load_reference()
    frames = sequence_frames(name, count)
    init = [int(v) for v in ref[f"init_{name}"]]
    cfg, model = synthetic_model()
    theirs, _, ok = run_cv_tracker_vit(_export(model, tmp_path), frames, init)
    ours, _, lost = _track(build_tracker(cfg, model), frames, init)
    assert np.abs(ours - theirs).mean() <= 1.0, np.abs(ours - theirs).max(axis=1)
    assert np.array_equal(~lost, ok)


@requires_tracker_vit
def test_lost_frames_are_reported_like_opencv_and_keep_the_box(tmp_path):
    frames, init = _repo_ball1()
    frames = frames[:3] + [np.zeros_like(frames[0])] + frames[3:]  # a black frame, as a dropped camera frame
    cfg, model = synthetic_model(["TRACK.SCORE_THRESHOLD", "0.0"])
    _, scores, _ = _track(build_tracker(cfg, model), frames, init)
    # A threshold between this (untrained) model's lowest scores, so some frames are lost.
    lowest = np.unique(scores[1:])
    threshold = float(lowest[:2].mean())
    cfg, model = synthetic_model(["TRACK.SCORE_THRESHOLD", str(threshold)])
    theirs, _, ok = run_cv_tracker_vit(_export(model, tmp_path), frames, init, threshold=threshold)
    ours, scores, lost = _track(build_tracker(cfg, model), frames, init)
    assert 0 < lost.sum() < len(frames) - 1
    assert np.array_equal(~lost, ok)
    for i in np.flatnonzero(lost):
        assert np.array_equal(ours[i], ours[i - 1])  # a lost frame keeps the last box
        assert scores[i] < threshold
    assert np.abs(ours - theirs).max() == 0


def test_unknown_postprocess_is_refused_naming_the_choices():
    from pysot.tracker.vit_tracker import VitTracker

    _, model = synthetic_model()
    with pytest.raises(ValueError, match="opencv, original"):
        VitTracker(model, postprocess="cpp")


def test_crops_follow_each_reference_at_the_far_border():
    """The original pads one pixel too many on the right/bottom (its last image column becomes zero);
    OpenCV 5.1 does not."""
    from pysot.tracker.vit_tracker import crop_opencv, crop_original

    img = np.full((20, 20, 3), 200, np.uint8)
    original, _ = crop_original(img, [14, 4, 6, 6], 2.0, 12)  # window x 11..23, image ends at 19
    opencv, crop = crop_opencv(img, [14, 4, 6, 6], 2, 12)
    assert crop == 12
    assert (original[6, :8] == 200).all() and (original[6, 8:] == 0).all()  # column 19 lost
    assert (opencv[6, :9] == 200).all() and (opencv[6, 9:] == 0).all()


def test_fast_path_folds_batchnorm_and_keeps_the_outputs():
    import torch

    from vittrack_helpers import reference_inputs

    cfg, model = synthetic_model()
    fast = build_tracker(cfg, model).model
    assert fast is not model and build_tracker(cfg, model, fast=False).model is model
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in fast.modules())
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in model.modules())  # the caller's model is untouched
    with torch.no_grad():
        for a, b in zip(fast.forward_maps(*reference_inputs()), model.forward_maps(*reference_inputs())):
            assert (a - b).abs().max() <= 1e-5
