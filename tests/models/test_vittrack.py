"""VitTrack's one-stream network against the original VitTracker code (tests/data/vittrack)."""
import numpy as np
import pytest
import torch

from pysot.config import ConfigError, load_cfg
from pysot.core.registry import BACKBONES, HEADS
from pysot.models import build_model
from pysot.models.head.center import decode_center
from pysot.models.one_stream import OneStreamModel, from_original_state_dict
from vittrack_helpers import CONFIG, load_reference, reference_inputs, synthetic_model


@torch.no_grad()
def test_network_matches_the_original_to_1e5():
    ref = load_reference()
    _, model = synthetic_model()
    score, size, offset = model.forward_maps(*reference_inputs())
    assert score.shape == (1, 1, 16, 16) and size.shape == offset.shape == (1, 2, 16, 16)
    for name, ours in (("score", score), ("size", size), ("offset", offset)):
        assert np.abs(ours.numpy() - ref[name]).max() <= 1e-5, name


def test_state_dict_keys_are_the_originals_under_backbone():
    ref = load_reference()
    _, model = synthetic_model()
    theirs = {name for name, _ in ref["manifest"]}
    ours = set(model.state_dict())
    assert {k for k in ours if k.startswith("box_head.")} == {k for k in theirs if k.startswith("box_head.")}
    renamed = {"pos_embed.z": "pos_embed_z", "pos_embed.x": "pos_embed_x"}
    assert {renamed.get(k[len("backbone."):], k[len("backbone."):]) for k in ours if k.startswith("backbone.")} == \
        {k for k in theirs if not k.startswith("box_head.")}
    # distillation-only modules of the original's training mode are dropped
    extra = {"convs.0.weight": torch.zeros(1)}
    assert "convs.0.weight" not in from_original_state_dict(extra)


@torch.no_grad()
def test_track_uses_the_cached_template_and_decode_reads_the_argmax_cell():
    _, model = synthetic_model()
    z, x = reference_inputs()
    model.template(z)
    out = model.track(x)
    score, size, offset = model.forward_maps(z, x)
    assert torch.equal(out["score"], score)
    box = decode_center(score, size, offset)[0]
    idx = int(score.flatten().argmax())
    row, col = divmod(idx, 16)
    assert box[0] == pytest.approx((col + float(offset[0, 0, row, col])) / 16)
    assert box[1] == pytest.approx((row + float(offset[0, 1, row, col])) / 16)
    assert box[2] == pytest.approx(float(size[0, 0, row, col]))


def test_registered_as_one_decorated_class_each():
    assert BACKBONES.get("VitTrackBackbone").__name__ == "VitTrackBackbone"
    assert HEADS.get("CenterPredictor").__name__ == "CenterPredictor"


def test_build_model_gives_a_one_stream_model_and_checks_the_sizes(tmp_path):
    cfg = load_cfg(CONFIG)
    assert isinstance(build_model(cfg), OneStreamModel)
    with pytest.raises(ConfigError, match="TRACK.INSTANCE_SIZE .* search_size"):
        build_model(load_cfg(CONFIG, ["TRACK.INSTANCE_SIZE", "255"]))
    cfg = load_cfg(CONFIG)
    cfg.BACKBONE.TYPE, cfg.BACKBONE.KWARGS = "alexnet", type(cfg.BACKBONE.KWARGS)()
    with pytest.raises(ConfigError, match="not a one-stream backbone"):
        build_model(cfg)


def test_training_forward_backward_gives_finite_losses():
    cfg = load_cfg(CONFIG)
    model = build_model(cfg).train()
    from pysot.datasets.center_target import center_targets

    boxes = torch.tensor([[0.4, 0.4, 0.25, 0.2], [0.35, 0.45, 0.1, 0.3]])  # x1, y1, w, h (search fractions)
    batch = dict(template=torch.randn(2, 3, 128, 128), search=torch.randn(2, 3, 256, 256), box=boxes,
                 **center_targets(boxes, feat_size=16))
    losses = model(batch)
    assert set(losses) >= {"focal_loss", "giou_loss", "l1_loss", "total_loss"}
    assert all(torch.isfinite(v) for v in losses.values())
    losses["total_loss"].backward()
    assert model.backbone.patch_embed.net[0].c.weight.grad.abs().sum() > 0
