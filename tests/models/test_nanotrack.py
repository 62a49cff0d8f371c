"""NanoTrack network: MobileNetV3-small, the neck, the BAN heads V1-V3, the released snapshots."""
import os

import pytest
import torch

from pysot.config import load_cfg
from pysot.core.registry import BACKBONES, HEADS, NECKS
from pysot.core.xcorr import xcorr_pixelwise
from pysot.models import build_model
from pysot.utils.model_load import load_pretrain

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
WEIGHTS = os.path.join(os.environ.get("PYSOT_SHARED", os.path.join(REPO, "..", "shared")), "weights", "nanotrack")
VERSIONS = [1, 2, 3]
SCORE_SIZE = {1: 16, 2: 16, 3: 15}


def nanotrack_weights(version: int) -> str:
    path = os.path.join(WEIGHTS, f"nanotrackv{version}.pth")
    if not os.path.isfile(path):
        pytest.skip(f"{path} is not present")
    return path


def test_pixelwise_xcorr_is_dot_product_of_cells():
    torch.manual_seed(0)
    x, z = torch.randn(2, 5, 6, 7), torch.randn(2, 5, 3, 2)
    out = xcorr_pixelwise(x, z)
    assert out.shape == (2, 6, 6, 7)
    expected = torch.einsum("bchw,bc->bhw", x, z[:, :, 2, 1])  # cell (2, 1) is channel 2 * 2 + 1
    torch.testing.assert_close(out[:, 5], expected)


@pytest.mark.parametrize("name,channels", [("mobilenetv3_small", 48), ("mobilenetv3_small_v3", 96)])
def test_backbone_stride_16_and_used_layers(name, channels):
    net = BACKBONES.build(name, {"used_layers": [4]}).eval()
    with torch.no_grad():
        assert net(torch.rand(1, 3, 127, 127)).shape == (1, channels, 8, 8)
        assert net(torch.rand(1, 3, 255, 255)).shape == (1, channels, 16, 16)
    multi = BACKBONES.build(name, {"used_layers": [2, 3, 4]}).eval()
    with torch.no_grad():
        outs = multi(torch.rand(1, 3, 255, 255))
    assert [tuple(o.shape[1:]) for o in outs] == [(24, 32, 32), (40, 16, 16), (channels, 16, 16)]
    assert multi.channels == [24, 40, channels]
    with pytest.raises(ValueError, match="used_layers"):
        BACKBONES.build(name, {"used_layers": [5]})


def test_neck_passes_equal_channels_through_and_adapts_others():
    x = torch.rand(1, 48, 16, 16)
    assert NECKS.build("NanoAdjustLayer", {"in_channels": 48, "out_channels": 48})(x) is x
    assert NECKS.build("NanoAdjustLayer", {"in_channels": 48, "out_channels": 32}).eval()(x).shape == (1, 32, 16, 16)


@pytest.mark.parametrize("version", VERSIONS)
def test_heads_from_plain_kwargs(version):
    channels = 96 if version == 3 else 48
    head = HEADS.build(f"NanoBANv{version}", {"in_channels": channels}).eval()
    with torch.no_grad():
        cls, loc = head(torch.rand(2, channels, 8, 8), torch.rand(2, channels, 16, 16))
    size = SCORE_SIZE[version]
    assert cls.shape == (2, 2, size, size) and loc.shape == (2, 4, size, size)
    assert (loc > 0).all()  # distances to the sides are exp() of the regression


@pytest.mark.parametrize("version", VERSIONS)
def test_experiment_builds_and_tracks(version):
    cfg = load_cfg(os.path.join(REPO, "experiments", f"nanotrack_v{version}", "config.yaml"))
    model = build_model(cfg).eval()
    assert model.is_point_based and "rpn_head" not in model._modules
    model.template(torch.rand(1, 3, 127, 127) * 255)
    out = model.track(torch.rand(1, 3, 255, 255) * 255)
    size = SCORE_SIZE[version]
    assert out["cls"].shape == (1, 2, size, size) and out["loc"].shape == (1, 4, size, size)
    assert cfg.TRACK.OUTPUT_SIZE == size


@pytest.mark.parametrize("version", VERSIONS)
def test_released_snapshot_loads_strictly(version):
    path = nanotrack_weights(version)
    model = build_model(load_cfg(os.path.join(REPO, "experiments", f"nanotrack_v{version}", "config.yaml"))).eval()
    before = model.state_dict()["backbone.features.0.0.weight"].clone()
    load_pretrain(model, path, strict=True)
    assert not torch.equal(before, model.state_dict()["backbone.features.0.0.weight"])
