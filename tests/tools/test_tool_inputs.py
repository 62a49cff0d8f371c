"""Hostile or mistaken input to demo, export_onnx, convert_checkpoint, hp_search and prepare (issue #11).

Each mistake is one line and exit code 2, nothing is overwritten or half written,
and nothing is silently changed: dropped frames, skipped boxes and converted
pixels are said.
"""
import os

import cv2
import numpy as np
import pytest
import torch

from tool_loader import load_tool

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TINY_CONFIG = os.path.join(REPO, "experiments", "siamrpn_alex_tiny", "config.yaml")



def write_avi(path, num_frames=8, size=(64, 48)):
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 25, size)
    rng = np.random.default_rng(0)
    for _ in range(num_frames):
        writer.write(rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8))
    writer.release()


# ---------------------------------------------------------------------- item 5: demo --output = --video
@pytest.mark.parametrize("spelling", ["dot-slash", "symlink"])
def test_demo_refuses_to_overwrite_its_input_video(tmp_path, monkeypatch, log_messages, spelling):
    write_avi(tmp_path / "a.avi")
    before = (tmp_path / "a.avi").read_bytes()
    monkeypatch.chdir(tmp_path)
    output = "./a.avi"
    if spelling == "symlink":
        os.symlink("a.avi", "link.avi")
        output = "link.avi"
    args = ["--video", "a.avi", "--output", output, "--init", "5,5,20,20", "--no-display"]
    assert load_tool("demo").main(args) == 2
    assert any("is the input --video a.avi" in m for m in log_messages)
    assert (tmp_path / "a.avi").read_bytes() == before


# ---------------------------------------------------------------------- item 10: frame sizes, truncated files
def test_demo_writes_every_frame_when_sizes_differ(tmp_path, log_messages):
    frames = tmp_path / "frames"
    frames.mkdir()
    rng = np.random.default_rng(1)
    for i in range(6):
        h, w = (120, 160) if i % 2 == 0 else (100, 150)
        cv2.imwrite(str(frames / f"{i:04d}.jpg"), rng.integers(0, 255, (h, w, 3), dtype=np.uint8))
    out = tmp_path / "out.avi"
    assert load_tool("demo").main(["--video", str(frames), "--output", str(out), "--init", "40,30,40,40",
                                   "--no-display", "--device", "cpu"]) == 0
    capture = cv2.VideoCapture(str(out))
    written = 0
    while capture.read()[0]:
        written += 1
    assert written == 6
    assert any("frames of another size are resized" in m for m in log_messages)
    assert any("3 of 6 frames resized to 160x120" in m for m in log_messages)


def test_a_truncated_video_is_reported(tmp_path, log_messages):
    from pysot.io.video import open_frames

    write_avi(tmp_path / "full.avi", num_frames=40)
    data = (tmp_path / "full.avi").read_bytes()
    (tmp_path / "cut.avi").write_bytes(data[: int(len(data) * 0.4)])
    frames = open_frames(str(tmp_path / "cut.avi"))
    read = sum(1 for _ in frames)
    assert frames.count == 40 and read < 40
    assert any(f"ended after {read} of its 40 declared frames" in m for m in log_messages)
    # a complete file says nothing
    log_messages.clear()
    assert sum(1 for _ in open_frames(str(tmp_path / "full.avi"))) == 40
    assert not any("declared frames" in m for m in log_messages)


# ---------------------------------------------------------------------- item 14: export and conversion
def test_export_onnx_user_errors_leave_no_files(tmp_path, log_messages):
    tool = load_tool("export_onnx")
    bad = tmp_path / "bad.pth"
    bad.write_text("not a checkpoint")
    blocker = tmp_path / "blocker"
    blocker.write_text("")
    cases = [
        (["--snapshot", str(bad), "--output", str(tmp_path / "o1" / "m")], f"{bad}: cannot"),
        (["--search-size", "10", "--output", str(tmp_path / "o2" / "m")], "--search-size 10: must be at least"),
        (["--output", str(blocker / "m")], f"--output {blocker / 'm'}: cannot create the folder"),
        (["--output", str(tmp_path)], "is a folder"),
        (["--opset", "99", "--output", str(tmp_path / "o3" / "m")], "--opset 99: give an ONNX opset in 7..20"),
    ]
    for extra, message in cases:
        assert tool.main(["--config", TINY_CONFIG, "--no-verify", *extra]) == 2
        assert message in log_messages[-1]
    assert sorted(os.listdir(tmp_path)) == ["bad.pth", "blocker"]


@pytest.mark.parametrize("absent, flags", [("onnxruntime", []), ("onnx", ["--no-verify"])])
def test_export_onnx_names_the_missing_package_and_the_extra_before_writing(tmp_path, monkeypatch, log_messages,
                                                                           absent, flags):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == absent else real(name, *a))
    out = tmp_path / "onnx"
    assert load_tool("export_onnx").main(["--config", TINY_CONFIG, "--output", str(out / "m"), *flags]) == 2
    assert f"the export needs {absent}, not installed: pip install -e \".[export]\"" in log_messages[-1]
    assert not out.exists()


def test_export_onnx_says_where_the_files_are_not_where_they_were_staged(tmp_path, log_messages, capsys):
    out = tmp_path / "onnx"
    assert load_tool("export_onnx").main(["--config", TINY_CONFIG, "--no-verify", "--output", str(out / "m")]) == 0
    said = " ".join(log_messages) + capsys.readouterr().out
    assert ".export_onnx." not in said and f"wrote {out / 'm'}_template.onnx" in said
    assert sorted(os.listdir(out)) == ["m.json", "m_template.onnx", "m_track.onnx"]


def test_export_onnx_failing_mid_export_leaves_no_partial_files(tmp_path, monkeypatch, log_messages):
    import pysot.models.export as export

    real = export.export_graph
    calls = []

    def second_graph_fails(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:  # the template graph is written, then the disk is full
            raise OSError(28, "No space left on device")
        return real(*args, **kwargs)

    monkeypatch.setattr(export, "export_graph", second_graph_fails)
    out = tmp_path / "onnx"
    assert load_tool("export_onnx").main(["--config", TINY_CONFIG, "--no-verify", "--output", str(out / "m")]) == 2
    assert "No space left on device" in log_messages[-1]
    assert os.listdir(out) == []


def test_convert_checkpoint_output_folder_is_a_usage_error(tmp_path, log_messages):
    source = tmp_path / "in.pth"
    torch.save({"fc.weight": torch.zeros(2)}, source)
    tool = load_tool("convert_checkpoint")
    assert tool.main(["--input", str(source), "--output", str(tmp_path)]) == 2
    assert log_messages[-1].startswith(f"--output {tmp_path} is a folder")
    assert tool.main(["--input", str(tmp_path / "missing.pth"), "--output", str(tmp_path / "o.pth")]) == 2
    assert sorted(os.listdir(tmp_path)) == ["in.pth"]


# ---------------------------------------------------------------------- item 15: counts in range
@pytest.mark.parametrize("extra, message", [
    (["--random", "-1"], "--random -1: give a number of settings in [1, 10000]"),
    (["--instance-size", "0"], "--instance-size 0: give a search crop side"),
    (["--workers", "0"], "--workers 0: give at least 1"),
    (["--lr", "1.5"], "--lr 1.5: give a value in [0, 1]"),
])
def test_hp_search_refuses_counts_out_of_range(tmp_path, log_messages, extra, message):
    args = ["--config", TINY_CONFIG, "--dataset", "OTB100", "--dataset-root", str(tmp_path),
            "--results-dir", str(tmp_path / "results"), *extra]
    assert load_tool("hp_search").main(args) == 2
    assert log_messages[-1].startswith(message)
    assert not (tmp_path / "results").exists()


def test_an_instance_size_of_zero_is_no_setting():
    from toolkit.hp_search import Setting

    with pytest.raises(ValueError, match="instance size 0"):
        Setting(0.1, 0.4, 0.3, 0)


def test_demo_refuses_a_negative_frame_limit(tmp_path, log_messages):
    assert load_tool("demo").main(["--max-frames", "-1", "--no-display", "--output", str(tmp_path / "o.avi")]) == 2
    assert log_messages[-1] == "--max-frames -1: give at least 1"
    assert os.listdir(tmp_path) == []


def test_prepare_counts_and_reports_skipped_boxes(tmp_path, log_messages):
    from training_dataset.crop import crop_dataset
    from training_dataset.readers import read_generic

    seq = tmp_path / "raw" / "seq"
    (seq / "img").mkdir(parents=True)
    rows = ["10,10,30,30", "nan,nan,nan,nan", "10,10,0,30", "10,10,-5,30", "12,12,30,30"]
    (seq / "groundtruth.txt").write_text("\n".join(rows) + "\n")
    for i in range(len(rows)):
        cv2.imwrite(str(seq / "img" / f"{i + 1:08d}.jpg"), np.full((80, 100, 3), 120, np.uint8))
    report = crop_dataset(read_generic(str(tmp_path / "raw"), "train"), str(tmp_path / "out"))
    assert report.crops == 2
    assert report.skipped_boxes == {"NaN/inf": 1, "zero or negative width/height": 2}
    assert any(m.startswith("3 boxes skipped (not cropped): 1 NaN/inf, 2 zero or negative width/height")
               for m in log_messages)


# ---------------------------------------------------------------------- item 16: frame conversions are said
def test_frame_conversions_are_correct_and_warned_once(monkeypatch, log_messages):
    import pysot.tracker.base_tracker as base

    monkeypatch.setattr(base, "_WARNED_CONVERSIONS", set())
    mask = np.zeros((4, 5), bool)
    mask[1, 2] = True
    out = base.prepare_frame(mask)
    assert out[1, 2].tolist() == [255, 255, 255] and out.sum() == 3 * 255
    assert base.prepare_frame(np.full((4, 5, 3), 65535, np.uint16)).min() == 255
    assert base.prepare_frame(np.full((4, 5, 3), 32896, np.uint16)).max() == 128
    assert base.prepare_frame(np.full((4, 5, 3), 0.5, np.float32)).max() == 128  # 0..1 float, not black
    assert base.prepare_frame(np.full((4, 5, 3), 200.7, np.float64)).max() == 200  # 0..255 float kept
    base.prepare_frame(mask)
    base.prepare_frame(np.full((4, 5, 3), 0.25, np.float32))
    warned = [m for m in log_messages if m.startswith("frames are expected as uint8 BGR")]
    assert len(warned) == 4  # bool, uint16, float in [0, 1], float64: each said once
    assert any("bool frame: False/True as 0/255" in m for m in warned)
    assert any("uint16 frame: scaled by 255/65535" in m for m in warned)
    assert any("float32 frame with values in [0, 1]: scaled by 255" in m for m in warned)


# ---------------------------------------------------------------------- issue #19, low items
def test_export_onnx_removes_the_staging_folder_a_killed_export_left(tmp_path):
    import subprocess
    import sys

    out = tmp_path / "onnx"
    out.mkdir()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()  # a pid that is no longer running, as after kill -9
    left = out / f".export_onnx.{dead.pid}.abc123"
    left.mkdir()
    (left / "m_template.onnx").write_bytes(b"half")
    alive = out / f".export_onnx.{os.getpid()}.def456"  # an export still running: kept
    alive.mkdir()
    assert load_tool("export_onnx").main(["--config", TINY_CONFIG, "--no-verify", "--output", str(out / "m")]) == 0
    assert sorted(os.listdir(out)) == [alive.name, "m.json", "m_template.onnx", "m_track.onnx"]


def test_convert_checkpoint_refuses_to_replace_its_input(tmp_path, log_messages):
    source = tmp_path / "in.pth"
    torch.save({"fc.weight": torch.zeros(2)}, source)
    before = source.read_bytes()
    os.symlink(source, tmp_path / "link.pth")
    for output in (str(source), str(tmp_path / "link.pth"), os.path.join(str(tmp_path), ".", "in.pth")):
        assert load_tool("convert_checkpoint").main(["--input", str(source), "--output", output,
                                                     "--config", TINY_CONFIG]) == 2
        assert log_messages[-1] == f"--output {output} is the --input file; give another name"
    assert source.read_bytes() == before


def test_a_full_disk_while_saving_a_checkpoint_is_one_line(tmp_path, monkeypatch, log_messages):
    """The kernel's own ENOSPC: the checkpoint is written to /dev/full."""
    import contextlib

    import pysot.utils.checkpoint as checkpoint

    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full")

    @contextlib.contextmanager
    def full_disk(path, mode="w", fsync=False):
        with open("/dev/full", mode) as f:
            yield f

    monkeypatch.setattr(checkpoint, "atomic_open", full_disk)
    tool = load_tool("convert_checkpoint")
    model = tmp_path / "model.pth"
    from pysot.config import load_cfg
    from pysot.models import build_model

    torch.save(build_model(load_cfg(TINY_CONFIG)).state_dict(), model)
    out = tmp_path / "out.pth"
    assert tool.main(["--input", str(model), "--output", str(out), "--config", TINY_CONFIG]) == 2
    assert log_messages[-1].startswith(f"{out}: cannot write the checkpoint (No space left on device; ")
    assert not out.exists()
