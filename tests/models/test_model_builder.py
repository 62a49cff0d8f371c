"""ModelBuilder: the inference protocol, batching, SiamMask refinement, config errors."""
import pytest
import torch
from markers import requires_cuda

from pysot.config import ConfigError, get_cfg
from pysot.models import ModelBuilder, build_model
from pysot.models.backbone import AlexNetLegacy
from pysot.models.head import DepthwiseRPN


def _alex_cfg():
    cfg = get_cfg()
    cfg.BACKBONE.TYPE = "alexnetlegacy"
    cfg.ADJUST.ADJUST = False
    cfg.RPN.TYPE = "DepthwiseRPN"
    cfg.RPN.KWARGS.in_channels = 256
    cfg.RPN.KWARGS.out_channels = 256
    return cfg


def test_plain_kwargs_construction_without_config():
    model = ModelBuilder(backbone=AlexNetLegacy(), rpn_head=DepthwiseRPN(5, 256, 256)).eval()
    model.template(torch.rand(1, 3, 127, 127) * 255)
    out = model.track(torch.rand(1, 3, 255, 255) * 255)
    assert out["cls"].shape == (1, 10, 17, 17) and out["loc"].shape == (1, 20, 17, 17) and out["mask"] is None


def _alex_model_and_batch():
    """Random-weight AlexNet SiamRPN, its outputs for a random batch of two, and that batch."""
    torch.manual_seed(0)
    model = build_model(_alex_cfg()).eval()
    z, x = torch.rand(2, 3, 127, 127) * 255, torch.rand(2, 3, 255, 255) * 255
    model.template(z)
    return model, model.track(x), z, x


def test_batch_items_match_single_runs():
    model, batched, z, x = _alex_model_and_batch()
    for b in range(2):
        model.template(z[b : b + 1])
        single = model.track(x[b : b + 1])
        torch.testing.assert_close(batched["cls"][b : b + 1], single["cls"], rtol=1e-4, atol=1e-4)
        torch.testing.assert_close(batched["loc"][b : b + 1], single["loc"], rtol=1e-4, atol=1e-4)


def test_track_before_template_is_an_error():
    model = build_model(_alex_cfg()).eval()
    with pytest.raises(RuntimeError, match="before template"):
        model.track(torch.zeros(1, 3, 255, 255))
    with pytest.raises(RuntimeError, match="refine head"):
        model.mask_refine((0, 0))


def test_anchor_count_follows_ratios_and_scales():
    cfg = _alex_cfg()
    cfg.ANCHOR.RATIOS = [0.5, 1, 2]
    cfg.ANCHOR.ANCHOR_NUM = 5  # stale legacy value: ignored
    model = build_model(cfg)
    assert model.rpn_head.cls.head[3].out_channels == 6
    cfg.RPN.KWARGS.anchor_num = 5
    with pytest.raises(ConfigError, match="anchor_num is 5 but ANCHOR.RATIOS x ANCHOR.SCALES gives 3"):
        build_model(cfg)


def test_siammask_refine_follows_track():
    cfg = get_cfg()
    cfg.BACKBONE.KWARGS.used_layers = [0, 1, 2, 3]
    cfg.ADJUST.KWARGS.in_channels = [1024]
    cfg.ADJUST.KWARGS.out_channels = [256]
    cfg.RPN.TYPE = "DepthwiseRPN"
    cfg.RPN.KWARGS.in_channels = 256
    cfg.RPN.KWARGS.out_channels = 256
    cfg.MASK.MASK = True
    cfg.REFINE.REFINE = True
    model = build_model(cfg).eval()
    model.template(torch.rand(1, 3, 127, 127) * 255)
    with pytest.raises(RuntimeError, match="before track"):
        model.mask_refine((0, 0))
    out = model.track(torch.rand(1, 3, 255, 255) * 255)
    assert out["mask"].shape == (1, 3969, 25, 25)
    refined = model.mask_refine((12, 12))
    assert refined.shape == (1, 127 * 127) and torch.isfinite(refined).all()


def test_refine_without_mask_is_rejected():
    cfg = _alex_cfg()
    cfg.REFINE.REFINE = True
    with pytest.raises(ConfigError, match="REFINE.REFINE requires MASK.MASK"):
        build_model(cfg)


@requires_cuda
def test_cuda_matches_cpu():
    model, expected, z, x = _alex_model_and_batch()
    model.to("cuda")
    model.template(z.cuda())
    got = model.track(x.cuda())
    for key in ("cls", "loc"):
        torch.testing.assert_close(got[key].cpu(), expected[key], rtol=1e-3, atol=1e-3)
