"""--resume refuses malformed checkpoints and schedule changes; a full disk during a save is one line."""
import errno
import logging
import os

import pytest
import torch

from pysot.config import load_cfg
from pysot.datasets.synthetic import write_crop511_dataset
from pysot.training.trainer import CheckpointWriteError, train
from pysot.utils.checkpoint import load_checkpoint
from tool_loader import load_tool

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CFG = os.path.join(REPO, "experiments", "siamrpn_alex_tiny", "config.yaml")


def _opts(data, snap, epochs=1, iters=1, batch=2):
    return ["DATASET.SYNTHETIC.ROOT", data["root"], "DATASET.SYNTHETIC.ANNO", data["anno"],
            "TRAIN.EPOCH", str(epochs), "TRAIN.ITERS_PER_EPOCH", str(iters), "TRAIN.BATCH_SIZE", str(batch),
            "TRAIN.NUM_WORKERS", "0", "TRAIN.LR_WARMUP.WARMUP", "False", "TRAIN.PRINT_FREQ", "1",
            "TRAIN.SNAPSHOT_DIR", str(snap), "TRAIN.LOG_DIR", ""]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return write_crop511_dataset(str(tmp_path_factory.mktemp("data")), num_videos=4, num_frames=4, seed=3)


@pytest.fixture(scope="module")
def checkpoint(data, tmp_path_factory):
    """A real checkpoint after 1 iteration (batch 2, 1 iteration per epoch, 2 epochs planned)."""
    snap = tmp_path_factory.mktemp("snap")
    assert train(load_cfg(CFG, _opts(data, snap, epochs=2)), "cpu", stop_after=1) == 1
    return load_checkpoint(str(snap / "latest.pth"))


@pytest.fixture
def errors(caplog):
    """Runs tools/train.py in-process; returns (exit code, the error lines it logged)."""
    tool = load_tool("train")
    pkg = logging.getLogger("pysot")
    pkg.propagate = True  # let caplog see the package logger

    def run(argv):
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="pysot"):
            code = tool.main(["--cfg", CFG, "--device", "cpu"] + argv)
        return code, caplog.text

    yield run
    pkg.propagate = False


def _save(tmp_path, ckpt, **changes):
    bad = dict(ckpt, **changes)
    path = tmp_path / "bad.pth"
    torch.save(bad, str(path))
    return str(path)


@pytest.mark.parametrize("field, value, expected", [
    ("optimizer", "not a state", "malformed 'optimizer' field"),
    ("optimizer", {"state": {}, "param_groups": 3}, "malformed 'optimizer' field"),
    ("iteration", "12", "malformed 'iteration' field (str '12')"),
    ("iteration", -3, "malformed 'iteration' field (int -3)"),
    ("iteration", 2.5, "malformed 'iteration' field (float 2.5)"),
    ("rng", {"python": 1}, "malformed 'rng' field"),
    ("rng", "seed", "malformed 'rng' field"),
    ("state_dict", [1, 2], "state_dict: expected a state_dict (a mapping), got list"),
])
def test_malformed_resume_fields_are_one_line(data, checkpoint, tmp_path, errors, field, value, expected):
    """These raised TypeError / ValueError / KeyError tracebacks from torch, numpy or int()."""
    path = _save(tmp_path, checkpoint, **{field: value})
    code, log = errors(["--resume", path, "--opts"] + _opts(data, tmp_path / "snap", epochs=2))
    assert code == 2 and expected in log and (path in log or field == "state_dict"), log
    assert "Traceback" not in log


def test_the_checkpoint_itself_resumes(data, checkpoint, tmp_path, errors):
    """The fields above are what a real checkpoint holds: unchanged, it resumes to the end."""
    path = _save(tmp_path, checkpoint)
    code, log = errors(["--resume", path, "--opts"] + _opts(data, tmp_path / "snap", epochs=2))
    assert code == 0 and "schedule" not in log, log
    assert load_checkpoint(str(tmp_path / "snap" / "latest.pth"))["iteration"] == 2


@pytest.mark.parametrize("change, expected", [
    (["TRAIN.BATCH_SIZE", "3"], "batch 2 x 1 process(es) in the checkpoint, 3 x 1 in this run"),
    (["TRAIN.ITERS_PER_EPOCH", "2"], "1 iterations per epoch in the checkpoint, 2 in this run"),
])
def test_resume_with_another_schedule_is_refused_naming_both(data, checkpoint, tmp_path, errors, change, expected):
    """It used to continue silently (batch) or with a warning only (epoch length)."""
    path = _save(tmp_path, checkpoint)
    opts = _opts(data, tmp_path / "snap", epochs=2) + change
    code, log = errors(["--resume", path, "--opts"] + opts)
    assert code == 2 and f"{path}: resuming with another schedule: {expected}" in log, log
    code, log = errors(["--resume", path, "--allow-schedule-change", "--opts"] + opts)
    assert code == 0 and "schedule changed on resume" in log and expected in log, log


def test_schedule_check_reads_the_config_of_older_checkpoints(data, checkpoint, tmp_path, errors):
    older = {k: v for k, v in checkpoint.items() if k != "batch_size"}  # written before the field existed
    path = _save(tmp_path, older)
    code, log = errors(["--resume", path, "--opts"] + _opts(data, tmp_path / "snap", epochs=2, batch=3))
    assert code == 2 and "batch 2 x 1 process(es) in the checkpoint, 3 x 1 in this run" in log, log


class _FullDisk:
    """A file whose writes fail with ENOSPC once ``room`` bytes are written (as on a full disk)."""

    def __init__(self, f, room):
        self._f, self._room = f, room

    def write(self, b):
        if len(b) > self._room:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self._room -= len(b)
        return self._f.write(b)

    def __getattr__(self, name):
        return getattr(self._f, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return self._f.__exit__(*exc)


def test_disk_full_during_a_save_is_one_line_and_keeps_the_previous_checkpoint(data, tmp_path, errors,
                                                                               monkeypatch):
    """torch's zip writer turned the ENOSPC into a C++ RuntimeError ('enforce fail at inline_container.cc')."""
    import builtins

    import pysot.utils.fileio as fileio

    opened = []

    def open_on_a_filling_disk(path, mode="r", *args, **kwargs):
        f = builtins.open(path, mode, *args, **kwargs)
        if "w" not in mode:
            return f
        opened.append(path)
        # latest.pth and checkpoint_e1.pth of epoch 1 fit; epoch 2's latest.pth does not.
        return f if len(opened) <= 2 else _FullDisk(f, room=4096)

    monkeypatch.setattr(fileio, "open", open_on_a_filling_disk, raising=False)
    snap = tmp_path / "snap"
    code, log = errors(["--opts"] + _opts(data, snap, epochs=2))
    assert code == 1, log
    assert f"{snap / 'latest.pth'}: cannot write checkpoint: No space left on device" in log, log
    assert "the previous file is kept" in log and "Traceback" not in log and "inline_container" not in log
    assert load_checkpoint(str(snap / "latest.pth"))["iteration"] == 1  # epoch 1's, intact
    assert sorted(os.listdir(snap)) == ["checkpoint_e1.pth", "latest.pth"]  # no temporary left behind
    with pytest.raises(CheckpointWriteError):
        monkeypatch.setattr(fileio, "open", lambda *a, **k: _FullDisk(builtins.open(*a, **k), 0), raising=False)
        train(load_cfg(CFG, _opts(data, tmp_path / "other")), "cpu")
