"""Run by test_triton_interpreted.py in a child process with TRITON_INTERPRET=1 (Triton reads it at import).

Checks the fused depthwise kernel against the grouped convolution on shapes that exercise its
masking (outputs smaller than, equal to and not a multiple of a block; several blocks; batch > 1),
then routes an AlexNet SiamRPN's correlations through it and compares with the parity fixture.
"""
import sys

import torch

from parity import within
from pysot.core import xcorr_triton
from pysot.core.xcorr import xcorr_depthwise
from pysot.models.fast import _use_correlation
from tracker.tracker_helpers import fixture_cfg_and_model


def main() -> None:
    assert xcorr_triton.interpreted() and xcorr_triton.available()
    g = torch.Generator().manual_seed(0)
    for x_shape, k_shape in [((1, 3, 5, 5), (1, 3, 5, 5)),        # one output cell
                             ((2, 4, 20, 20), (2, 4, 4, 4)),      # 17x17 = 289: two blocks, the last partial
                             ((3, 2, 23, 19), (3, 2, 7, 3)),      # non-square search and kernel
                             ((1, 2, 36, 36), (1, 2, 5, 5))]:     # 32x32 = 1024: exactly four blocks
        x = torch.randn(*x_shape, generator=g)
        k = torch.randn(*k_shape, generator=g)
        got, expected = xcorr_triton.xcorr_depthwise_triton(x, k), xcorr_depthwise(x, k)
        assert got.shape == expected.shape, (got.shape, expected.shape)
        assert torch.allclose(got, expected, atol=1e-4, rtol=1e-5), (x_shape, (got - expected).abs().max())
    # Non-contiguous (channels_last) inputs, as the fast path produces them.
    x = torch.randn(2, 4, 20, 20, generator=g).contiguous(memory_format=torch.channels_last)
    k = torch.randn(2, 4, 4, 4, generator=g)
    assert torch.allclose(xcorr_triton.xcorr_depthwise_triton(x, k), xcorr_depthwise(x, k), atol=1e-4)

    cfg, model, fx = fixture_cfg_and_model("siamrpn_alex_dwxcorr")
    assert _use_correlation(model, xcorr_triton.xcorr_depthwise_triton) == 2  # cls and loc branches
    with torch.inference_mode():
        model.template(torch.from_numpy(fx["z"]))
        out = model.track(torch.from_numpy(fx["x"]))
    for key in ("cls", "loc"):
        assert within(out[key].numpy(), fx[key]) <= 1.0, key
    print("triton kernel ok")


if __name__ == "__main__":
    sys.exit(main())
