"""Heads: template caching is exact, fusion rules, SiamFC scaling, mask/refine shapes."""
import pytest
import torch
import torch.nn.functional as F

from pysot.core.registry import HEADS, MASK_HEADS, REFINE_HEADS
from pysot.core.xcorr import xcorr_depthwise, xcorr_slow


def _randomise_bn(module, seed=0):
    """Non-trivial BN statistics, so that eval-mode equivalences are meaningful."""
    gen = torch.Generator().manual_seed(seed)
    for m in module.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.copy_(0.1 * torch.randn(m.num_features, generator=gen))
            m.running_var.copy_(0.5 + torch.rand(m.num_features, generator=gen))
    return module.eval()


@torch.no_grad()
def test_depthwise_rpn_matches_explicit_computation():
    head = _randomise_bn(HEADS.build("DepthwiseRPN", {"anchor_num": 3, "in_channels": 8, "out_channels": 6}))
    z, x = torch.randn(2, 8, 7, 7), torch.randn(2, 8, 15, 15)
    cls, loc = head(z, x)
    assert cls.shape == (2, 6, 9, 9) and loc.shape == (2, 12, 9, 9)
    feature = xcorr_depthwise(head.cls.conv_search(x), head.cls.conv_kernel(z))
    torch.testing.assert_close(cls, head.cls.head(feature))
    torch.testing.assert_close(head.match(head.prepare_template(z), x)[1], loc)


@torch.no_grad()
def test_up_channel_rpn_matches_loop_reference():
    head = HEADS.build("UPChannelRPN", {"anchor_num": 2, "feature_in": 4}).eval()
    z, x = torch.randn(2, 4, 6, 6), torch.randn(2, 4, 12, 12)
    cls, loc = head(z, x)
    assert cls.shape == (2, 4, 7, 7) and loc.shape == (2, 8, 7, 7)
    expected = xcorr_slow(head.search_cls_conv(x), head.template_cls_conv(z))
    torch.testing.assert_close(cls, expected, rtol=1e-4, atol=1e-5)


@torch.no_grad()
@pytest.mark.parametrize("weighted", [False, True])
def test_multi_rpn_fusion(weighted):
    head = _randomise_bn(HEADS.build("MultiRPN", {"anchor_num": 1, "in_channels": [4, 6], "weighted": weighted}))
    if weighted:
        head.cls_weight.copy_(torch.tensor([0.3, -1.0]))
        head.loc_weight.copy_(torch.tensor([2.0, 0.5]))
    zs = [torch.randn(1, 4, 5, 5), torch.randn(1, 6, 5, 5)]
    xs = [torch.randn(1, 4, 11, 11), torch.randn(1, 6, 11, 11)]
    cls, loc = head(zs, xs)
    (c2, l2), (c3, l3) = head.rpn2(zs[0], xs[0]), head.rpn3(zs[1], xs[1])
    if weighted:
        wc, wl = F.softmax(head.cls_weight, 0), F.softmax(head.loc_weight, 0)
        torch.testing.assert_close(cls, wc[0] * c2 + wc[1] * c3)
        torch.testing.assert_close(loc, wl[0] * l2 + wl[1] * l3)
    else:
        assert not hasattr(head, "cls_weight")
        torch.testing.assert_close(cls, (c2 + c3) / 2)
        torch.testing.assert_close(loc, (l2 + l3) / 2)


@torch.no_grad()
def test_siamfc_head_scales_the_correlation():
    head = HEADS.build("SiamFCHead", {"out_scale": 0.001})
    z, x = torch.randn(2, 3, 6, 6), torch.randn(2, 3, 22, 22)
    score, loc = head(z, x)
    assert loc is None and score.shape == (2, 1, 17, 17)
    expected = F.conv2d(x[1:2], z[1:2]) * 0.001
    torch.testing.assert_close(score[1:2], expected, rtol=1e-4, atol=1e-6)


@torch.no_grad()
def test_mask_corr_returns_mask_and_feature():
    head = _randomise_bn(MASK_HEADS.build("MaskCorr", {"in_channels": 8, "hidden": 8, "out_channels": 63 * 63}))
    mask, feature = head(torch.randn(1, 8, 7, 7), torch.randn(1, 8, 31, 31))
    assert mask.shape == (1, 3969, 25, 25) and feature.shape == (1, 8, 25, 25)
    torch.testing.assert_close(mask, head.head(feature))


@torch.no_grad()
def test_refine_uses_the_chosen_cell_only():
    refine = REFINE_HEADS.build("Refine", {}).eval()
    low = [torch.randn(1, 64, 125, 125), torch.randn(1, 256, 63, 63), torch.randn(1, 512, 31, 31)]
    corr = torch.randn(1, 256, 25, 25)
    out = refine(low, corr, (12, 3))
    assert out.shape == (1, 127 * 127)
    other = corr.clone()
    other[:, :, 0, 0] += 5.0  # a different cell: the refined mask of (12, 3) must not change
    torch.testing.assert_close(refine(low, other, (12, 3)), out)
    with pytest.raises(ValueError, match="3 low-level"):
        refine(low[:2], corr, (0, 0))
