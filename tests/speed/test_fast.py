"""The fast inference path: exact BN folding / activation fusion, and tracker parity on every fixture."""
import numpy as np
import pytest
import torch
import torch.nn as nn

from markers import slow_if_heavy
from parity import PYSOT_FIXTURES, load_video, within
from pysot.models.fast import (FastModel, FusedConv2d, NonFiniteOutputError, compare_outputs, fold_and_fuse,
                               optimize_for_inference)
from tracker.tracker_helpers import dasiamrpn_cfg_and_model, fixture_cfg_and_model

BOX_TOL = 0.05
SCORE_TOL = 1e-4


def _randomize_bn(module, seed=0):
    g = torch.Generator().manual_seed(seed)
    for m in module.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.3)
            m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            m.weight.data.copy_(torch.randn(m.num_features, generator=g) * 0.2 + 1)
            m.bias.data.copy_(torch.randn(m.num_features, generator=g) * 0.1)
    return module.eval()


class Residual(nn.Module):
    """conv-bn-relu, conv-bn, shared ReLU after the residual add (the ResNet pattern)."""

    def __init__(self):
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(4, 4, 3, padding=1, bias=False), nn.BatchNorm2d(4)
        self.conv2, self.bn2 = nn.Conv2d(4, 4, 3, padding=1, bias=False), nn.BatchNorm2d(4)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        return self.relu(self.bn2(self.conv2(out)) + x)


class RawConvReused(nn.Module):
    """The raw conv output is used twice: folding the BN would change the second use."""

    def __init__(self):
        super().__init__()
        self.conv, self.bn = nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4)

    def forward(self, x):
        y = self.conv(x)
        return self.bn(y) + y


def test_fold_and_fuse_sequential_and_residual():
    model = _randomize_bn(nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.MaxPool2d(2), nn.ReLU(),
                                        Residual(), nn.Conv2d(4, 5, 1), nn.ReLU6()))
    x = torch.randn(2, 3, 20, 20) * 50
    with torch.no_grad():
        expected = model(x)
        stats, reference = fold_and_fuse(model, lambda m: m(x))
        got = model(x)
    # All 3 BNs fold; the ReLU behind the pool and the ReLU6 fuse; the block's shared ReLU stays.
    assert stats == {"convs": 4, "folded_bn": 3, "fused_act": 2}
    assert isinstance(model[0], FusedConv2d) and model[0].activation == "relu"
    assert isinstance(model[4].relu, nn.ReLU)  # shared by two call sites: never fused
    assert model[5].activation == "relu6"
    assert torch.equal(reference, expected)
    assert torch.allclose(got, expected, rtol=1e-5, atol=1e-4)


def test_fused_conv_paths_agree():
    conv = nn.Conv2d(6, 8, 3, stride=2, padding=1, dilation=1, groups=2)
    bn = _randomize_bn(nn.BatchNorm2d(8))
    fused = FusedConv2d.from_conv(conv)
    fused.fold_batchnorm(bn)
    fused.set_activation("relu6")
    x = torch.randn(1, 6, 17, 17) * 10
    expected = torch.clamp(bn(conv(x)), 0, 6).detach()
    with torch.no_grad():
        fast = fused(x)  # oneDNN fused op where available
    with torch.enable_grad():
        eager = fused(x).detach()  # autograd forces the F.conv2d fallback
    assert torch.allclose(fast, expected, atol=1e-5) and torch.allclose(eager, expected, atol=1e-5)
    with pytest.raises(ValueError, match="already has"):
        fused.set_activation("relu")


def test_verification_catches_a_wrong_fold():
    model = _randomize_bn(RawConvReused())
    with pytest.raises(RuntimeError, match="differs from the original"):
        optimize_for_inference(_Wrap(model), "cpu", search_size=16, template_size=8)


class _Wrap(nn.Module):
    """A minimal template/track model around a feature module, for the verification test."""

    def __init__(self, body):
        super().__init__()
        self.body = body

    def template(self, z):
        self.z = self.body(z)

    def track(self, x):
        return {"cls": self.body(x).sum(1, keepdim=True) + self.z.mean(), "loc": None, "mask": None}


def test_original_model_untouched_and_bad_arguments():
    cfg, model, fx = fixture_cfg_and_model("siamrpn_alex_dwxcorr")
    before = {k: v.clone() for k, v in model.state_dict().items()}
    fast = optimize_for_inference(model, "cpu", search_size=287)
    assert isinstance(fast, FastModel)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert not any(isinstance(m, FusedConv2d) for m in model.modules())
    with pytest.raises(ValueError, match="amp"):
        optimize_for_inference(model, "cpu", amp="fp8")
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match="CUDA"):
            optimize_for_inference(model, "cuda")


@pytest.mark.parametrize("name", slow_if_heavy(PYSOT_FIXTURES))
def test_fast_model_fixture_outputs(name):
    cfg, model, fx = fixture_cfg_and_model(name)
    fast = optimize_for_inference(model, "cpu", search_size=cfg.TRACK.INSTANCE_SIZE)
    fast.template(torch.from_numpy(fx["z"]))
    out = fast.track(torch.from_numpy(fx["x"]))
    for key in ("cls", "loc", "mask"):
        if key in fx:
            assert within(out[key].numpy(), fx[key]) <= 1.0, key


def _check_tracker(cfg, model, fx, limit=None, **fast_kwargs):
    from pysot.tracker import build_tracker

    frames, _ = load_video()
    fast = optimize_for_inference(model, "cpu", search_size=cfg.TRACK.INSTANCE_SIZE, **fast_kwargs)
    tracker = build_tracker(cfg, fast)
    boxes, scores = fx["boxes"], fx["scores"]
    tracker.init(frames[0], boxes[0])
    outputs = []
    for i in range(1, len(boxes) if limit is None else limit):
        out = tracker.track(frames[i])
        assert np.abs(np.asarray(out["bbox"]) - boxes[i]).max() <= BOX_TOL, f"frame {i}: {out['bbox']} vs {boxes[i]}"
        assert abs(out["best_score"] - scores[i]) <= SCORE_TOL, f"frame {i}"
        outputs.append(out)
    return outputs


@pytest.mark.parametrize("channels_last", [pytest.param(False, marks=pytest.mark.slow), True])
def test_fast_tracker_parity_alexnet(channels_last):
    _check_tracker(*fixture_cfg_and_model("siamrpn_alex_dwxcorr"), channels_last=channels_last)


@pytest.mark.slow
def test_fast_tracker_parity_mobilenet():
    _check_tracker(*fixture_cfg_and_model("siamrpn_mobilev2_l234_dwxcorr"))


@pytest.mark.parametrize("name", ["dasiamrpn_vot", pytest.param("dasiamrpn_big", marks=pytest.mark.slow)])
def test_fast_tracker_parity_dasiamrpn(name):
    _check_tracker(*dasiamrpn_cfg_and_model(name))


@pytest.mark.slow
def test_fast_tracker_parity_long_term_first_frames():
    outputs = _check_tracker(*fixture_cfg_and_model("siamrpn_r50_l234_dwxcorr_lt"), limit=4)
    assert [o["lost"] for o in outputs] == [False, True, True]


@pytest.mark.slow
def test_fast_tracker_parity_r50():
    # The _otb fixture is the same network (checked by test_fast_model_fixture_outputs) with other
    # tracker settings, and the long-term one's full run searches 831-px crops for minutes:
    # their tracker runs add no fast-path coverage.
    _check_tracker(*fixture_cfg_and_model("siamrpn_r50_l234_dwxcorr"))


@pytest.mark.slow
def test_fast_tracker_parity_siammask():
    cfg, model, fx = fixture_cfg_and_model("siammask_r50_l3")
    outputs = _check_tracker(cfg, model, fx)
    for i, out in enumerate(outputs):
        err = np.abs(out["mask"] - fx["masks"][i])
        # Same allowance as tests/tracker/test_parity.py: float32 noise on a few edge pixels.
        assert (err > 1e-3).sum() <= 8 and err.max() <= 5e-3, f"frame {i + 1}"


def test_compare_outputs():
    a = {"cls": torch.ones(1, 2, 3, 3), "loc": None}
    assert compare_outputs(a, {"cls": torch.ones(1, 2, 3, 3)}) == 0.0
    assert compare_outputs(a, {"cls": torch.ones(1, 2, 3, 4)}) == float("inf")
    assert compare_outputs(a, {"cls": torch.full((1, 2, 3, 3), 1.5)}) == pytest.approx(0.5)


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
@pytest.mark.parametrize("side", ["reference", "candidate"])
def test_compare_outputs_refuses_non_finite_outputs(bad, side):
    """A NaN difference used to vanish in the maximum (0.0: a NaN network passed every parity check)."""
    good = {"cls": torch.ones(1, 2, 3, 3), "loc": torch.ones(1, 4, 3, 3)}
    broken = {"cls": good["cls"], "loc": good["loc"].clone()}
    broken["loc"][0, 1, 2, 2] = bad
    pair = (broken, good) if side == "reference" else (good, broken)
    with pytest.raises(NonFiniteOutputError, match=f"output 'loc' of the {side} is not finite") as err:
        compare_outputs(*pair)
    assert err.value.output == "loc" and err.value.side == side
    with pytest.raises(NonFiniteOutputError, match="'loc'"):  # NaN on both sides is no agreement either
        compare_outputs(broken, broken)


def test_fast_path_refuses_a_network_that_outputs_nan():
    cfg, model, _ = fixture_cfg_and_model("siamrpn_alex_dwxcorr")
    with torch.no_grad():
        model.rpn_head.loc.head[3].bias[0] = float("nan")
    with pytest.raises(RuntimeError, match="original model's output 'loc' .*NaN.* is not finite"):
        optimize_for_inference(model, "cpu", search_size=cfg.TRACK.INSTANCE_SIZE)


def test_runner_fast_switch_tracks_like_the_plain_model():
    """tools/test.py / demo.py: the fast path by default on the CPU (TrackerSpec(fast=None)), --no-fast
    (fast=False) the plain model; same results."""
    import os

    from pysot.datasets.synthetic import render_clip
    from toolkit.runner import TrackerSpec, build_tracker_from_spec

    config = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                          "experiments", "siamrpn_alex_tiny", "config.yaml")
    torch.manual_seed(0)
    plain = build_tracker_from_spec(TrackerSpec(config, device="cpu", fast=False))
    torch.manual_seed(0)
    fast = build_tracker_from_spec(TrackerSpec(config, device="cpu"))
    assert isinstance(fast.model, FastModel) and not isinstance(plain.model, FastModel)
    frames, gt = render_clip(num_frames=5, size=(160, 120), seed=0)
    plain.init(frames[0], gt[0])
    fast.init(frames[0], gt[0])
    for frame in frames[1:]:
        a, b = plain.track(frame), fast.track(frame)
        assert np.abs(np.asarray(a["bbox"]) - b["bbox"]).max() <= BOX_TOL
        assert abs(a["best_score"] - b["best_score"]) <= SCORE_TOL


def test_bf16_autocast_stays_close_and_finite():
    """Reduced precision is opt-in and not parity-exact: bf16 keeps outputs within 5% of the fp32 scale."""
    cfg, model, fx = fixture_cfg_and_model("siamrpn_alex_dwxcorr")
    fast = optimize_for_inference(model, "cpu", amp="bf16", search_size=cfg.TRACK.INSTANCE_SIZE)
    fast.template(torch.from_numpy(fx["z"]))
    out = fast.track(torch.from_numpy(fx["x"]))
    for key in ("cls", "loc"):
        assert out[key].dtype == torch.float32
        assert within(out[key].numpy(), fx[key], rel=5e-2) <= 1.0, key
    with pytest.raises(ValueError, match="fp16"):
        optimize_for_inference(model, "cpu", amp="fp16")


def test_autocast_overflow_frame_is_redone_in_float32(monkeypatch):
    """A non-finite reduced-precision frame is recomputed from a float32 template state: the fixture's
    float32 outputs, and the cached bf16 state (read by captured graphs) is left in place."""
    cfg, model, fx = fixture_cfg_and_model("siamrpn_alex_dwxcorr")
    fast = optimize_for_inference(model, "cpu", amp="bf16", search_size=cfg.TRACK.INSTANCE_SIZE)
    fast.template(torch.from_numpy(fx["z"]))
    cached = fast.model._template_state
    overflowed = {"cls": torch.full((1, 10, 17, 17), float("inf")), "loc": torch.zeros(1, 20, 17, 17)}
    monkeypatch.setattr(fast, "_eager_track", lambda x: overflowed)
    out = fast.track(torch.from_numpy(fx["x"]))
    for key in ("cls", "loc"):
        assert out[key].dtype == torch.float32
        assert within(out[key].numpy(), fx[key]) <= 1.0, key
    assert fast.model._template_state is cached
    assert {t.dtype for t in cached["rpn"] if isinstance(t, torch.Tensor)} == {torch.bfloat16}
