"""End-to-end runs of tools/train.py on a tiny synthetic dataset (CPU)."""
import os
import signal
import subprocess
import sys
import threading
import time

import pytest
import torch

from pysot.config import load_cfg
from pysot.datasets.synthetic import write_crop511_dataset
from pysot.training.trainer import train
from pysot.utils.checkpoint import load_checkpoint
from tool_loader import load_tool

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CFG = os.path.join(REPO, "experiments", "siamrpn_alex_tiny", "config.yaml")


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return write_crop511_dataset(str(tmp_path_factory.mktemp("data")), num_videos=6, num_frames=5, seed=2)


def _opts(data, snap, epochs=2, iters=2, batch=2):
    return ["DATASET.SYNTHETIC.ROOT", data["root"], "DATASET.SYNTHETIC.ANNO", data["anno"],
            "TRAIN.EPOCH", str(epochs), "TRAIN.ITERS_PER_EPOCH", str(iters), "TRAIN.BATCH_SIZE", str(batch),
            "TRAIN.NUM_WORKERS", "0", "TRAIN.LR_WARMUP.EPOCH", "1", "TRAIN.PRINT_FREQ", "1",
            "TRAIN.SNAPSHOT_DIR", str(snap), "TRAIN.LOG_DIR", str(snap / "logs")]


def _env():
    env = dict(os.environ, OMP_NUM_THREADS="1", NO_COLOR="1")
    env["PYTHONPATH"] = REPO + os.pathsep + env.get("PYTHONPATH", "")
    return env


def _run(cmd, timeout=240):
    proc = subprocess.run(cmd, cwd=REPO, env=_env(), capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


def test_single_process_without_launcher(data, tmp_path):
    snap = tmp_path / "snap"
    proc = _run([sys.executable, "tools/train.py", "--cfg", CFG, "--device", "cpu", "--opts"] + _opts(data, snap))
    assert "done at iteration 4" in proc.stderr
    assert {"checkpoint_e1.pth", "checkpoint_e2.pth", "latest.pth"} <= set(os.listdir(snap))
    ck = load_checkpoint(str(snap / "latest.pth"))
    assert ck["iteration"] == 4 and ck["world_size"] == 1
    assert "SiamRPNTracker" in ck["config"] and set(ck["optimizer"]) == {"state", "param_groups"}
    assert not any(k.startswith("module.") for k in ck["state_dict"])
    assert os.listdir(snap / "logs")  # tensorboard events and train.log


@pytest.mark.slow
def test_torchrun_two_processes_gloo(data, tmp_path):
    snap = tmp_path / "snap"
    proc = _run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                 "tools/train.py", "--cfg", CFG, "--device", "cpu", "--opts"] + _opts(data, snap))
    assert "2 process(es)" in proc.stderr
    assert "FutureWarning" not in proc.stderr  # no per-rank deprecation noise from the DDP wrapper
    ck = load_checkpoint(str(snap / "latest.pth"))
    assert ck["iteration"] == 4 and ck["world_size"] == 2
    assert (snap / "checkpoint_e2.pth").is_file()


def _state(path):
    return load_checkpoint(str(path))["state_dict"]


def test_stop_and_resume_equals_uninterrupted(data, tmp_path):
    full, split = tmp_path / "full", tmp_path / "split"
    assert train(load_cfg(CFG, _opts(data, full, epochs=2, iters=3)), "cpu") == 6
    assert train(load_cfg(CFG, _opts(data, split, epochs=2, iters=3)), "cpu", stop_after=4) == 4
    assert load_checkpoint(str(split / "latest.pth"))["iteration"] == 4
    assert not (split / "checkpoint_e2.pth").exists()
    assert train(load_cfg(CFG, _opts(data, split, epochs=2, iters=3)), "cpu", resume=str(split / "latest.pth")) == 6
    a, b = _state(full / "latest.pth"), _state(split / "latest.pth")
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=1e-5, atol=1e-6, msg=f"{k} differs after resume")
    # The resumed run's event file tells TensorBoard to drop what the first run logged after iteration 4.
    restarts = [(e.step, e.session_log.status) for e in _events(split / "logs") if e.HasField("session_log")]
    assert (5, 1) in restarts  # SessionLog.START at the first new step


def _events(log_dir):
    """Every tensorboard event in ``log_dir`` (TFRecord framing: u64 length, u32 crc, payload, u32 crc)."""
    import struct

    from tensorboardX.proto import event_pb2

    events = []
    for name in sorted(os.listdir(log_dir)):
        if not name.startswith("events."):
            continue
        data, pos = (log_dir / name).read_bytes(), 0
        while pos < len(data):
            (length,) = struct.unpack("<Q", data[pos:pos + 8])
            event = event_pb2.Event()
            event.ParseFromString(data[pos + 12:pos + 12 + length])
            events.append(event)
            pos += 12 + length + 4
    return events


def test_kill_and_resume(data, tmp_path):
    snap = tmp_path / "snap"
    cmd = [sys.executable, "tools/train.py", "--cfg", CFG, "--device", "cpu", "--opts"] + _opts(
        data, snap, epochs=4, iters=2)
    proc = subprocess.Popen(cmd, cwd=REPO, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 120
        while not (snap / "checkpoint_e1.pth").exists() and time.time() < deadline and proc.poll() is None:
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    # Whatever moment the kill hit, every checkpoint name holds a complete file.
    for name in os.listdir(snap):
        if name.endswith(".pth"):
            assert "iteration" in load_checkpoint(str(snap / name))
    done = load_checkpoint(str(snap / "latest.pth"))["iteration"]
    assert 2 <= done <= 8
    _run([sys.executable, "tools/train.py", "--cfg", CFG, "--device", "cpu",
          "--resume", str(snap / "latest.pth"), "--opts"] + _opts(data, snap, epochs=4, iters=2))
    assert load_checkpoint(str(snap / "latest.pth"))["iteration"] == 8
    assert (snap / "checkpoint_e4.pth").is_file()


def test_truncated_resume_fails_clearly(data, tmp_path):
    bad = tmp_path / "latest.pth"
    bad.write_bytes(b"PK\x03\x04 truncated")
    proc = subprocess.run([sys.executable, "tools/train.py", "--cfg", CFG, "--device", "cpu", "--resume", str(bad),
                           "--opts"] + _opts(data, tmp_path / "snap"), cwd=REPO, env=_env(), capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode != 0 and "latest.pth: cannot read checkpoint" in proc.stderr


def test_ctrl_c_saves_the_current_iteration_and_resumes(data, tmp_path):
    snap = tmp_path / "snap"
    cmd = [sys.executable, "tools/train.py", "--cfg", CFG, "--device", "cpu", "--opts"] + _opts(
        data, snap, epochs=2, iters=5) + ["TRAIN.NUM_WORKERS", "1"]
    # Own session: the signal goes to the whole process group, DataLoader worker included, as a terminal's Ctrl-C.
    proc = subprocess.Popen(cmd, cwd=REPO, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    lines = []
    try:
        for line in proc.stderr:
            lines.append(line)
            if " it 1/10 " in line:
                os.killpg(proc.pid, signal.SIGINT)
    finally:
        proc.wait(timeout=120)
    log = "".join(lines)
    assert proc.returncode == 130, log
    assert "Traceback" not in log and "stopped at iteration" in log
    stopped_at = int(log.split("stopped at iteration ")[1].split(";")[0])
    assert 1 <= stopped_at < 10
    assert load_checkpoint(str(snap / "latest.pth"))["iteration"] == stopped_at
    _run([sys.executable, "tools/train.py", "--cfg", CFG, "--device", "cpu",
          "--resume", str(snap / "latest.pth"), "--opts"] + _opts(data, snap, epochs=2, iters=5))
    assert load_checkpoint(str(snap / "latest.pth"))["iteration"] == 10


def _children(pid):
    with open(f"/proc/{pid}/task/{pid}/children") as f:
        return [int(c) for c in f.read().split()]


@pytest.mark.slow
@pytest.mark.skipif(not os.path.exists(f"/proc/{os.getpid()}/task/{os.getpid()}/children"), reason="needs Linux /proc")
def test_sigterm_to_one_rank_stops_every_rank_at_the_same_iteration(data, tmp_path):
    snap = tmp_path / "snap"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", "tools/train.py",
           "--cfg", CFG, "--device", "cpu", "--opts"] + _opts(data, snap, epochs=2, iters=20)
    proc = subprocess.Popen(cmd, cwd=REPO, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    lines = []

    def read():
        for line in proc.stderr:
            lines.append(line)
            if " it 2/40 " in line:
                # A pre-empted node: one rank is signalled, not torchrun.
                os.kill(max(_children(proc.pid)), signal.SIGTERM)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    # A rank left waiting in an all-reduce would hang for gloo's 30-minute timeout: bound the wait.
    reader.join(timeout=180)
    if reader.is_alive():
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)
    log = "".join(lines)
    assert not reader.is_alive(), "a rank kept training or waiting after another rank was stopped\n" + log[-3000:]
    # The main rank stops too, at the iteration the signalled rank stopped at, and saves it.
    assert "stopped at iteration" in log, log[-3000:]
    stopped_at = int(log.split("stopped at iteration ")[1].split(";")[0])
    assert 2 <= stopped_at < 40
    ck = load_checkpoint(str(snap / "latest.pth"))
    assert ck["iteration"] == stopped_at and ck["world_size"] == 2


def test_user_errors_are_one_line_naming_file_or_key(data, tmp_path, caplog):
    import logging

    tool = load_tool("train")
    snap = tmp_path / "snap"
    crop_parent = os.path.dirname(data["root"])
    inference_only = os.path.join(REPO, "pysot", "data", "siamrpn_alex_tiny.pth")
    cases = [
        (["--opts"] + _opts(data, snap) + ["DATASET.SYNTHETIC.ROOT", crop_parent], "DATASET.SYNTHETIC.ROOT"),
        (["--opts"] + _opts(data, snap) + ["TRAIN.EPOCH", "1", "TRAIN.LR_WARMUP.EPOCH", "2"],
         "TRAIN.LR_WARMUP.EPOCH (2) is longer than TRAIN.EPOCH (1)"),
        (["--resume", inference_only, "--opts"] + _opts(data, snap),
         "siamrpn_alex_tiny.pth: not a training checkpoint"),
        (["--opts"] + _opts(data, snap) + ["TRAIN.PRETRAINED", str(tmp_path / "none.pth")], "none.pth"),
    ]
    logging.getLogger("pysot").propagate = True  # let caplog see the package logger
    try:
        for extra, expected in cases:
            caplog.clear()
            with caplog.at_level(logging.ERROR, logger="pysot"):
                assert tool.main(["--cfg", CFG, "--device", "cpu"] + extra) == 2
            assert expected in caplog.text, (expected, caplog.text)
    finally:
        logging.getLogger("pysot").propagate = False


def test_resume_into_another_network_names_the_checkpoint(data, tmp_path):
    from pysot.utils.checkpoint import CheckpointError

    snap = tmp_path / "snap"
    assert train(load_cfg(CFG, _opts(data, snap, epochs=1, iters=1) + ["TRAIN.LR_WARMUP.WARMUP", "False"]),
                 "cpu") == 1
    wider = _opts(data, tmp_path / "other", epochs=1, iters=1) + [
        "TRAIN.LR_WARMUP.WARMUP", "False", "BACKBONE.KWARGS.width_mult", "0.5", "RPN.KWARGS.in_channels", "128"]
    with pytest.raises(CheckpointError, match=r"--resume: .*latest.pth: shape mismatch: backbone"):
        train(load_cfg(CFG, wider), "cpu", resume=str(snap / "latest.pth"))


def test_each_run_writes_only_its_own_train_log(data, tmp_path):
    import logging

    quick = ["TRAIN.LR_WARMUP.WARMUP", "False"]
    first, second, failed = tmp_path / "first", tmp_path / "second", tmp_path / "failed"
    train(load_cfg(CFG, _opts(data, first, epochs=1, iters=1) + quick), "cpu")
    with pytest.raises(Exception, match="not found"):  # a run that cannot start
        train(load_cfg(CFG, _opts(data, failed, epochs=1, iters=1) + quick), "cpu", resume=str(tmp_path / "x.pth"))
    train(load_cfg(CFG, _opts(data, second, epochs=1, iters=1) + quick), "cpu")
    first_log = (first / "logs" / "train.log").read_text()
    assert str(first) in first_log and str(second) not in first_log and str(failed) not in first_log
    # No run may leave its train.log handler behind. Other file handlers on the logger are not ours:
    # pytest >= 9.2 attaches its own log-file handler (``_FileHandler``) to non-propagating loggers.
    left = [h.baseFilename for h in logging.getLogger("pysot").handlers
            if isinstance(h, logging.FileHandler) and h.baseFilename.startswith(str(tmp_path))]
    assert not left, left
