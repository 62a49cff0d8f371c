"""pysot.core.xcorr: the batched correlations agree with the loop references."""
import pytest
import torch
import torch.nn.functional as F

from pysot.core.xcorr import xcorr_depthwise, xcorr_depthwise_naive, xcorr_fast, xcorr_slow


@pytest.mark.parametrize("batched, reference, x_shape, kernel_shape, out_shape", [
    # UP-channel: 5 kernels of 8 channels packed into 40 -> 5 output maps
    (xcorr_fast, xcorr_slow, (3, 8, 13, 11), (3, 8 * 5, 4, 3), (3, 5, 10, 9)),
    (xcorr_depthwise, xcorr_depthwise_naive, (4, 6, 12, 10), (4, 6, 5, 3), (4, 6, 8, 8)),
], ids=["up_channel", "depthwise"])
def test_batched_matches_loop_reference(batched, reference, x_shape, kernel_shape, out_shape):
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(*x_shape, generator=gen)
    kernel = torch.randn(*kernel_shape, generator=gen)
    expected = reference(x, kernel)
    assert expected.shape == out_shape
    torch.testing.assert_close(batched(x, kernel), expected, rtol=1e-5, atol=1e-5)


def test_up_channel_kernel_layout_is_k_major():
    """Channel k*C + c of the packed kernel is channel c of kernel k (DaSiamRPN's view)."""
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(1, 4, 9, 9, generator=gen)
    kernel = torch.randn(1, 4 * 2, 3, 3, generator=gen)
    second = F.conv2d(x, kernel[:, 4:8])
    torch.testing.assert_close(xcorr_fast(x, kernel)[:, 1:2], second, rtol=1e-5, atol=1e-5)


def test_depthwise_item_only_sees_its_own_template():
    gen = torch.Generator().manual_seed(3)
    x = torch.randn(2, 3, 8, 8, generator=gen)
    kernel = torch.randn(2, 3, 3, 3, generator=gen)
    changed = kernel.clone()
    changed[1] += 1.0
    a, b = xcorr_depthwise(x, kernel), xcorr_depthwise(x, changed)
    torch.testing.assert_close(a[0], b[0])
    assert not torch.allclose(a[1], b[1])


def test_bad_shapes_are_named():
    with pytest.raises(ValueError, match="batch sizes differ"):
        xcorr_fast(torch.zeros(2, 4, 8, 8), torch.zeros(1, 8, 3, 3))
    with pytest.raises(ValueError, match="not a multiple"):
        xcorr_fast(torch.zeros(1, 4, 8, 8), torch.zeros(1, 6, 3, 3))
    with pytest.raises(ValueError, match="channels differ"):
        xcorr_depthwise(torch.zeros(1, 4, 8, 8), torch.zeros(1, 3, 3, 3))
