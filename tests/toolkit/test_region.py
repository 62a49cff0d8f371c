import json
import os

import numpy as np
import pytest

from toolkit.utils.results import read_vot_trajectory
from toolkit.utils.region import iou_xywh, polygon_overlap, raster_overlap, region_overlaps, rows_to_polygons


def test_iou_of_known_boxes():
    gt = np.array([[0, 0, 10, 10], [0, 0, 10, 10], [0, 0, 10, 10], [0, 0, 10, 10]], float)
    pred = np.array([[0, 0, 10, 10], [5, 0, 10, 10], [5, 5, 10, 10], [20, 20, 5, 5]], float)
    # identical; half-shifted: 50 / 150; quarter: 25 / 175; disjoint
    np.testing.assert_allclose(iou_xywh(gt, pred), [1.0, 1 / 3, 25 / 175, 0.0])


def test_iou_never_nan():
    gt = np.array([[0, 0, 10, 10], [0, 0, 0, 0]], float)
    pred = np.array([[np.nan] * 4, [0, 0, 0, 0]], float)
    out = iou_xywh(gt, pred)
    assert np.isfinite(out).all() and (out == 0).all()


def test_rotated_polygon_overlap_hand_computed():
    diamond = np.array([[5, 0, 10, 5, 5, 10, 0, 5]], float)  # area 50 inside the 10x10 square
    square = np.array([[0, 0, 10, 10]], float)
    np.testing.assert_allclose(region_overlaps(diamond, square, method="geometric"), [0.5])
    np.testing.assert_allclose(region_overlaps(square, diamond, method="geometric"), [0.5])


def test_polygon_overlap_clips_to_image_bounds():
    a = np.array([[-5, -5, 10, 10], [0, 0, 10, 10]], float)
    b = np.array([[0, 0, 10, 10], [5, 0, 10, 10]], float)
    # inside an 8x8 image: a0 -> 5x5=25 within b0 -> 8x8=64: 25/64; a1 -> 64, b1 -> 3x8=24: 24/64
    np.testing.assert_allclose(region_overlaps(a, b, (8, 8), method="geometric"), [25 / 64, 24 / 64])
    # unbounded, the same pairs give 25/175 and 50/150
    np.testing.assert_allclose(region_overlaps(a, b, None, method="geometric"), [25 / 175, 1 / 3])


def test_diamond_clipped_by_bounds():
    diamond = np.array([[5, 0, 10, 5, 5, 10, 0, 5]], float)
    square = np.array([[0, 0, 10, 10]], float)
    # in a 5x5 image: the diamond keeps 25 - 12.5, the square 25 -> 12.5 / 25
    np.testing.assert_allclose(region_overlaps(diamond, square, (5, 5), method="geometric"), [0.5])


def test_missing_region_gives_zero():
    a = rows_to_polygons([[1.0], [0, 0, 4, 4]])
    b = rows_to_polygons([[0, 0, 4, 4], [np.nan] * 4])
    np.testing.assert_array_equal(polygon_overlap(a, b), [0.0, 0.0])
    np.testing.assert_array_equal(raster_overlap(a, b), [0.0, 0.0])


def test_raster_overlap_counts_pixels_like_vot():
    # The VOT toolkit fills both ends of every scanline span and both the top and bottom
    # rows: a box 0,0,10,10 covers columns 0..10 x rows 0..10 (121 pixels); shifted by 5
    # columns the two share 6 x 11: 66 / (242 - 66).
    a = np.array([[0, 0, 10, 10], [0, 0, 10, 10]], float)
    b = np.array([[0, 0, 10, 10], [5, 0, 10, 10]], float)
    np.testing.assert_allclose(region_overlaps(a, b), [1.0, 66 / 176], rtol=1e-7)


def test_raster_overlap_bounds_include_the_last_column_and_row():
    # Bounds (8, 8) keep columns and rows 0..8 (the C code's bounds are inclusive):
    # 9 x 9 = 81 pixels against columns 5..8: 4 x 9 = 36, all shared.
    a = np.array([[0, 0, 10, 10]], float)
    b = np.array([[5, 0, 10, 10]], float)
    np.testing.assert_allclose(region_overlaps(a, b, (8, 8)), [36 / 81], rtol=1e-7)


def test_raster_vertices_round_half_away_from_zero():
    # 0.5 -> 1 and 2.5 -> 3 (C's round), so 0.5,0.5,2,2 fills exactly what 1,1,2,2 fills;
    # NumPy's round-half-to-even would give 0..2 and an overlap of 4/14.
    np.testing.assert_allclose(region_overlaps([[0.5, 0.5, 2, 2]], [[1, 1, 2, 2]]), [1.0])


def test_raster_tiny_and_degenerate_regions():
    gt = [[3, 3, 2, 2]] * 4  # columns/rows 3..5: 9 pixels
    pred = [
        [3.2, 3.2, 0.5, 0.5],  # < 1 px, vertices round to 3 and 4: a 2 x 2 block inside gt
        [3.6, 3.6, 0.2, 0.2],  # rounds to a single point: no pixel
        [4, 2, 0, 10],  # zero width
        [2, 2, 12, 12, 12, 12, 2, 2],  # a line
    ]
    np.testing.assert_allclose(region_overlaps(pred, gt, (20, 20)), [4 / 9, 0, 0, 0], rtol=1e-7)


def test_raster_matches_the_vot_toolkit_c_code():
    """Pairs computed by the VOT toolkit's region.c (the original PySOT's extension):
    edge cases (regions partly or wholly outside the image, sub-pixel, degenerate,
    self-intersecting, half-integer vertices) and 300 random pairs."""
    path = os.path.join(os.path.dirname(__file__), "..", "data", "toolkit", "region_c_reference.json")
    with open(path) as f:
        cases = json.load(f)
    for bounds in (None, (48, 40), (47, 39)):
        group = [c for c in cases
                 if c["case"].startswith("random") and (tuple(c["bounds"]) if c["bounds"] else None) == bounds]
        ours = region_overlaps([c["a"] for c in group], [c["b"] for c in group], bounds)
        np.testing.assert_allclose(ours, [c["overlap"] or 0.0 for c in group], atol=1e-7)
    for c in cases:
        if not c["case"].startswith("random"):
            ours = region_overlaps([c["a"]], [c["b"]], c["bounds"])[0]
            # The C code's 0/0 (neither region covers a pixel) is reported as 0.
            assert ours == pytest.approx(c["overlap"] or 0.0, abs=1e-7), c["case"]


def test_vot2018_siamcar_overlaps_match_the_reference_on_every_frame(shared_data):
    """../shared/data/reference: the VOT toolkit's overlaps of SiamCAR's VOT2018 results."""
    with open(os.path.join(shared_data, "VOT2018", "VOT2018.json")) as f:
        meta = json.load(f)
    with open(os.path.join(shared_data, "reference", "VOT2018_siamcar_overlaps.json")) as f:
        reference = json.load(f)
    assert len(reference) == 60
    for video, expected in reference.items():
        path = os.path.join(shared_data, "results", "VOT2018", "siamcar", "baseline", video, f"{video}_001.txt")
        traj = read_vot_trajectory(path)
        tracked = np.flatnonzero(traj.codes == -1)
        gt = [meta[video]["gt_rect"][i] for i in tracked]
        ours = region_overlaps([traj.regions[i] for i in tracked], gt, (meta[video]["width"], meta[video]["height"]))
        assert all(expected[i] is None for i in np.flatnonzero(traj.codes != -1))
        np.testing.assert_allclose(ours, [expected[i] for i in tracked], atol=1e-6, rtol=0, err_msg=video)


@pytest.mark.parametrize("method", ["raster", "geometric"])
def test_overlap_symmetric_and_bounded(method):
    rng = np.random.default_rng(0)
    a = np.concatenate([rng.uniform(0, 50, (200, 2)), rng.uniform(1, 30, (200, 2))], axis=1)
    b = a + rng.normal(0, 5, a.shape)
    b[:, 2:] = np.abs(b[:, 2:]) + 1
    ab = region_overlaps(a, b, (60, 60), method)
    ba = region_overlaps(b, a, (60, 60), method)
    np.testing.assert_allclose(ab, ba, atol=1e-12)
    assert (ab >= 0).all() and (ab <= 1).all()


def test_geometric_overlap_matches_iou_for_boxes():
    rng = np.random.default_rng(1)
    a = np.concatenate([rng.uniform(0, 50, (100, 2)), rng.uniform(1, 30, (100, 2))], axis=1)
    b = np.concatenate([a[:, :2] + rng.normal(0, 5, (100, 2)), rng.uniform(1, 30, (100, 2))], axis=1)
    np.testing.assert_allclose(region_overlaps(a, b, method="geometric"), iou_xywh(a, b), atol=1e-9)


def test_unknown_overlap_method():
    with pytest.raises(ValueError, match="raster"):
        region_overlaps([[0, 0, 1, 1]], [[0, 0, 1, 1]], method="exact")
