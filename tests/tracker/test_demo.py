"""tools/demo.py and its library side pysot.io.video."""
from __future__ import annotations

import os

import cv2
import numpy as np
import pytest
import torch

from parity import load_fixture, load_video, synthetic_state_dict
from pysot.tracker import SiamRPNTracker
from pysot.io.video import VideoSourceError, open_frames, parse_box, track_video
from tool_loader import load_tool
from tracker_helpers import REPO, SEQUENCES, ScriptedRPN


def _demo_module():
    return load_tool("demo")


def _scripted_tracker():
    return SiamRPNTracker(ScriptedRPN(lambda f, t, n: [(2, n // 2, n // 2, 0.9, (0.1, 0.0, 0.0, 0.0))]))


def test_parse_box():
    assert parse_box("1,2,3.5,4") == [1, 2, 3.5, 4]
    with pytest.raises(ValueError, match="--init"):
        parse_box("1,2,3")
    with pytest.raises(ValueError, match="--init"):
        parse_box("a,b,c,d")
    with pytest.raises(ValueError, match="> 0"):
        parse_box("1,2,0,4")


def test_open_frames_sources(tmp_path):
    frames = list(open_frames(os.path.join(SEQUENCES, "ball1")))
    assert len(frames) == 10 and frames[0].shape == (360, 640, 3)
    with pytest.raises(VideoSourceError, match="no such video"):
        open_frames(str(tmp_path / "missing.mp4"))
    with pytest.raises(VideoSourceError, match="no images"):
        open_frames(str(tmp_path))
    bogus = tmp_path / "notes.mp4"
    bogus.write_text("not a video")
    with pytest.raises(VideoSourceError, match="notes.mp4"):
        open_frames(str(bogus))


def test_video_file_round_trip(tmp_path):
    frames, gt = load_video()
    path = str(tmp_path / "clip.avi")
    run = track_video(_scripted_tracker(), frames[:6], gt[0], output=path)
    assert os.path.isfile(path) and not os.path.exists(str(tmp_path / "clip.tmp.avi"))
    assert len(run.results) == 6 and run.fps > 0
    reread = list(open_frames(path))
    assert len(reread) == 6 and reread[0].shape == frames[0].shape


def test_headless_without_box_is_a_clear_error(tmp_path):
    frames, _ = load_video()
    path = str(tmp_path / "never.mp4")
    with pytest.raises(ValueError, match="--init"):
        track_video(_scripted_tracker(), frames[:3], None, output=path)
    assert not os.path.exists(path) and not os.path.exists(str(tmp_path / "never.tmp.mp4"))


def test_demo_tool_with_config_and_snapshot(tmp_path, capsys):
    fx = load_fixture("siamrpn_alex_dwxcorr")
    snapshot = str(tmp_path / "alex.pth")
    torch.save(synthetic_state_dict(fx["manifest"], fx["factors"]), snapshot)
    config = os.path.join(REPO, "experiments", "siamrpn_alex_dwxcorr", "config.yaml")
    out = str(tmp_path / "ball1.mp4")
    rc = _demo_module().main(["--config", config, "--snapshot", snapshot, "--video", os.path.join(SEQUENCES, "ball1"),
                              "--init", "248,209,20,21", "--output", out, "--no-display", "--max-frames", "4",
                              "--device", "cpu"])
    assert rc == 0
    assert "tracked 3 frames" in capsys.readouterr().out
    assert len(list(open_frames(out))) == 4


def test_demo_tool_reports_unreadable_video(tmp_path):
    config = os.path.join(REPO, "experiments", "siamrpn_alex_dwxcorr", "config.yaml")
    rc = _demo_module().main(["--config", config, "--video", str(tmp_path / "nope.mp4"), "--init", "1,2,3,4",
                              "--no-display"])
    assert rc == 2


def test_demo_tool_default_run(tmp_path, capsys):
    """No --config/--snapshot/--video: the embedded NanoTrack V2 on a generated clip."""
    demo = _demo_module()
    out = str(tmp_path / "demo.mp4")
    args = ["--output", out, "--no-display", "--max-frames", "8"]
    if not os.path.isfile(demo.DEFAULT_SNAPSHOT):
        with pytest.raises(SystemExit, match="--config"):
            demo.main(args)
        return
    assert demo.main(args) == 0
    assert "fps" in capsys.readouterr().out
    frames = list(open_frames(out))
    assert len(frames) == 8 and frames[0].shape == (240, 320, 3)
    assert demo.resolve_model(None, None) == (None, demo.DEFAULT_SNAPSHOT)
    assert demo.DEFAULT_SNAPSHOT.endswith("nanotrack_v2.pth")


def test_demo_writes_boxes_in_the_results_format(tmp_path, capsys):
    """--boxes: x,y,w,h per frame, the init box first, readable by the toolkit; checked before work."""
    from toolkit.utils.results import read_boxes

    demo = _demo_module()
    boxes = str(tmp_path / "ball1.txt")
    assert demo.main(["--video", os.path.join(SEQUENCES, "ball1"), "--init", "248,209.5,20,21", "--max-frames", "5",
                      "--no-display", "--boxes", boxes]) == 0
    assert f"wrote {boxes} (5 boxes)" in capsys.readouterr().out
    rows = read_boxes(boxes)
    assert rows.shape == (5, 4) and np.allclose(rows[0], [248, 209.5, 20, 21]) and np.isfinite(rows).all()
    assert demo.main(["--max-frames", "2", "--no-display", "--boxes", str(tmp_path / "no" / "b.txt")]) == 2
    assert demo.main(["--max-frames", "2", "--no-display", "--boxes", str(tmp_path)]) == 2


def test_sequence_folder_reads_its_color_or_img_subfolder(tmp_path):
    import shutil

    for sub in ("color", "img"):
        seq = tmp_path / sub / "ball1"
        shutil.copytree(os.path.join(SEQUENCES, "ball1"), seq / sub, ignore=shutil.ignore_patterns("*.txt"))
        assert len(list(open_frames(str(seq)))) == 10
    with pytest.raises(VideoSourceError, match="nor in its color/ or img/"):
        open_frames(str(tmp_path))


def test_demo_tool_checks_output_and_config_before_any_work(tmp_path, monkeypatch):
    demo = _demo_module()
    built = []
    monkeypatch.setattr("toolkit.runner.build_tracker_from_spec", lambda spec: built.append(spec))
    assert demo.main(["--output", str(tmp_path / "out.gif"), "--no-display"]) == 2
    assert demo.main(["--config", str(tmp_path / "none.yaml"), "--no-display"]) == 2
    assert built == [] and os.listdir(tmp_path) == []


def test_demo_tool_flags_after_overrides(tmp_path, capsys):
    demo = _demo_module()
    if not os.path.isfile(demo.DEFAULT_SNAPSHOT):
        pytest.skip("no embedded model")
    assert demo.main(["TRACK.LR", "0.3", "--no-display", "--max-frames", "3", "--video", os.path.join(SEQUENCES, "ball1"),
                      "--init", "248,209,20,21"]) == 0
    assert "tracked 2 frames" in capsys.readouterr().out


def _write_video(path, frames, fps):
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*"MJPG"), fps, (frames[0].shape[1], frames[0].shape[0]))
    for frame in frames:
        writer.write(frame)
    writer.release()


def test_frames_know_their_rate_and_count(tmp_path):
    from pysot.datasets.synthetic import render_clip

    frames, _ = render_clip(num_frames=5)
    video = str(tmp_path / "clip.avi")
    _write_video(video, frames, 12.0)
    opened = open_frames(video)
    assert (opened.fps, opened.count) == (12.0, 5) and len(list(opened)) == 5
    folder = open_frames(os.path.join(SEQUENCES, "ball1"))
    assert folder.fps is None and folder.count == len(list(folder))


def test_demo_output_keeps_the_source_frame_rate(tmp_path, capsys):
    from pysot.datasets.synthetic import render_clip

    demo = _demo_module()
    if not os.path.isfile(demo.DEFAULT_SNAPSHOT):
        pytest.skip("embedded model absent")
    frames, gt = render_clip(num_frames=4)
    video, out, forced = str(tmp_path / "in.avi"), str(tmp_path / "out.avi"), str(tmp_path / "forced.avi")
    _write_video(video, frames, 12.0)
    init = ",".join(str(float(v)) for v in gt[0])
    assert demo.main(["--video", video, "--init", init, "--output", out, "--no-display"]) == 0
    assert "(12 fps)" in capsys.readouterr().out
    written = open_frames(out)
    assert (written.fps, written.count) == (12.0, 4)
    assert demo.main(["--video", video, "--init", init, "--output", forced, "--no-display", "--fps", "30"]) == 0
    assert open_frames(forced).fps == 30.0
    assert demo.main(["--video", video, "--init", init, "--no-display", "--fps", "0"]) == 2


def test_init_may_start_left_of_the_image():
    demo = _demo_module()
    args = demo.parse_args(["--init", "-5,10,40,60", "--no-display"])
    assert args.init == "-5,10,40,60" and parse_box(args.init) == [-5.0, 10.0, 40.0, 60.0]
    assert demo.parse_args(["--init", "-.5,-2,4,6"]).init == "-.5,-2,4,6"
