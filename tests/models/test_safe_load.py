"""Loading user-supplied checkpoints never runs code from the file (weights-only, numpy scalars allowed)."""
import io
import os
import zipfile

import numpy as np
import pytest
import torch
import torch.nn as nn

from pysot.utils.checkpoint import CheckpointError, load_checkpoint, safe_torch_load
from pysot.utils.model_load import load_pretrain, read_state_dict


class _WritesMarker:
    """A pickle payload that creates a file when unpickled (what a crafted checkpoint would do)."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def _malicious(tmp_path):
    marker = tmp_path / "owned"
    path = tmp_path / "evil.pth"
    torch.save({"state_dict": {"w": torch.zeros(2)}, "optimizer": _WritesMarker(str(marker))}, path)
    return str(path), marker


def test_resume_loader_refuses_code_in_the_file(tmp_path):
    path, marker = _malicious(tmp_path)
    with pytest.raises(CheckpointError, match=r"evil\.pth: refused: its pickle needs `.*open`"):
        load_checkpoint(path)
    assert not marker.exists()


class _RunsShell:
    """A pickle payload calling ``os.system`` (torch words this refusal differently from ``open``)."""

    def __reduce__(self):
        return (os.system, ("true",))


def test_the_refusal_of_os_system_names_the_global(tmp_path):
    path = str(tmp_path / "shell.pth")
    torch.save({"state_dict": {"w": torch.zeros(2)}, "x": _RunsShell()}, path)
    with pytest.raises(CheckpointError) as e:
        load_checkpoint(path)
    assert f"{path}: refused: its pickle needs `{os.system.__module__}.system`" in str(e.value)


def test_pretrained_loader_refuses_code_in_the_file(tmp_path):
    path, marker = _malicious(tmp_path)
    with pytest.raises(ValueError, match=r"evil\.pth: refused"):
        load_pretrain(nn.Linear(2, 1), path)
    assert not marker.exists()


def _numpy1_snapshot(tmp_path):
    """A PySOT-style snapshot as numpy 1 pickles it: the lr is a numpy scalar under ``numpy.core``."""
    path = tmp_path / "checkpoint_e20.pth"
    torch.save({"epoch": 20, "state_dict": nn.Linear(2, 1).state_dict(),
                "optimizer": {"param_groups": [{"lr": np.float64(0.005), "momentum": np.float32(0.9)}]}}, path)
    buf = io.BytesIO()
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename.endswith("data.pkl"):
                # torch.save pickles with protocol 2: GLOBAL opcodes are newline-terminated text
                assert b"numpy._core.multiarray\nscalar" in data
                data = data.replace(b"numpy._core.multiarray\nscalar", b"numpy.core.multiarray\nscalar")
            dst.writestr(item, data)
    path.write_bytes(buf.getvalue())
    return str(path)


def test_pysot_snapshots_with_numpy_scalars_load(tmp_path):
    path = _numpy1_snapshot(tmp_path)
    ckpt = safe_torch_load(path)
    assert ckpt["optimizer"]["param_groups"][0]["lr"] == pytest.approx(0.005)
    model = load_pretrain(nn.Linear(2, 1), path, strict=True)
    torch.testing.assert_close(model.weight, ckpt["state_dict"]["weight"])


def test_numpy_object_arrays_stay_refused(tmp_path):
    path = tmp_path / "objects.pth"
    torch.save({"w": torch.zeros(1), "extra": np.array([{"a": 1}], dtype=object)}, path)
    with pytest.raises(CheckpointError, match="refused"):
        safe_torch_load(str(path))


def test_non_finite_weights_are_refused_by_name(tmp_path):
    weights = nn.Linear(3, 2).state_dict()
    weights["weight"][0, 1] = float("nan")
    weights["bias"][1] = float("inf")
    path = tmp_path / "diverged.pth"
    torch.save({"state_dict": weights}, path)
    with pytest.raises(ValueError, match=r"diverged\.pth: 2 tensor\(s\) hold NaN or inf values: weight, bias"):
        load_pretrain(nn.Linear(3, 2), str(path))


@pytest.mark.parametrize("version", [1, 2, 3])
def test_released_nanotrack_snapshots_load(version, shared_dir):
    path = os.path.join(shared_dir, "weights", "nanotrack", f"nanotrackv{version}.pth")
    if not os.path.isfile(path):
        pytest.skip("../shared/weights/nanotrack is not present")
    state = read_state_dict(path)
    assert all(isinstance(v, torch.Tensor) for v in state.values())
    assert any(k.startswith("backbone.") for k in state)
