"""tools/benchmark.py --nanotrack: the interleaved NanoTrack comparison (ours plain / fast vs cv2.TrackerNano)
runs and reports; no timing is asserted."""
import json
import os

import cv2
import pytest

from tool_loader import load_tool
from tracker.nanotrack_helpers import SEQUENCES, WEIGHTS, require


@pytest.mark.skipif(not hasattr(cv2, "TrackerNano_create"), reason="this OpenCV build has no cv2.TrackerNano")
def test_nanotrack_benchmark_runs_and_reports(tmp_path):
    require(os.path.join(WEIGHTS, "nanotrackv2_head.onnx"))
    out = tmp_path / "nano.json"
    code = load_tool("benchmark").main([
        "--nanotrack", WEIGHTS, "--nanotrack-frames", require(os.path.join(SEQUENCES, "VOT", "bag")),
        "--warmup", "1", "--iters", "3", "--threads", "1", "--json", str(out)])
    assert code == 0
    report = json.load(open(out))
    r = report["nanotrack"]
    assert r["timed_frames"] == 3 and r["threads"] == 1
    for name in ("plain", "fast", "opencv"):
        assert r[name]["fps"] > 0 and r[name]["ms_per_frame"] > 0
    assert r["fast_vs_opencv"] > 0 and r["plain_vs_opencv"] > 0
    # the plain tracker really runs the plain network (build_tracker's default is the fast path)
    assert r["plain"]["model"] == "ModelBuilder" and r["fast"]["model"] == "FastModel"
    assert report["machine"]["cpu"]


def test_nanotrack_benchmark_names_missing_files(tmp_path):
    with pytest.raises(SystemExit, match="missing .*nanotrackv2.pth"):
        load_tool("benchmark").main(["--nanotrack", str(tmp_path)])
