"""TRACK.PRECISION / --precision bf16: opt-in bfloat16 tracking on the fast path; float32 stays the default."""
import numpy as np
import pytest
import torch

from pysot.config import load_cfg
from pysot.core.config import ConfigError
from pysot.datasets.synthetic import render_clip
from pysot.models import build_model
from pysot.models.fast import FastModel
from pysot.tracker import build_tracker, cpu_has_bf16
from pysot.utils.model_load import load_pretrain
from shared_paths import REPO

TINY = f"{REPO}/experiments/siamrpn_alex_tiny/config.yaml"
TINY_WEIGHTS = f"{REPO}/pysot/data/siamrpn_alex_tiny.pth"
needs_bf16 = pytest.mark.skipif(not cpu_has_bf16(), reason="this CPU has no bfloat16 instructions")


def _model():
    cfg = load_cfg(TINY)
    model = build_model(cfg).eval()
    load_pretrain(model, TINY_WEIGHTS)
    return cfg, model


def test_float32_is_the_default_and_bad_values_are_refused():
    cfg, model = _model()
    assert cfg.TRACK.PRECISION == "float32"
    tracker = build_tracker(cfg, model)
    assert isinstance(tracker.model, FastModel) and tracker.model.amp_dtype is None
    with pytest.raises(ConfigError, match="TRACK.PRECISION: 'fp8' is not one of float32, bf16"):
        load_cfg(TINY, ["TRACK.PRECISION", "fp8"])
    with pytest.raises(ValueError, match="cannot be combined with fast=False"):
        build_tracker(cfg, model, fast=False, precision="bf16")


def test_bf16_is_refused_on_a_cpu_without_it(monkeypatch):
    import pysot.tracker as trackers

    monkeypatch.setattr(trackers, "cpu_has_bf16", lambda: False)
    cfg, model = _model()
    with pytest.raises(ValueError, match="no bfloat16 instructions"):
        build_tracker(cfg, model, precision="bf16")


@needs_bf16
def test_bf16_tracks_close_to_float32():
    cfg, model = _model()
    cfg.defrost()
    cfg.TRACK.PRECISION = "bf16"  # the config key alone selects it
    low = build_tracker(cfg, model)
    full = build_tracker(cfg, model, precision="float32")
    assert isinstance(low.model, FastModel) and low.model.amp_dtype == torch.bfloat16
    frames, boxes = render_clip(num_frames=6, seed=3)
    low.init(frames[0], boxes[0])
    full.init(frames[0], boxes[0])
    for frame in frames[1:]:
        a, b = low.track(frame), full.track(frame)
        assert np.all(np.isfinite(a["bbox"])) and 0.0 <= a["best_score"] <= 1.0
        assert np.abs(np.subtract(a["bbox"], b["bbox"])).max() < 5.0  # bf16 keeps ~3 significant digits


def test_precision_flag_becomes_the_config_override():
    from tool_loader import load_tool

    args = load_tool("test").parse_args(["--config", TINY, "--dataset", "OTB100", "--dataset-root", ".",
                                         "--precision", "bf16", "TRACK.LR", "0.3"])
    assert args.opts == ["TRACK.LR", "0.3", "TRACK.PRECISION", "bf16"]
    assert load_tool("demo").parse_args(["--precision", "bf16"]).opts == ["TRACK.PRECISION", "bf16"]
