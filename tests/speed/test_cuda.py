"""CUDA fast path: graphs, autocast, Triton correlation (skipped without a GPU)."""
import pytest
import torch

from markers import requires_cuda
from parity import within
from pysot.core.xcorr import xcorr_depthwise
from pysot.models.fast import optimize_for_inference
from tracker.tracker_helpers import fixture_cfg_and_model


@requires_cuda
def test_triton_depthwise_matches_grouped_conv():
    from pysot.core import xcorr_triton

    if not xcorr_triton.available():
        pytest.skip("Triton is not installed")
    g = torch.Generator().manual_seed(0)
    x = torch.randn(3, 64, 29, 29, generator=g).cuda()
    k = torch.randn(3, 64, 5, 5, generator=g).cuda()
    assert torch.allclose(xcorr_triton.xcorr_depthwise_triton(x, k), xcorr_depthwise(x, k), atol=1e-4, rtol=1e-4)


@requires_cuda
@pytest.mark.parametrize("cuda_graph", [False, True])
def test_cuda_fast_path_matches_fixture(cuda_graph):
    cfg, model, fx = fixture_cfg_and_model("siamrpn_alex_dwxcorr")
    fast = optimize_for_inference(model, "cuda", search_size=cfg.TRACK.INSTANCE_SIZE, cuda_graph=cuda_graph)
    fast.template(torch.from_numpy(fx["z"]))
    for _ in range(2):  # the second call replays the captured graph
        out = fast.track(torch.from_numpy(fx["x"]))
        # TF32 may be enabled for cuDNN convolutions: allow its 1e-3 relative rounding.
        for key in ("cls", "loc"):
            assert within(out[key].cpu().numpy(), fx[key], rel=1e-2) <= 1.0, key
    # A new template of the same shape is copied into the graph's static inputs.
    fast.template(torch.from_numpy(fx["z"]).flip(-1))
    flipped = fast.track(torch.from_numpy(fx["x"]))["cls"]
    assert not torch.allclose(flipped, out["cls"])


@requires_cuda
def test_cuda_autocast_runs():
    cfg, model, fx = fixture_cfg_and_model("siamrpn_alex_dwxcorr")
    fast = optimize_for_inference(model, "cuda", search_size=cfg.TRACK.INSTANCE_SIZE, amp="fp16")
    fast.template(torch.from_numpy(fx["z"]))
    out = fast.track(torch.from_numpy(fx["x"]))
    assert out["cls"].dtype == torch.float32 and torch.isfinite(out["cls"]).all()
