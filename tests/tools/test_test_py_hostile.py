"""tools/test.py against hostile input and faults (issue #11) and PySOT's result files (issue #10).

Names from a dataset json or the command line stay inside --results-dir; a results
folder is never mixed from two runs; a dead worker fails its video instead of hanging
the run; workers die with the parent; result files hold PySOT's unclipped boxes.
"""
import json
import os
import signal
import subprocess
import sys
import time

import cv2
import numpy as np
import pytest
import torch

from pysot.datasets.synthetic import render_clip
from tool_loader import load_tool

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TINY_CONFIG = os.path.join(REPO, "experiments", "siamrpn_alex_tiny", "config.yaml")
TINY_WEIGHTS = os.path.join(REPO, "pysot", "data", "siamrpn_alex_tiny.pth")



def make_otb(root, names=("Clip0",), num_frames=3, init=None):
    """An OTB100 json benchmark whose videos are called ``names`` (frames under ``v<k>/``)."""
    meta = {}
    for k, name in enumerate(names):
        clip, gt = render_clip(num_frames=num_frames, size=(160, 120), seed=k)
        if init is not None:
            gt[0] = init
        rels = []
        for i, img in enumerate(clip):
            rel = f"v{k}/img/{i + 1:04d}.jpg"
            os.makedirs(os.path.join(root, f"v{k}", "img"), exist_ok=True)
            cv2.imwrite(os.path.join(root, rel), img)
            rels.append(rel)
        meta[name] = {"video_dir": f"v{k}", "init_rect": gt[0].tolist(), "img_names": rels,
                      "gt_rect": gt.tolist(), "attr": []}
    with open(os.path.join(root, "OTB100.json"), "w") as f:
        json.dump(meta, f)
    return meta


def all_files(root):
    return sorted(os.path.relpath(os.path.join(d, f), root) for d, _, fs in os.walk(root) for f in fs)


def base_args(data, results, *extra):
    return ["--config", TINY_CONFIG, "--dataset", "OTB100", "--dataset-root", data, "--results-dir", results,
            "--device", "cpu", "--tracker-name", "tiny", *extra]


# ---------------------------------------------------------------------- item 4: names as paths
@pytest.mark.parametrize("hostile", ["../../escaped", "ABSOLUTE", "sub/dir", ".."])
def test_a_video_name_cannot_write_outside_the_results_folder(tmp_path, log_messages, hostile):
    data, results = str(tmp_path / "data"), str(tmp_path / "results")
    if hostile == "ABSOLUTE":
        hostile = str(tmp_path / "owned")
    make_otb(data, names=("Clip0", hostile))
    before = all_files(str(tmp_path))
    assert load_tool("test").main(base_args(data, results)) == 2
    assert any("not usable as a file name" in m and repr(hostile) in m for m in log_messages)
    assert all_files(str(tmp_path)) == before  # nothing written at all, inside or outside


def test_a_tracker_name_cannot_write_outside_the_results_folder(tmp_path, log_messages):
    data, results = str(tmp_path / "data"), str(tmp_path / "results")
    make_otb(data)
    args = base_args(data, results)
    args[args.index("tiny")] = "../../x"
    before = all_files(str(tmp_path))
    assert load_tool("test").main(args) == 2
    assert any("--tracker-name '../../x'" in m for m in log_messages)
    assert all_files(str(tmp_path)) == before


# ---------------------------------------------------------------------- item 6: one run per results folder
def test_results_of_another_run_are_not_mixed_in(tmp_path, log_messages):
    data, results = str(tmp_path / "data"), str(tmp_path / "results")
    make_otb(data, names=("Clip0", "Clip1"), num_frames=2)
    test_py = load_tool("test")
    out = os.path.join(results, "OTB100", "tiny")
    assert test_py.main(base_args(data, results, "--video", "Clip0", "TRACK.LR", "0.3")) == 0
    record = json.load(open(os.path.join(out, "run.json")))
    assert record["opts"] == ["TRACK.LR", "0.3"] and record["snapshot_sha256"] is None
    # Another override into the same folder: refused, nothing tracked.
    assert test_py.main(base_args(data, results, "TRACK.LR", "0.5")) == 2
    assert "refusing to mix results" in log_messages[-1] and "TRACK.LR 0.5" in log_messages[-1]
    assert sorted(os.listdir(out)) == ["Clip0.txt", "run.json"]
    # The same run resumes (Clip0 kept, Clip1 tracked).
    stamp = os.path.getmtime(os.path.join(out, "Clip0.txt"))
    assert test_py.main(base_args(data, results, "TRACK.LR", "0.3")) == 0
    assert os.path.getmtime(os.path.join(out, "Clip0.txt")) == stamp
    assert os.path.isfile(os.path.join(out, "Clip1.txt"))
    # --overwrite replaces the folder's results: the other run's Clip1 does not survive a --video run.
    assert test_py.main(base_args(data, results, "--video", "Clip0", "--overwrite", "TRACK.LR", "0.5")) == 0
    assert sorted(os.listdir(out)) == ["Clip0.txt", "run.json"]
    assert json.load(open(os.path.join(out, "run.json")))["opts"] == ["TRACK.LR", "0.5"]


def test_a_changed_snapshot_or_an_unrecorded_folder_is_refused(tmp_path, log_messages):
    data, results = str(tmp_path / "data"), str(tmp_path / "results")
    make_otb(data, num_frames=2)
    snapshot = str(tmp_path / "model.pth")
    checkpoint = torch.load(TINY_WEIGHTS, map_location="cpu", weights_only=False)
    torch.save(checkpoint, snapshot)
    test_py = load_tool("test")
    assert test_py.main(base_args(data, results, "--snapshot", snapshot)) == 0
    # Same path, new weights (a training run overwrote its snapshot): another run.
    first = next(k for k, v in checkpoint["state_dict"].items() if v.is_floating_point())
    checkpoint["state_dict"][first] = checkpoint["state_dict"][first] + 1
    torch.save(checkpoint, snapshot)
    assert test_py.main(base_args(data, results, "--snapshot", snapshot)) == 2
    assert "different content" in log_messages[-1]
    # Results without a record (an older version, copied files) are not taken as done either.
    os.remove(os.path.join(results, "OTB100", "tiny", "run.json"))
    assert test_py.main(base_args(data, results, "--snapshot", snapshot)) == 2
    assert "without a run.json" in log_messages[-1]


def test_an_empty_result_file_is_not_done(tmp_path):
    data, results = str(tmp_path / "data"), str(tmp_path / "results")
    make_otb(data, num_frames=3)
    test_py = load_tool("test")
    assert test_py.main(base_args(data, results)) == 0
    path = os.path.join(results, "OTB100", "tiny", "Clip0.txt")
    open(path, "w").close()
    assert test_py.main(base_args(data, results)) == 0
    assert len(open(path).read().splitlines()) == 3


def test_workers_must_be_positive(tmp_path, log_messages):
    data, results = str(tmp_path / "data"), str(tmp_path / "results")
    make_otb(data, num_frames=2)
    for bad in ("0", "-3"):
        assert load_tool("test").main(base_args(data, results, "--workers", bad)) == 2
        assert log_messages[-1] == f"--workers {bad}: give at least 1"
    assert not os.path.exists(results)
    open(results, "w").close()
    assert load_tool("test").main(base_args(data, results)) == 2
    assert log_messages[-1] == f"--results-dir {results}: exists and is not a folder"


# ---------------------------------------------------------------------- item 7: dead workers, dead parent
def _children(pid):
    """Worker processes (multiprocessing spawn) whose parent is ``pid``."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmdline = f.read()
        except (OSError, IndexError, ValueError):
            continue
        if ppid == pid and b"spawn_main" in cmdline:
            found.append(int(entry))
    return found


def _alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _blocked_worker(tmp_path, tool="test.py", extra=("--workers", "2")):
    """``tools/<tool> ... --workers 2`` in a subprocess, a worker blocked opening frame 2 (a FIFO)."""
    data, results = str(tmp_path / "data"), str(tmp_path / "results")
    make_otb(data, num_frames=3)
    frame = os.path.join(data, "v0", "img", "0002.jpg")
    os.remove(frame)
    os.mkfifo(frame)  # opening it for reading waits for a writer that never comes
    env = dict(os.environ, PYTHONPATH=REPO, OMP_NUM_THREADS="1")
    parent = subprocess.Popen([sys.executable, os.path.join(REPO, "tools", tool), *base_args(data, results, *extra)],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    worker = None
    while time.monotonic() < deadline and parent.poll() is None:
        workers = _children(parent.pid)
        if workers:
            worker = workers[0]
            try:
                with open(f"/proc/{worker}/wchan") as f:
                    if "wait_for_partner" in f.read():  # blocked in the FIFO's open
                        break
            except OSError:
                pass
        time.sleep(0.2)
    if worker is None:
        parent.kill()
        pytest.fail(f"no worker started: {parent.communicate()}")
    return parent, worker


def _cleanup(parent, worker):
    for pid in (worker,):
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)
    if parent.poll() is None:
        parent.kill()
    parent.communicate()


def _kill_worker_and_wait(parent, worker, tool):
    """SIGKILL ``worker``; ``(parent, its stderr)`` once it exits, a failure if it hangs 60 s."""
    try:
        os.kill(worker, signal.SIGKILL)
        _, stderr = parent.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{tool} hangs after its worker was killed")
    finally:
        _cleanup(parent, worker)
    return parent, stderr


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_a_killed_worker_fails_its_video_instead_of_hanging(tmp_path):
    parent, stderr = _kill_worker_and_wait(*_blocked_worker(tmp_path), "tools/test.py")
    assert parent.returncode == 1
    assert "Clip0: its worker process was killed by signal 9 (SIGKILL)" in stderr
    assert "Traceback" not in stderr


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_a_killed_hp_search_worker_fails_the_search_instead_of_hanging(tmp_path):
    blocked = _blocked_worker(tmp_path, "hp_search.py", ("--penalty-k", "0.05", "0.2", "--workers", "2"))
    parent, stderr = _kill_worker_and_wait(*blocked, "tools/hp_search.py")
    assert parent.returncode == 1
    assert "a worker process died; 2 setting(s) not finished: tiny_pk-0.050" in stderr
    assert "Traceback" not in stderr


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGKILL])
def test_workers_die_with_the_parent(tmp_path, how):
    parent, worker = _blocked_worker(tmp_path)
    try:
        os.kill(parent.pid, how)
        parent.wait(timeout=30)
        deadline = time.monotonic() + 15
        while _alive(worker) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _alive(worker), "the worker outlived its parent"
        if how == signal.SIGTERM:
            assert parent.returncode == 128 + signal.SIGTERM
    finally:
        _cleanup(parent, worker)


# ---------------------------------------------------------------------- issue #10 item 6: PySOT's result files
def test_result_files_hold_the_unclipped_box_when_the_target_crosses_the_border(tmp_path):
    from toolkit.runner import TrackerSpec, build_tracker_from_spec

    # The synthetic clip cut at the object's centre: the target is half out of the image on the left.
    clip, gt = render_clip(num_frames=4, size=(200, 160), seed=2)
    cut = int(gt[0][0] + gt[0][2] / 2)
    frames = [np.ascontiguousarray(f[:, cut:]) for f in clip]
    init = [float(gt[0][0] - cut), float(gt[0][1]), float(gt[0][2]), float(gt[0][3])]
    data, results = str(tmp_path / "data"), str(tmp_path / "results")
    os.makedirs(os.path.join(data, "v0", "img"))
    for i, frame in enumerate(frames):
        cv2.imwrite(os.path.join(data, "v0", "img", f"{i + 1:04d}.png"), frame)  # lossless
    meta = {"Clip0": {"video_dir": "v0", "init_rect": init, "gt_rect": [init] * len(frames), "attr": [],
                      "img_names": [f"v0/img/{i + 1:04d}.png" for i in range(len(frames))]}}
    with open(os.path.join(data, "OTB100.json"), "w") as f:
        json.dump(meta, f)
    assert load_tool("test").main(base_args(data, results, "--snapshot", TINY_WEIGHTS)) == 0
    lines = open(os.path.join(results, "OTB100", "tiny", "Clip0.txt")).read().splitlines()
    assert lines[0] == ",".join(str(v) for v in [init[0] + 0.5, init[1] + 0.5, init[2], init[3]])

    # The same tracker in this process: the file holds its raw boxes, not the clipped ones it displays.
    tracker = build_tracker_from_spec(TrackerSpec(TINY_CONFIG, TINY_WEIGHTS, "cpu"))
    assert tracker.clip_box_to_image  # the default: bbox is clipped for display
    tracker.init(frames[0], [init[0] + 0.5, init[1] + 0.5, init[2], init[3]])
    outputs = [tracker.track(frame) for frame in frames[1:]]
    written = np.array([[float(v) for v in line.split(",")] for line in lines[1:]])
    np.testing.assert_allclose(written, [o["raw_bbox"] for o in outputs], rtol=0, atol=1e-9)
    assert (written[:, 0] < 0).all()  # the target still crosses the border ...
    assert all(o["bbox"][0] == 0 for o in outputs)  # ... where the displayed box is cut at the image


class FakeTracker:
    """Reports a clipped ``bbox`` and a different ``raw_bbox``; the file must hold the raw one."""

    def init(self, img, box):
        self.frame = 0

    def track(self, img):
        self.frame += 1
        return {"bbox": [0.0, 1.0, 5.0, 6.0], "raw_bbox": [-3.25, 1.0, 8.25, 6.0], "best_score": 0.5 + self.frame / 10}


class FakeVideo:
    name = "seq"
    num_frames = 3
    gt = np.array([[1.0, 2.0, 3.0, 4.0]] * 3)
    init_region = gt[0]

    def read_frame(self, i):
        return np.zeros((20, 30, 3), np.uint8)


def test_result_layouts_match_pysot_for_got10k_and_vot_lt(tmp_path):
    from toolkit.runner import run_video
    from toolkit.utils.results import read_boxes, read_confidences

    run_video(FakeTracker(), FakeVideo(), "got10k", str(tmp_path / "got"))
    folder = tmp_path / "got" / "seq"
    assert sorted(os.listdir(folder)) == ["seq_001.txt", "seq_time.txt"]
    assert (folder / "seq_001.txt").read_text() == "1.5,2.5,3.0,4.0\n-3.25,1.0,8.25,6.0\n-3.25,1.0,8.25,6.0\n"
    assert len((folder / "seq_time.txt").read_text().splitlines()) == 3

    run_video(FakeTracker(), FakeVideo(), "vot_lt", str(tmp_path / "lt"))
    folder = tmp_path / "lt" / "longterm" / "seq"
    assert sorted(os.listdir(folder)) == ["seq_001.txt", "seq_001_confidence.value", "seq_time.txt"]
    assert (folder / "seq_001.txt").read_text() == "1\n-3.25,1.0,8.25,6.0\n-3.25,1.0,8.25,6.0\n"
    assert (folder / "seq_001_confidence.value").read_text() == "\n0.600000\n0.700000\n"
    # and the toolkit reads them back
    np.testing.assert_allclose(read_confidences(str(folder / "seq_001_confidence.value"))[1:], [0.6, 0.7])
    assert read_boxes(str(tmp_path / "got" / "seq" / "seq_001.txt")).shape == (3, 4)


def test_init_box_is_pysots():
    """PySOT's test.py: get_axis_aligned_bbox (centre x + w/2) then [cx - (w-1)/2, cy - (h-1)/2, w, h]."""
    from toolkit.runner import init_box

    assert init_box([10, 20, 30, 40], "ope") == [10.5, 20.5, 30.0, 40.0]
    assert init_box([10, 20, 30, 40], "got10k") == [10.5, 20.5, 30.0, 40.0]
    # VOT: the 4-value box first becomes the polygon of its corners x .. x+w-1, which maps back unchanged
    assert init_box([10, 20, 30, 40], "vot") == [10.0, 20.0, 30.0, 40.0]
    polygon = [10, 20, 10, 59, 39, 59, 39, 20]  # the corners VOT's test.py builds from 10,20,30,40
    np.testing.assert_allclose(init_box(polygon, "ope"), [10, 20, 30, 40])


def test_a_tracker_without_raw_bbox_is_said(tmp_path, monkeypatch, log_messages):
    import toolkit.runner as runner

    class OldTracker(FakeTracker):
        def track(self, img):
            return {"bbox": [0.0, 1.0, 5.0, 6.0], "best_score": 0.5}

    monkeypatch.setattr(runner, "_WARNED_NO_RAW_BOX", [])
    runner.run_video(OldTracker(), FakeVideo(), "ope", str(tmp_path))
    assert (tmp_path / "seq.txt").read_text().splitlines()[1] == "0.0,1.0,5.0,6.0"
    assert sum("reports no raw_bbox" in m for m in log_messages) == 1
