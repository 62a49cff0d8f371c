import numpy as np
import pytest

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
    # A box 0,0,10,10 rasterizes to rows 1..10 x columns 0..10 (110 pixels); shifted by 5
    # columns the two share 6 columns per row: 60 / (220 - 60).
    a = np.array([[0, 0, 10, 10], [0, 0, 10, 10]], float)
    b = np.array([[0, 0, 10, 10], [5, 0, 10, 10]], float)
    np.testing.assert_allclose(region_overlaps(a, b), [1.0, 60 / 160])


def test_raster_overlap_respects_bounds():
    # In an 8x8 image only columns 0..7 count: 0..7 (8 px) vs 5..7 (3 px) over rows 1..7.
    a = np.array([[0, 0, 10, 10]], float)
    b = np.array([[5, 0, 10, 10]], float)
    np.testing.assert_allclose(region_overlaps(a, b, (8, 8)), [3 / 8])


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
