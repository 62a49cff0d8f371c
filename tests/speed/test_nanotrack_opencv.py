"""tools/export_onnx.py --opencv: OpenCV's own cv2.TrackerNano runs our exported NanoTrack files and
tracks exactly as with the authors' ONNX files (../shared/weights/nanotrack), on real sequences."""
import os

import cv2
import numpy as np
import pytest

from tool_loader import REPO, load_tool
from tracker.nanotrack_helpers import WEIGHTS, reference, require, sequence_frames

pytest.importorskip("onnxruntime")
requires_tracker_nano = pytest.mark.skipif(not hasattr(cv2, "TrackerNano_create"),
                                           reason="this OpenCV build has no cv2.TrackerNano")
CONFIG = os.path.join(REPO, "experiments", "nanotrack_v{}", "config.yaml")


def _export(tmp_path, version=2, snapshot=True):
    argv = ["--config", CONFIG.format(version), "--opencv", str(tmp_path / f"nano_v{version}")]
    if snapshot:
        argv += ["--snapshot", require(os.path.join(WEIGHTS, f"nanotrackv{version}.pth"))]
    return load_tool("export_onnx").main(argv), str(tmp_path / f"nano_v{version}")


def run_cv_tracker_nano(backbone: str, neckhead: str, frames, init) -> np.ndarray:
    """``[N-1, 4]`` integer boxes cv2.TrackerNano reports on frames 1.. after init on frame 0."""
    params = cv2.TrackerNano_Params()
    params.backbone, params.neckhead = backbone, neckhead
    tracker = cv2.TrackerNano_create(params)
    tracker.init(frames[0], tuple(int(round(v)) for v in init))
    return np.array([tracker.update(frame)[1] for frame in frames[1:]], dtype=np.float64)


@requires_tracker_nano
@pytest.mark.parametrize("name", ["bag", pytest.param("ball1", marks=pytest.mark.slow),
                                  pytest.param("book", marks=pytest.mark.slow),
                                  pytest.param("Biker", marks=pytest.mark.slow)])
def test_cv_tracker_nano_runs_our_export_like_the_authors_files(tmp_path, name):
    code, prefix = _export(tmp_path)
    assert code == 0
    frames = sequence_frames(name)
    init = reference(2, name)["init"]
    authors = run_cv_tracker_nano(require(os.path.join(WEIGHTS, "nanotrackv2_backbone.onnx")),
                                  require(os.path.join(WEIGHTS, "nanotrackv2_head.onnx")), frames, init)
    ours = run_cv_tracker_nano(prefix + "_backbone.onnx", prefix + "_neckhead.onnx", frames, init)
    assert ours.shape == authors.shape == (len(frames) - 1, 4)
    assert np.abs(ours - authors).max() <= 1.0, np.abs(ours - authors).max(axis=1)


def test_graph_names_are_what_opencv_asks_for(tmp_path):
    import onnx

    code, prefix = _export(tmp_path, snapshot=False)
    assert code == 0
    backbone, head = onnx.load(prefix + "_backbone.onnx").graph, onnx.load(prefix + "_neckhead.onnx").graph
    assert [i.name for i in backbone.input] == ["input"] and [o.name for o in backbone.output] == ["output"]
    assert [i.name for i in head.input] == ["input1", "input2"]
    assert [o.name for o in head.output] == ["output1", "output2"]


def test_v3_is_refused_with_the_reason(tmp_path, log_messages):
    code, prefix = _export(tmp_path, version=3, snapshot=False)
    assert code == 2
    assert any("16x16 score map; this model gives 15x15" in m for m in log_messages), log_messages
    assert not os.path.exists(prefix + "_backbone.onnx")


def test_anchor_based_model_is_refused(tmp_path, log_messages):
    code = load_tool("export_onnx").main(["--config", os.path.join(REPO, "experiments", "siamrpn_alex_tiny",
                                                                   "config.yaml"), "--opencv", str(tmp_path / "x")])
    assert code == 2 and any("NanoTrack models only" in m for m in log_messages), log_messages
