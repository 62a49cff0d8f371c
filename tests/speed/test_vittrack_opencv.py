"""tools/export_onnx.py --opencv for VitTrack and tools/benchmark.py --vittrack: the single network
cv2.TrackerVit loads, and the interleaved comparison with OpenCV's tracker."""
import json
import os

import cv2
import pytest

from tool_loader import REPO, load_tool

pytest.importorskip("onnxruntime")
onnx = pytest.importorskip("onnx")
requires_tracker_vit = pytest.mark.skipif(not hasattr(cv2, "TrackerVit_create"),
                                          reason="this OpenCV build has no cv2.TrackerVit")
CONFIG = os.path.join(REPO, "experiments", "vittrack", "config.yaml")
BALL1 = os.path.join(REPO, "tests", "data", "sequences", "ball1")


def test_export_writes_the_network_with_opencvs_names(tmp_path):
    out = tmp_path / "vt"
    assert load_tool("export_onnx").main(["--config", CONFIG, "--opencv", str(out)]) == 0
    graph = onnx.load(str(out) + ".onnx").graph
    assert [i.name for i in graph.input] == ["template", "search"]
    assert [o.name for o in graph.output] == ["output1", "output2", "output3"]
    shapes = {i.name: [d.dim_value for d in i.type.tensor_type.shape.dim] for i in graph.input}
    assert shapes == {"template": [1, 3, 128, 128], "search": [1, 3, 256, 256]}


def test_export_refuses_a_batch_opencv_cannot_run(tmp_path, log_messages):
    code = load_tool("export_onnx").main(["--config", CONFIG, "--opencv", str(tmp_path / "vt"), "--batch", "2"])
    assert code == 2 and any("--batch 2" in m for m in log_messages), log_messages
    assert not os.path.exists(str(tmp_path / "vt") + ".onnx")


@requires_tracker_vit
def test_benchmark_compares_with_cv_tracker_vit_interleaved(tmp_path):
    import torch

    from vittrack_helpers import synthetic_model

    # The parity tests' weights: an untrained init's flat score map would make the arg-max a coin toss.
    snapshot, net = str(tmp_path / "vt.pth"), str(tmp_path / "vt.onnx")
    torch.save(synthetic_model()[1].state_dict(), snapshot)
    assert load_tool("export_onnx").main(["--config", CONFIG, "--snapshot", snapshot, "--opencv", net,
                                          "--no-verify"]) == 0
    report = tmp_path / "r.json"
    code = load_tool("benchmark").main(["--vittrack", net, "--vittrack-snapshot", snapshot, "--nanotrack-frames",
                                        BALL1, "--init", "248,209,20,21", "--warmup", "1", "--iters", "3",
                                        "--threads", "1", "--json", str(report)])
    assert code == 0
    r = json.load(open(report))["vittrack"]
    assert r["timed_frames"] == 3 and r["ours"]["fps"] > 0 and r["opencv"]["fps"] > 0
    # the export and our tracker agree box for box (same weights, same arithmetic)
    assert r["max_box_difference_px"] == 0.0
