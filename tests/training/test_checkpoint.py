import os

import pytest
import torch

from pysot.utils.checkpoint import CheckpointError, atomic_torch_save, load_checkpoint


def test_atomic_save_roundtrip_and_no_leftovers(tmp_path):
    path = tmp_path / "snap" / "latest.pth"
    atomic_torch_save({"iteration": 3, "w": torch.arange(4)}, str(path))
    ck = load_checkpoint(str(path))
    assert ck["iteration"] == 3 and torch.equal(ck["w"], torch.arange(4))
    assert os.listdir(path.parent) == ["latest.pth"]


def test_failed_save_keeps_previous_file(tmp_path):
    path = str(tmp_path / "latest.pth")
    atomic_torch_save({"iteration": 1}, path)

    class Unpicklable:
        def __reduce__(self):
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        atomic_torch_save({"iteration": 2, "bad": Unpicklable()}, path)
    assert load_checkpoint(path)["iteration"] == 1
    assert os.listdir(tmp_path) == ["latest.pth"]


def test_truncated_checkpoint_fails_clearly(tmp_path):
    path = tmp_path / "ck.pth"
    atomic_torch_save({"state_dict": {"w": torch.zeros(1000)}}, str(path))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="ck.pth.*truncated"):
        load_checkpoint(str(path))
    with pytest.raises(CheckpointError, match="not found"):
        load_checkpoint(str(tmp_path / "nope.pth"))


def test_temporaries_of_killed_runs_are_removed(tmp_path):
    import subprocess
    import sys

    from pysot.utils.checkpoint import remove_stale_temporaries

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(dead.stdout)
    (tmp_path / f"latest.pth.tmp{dead_pid}").write_bytes(b"half a checkpoint")
    (tmp_path / f"checkpoint_e2.pth.tmp{os.getpid()}").write_bytes(b"being written by a live process")
    (tmp_path / "latest.pth").write_bytes(b"kept")
    (tmp_path / f"notes.txt.tmp{dead_pid}").write_bytes(b"not a checkpoint: not ours to delete")
    assert remove_stale_temporaries(str(tmp_path)) == [str(tmp_path / f"latest.pth.tmp{dead_pid}")]
    assert sorted(os.listdir(tmp_path)) == sorted(
        ["latest.pth", f"checkpoint_e2.pth.tmp{os.getpid()}", f"notes.txt.tmp{dead_pid}"])
    assert remove_stale_temporaries(str(tmp_path / "missing")) == []
