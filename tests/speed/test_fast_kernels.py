"""The fast path's CPU kernels and NanoTrack rewrites: matrix-product 1x1 convolutions, prepacked
oneDNN convolutions, BatchNorm folding in BatchNorm's own float32 arithmetic, the twinned V2 head,
the single-function squeeze-excite gate, and the channels-last crop."""
import os

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from pysot.config import load_cfg
from pysot.models import build_model
from pysot.models.fast import FusedConv2d, optimize_for_inference
from pysot.models.fast.mobile import FastSqueezeExcite, fast_squeeze_excite
from pysot.models.fast.twin import TwinBANv2, twin_head
from shared_paths import REPO

ACTIVATIONS = {"none": lambda t: t, "relu": F.relu, "relu6": lambda t: F.hardtanh(t, 0.0, 6.0),
               "hardswish": F.hardswish}


def _randomize(module: nn.Module, seed: int = 0) -> nn.Module:
    """Random weights and BatchNorm statistics far from the identity, in eval mode."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in module.modules():
            for p in m.parameters(recurse=False):
                p.copy_(torch.randn(p.shape, generator=g) * 0.2)
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.5)
                m.running_var.copy_(torch.rand(m.num_features, generator=g) * 2 + 0.05)
                m.weight.copy_(torch.randn(m.num_features, generator=g) * 0.3 + 1)
    return module.eval()


@pytest.mark.parametrize("groups", [1, 2])
@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
@pytest.mark.parametrize("channels_last", [False, True])
@pytest.mark.parametrize("size", [(3, 4), (5, 7)])  # at most / above GEMM_MAX_PIXELS: BLAS products / oneDNN
def test_pointwise_convolution_as_matrix_products(groups, activation, channels_last, size):
    from pysot.models.fast.fuse import GEMM_MAX_PIXELS

    assert (size[0] * size[1] <= GEMM_MAX_PIXELS) == (size == (3, 4))
    conv = nn.Conv2d(8, 12, 1, groups=groups)
    fused = FusedConv2d.from_conv(conv)
    if activation != "none":
        fused.set_activation(activation)
    x = torch.randn(3, 8, *size)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    with torch.no_grad():
        got, expected = fused(x), ACTIVATIONS[activation](conv(x))
    assert got.shape == expected.shape
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("kernel,stride,groups", [(3, 1, 16), (5, 2, 16), (3, 2, 1)])
def test_prepacked_convolution_serves_other_input_sizes(kernel, stride, groups):
    """The weight is packed for the first input seen; template- and search-sized inputs share it."""
    conv = nn.Conv2d(16, 16, kernel, stride, kernel // 2, groups=groups)
    fused = FusedConv2d.from_conv(conv)
    fused.set_activation("hardswish")
    with torch.no_grad():
        for size in (31, 15, 8):
            x = torch.randn(2, 16, size, size).contiguous(memory_format=torch.channels_last)
            torch.testing.assert_close(fused(x), F.hardswish(conv(x)), rtol=1e-5, atol=1e-5)


def test_prepared_kernels_follow_weight_changes():
    """load_state_dict and dtype moves replace the weights: the prepared kernels must not outlive them."""
    conv_a, conv_b = nn.Conv2d(6, 6, 1), nn.Conv2d(6, 6, 3, padding=1, groups=6)
    for conv in (conv_a, conv_b):
        fused = FusedConv2d.from_conv(conv)
        x = torch.randn(1, 6, 9, 9)
        with torch.no_grad():
            fused(x)  # prepares the kernel
            other = FusedConv2d.from_conv(type(conv)(6, 6, conv.kernel_size, padding=conv.padding, groups=conv.groups))
            fused.load_state_dict(other.state_dict())
            torch.testing.assert_close(fused(x), other(x), rtol=1e-5, atol=1e-5)
            fused.double()
            torch.testing.assert_close(fused(x.double()), other.double()(x.double()))


def test_prepared_kernels_survive_pickling_and_deepcopy():
    import copy
    import io

    fused = FusedConv2d.from_conv(nn.Conv2d(6, 6, 3, padding=1, groups=6, bias=False))
    x = torch.randn(1, 6, 9, 9)
    with torch.no_grad():
        expected = fused(x)  # prepares the kernel (a closure)
        buffer = io.BytesIO()
        torch.save(fused, buffer)
        buffer.seek(0)
        for clone in (torch.load(buffer, weights_only=False), copy.deepcopy(fused)):
            torch.testing.assert_close(clone(x), expected)
            clone.weight.mul_(2)  # the clone's own weights are the ones it uses
            clone.load_state_dict(clone.state_dict())
            torch.testing.assert_close(clone(x), 2 * expected, rtol=1e-5, atol=1e-5)


def test_weights_made_in_inference_mode_work():
    with torch.inference_mode():
        fused = FusedConv2d.from_conv(nn.Conv2d(4, 4, 3, padding=1))
        x = torch.randn(1, 4, 6, 6)
        assert fused(x).shape == (1, 4, 6, 6)


def test_batchnorm_folds_with_batchnorms_own_float32_constants():
    """alpha = weight / sqrt(var + eps), beta = bias - mean * alpha, in float32 as the BatchNorm kernel
    forms them: float64 constants, rounded once, differ by an ulp and moved NanoTrack V3 on bag 1.7 px."""
    conv, bn = nn.Conv2d(5, 7, 3, bias=True), _randomize(nn.BatchNorm2d(7), seed=3)
    fused = FusedConv2d.from_conv(conv)
    fused.fold_batchnorm(bn)
    alpha = bn.weight.detach() * (1.0 / torch.sqrt(bn.running_var + bn.eps))
    beta = bn.bias.detach() - bn.running_mean * alpha
    assert torch.equal(fused.weight, conv.weight.detach() * alpha.reshape(-1, 1, 1, 1))
    assert torch.equal(fused.bias, beta + conv.bias.detach() * alpha)
    x = torch.randn(2, 5, 11, 11) * 20
    with torch.no_grad():
        torch.testing.assert_close(fused(x), bn(conv(x)), rtol=1e-5, atol=1e-4)


def _nanotrack_model(version: int, seed: int = 0):
    """The experiment's network with its release-like initialisation and random BatchNorm statistics."""
    cfg = load_cfg(os.path.join(REPO, "experiments", f"nanotrack_v{version}", "config.yaml"))
    model = build_model(cfg).eval()
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.1)
                m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
                m.weight.copy_(torch.randn(m.num_features, generator=g) * 0.1 + 1)
                m.bias.copy_(torch.randn(m.num_features, generator=g) * 0.1)
    return cfg, model


@pytest.mark.parametrize("batch", [1, 3])
def test_twinned_v2_head_matches_the_two_branches(batch):
    cfg, model = _nanotrack_model(2)
    fast = optimize_for_inference(model, "cpu")
    assert type(fast.model.ban_head) is TwinBANv2
    g = torch.Generator().manual_seed(1)
    z = torch.rand(batch, 3, 127, 127, generator=g) * 255
    x = torch.rand(batch, 3, 255, 255, generator=g) * 255
    with torch.no_grad():
        model.template(z)
        expected = model.track(x)
    fast.template(z)
    got = fast.track(x)
    for key in ("cls", "loc"):
        assert got[key].shape == expected[key].shape
        torch.testing.assert_close(got[key], expected[key], rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("version", [1, 3])
def test_other_heads_are_not_twinned(version):
    """V1's towers differ in depth and kernels and V3's head is not NanoBANv2: both stay as they are."""
    _, model = _nanotrack_model(version)
    fast = optimize_for_inference(model, "cpu")
    assert type(fast.model.ban_head) is type(model.ban_head)


def test_unfolded_v2_head_is_not_twinned():
    """Without folding the towers still hold BatchNorms: nothing to twin, the head is kept."""
    _, model = _nanotrack_model(2)
    head = model.ban_head
    assert twin_head(model) is None and model.ban_head is head


def test_fast_squeeze_excite_matches_the_module():
    from pysot.models.backbone.mobile_v3 import SqueezeExcite

    se = _randomize(SqueezeExcite(40), seed=2)
    holder = nn.Sequential(se)
    assert fast_squeeze_excite(holder) == 1 and type(holder[0]) is FastSqueezeExcite
    x = torch.randn(2, 40, 9, 9) * 3
    with torch.no_grad():
        torch.testing.assert_close(holder[0](x), se(x), rtol=1e-6, atol=1e-6)


def test_channels_last_crop_has_the_same_pixels():
    from pysot.tracker import build_tracker

    cfg, model = _nanotrack_model(2)
    plain, fast = build_tracker(cfg, model, fast=False), build_tracker(cfg, model)
    img = np.random.default_rng(0).integers(0, 255, (120, 160, 3), dtype=np.uint8)
    for tracker in (plain, fast):
        tracker.init(img, [10, 20, 30, 40])
    center = np.array([12.0, 100.0])  # the window sticks out of the frame: padded crop
    a, b = plain._crop(img, center, 255, 180.0), fast._crop(img, center, 255, 180.0)
    assert b.is_contiguous(memory_format=torch.channels_last) and a.is_contiguous()
    assert torch.equal(a, b)


def test_nan_to_num_shortcut_agrees_with_numpy():
    from pysot.tracker.base_tracker import nan_to_num

    finite = np.array([1.0, -2.0, 3.5], np.float32)
    assert nan_to_num(finite, nan=0.0) is finite
    bad = np.array([np.nan, np.inf, -np.inf, 1.0], np.float32)
    for value in (0.0, -np.inf):
        np.testing.assert_array_equal(nan_to_num(bad, nan=value), np.nan_to_num(bad, nan=value))
