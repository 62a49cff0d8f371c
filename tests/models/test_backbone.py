"""Backbone output shapes, strides and used_layers on small inputs."""
import pytest
import torch

from pysot.core.registry import BACKBONES


@torch.no_grad()
def _shapes(net, size, batch=1):
    out = net.eval()(torch.rand(batch, 3, size, size) * 255)
    return [tuple(o.shape) for o in out] if isinstance(out, (list, tuple)) else tuple(out.shape)


@pytest.mark.parametrize("name", ["alexnetlegacy", "alexnet"])
def test_alexnet_sizes(name):
    net = BACKBONES.build(name, {"width_mult": 1.0})
    assert _shapes(net, 127) == (1, 256, 6, 6)
    assert _shapes(net, 255, batch=2) == (2, 256, 22, 22)


def test_alexnet_variants_are_the_same_network():
    legacy, grouped = BACKBONES.build("alexnetlegacy", {}), BACKBONES.build("alexnet", {})
    renamed = {}
    index_of = {0: "layer1.0", 1: "layer1.1", 4: "layer2.0", 5: "layer2.1", 8: "layer3.0", 9: "layer3.1",
                11: "layer4.0", 12: "layer4.1", 14: "layer5.0", 15: "layer5.1"}
    for key, value in legacy.state_dict().items():
        _, idx, param = key.split(".", 2)
        renamed[f"{index_of[int(idx)]}.{param}"] = value
    grouped.load_state_dict(renamed)
    x = torch.rand(1, 3, 127, 127) * 255
    torch.testing.assert_close(legacy.eval()(x), grouped.eval()(x))


def test_alexnet_width_mult():
    net = BACKBONES.build("alexnetlegacy", {"width_mult": 2})
    assert net.features[0].out_channels == 192 and net.features[14].out_channels == 512
    with pytest.raises(ValueError, match="width_mult"):
        BACKBONES.build("alexnetlegacy", {"width_mult": 0})


def test_resnet50_atrous_layout():
    net = BACKBONES.build("resnet50", {"used_layers": [2, 3, 4]})
    assert net.feature_channels == [512, 1024, 2048]
    assert _shapes(net, 127) == [(1, 512, 15, 15), (1, 1024, 15, 15), (1, 2048, 15, 15)]
    assert net.layer3[1].conv2.dilation == (2, 2) and net.layer4[1].conv2.dilation == (4, 4)
    assert net.layer2[0].downsample[0].kernel_size == (3, 3)


def test_resnet50_mask_layers_skip_layer4():
    net = BACKBONES.build("resnet50", {"used_layers": [0, 1, 2, 3]})
    assert net.layer4 is None
    assert not any(k.startswith("layer4") for k in net.state_dict())
    assert _shapes(net, 127) == [(1, 64, 61, 61), (1, 256, 31, 31), (1, 512, 15, 15), (1, 1024, 15, 15)]


@pytest.mark.parametrize("name,channels", [("resnet18", [128, 256, 512]), ("resnet34", [128, 256, 512])])
def test_basic_block_resnets(name, channels):
    net = BACKBONES.build(name, {"used_layers": [2, 3, 4]})
    assert net.feature_channels == channels
    assert _shapes(net, 127) == [(1, c, 15, 15) for c in channels]
    assert [s[2] for s in _shapes(net, 255)] == [31, 31, 31]


def test_single_used_layer_returns_a_tensor():
    net = BACKBONES.build("resnet18", {"used_layers": [3]})
    assert _shapes(net, 127) == (1, 256, 15, 15)


def test_resnet_rejects_bad_used_layers():
    with pytest.raises(ValueError, match="used_layers"):
        BACKBONES.build("resnet50", {"used_layers": [5]})


def test_mobilenetv2_sizes():
    net = BACKBONES.build("mobilenetv2", {"width_mult": 1.4, "used_layers": [3, 5, 7]})
    assert net.feature_channels == [44, 134, 448]
    assert _shapes(net, 127) == [(1, 44, 15, 15), (1, 134, 15, 15), (1, 448, 15, 15)]
    assert _shapes(net, 255) == [(1, 44, 31, 31), (1, 134, 31, 31), (1, 448, 31, 31)]


def test_siamfc_alexnet_sizes():
    net = BACKBONES.build("SiamFCAlexNet", {})
    assert _shapes(net, 127) == (1, 256, 6, 6)
    assert _shapes(net, 255) == (1, 256, 22, 22)
    assert net.conv2[0].groups == 2 and net.conv5[0].groups == 2
