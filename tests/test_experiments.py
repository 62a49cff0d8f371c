"""Every shipped experiment builds and runs template + track on CPU (random weights, small batch)."""
import glob
import os

import pytest
import torch

from markers import slow_if_heavy
from pysot.config import load_cfg
from pysot.models import build_model

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIGS = sorted(glob.glob(os.path.join(REPO, "experiments", "*", "config.yaml")))


@pytest.mark.parametrize("path", slow_if_heavy(CONFIGS))
@torch.no_grad()
def test_experiment_runs(path):
    torch.manual_seed(0)
    cfg = load_cfg(path)
    model = build_model(cfg).eval()
    exemplar, instance = cfg.TRACK.EXEMPLAR_SIZE, cfg.TRACK.INSTANCE_SIZE
    model.template(torch.rand(1, 3, exemplar, exemplar) * 255)
    out = model.track(torch.rand(1, 3, instance, instance) * 255)
    if cfg.CENTER.CENTER:  # one-stream (VitTrack): centre head maps at stride 16
        size = instance // 16
        assert out["score"].shape == (1, 1, size, size) and torch.isfinite(out["score"]).all()
        assert out["size"].shape == out["offset"].shape == (1, 2, size, size)
        return
    cls = out["cls"]
    assert torch.isfinite(cls).all()
    if cfg.BAN.BAN:  # anchor-free (NanoTrack): two logits and four side distances per point
        size = cfg.TRACK.OUTPUT_SIZE
        assert cls.shape == (1, 2, size, size)
        assert out["loc"].shape == (1, 4, size, size)
    elif out["loc"] is None:  # SiamFC: one response map at the backbone's total stride
        size = (instance - exemplar) // cfg.TRACK.TOTAL_STRIDE + 1
        assert cls.shape == (1, 1, size, size)
    else:
        anchors = len(cfg.ANCHOR.RATIOS) * len(cfg.ANCHOR.SCALES)
        size = (instance - exemplar) // cfg.ANCHOR.STRIDE + 1 + cfg.TRACK.BASE_SIZE
        assert cls.shape == (1, 2 * anchors, size, size)
        assert out["loc"].shape == (1, 4 * anchors, size, size)
    if cfg.MASK.MASK:
        assert out["mask"].shape == (1, 63 * 63, size, size)
        if cfg.REFINE.REFINE:
            assert model.mask_refine((size // 2, size // 2)).shape == (1, 127 * 127)
    else:
        assert out["mask"] is None


def test_configs_folder_holds_only_bases_of_experiments():
    """README: ``experiments/<name>/config.yaml`` are what tools run, ``configs/`` only bases they
    pull in with ``_BASE_`` (so a file there that no experiment uses is dead, and an experiment
    folder without config.yaml is not runnable)."""
    import yaml

    bases = set()
    for path in CONFIGS:
        with open(path, encoding="utf-8") as f:
            base = (yaml.safe_load(f) or {}).get("_BASE_")
        if base:
            bases.add(os.path.realpath(os.path.join(os.path.dirname(path), base)))
    in_configs = {os.path.realpath(p) for p in glob.glob(os.path.join(REPO, "configs", "*"))}
    assert in_configs and in_configs <= bases, f"not a base of any experiment: {sorted(in_configs - bases)}"
    folders = [d for d in glob.glob(os.path.join(REPO, "experiments", "*")) if os.path.isdir(d)]
    assert len(folders) == len(CONFIGS)
