"""Whole seeded runs of tools/train.py on an original YAML: the original's loss curve, and bit-identical
repeats (issue 17 items 1 and 5).

The reference (tests/data/training_parity/orig_run_alex.npz) is the original PySOT's own tools/train.py
on the same YAML, data, weights and seed (README there).
"""
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from training_parity import DATA_DIR, TP_DIR, config, read_scalars, synthetic_model
from pysot.utils.checkpoint import load_checkpoint

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RUN_YAML = os.path.join(TP_DIR, "alex_run.yaml")


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("w") / "synthetic_alex.pth")
    torch.save(synthetic_model(config("alex")).state_dict(), path)
    return path


def _train(out, weights, iterations, *extra):
    env = dict(os.environ, OMP_NUM_THREADS="1", NO_COLOR="1")
    env["PYTHONPATH"] = REPO + os.pathsep + env.get("PYTHONPATH", "")
    cmd = [sys.executable, "tools/train.py", "--cfg", RUN_YAML, "--device", "cpu", "--stop-after", str(iterations),
           "--opts", "DATASET.VID.ROOT", os.path.join(DATA_DIR, "crop511"),
           "DATASET.VID.ANNO", os.path.join(DATA_DIR, "train.json"), "TRAIN.PRETRAINED", weights,
           "TRAIN.SNAPSHOT_DIR", str(out / "snap"), "TRAIN.LOG_DIR", str(out / "logs"), *extra]
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    scalars = read_scalars(str(out / "logs"))
    losses = {k: np.array([v for _, v in sorted(scalars[f"train/{k}"])]) for k in ("cls_loss", "loc_loss",
                                                                                   "total_loss")}
    return losses, proc.stderr


@pytest.mark.parametrize("iterations", [12, pytest.param(20, marks=pytest.mark.slow)])
def test_seeded_run_gives_the_originals_loss_curve(iterations, weights, tmp_path):
    """The original's samples (global numpy stream, augmentations), schedule and optimizer rebuild at the
    unfreezing epoch (iteration 11): every loss of every iteration within 1e-5 relative."""
    ref = np.load(os.path.join(TP_DIR, "orig_run_alex.npz"))
    losses, log = _train(tmp_path, weights, iterations)
    assert "backbone training layer4, layer5" in log
    for k, v in losses.items():
        assert len(v) == iterations
        np.testing.assert_allclose(v, ref[k][:iterations], rtol=1e-5, err_msg=k)


def test_seeded_cpu_run_is_bit_identical_when_repeated(weights, tmp_path):
    """Same seed, same YAML: the same losses and weights to the last bit, data loaded by a worker
    process too; the checkpoint records versions, seed, config digest and commit."""
    runs = []
    for name in ("a", "b"):
        losses, _ = _train(tmp_path / name, weights, 3, "TRAIN.NUM_WORKERS", "1")
        runs.append((losses, load_checkpoint(str(tmp_path / name / "snap" / "latest.pth"))))
    (la, ca), (lb, cb) = runs
    for k in la:
        np.testing.assert_array_equal(la[k], lb[k])
    for k, v in ca["state_dict"].items():
        assert torch.equal(v, cb["state_dict"][k]), k
    info = ca["run_info"]
    # The runs differ only by their output folders, which are part of the config (and its digest).
    assert {k: v for k, v in info.items() if k != "config_sha256"} == {
        k: v for k, v in cb["run_info"].items() if k != "config_sha256"}
    assert {"torch", "numpy", "opencv", "cuda", "seed", "config_sha256", "git_commit"} <= set(info)
    assert info["seed"] == 123456 and info["torch"] == str(torch.__version__) and info["numpy"] == np.__version__
    import hashlib

    for ck in (ca, cb):
        assert ck["run_info"]["config_sha256"] == hashlib.sha256(ck["config"].encode()).hexdigest()
    from pysot.utils.checkpoint import export_for_inference

    export_for_inference(str(tmp_path / "a" / "snap" / "latest.pth"), str(tmp_path / "small.pth"))
    small = load_checkpoint(str(tmp_path / "small.pth"))
    assert small["run_info"] == info and "optimizer" not in small
    # Another seed draws other samples.
    other, _ = _train(tmp_path / "c", weights, 1, "TRAIN.SEED", "7")
    assert other["total_loss"][0] != la["total_loss"][0]


@pytest.mark.slow
def test_resume_at_the_unfreezing_epoch_continues_the_originals_run(weights, tmp_path):
    """Stopped after epoch 1 (the backbone unfreezes next) and resumed: the numpy stream, the new
    optimizer and the schedule continue as the uninterrupted original run."""
    ref = np.load(os.path.join(TP_DIR, "orig_run_alex.npz"))
    _train(tmp_path / "first", weights, 10)
    resumed, log = _train(tmp_path / "second", weights, 11, "--resume", str(tmp_path / "first" / "snap" / "latest.pth"),
                          "TRAIN.SNAPSHOT_DIR", str(tmp_path / "first" / "snap"))
    assert "new optimizer" in log
    np.testing.assert_allclose(resumed["total_loss"], ref["total_loss"][10:11], rtol=1e-5)
