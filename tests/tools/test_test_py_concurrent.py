"""tools/test.py and hp_search.py, hostile input round two (issue #19): concurrent runs into one
results folder, refused runs that leave a record behind, the fast path and random weights in
the run record, frames that change size, init boxes that name their video."""
import json
import os
import subprocess
import sys

import cv2
import pytest

from test_test_py_hostile import TINY_CONFIG, all_files, base_args, make_otb
from tool_loader import load_tool
from toolkit.runner import TrackerSpec, build_tracker_from_spec
from toolkit.utils.lock import LOCK_FILE, folder_lock

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def tracker_dir(results):
    return os.path.join(results, "OTB100", "tiny")


# ---------------------------------------------------------------------- item 1: one run per folder
def test_a_run_into_a_folder_another_run_is_writing_is_refused_naming_it(tmp_path, log_messages):
    data, results = str(tmp_path / "data"), str(tmp_path / "results")
    make_otb(data, names=("Clip0", "Clip1"))
    with folder_lock(tracker_dir(results)):  # the first run, still going (this process holds the lock)
        assert load_tool("test").main(base_args(data, results, "TRACK.PENALTY_K", "0.3")) == 2
    refusal = [m for m in log_messages if "is in use by another run" in m]
    assert refusal, log_messages
    assert f"pid {os.getpid()}" in refusal[0] and "since" in refusal[0]  # names the first run
    assert all_files(results) == []  # nothing of the second run's was written


def test_a_lock_left_by_a_killed_run_does_not_block_the_folder(tmp_path, log_messages):
    data, results = str(tmp_path / "data"), str(tmp_path / "results")
    make_otb(data)
    os.makedirs(tracker_dir(results))
    stale = {"pid": 2 ** 22 + 12345, "host": "node7", "started": "2026-01-01 00:00:00 UTC", "command": "test.py X"}
    with open(os.path.join(tracker_dir(results), LOCK_FILE), "w") as f:
        json.dump(stale, f)  # what a kill -9 leaves: the record, without the (kernel-held) lock
    assert load_tool("test").main(base_args(data, results)) == 0
    assert any("was killed left its lock" in m and "node7" in m for m in log_messages)
    assert sorted(os.listdir(tracker_dir(results))) == ["Clip0.txt", "run.json"]  # lock released


@pytest.mark.slow
def test_two_test_py_runs_started_together_never_mix_one_folder(tmp_path):
    data, results = str(tmp_path / "data"), str(tmp_path / "results")
    make_otb(data, names=[f"Clip{i}" for i in range(4)], num_frames=15)
    env = dict(os.environ, OMP_NUM_THREADS="1")
    cmd = [sys.executable, os.path.join(REPO, "tools", "test.py"), *base_args(data, results), "--threads", "1"]
    runs = [subprocess.Popen(cmd + extra, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            for extra in ([], ["TRACK.PENALTY_K", "0.3"])]
    outputs = [r.communicate(timeout=600)[0] for r in runs]
    codes = sorted(r.returncode for r in runs)
    assert codes == [0, 2], outputs  # one ran, the other was refused (busy folder, or another run's results)
    refused = outputs[[r.returncode for r in runs].index(2)]
    assert "in use by another run" in refused or "produced by another run" in refused
    with open(os.path.join(tracker_dir(results), "run.json")) as f:
        record = json.load(f)
    winner = [r.returncode for r in runs].index(0)
    assert record["opts"] == ([] if winner == 0 else ["TRACK.PENALTY_K", "0.3"])


def test_hp_search_refuses_a_setting_folder_another_search_is_writing(tmp_path, log_messages):
    data, results = str(tmp_path / "data"), str(tmp_path / "results")
    make_otb(data)
    busy = os.path.join(results, "OTB100", "tiny_pk-0.100_wi-0.440_lr-0.400")
    args = ["--config", TINY_CONFIG, "--dataset", "OTB100", "--dataset-root", data, "--results-dir", results,
            "--device", "cpu", "--tracker-name", "tiny", "--penalty-k", "0.1", "--window-influence", "0.44",
            "--lr", "0.4"]
    with folder_lock(busy):
        assert load_tool("hp_search").main(args) == 2
    assert any("is in use by another run" in m and busy in m for m in log_messages)


# ---------------------------------------------------------------------- low items
def test_a_refused_run_leaves_no_run_record(tmp_path, log_messages):
    data, results = str(tmp_path / "data"), str(tmp_path / "results")
    make_otb(data)
    # SiamFC's tracker on an RPN model: refused when the tracker is built, after the folder was claimed
    assert load_tool("test").main(base_args(data, results, "TRACK.TYPE", "SiamFCTracker")) == 2
    assert any("SiamFCTracker reads score map" in m for m in log_messages)
    assert not os.path.exists(results)  # no run.json, no empty folders


def test_run_record_says_whether_the_fast_path_ran_and_no_fast_does_not_resume_a_fast_folder(tmp_path, log_messages):
    data, results = str(tmp_path / "data"), str(tmp_path / "results")
    make_otb(data, names=("Clip0", "Clip1"))
    test_py = load_tool("test")
    assert test_py.main(base_args(data, results, "--video", "Clip0")) == 0  # default CPU run: the fast path
    with open(os.path.join(tracker_dir(results), "run.json")) as f:
        assert json.load(f)["fast"] is True
    assert test_py.main(base_args(data, results, "--no-fast")) == 2
    assert any("fast path on vs off" in m for m in log_messages)
    assert not os.path.exists(os.path.join(tracker_dir(results), "Clip1.txt"))


def test_random_weights_are_seeded_so_a_resumed_run_tracks_with_the_same_network(tmp_path, log_messages):
    import torch

    spec = TrackerSpec(TINY_CONFIG, None, "cpu", [], fast=False)
    torch.manual_seed(1)
    a = build_tracker_from_spec(spec).model.state_dict()
    torch.manual_seed(2)  # another process, another global random state
    b = build_tracker_from_spec(spec).model.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    # A folder an older, unseeded run left cannot be resumed: its network cannot be drawn again.
    data, results = str(tmp_path / "data"), str(tmp_path / "results")
    make_otb(data, names=("Clip0", "Clip1"))
    test_py = load_tool("test")
    assert test_py.main(base_args(data, results, "--video", "Clip0")) == 0
    path = os.path.join(tracker_dir(results), "run.json")
    with open(path) as f:
        record = json.load(f)
    assert record["random_weights_seed"] == 0
    del record["random_weights_seed"]
    with open(path, "w") as f:
        json.dump(record, f)
    assert test_py.main(base_args(data, results)) == 2
    assert any("unseeded network" in m for m in log_messages)


def test_a_frame_of_another_size_is_tracked_with_a_warning_naming_video_and_frame(tmp_path, log_messages):
    data, results = str(tmp_path / "data"), str(tmp_path / "results")
    make_otb(data, num_frames=4)
    frame = os.path.join(data, "v0", "img", "0003.jpg")
    cv2.imwrite(frame, cv2.resize(cv2.imread(frame), (200, 150)))
    assert load_tool("test").main(base_args(data, results)) == 0
    warned = [m for m in log_messages if "frame 3 is 200x150" in m]
    assert len(warned) == 1 and "'Clip0'" in warned[0] and "160x120" in warned[0]


def test_an_init_box_the_tracker_refuses_names_the_video(tmp_path, log_messages):
    data, results = str(tmp_path / "data"), str(tmp_path / "results")
    make_otb(data, names=("Clip0", "Bad"), init=[10, 10, 0, 0])
    assert load_tool("test").main(base_args(data, results, "--video", "Bad")) == 2
    assert any(m.startswith("video 'Bad', frame 1: init box") for m in log_messages), log_messages


@pytest.mark.parametrize("tool", ["test", "hp_search"])
def test_an_empty_tracker_name_is_refused(tmp_path, log_messages, tool):
    data, results = str(tmp_path / "data"), str(tmp_path / "results")
    make_otb(data)
    args = base_args(data, results)
    args[args.index("tiny")] = ""
    assert load_tool(tool).main(args) == 2
    assert any("--tracker-name ''" in m for m in log_messages)
    assert not os.path.exists(results)


def test_a_folder_that_cannot_be_locked_is_used_with_a_warning(tmp_path, monkeypatch, log_messages):
    import errno

    import toolkit.utils.lock as lock

    def no_locks(fd, op):
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(lock.fcntl, "flock", no_locks)
    with lock.folder_lock(str(tmp_path / "r")) as path:
        assert os.path.isdir(tmp_path / "r")
    assert any("cannot lock this folder (No locks available)" in m for m in log_messages)
    assert not os.path.exists(path)
