import numpy as np

from pysot.datasets.anchor_target import AnchorTarget, SiamFCLabel
from pysot.utils.bbox import iou


def _target(**kw):
    return AnchorTarget(stride=8, ratios=[0.5, 1, 2], scales=[8], search_size=255, output_size=17, **kw)


def test_anchor_equal_to_target_is_positive_with_zero_delta():
    at = _target(thr_high=0.6, thr_low=0.3, pos_num=16, total_num=64)
    # The square anchor (ratio 1, index 1) of the centre cell: 64x64 at (127, 127).
    box = [127 - 32, 127 - 32, 127 + 32, 127 + 32]
    out = at(box, negative=False, rng=np.random.default_rng(0))
    assert out["cls"][1, 8, 8] == 1
    np.testing.assert_allclose(out["delta"][:, 1, 8, 8], 0, atol=1e-6)
    np.testing.assert_allclose(out["overlap"][1, 8, 8], 1.0, atol=1e-6)


def test_iou_rules_and_counts():
    at = _target(thr_high=0.6, thr_low=0.3, pos_num=4, total_num=20)
    box = np.array([100.0, 110.0, 170.0, 150.0])
    out = at(box, negative=False, rng=np.random.default_rng(1))
    cls, ov = out["cls"], out["overlap"]
    expected = iou(np.moveaxis(at.corner, 0, -1), box)
    np.testing.assert_allclose(ov, expected, atol=1e-5)
    assert (ov[cls == 1] > 0.6).all() and (ov[cls == 0] < 0.3).all()
    num_pos, num_neg = (cls == 1).sum(), (cls == 0).sum()
    assert 1 <= num_pos <= 4 and (ov > 0.6).sum() > 4  # capped at POS_NUM
    assert num_neg == 20 - 4  # the original keeps TOTAL_NUM - POS_NUM negatives, whatever #pos is
    np.testing.assert_allclose(out["delta_weight"].sum(), 1.0, atol=1e-4)
    assert (out["delta_weight"][cls != 1] == 0).all()
    # Regression targets decode back to the box from any anchor.
    a, r, c = np.argwhere(cls == 1)[0]
    acx, acy, aw, ah = at.center[:, a, r, c]
    dx, dy, dw, dh = out["delta"][:, a, r, c]
    np.testing.assert_allclose([acx + dx * aw, acy + dy * ah, aw * np.exp(dw), ah * np.exp(dh)],
                               [135, 130, 70, 40], rtol=1e-5)


def test_negative_pair_marks_only_negatives_near_distractor():
    at = _target(neg_num=16, total_num=64)
    # Distractor 2 cells right and 1 cell down of the centre.
    box = [127 + 16 - 30, 127 + 8 - 30, 127 + 16 + 30, 127 + 8 + 30]
    out = at(box, negative=True, rng=np.random.default_rng(2))
    cls = out["cls"]
    assert (cls != 1).all() and (cls == 0).sum() == 16
    rows, cols = np.nonzero((cls == 0).any(axis=0))
    # The original's block centre: size // 2 + ceil(offset / stride + 0.5), i.e. cell (10, 11) here.
    assert rows.min() >= 10 - 3 and rows.max() <= 10 + 3 and cols.min() >= 11 - 3 and cols.max() <= 11 + 3
    assert rows.max() > 9 + 3 or cols.max() > 10 + 3
    assert out["delta_weight"].sum() == 0


def test_siamfc_label_map_balanced():
    lab = SiamFCLabel(output_size=17, stride=8, radius=16, search_size=255)
    out = lab([117, 117, 137, 137], negative=False)
    label, weight = out["label"][0], out["weight"][0]
    assert label[8, 8] == 1 and label[8, 10] == 1 and label[8, 11] == 0 and label.sum() == 13
    np.testing.assert_allclose(weight[label == 1].sum(), 0.5, atol=1e-6)
    np.testing.assert_allclose(weight[label == 0].sum(), 0.5, atol=1e-6)
    neg = lab([117, 117, 137, 137], negative=True)
    assert neg["label"].sum() == 0
    np.testing.assert_allclose(neg["weight"].sum(), 1.0, atol=1e-6)
