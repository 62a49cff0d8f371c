"""Frame/box robustness of the trackers (scripted model, so these run without any network)."""
from __future__ import annotations

import numpy as np
import pytest

from pysot.config import ConfigError
from pysot.tracker import SiamFCTracker, SiamRPNTracker
from pysot.tracker.base_tracker import clip_box_xywh, prepare_frame, round_half_away, validate_init_box
from tracker_helpers import ScriptedRPN, assert_box_sane


def _center_peak(score=0.9, deltas=(0.0, 0.0, 0.0, 0.0)):
    def peaks(frame, is_target, n):
        return [(2, n // 2, n // 2, score, deltas)]  # anchor 2 is the square one
    return peaks


def _frame(h=240, w=320, seed=0):
    return np.random.default_rng(seed).integers(0, 255, (h, w, 3), dtype=np.uint8)


def test_round_half_away_is_python2_round():
    assert [round_half_away(v) for v in (2.5, 3.5, -2.5, 0.49, 1.5000001)] == [3, 4, -3, 0, 2]
    # Python 2.7 rounds the exact binary value: the largest double below 0.5 goes to 0,
    # where floor(x + 0.5) would round the sum up to 1.
    below_half = np.nextafter(0.5, 0.0)
    assert [round_half_away(v) for v in (below_half, -below_half, -83.5, -0.5, 0.0)] == [0, 0, -84, -1, 0]


@pytest.mark.parametrize("box, match", [
    ([10, 10, 0, 20], "width and height"),
    ([10, 10, 20, -1], "width and height"),
    ([10, float("nan"), 20, 20], "finite"),
    ([400, 10, 20, 20], "outside"),
    ([-50, 10, 20, 20], "outside"),
    ([1, 2, 3], "four numbers"),
    ([10, 10, 0.5, 20], "at least 1 px"),
    ([10, 10, 20, 1e-9], "at least 1 px"),
    ([10, 10, 1e7, 1e7], "at most 2 times"),
    ([-1e7, 10, 1e7 + 50, 20], "at most 2 times"),  # overlaps the image, yet 1e7 px wide
    ([10, 10, 20, 481], "at most 2 times"),
])
def test_bad_init_box_raises_naming_box_and_image(box, match):
    with pytest.raises(ValueError, match=match) as err:
        validate_init_box(box, (240, 320, 3))
    assert "320x240" in str(err.value) or "four numbers" in str(err.value)


def test_partly_outside_box_is_accepted():
    assert validate_init_box([-5, -5, 20, 20], (240, 320)) == (-5, -5, 20, 20)
    assert validate_init_box([-100, -60, 640, 480], (240, 320)) == (-100, -60, 640, 480)  # the limits
    assert validate_init_box([3, 4, 1, 1], (240, 320)) == (3, 4, 1, 1)


@pytest.mark.parametrize("kind", ["SiamRPNTracker", "SiamRPNLTTracker", "DaSiamRPNTracker", "SiamMaskTracker",
                                  "SiamFCTracker", "MultiTracker"])
@pytest.mark.parametrize("box, match", [([10, 10, 0.5, 20], "at least 1 px"),
                                        ([10, 10, 1e7, 1e7], "at most 2 times")])
def test_every_tracker_refuses_degenerate_init_boxes(kind, box, match):
    """Sub-pixel and 1e7 px boxes used to end inside OpenCV (a 1e15-byte allocation) on every tracker."""
    from pysot.config import get_cfg
    from pysot.tracker import build_tracker
    from tracker_helpers import ScriptedSiamFC

    cfg = get_cfg()
    cfg.TRACK.TYPE = kind
    model = ScriptedSiamFC(lambda frame, b: np.zeros((b, 17, 17))) if kind == "SiamFCTracker" else \
        ScriptedRPN(_center_peak())
    model.mask_refine = None  # SiamMaskTracker only checks that the model has a refine head
    tracker = build_tracker(cfg, model)
    boxes = [[20, 20, 30, 30], box] if kind == "MultiTracker" else box
    with pytest.raises(ValueError, match=match) as err:
        tracker.init(_frame(), boxes)
    assert "320x240" in str(err.value) and ("target 1" in str(err.value) or kind != "MultiTracker")


def test_multi_tracker_names_a_flat_box():
    from pysot.tracker import MultiTracker

    multi = MultiTracker(ScriptedRPN(_center_peak()))
    for flat in ([10, 10, 20, 20], np.array([10.0, 10, 20, 20])):
        with pytest.raises(ValueError, match=r"one flat box; pass \[N, 4\] rows"):
            multi.init(_frame(), flat)
    with pytest.raises(ValueError, match="expected \\[N, 4\\] rows"):
        multi.init(_frame(), 5)
    multi.init(_frame(), np.array([[10.0, 10, 20, 20]]))
    assert len(multi) == 1


def test_frame_conversions():
    gray = np.full((20, 30), 7, np.uint8)
    assert prepare_frame(gray).shape == (20, 30, 3)
    assert prepare_frame(gray[:, :, None]).shape == (20, 30, 3)
    bgra = np.zeros((20, 30, 4), np.uint8)
    bgra[..., 3] = 255
    out = prepare_frame(bgra)
    assert out.shape == (20, 30, 3) and out.max() == 0
    assert prepare_frame(np.full((4, 4, 3), 300.0)).dtype == np.uint8
    with pytest.raises(ValueError, match=r"\(20, 30, 2\)"):
        prepare_frame(np.zeros((20, 30, 2), np.uint8))
    with pytest.raises(ValueError, match="numpy image"):
        prepare_frame([[1, 2]])


def test_clip_box_xywh():
    assert clip_box_xywh([-10, -10, 30, 30], (100, 200)) == [0, 0, 20, 20]
    assert clip_box_xywh([190, 90, 30, 30], (100, 200)) == [190, 90, 10, 10]


def test_track_before_init_raises():
    tracker = SiamRPNTracker(ScriptedRPN(_center_peak()))
    with pytest.raises(RuntimeError, match="before init"):
        tracker.track(_frame())


def test_gray_and_bgra_frames_track():
    tracker = SiamRPNTracker(ScriptedRPN(_center_peak()))
    gray = _frame()[:, :, 0]
    tracker.init(gray, [100, 100, 40, 30])
    out = tracker.track(np.dstack([_frame(), np.full((240, 320), 255, np.uint8)]))
    assert_box_sane(out["bbox"], (240, 320))
    assert out["best_score"] == pytest.approx(0.9, abs=1e-5)


def test_changing_frame_size_clips_state():
    tracker = SiamRPNTracker(ScriptedRPN(_center_peak()))
    tracker.init(_frame(), [250, 180, 60, 50])
    out = tracker.track(_frame(120, 160))
    assert_box_sane(out["bbox"], (120, 160))
    assert tracker.center_pos[0] <= 160 and tracker.center_pos[1] <= 120


def test_target_leaving_frame_stays_at_border_and_finite():
    # Every frame the best proposal is one anchor-width to the right: the target drifts out.
    tracker = SiamRPNTracker(ScriptedRPN(_center_peak(0.95, (1.0, 0.0, 0.0, 0.0))))
    tracker.init(_frame(), [250, 100, 40, 40])
    for _ in range(15):
        out = tracker.track(_frame())
        assert_box_sane(out["bbox"], (240, 320))
    assert tracker.center_pos[0] == 320  # PySOT clips the centre to the image edge
    assert out["bbox"][0] + out["bbox"][2] == pytest.approx(320)


def test_huge_size_deltas_never_give_nan_or_escape():
    for deltas in [(0.0, 0.0, 100.0, -100.0), (1e30, -1e30, 0.0, 0.0), (float("nan"),) * 4]:
        tracker = SiamRPNTracker(ScriptedRPN(_center_peak(0.99, deltas)))
        tracker.init(_frame(), [100, 100, 40, 40])
        for _ in range(3):
            out = tracker.track(_frame())
            assert_box_sane(out["bbox"], (240, 320))
            assert np.all(np.isfinite(tracker.size)) and np.all(tracker.size >= 10)


def test_unclipped_output_reproduces_raw_pysot_box():
    tracker = SiamRPNTracker(ScriptedRPN(_center_peak()), clip_box_to_image=False)
    tracker.init(_frame(), [-10, 100, 40, 30])
    out = tracker.track(_frame())
    cx, cy = tracker.center_pos
    w, h = tracker.size
    assert out["bbox"] == pytest.approx([cx - w / 2, cy - h / 2, w, h])
    assert out["bbox"][0] < 0


def test_mismatched_model_output_is_reported():
    tracker = SiamRPNTracker(ScriptedRPN(_center_peak(), base_size=0), base_size=8)
    tracker.init(_frame(), [100, 100, 40, 30])
    with pytest.raises(ValueError, match="BASE_SIZE"):
        tracker.track(_frame())


def test_build_tracker_from_config_and_unknown_type():
    from pysot.config import get_cfg
    from pysot.tracker import build_tracker

    cfg = get_cfg()
    cfg.TRACK.PENALTY_K = 0.2
    tracker = build_tracker(cfg, ScriptedRPN(_center_peak()))
    assert type(tracker) is SiamRPNTracker and tracker.penalty_k == 0.2
    cfg.TRACK.TYPE = "NoSuchTracker"
    with pytest.raises(ConfigError, match=r"^config: TRACK.TYPE: no 'NoSuchTracker' in the trackers registry.*SiamRPNTracker"):
        build_tracker(cfg, ScriptedRPN(_center_peak()))


def test_unknown_tracker_type_is_refused_where_trackers_are_built(tmp_path):
    """Loading the YAML accepts any TRACK.TYPE (it imports no tracker); building the tracker
    names the file, the key and what is registered."""
    from pysot.config import load_cfg
    from pysot.tracker import check_tracker_type

    path = tmp_path / "typo.yaml"
    path.write_text("TRACK:\n  TYPE: SiamRPNTrackr\n")
    cfg = load_cfg(str(path))
    with pytest.raises(ConfigError, match=rf"^{path}: TRACK.TYPE: no 'SiamRPNTrackr' in the trackers registry; "
                                          "registered: .*SiamRPNTracker"):
        check_tracker_type(cfg)
    assert check_tracker_type(load_cfg(str(path), ["TRACK.TYPE", "SiamFCTracker"])) is SiamFCTracker


def test_crop_window_rounding_at_the_top_left_border():
    """``pos - (side + 1) / 2 = -3.5``: PySOT starts the window at -3 (half up), the DaSiamRPN
    release at -4 (Python 2: half away from zero); inside the image both give the same pixels."""
    from pysot.utils.crop import get_subwindow_hwc

    im = np.arange(20 * 20 * 3, dtype=np.uint8).reshape(20, 20, 3)
    avg = np.array([7.0, 7.0, 7.0])
    side = 10  # c = 5.5
    up = get_subwindow_hwc(im, [2.0, 2.0], side, side, avg)
    away = get_subwindow_hwc(im, [2.0, 2.0], side, side, avg, half_away=True)
    assert np.array_equal(up[3:, 3:], im[:7, :7]) and np.all(up[:3] == 7)
    assert np.array_equal(away[4:, 4:], im[:6, :6]) and np.all(away[:4] == 7)
    inside = [12.0, 12.0]  # 12 - 5.5 = 6.5: a positive half rounds up either way
    assert np.array_equal(get_subwindow_hwc(im, inside, side, side, avg),
                          get_subwindow_hwc(im, inside, side, side, avg, half_away=True))
