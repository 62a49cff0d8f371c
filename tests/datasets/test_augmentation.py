import numpy as np

from pysot.datasets.augmentation import Augmentation, position_balanced_shift


def _offsets(aug, n=2000, seed=0, size=161):
    rng = np.random.default_rng(seed)
    # Small image keeps the test fast; the offset does not depend on the image content.
    image = np.full((size, size, 3), 100, np.uint8)
    c = size // 2  # the original centres the window on the image centre, where the target is
    target = np.array([c - 30.0, c - 20.0, c + 30.0, c + 20.0])
    out = []
    for _ in range(n):
        _, box, _ = aug(rng, image, target, 127)
        out.append([(box[0] + box[2]) / 2 - 63, (box[1] + box[3]) / 2 - 63])
    return np.asarray(out)


def _chi_square_uniform(values, lo, hi, bins=16):
    counts, _ = np.histogram(values, bins=bins, range=(lo, hi))
    expected = len(values) / bins
    return float(((counts - expected) ** 2 / expected).sum())


# Chi-square critical value, 15 degrees of freedom, p = 0.001.
CHI2_15_P001 = 37.70


def test_position_balanced_shift_is_uniform():
    # The window (side 126) moves by up to 32 source px; with no scale jitter that is 32 output px.
    off = _offsets(Augmentation(shift=32, uniform_shift=True), size=255)
    assert np.abs(off).max() <= 32 + 1e-6
    for axis in range(2):
        assert _chi_square_uniform(off[:, axis], -32, 32) < CHI2_15_P001
    # The corners of the range are reached, not only the middle.
    assert (np.abs(off[:, 0]) > 28).mean() > 0.08
    # With scale jitter the shift is divided by the window's scale (the original's order).
    off = _offsets(Augmentation(shift=32, scale=0.18), size=255, n=500)
    assert np.abs(off).max() <= 32 / (1 - 0.18) + 1e-6 and np.abs(off).max() > 32


def test_centre_heavy_shift_is_not_uniform():
    off = _offsets(Augmentation(shift=32, uniform_shift=False), size=255)
    assert _chi_square_uniform(off[:, 0], -32, 32) > 10 * CHI2_15_P001
    assert abs(np.median(off[:, 0])) < 2


def test_zero_shift_keeps_target_centred():
    off = _offsets(Augmentation(shift=0, scale=0.18), n=200)
    np.testing.assert_allclose(off, 0, atol=1e-6)


def test_window_stays_inside_the_image():
    """The original clips the shift so the window stays inside the source image."""
    off = _offsets(Augmentation(shift=64), size=161, n=300)
    # side 126 in a 161 image: at most 161 - 1 - 126 - 17 = 17 px of room each way
    assert np.abs(off).max() <= 18


def test_motion_blur_kernel_and_colour_offset():
    """The original's blur kernel (odd 5..45 px cross, weights summing to 1) and PCA colour offset."""
    from pysot.datasets.augmentation import RGB_VAR, color_offset, motion_blur_kernel

    rng = np.random.RandomState(5)
    sizes = set()
    for _ in range(200):
        k = motion_blur_kernel(rng)
        sizes.add(k.shape[0])
        c = k.shape[0] // 2
        assert k.shape[0] == k.shape[1] and k.shape[0] % 2 == 1 and 5 <= k.shape[0] <= 45
        np.testing.assert_allclose(k.sum(), 1.0)
        off_cross = k.copy()
        off_cross[:, c] = 0
        off_cross[c, :] = 0
        assert not off_cross.any()
    assert len(sizes) > 15
    # Same numbers as the original's np.dot(rgbVar, np.random.randn(3, 1))[::-1] on the same state.
    a = color_offset(np.random.RandomState(7))
    b = np.dot(RGB_VAR, np.random.RandomState(7).randn(3, 1))[::-1].reshape(3)
    np.testing.assert_array_equal(a, b)
    offsets = np.array([color_offset(rng) for _ in range(2000)])
    assert offsets.std(axis=0)[0] > 5  # the B channel (PCA's main axis) moves most


def test_flip_and_gray():
    rng = np.random.default_rng(0)
    image = np.random.default_rng(1).integers(0, 255, (511, 511, 3), dtype=np.uint8)
    target = [200.0, 240.0, 260.0, 270.0]
    mask = np.zeros((511, 511), np.uint8)
    mask[240:270, 200:230] = 255  # left half of the target
    crop, box, mask_crop = Augmentation(flip=1.0)(rng, image, target, 255, gray=True, mask=mask)
    ref, ref_box, ref_mask = Augmentation()(rng, image, target, 255, mask=mask)
    assert (crop[..., 0] == crop[..., 1]).all()
    np.testing.assert_allclose(box, [254 - ref_box[2], ref_box[1], 254 - ref_box[0], ref_box[3]])
    np.testing.assert_array_equal(mask_crop, ref_mask[:, ::-1])
    ys, xs = np.nonzero(ref_mask > 127)
    assert ref_box[0] - 1 <= xs.min() and xs.max() <= (ref_box[0] + ref_box[2]) / 2 + 1


def test_shift_draw_range():
    rng = np.random.default_rng(3)
    d = np.array([position_balanced_shift(rng, 10) for _ in range(500)])
    assert d.min() >= -10 and d.max() <= 10 and d.std() > 5
    assert position_balanced_shift(rng, 0) == (0.0, 0.0)
