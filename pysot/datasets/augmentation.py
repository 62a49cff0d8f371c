"""Crop augmentation of the training pairs, as the original PySOT computes it.

Boxes are corner boxes ``[x1, y1, x2, y2]`` in pixel coordinates of the image
they refer to. Images are ``H x W x 3`` BGR (uint8 in, uint8 or float out: the
colour offset makes the crop float, as in the original). Every random draw comes
from the ``rng`` passed in: ``numpy.random`` itself (the original's global legacy
stream: then a seeded run draws the original's numbers in the original's order),
a ``numpy.random.RandomState`` or a ``numpy.random.Generator``.
"""
from __future__ import annotations

from typing import Optional, Sequence, Tuple

import cv2
import numpy as np

# The original's colour-offset basis (PCA of ImageNet RGB values, scaled): the offset is
# RGB_VAR @ N(0, 1)^3, reversed to BGR and subtracted from the crop.
RGB_VAR = np.array([[-0.55919361, 0.98062831, -0.41940627],
                    [1.72091413, 0.19879334, -1.82968581],
                    [4.64467907, 4.73710203, 4.88324118]], dtype=np.float32)


def integers(rng, low: int, high: int) -> int:
    """An integer in ``[low, high)``: ``randint`` of the legacy stream (what the original calls), or
    ``integers`` of a ``Generator``."""
    return int(rng.integers(low, high) if isinstance(rng, np.random.Generator) else rng.randint(low, high))


def uniform_pm1(rng) -> float:
    """The original's ``random() * 2 - 1``: uniform in [-1, 1)."""
    return float(rng.random() * 2 - 1.0)


def position_balanced_shift(rng, max_shift: float, uniform: bool = True) -> Tuple[float, float]:
    """Shift ``(dx, dy)`` of the crop window, in source pixels.

    ``uniform=True`` is the original's (SiamRPN++'s remedy for position bias): uniform
    over ``[-max_shift, max_shift)`` on each axis, drawn as ``random() * 2 - 1`` for x then y.
    ``uniform=False`` draws a centre-heavy shift (normal, sigma = max_shift / 3, clipped),
    the behaviour whose bias SiamRPN++ diagnosed.
    """
    if max_shift <= 0:
        return 0.0, 0.0
    if uniform:
        dx = uniform_pm1(rng) * max_shift
        dy = uniform_pm1(rng) * max_shift
        return dx, dy
    d = np.clip(rng.standard_normal(2) * (max_shift / 3.0), -max_shift, max_shift)
    return float(d[0]), float(d[1])


def motion_blur_kernel(rng) -> np.ndarray:
    """The original's random motion-blur kernel: an odd size of 5 to 45 px, a cross of weight
    ``wx / size`` on the centre column and ``(1 - wx) / size`` on the centre row (``wx``
    uniform): a blend of vertical and horizontal motion."""
    size = int(rng.choice(np.arange(5, 46, 2)))
    kernel = np.zeros((size, size))
    c = size // 2
    wx = rng.random()
    kernel[:, c] += 1.0 / size * wx
    kernel[c, :] += 1.0 / size * (1 - wx)
    return kernel


def color_offset(rng) -> np.ndarray:
    """The original's PCA colour offset ``[3]`` (BGR order) to subtract from a crop."""
    offset = np.dot(RGB_VAR, rng.standard_normal((3, 1)))
    return offset[::-1].reshape(3)


def crop_roi(image: np.ndarray, box: Sequence[float], out_size: int, padding=(0, 0, 0),
             interpolation: int = cv2.INTER_LINEAR) -> np.ndarray:
    """Warp ``box`` (corner box in ``image``) onto ``out_size`` pixels: corner to corner, ``box``'s
    side mapped to ``out_size - 1`` (the original's ``_crop_roi``), constant ``padding`` outside."""
    x1, y1, x2, y2 = (float(v) for v in box)
    a = (out_size - 1) / (x2 - x1)
    b = (out_size - 1) / (y2 - y1)
    mapping = np.array([[a, 0, -a * x1], [0, b, -b * y1]], dtype=np.float64)
    return cv2.warpAffine(image, mapping, (out_size, out_size), flags=interpolation,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=padding)


class Augmentation:
    """Scale jitter and shift of the crop window, then colour / blur / flip, as the original PySOT.

    The crop window is a square of side ``out_size - 1`` centred on the source image's
    centre (``shape // 2``), where the dataset put the target; it is scaled by ``1 + scale *
    u`` per axis (``u`` uniform in [-1, 1), capped at the image size) and shifted by up to
    ``shift`` source pixels per axis (kept inside the image), then warped onto ``out_size``
    pixels with black padding.

    Args:
        shift: max shift of the crop window, source pixels.
        scale: max relative scale jitter of the window.
        blur: probability of the original's random motion blur (5-45 px cross kernel).
        flip: probability of a horizontal flip.
        color: probability of the original's PCA colour offset (makes the crop float).
        uniform_shift: uniform shift (the original's); False draws a centre-heavy one.
    """

    def __init__(self, shift: float = 0.0, scale: float = 0.0, blur: float = 0.0, flip: float = 0.0,
                 color: float = 0.0, uniform_shift: bool = True) -> None:
        self.shift = float(shift)
        self.scale = float(scale)
        self.blur = float(blur)
        self.flip = float(flip)
        self.color = float(color)
        self.uniform_shift = bool(uniform_shift)

    def __call__(self, rng, image: np.ndarray, target: Sequence[float], out_size: int,
                 gray: bool = False, mask: Optional[np.ndarray] = None
                 ) -> Tuple[np.ndarray, np.ndarray, Optional[np.ndarray]]:
        """Cut an ``out_size`` crop around the target with jitter.

        ``target`` is the target's corner box in ``image``; ``mask`` (optional,
        ``H x W`` uint8, same size as ``image``) follows the same geometry.
        Returns ``(crop, box, mask_crop)``: ``crop`` ``[out_size, out_size, 3]`` (uint8, or
        float64 after the colour offset); the box is the target's corner box in crop
        coordinates; ``mask_crop`` is None without a mask.
        """
        h, w = image.shape[:2]
        # The original centres on (shape[0] // 2, shape[1] // 2): x from the height (crops are square).
        cx, cy, side = h // 2, w // 2, out_size - 1
        if gray:  # before the crop, as the original
            image = cv2.cvtColor(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
        sw = sh = float(side)
        scale_x = scale_y = 1.0
        if self.scale:
            scale_x = min(1.0 + uniform_pm1(rng) * self.scale, float(w) / sw)
            scale_y = min(1.0 + uniform_pm1(rng) * self.scale, float(h) / sh)
            sw, sh = sw * scale_x, sh * scale_y
        x1, y1, x2, y2 = cx - sw * 0.5, cy - sh * 0.5, cx + sw * 0.5, cy + sh * 0.5
        if self.shift:
            sx, sy = position_balanced_shift(rng, self.shift, self.uniform_shift)
            sx = max(-x1, min(w - 1 - x2, sx))  # the window stays inside the image
            sy = max(-y1, min(h - 1 - y2, sy))
            x1, y1, x2, y2 = x1 + sx, y1 + sy, x2 + sx, y2 + sy
        t = [float(v) for v in target]
        box = np.array([(t[0] - x1) / scale_x, (t[1] - y1) / scale_y,
                        (t[2] - x1) / scale_x, (t[3] - y1) / scale_y], dtype=np.float64)
        crop = crop_roi(image, (x1, y1, x2, y2), out_size)
        mask_crop = crop_roi(mask, (x1, y1, x2, y2), out_size, padding=0) if mask is not None else None
        if self.color > rng.random():
            crop = crop - color_offset(rng)
        if self.blur > rng.random():
            crop = cv2.filter2D(crop, -1, motion_blur_kernel(rng))
        if self.flip and self.flip > rng.random():
            crop = cv2.flip(crop, 1)
            box = np.array([out_size - 1 - box[2], box[1], out_size - 1 - box[0], box[3]])
            if mask_crop is not None:
                mask_crop = cv2.flip(mask_crop, 1)
        return crop, box, mask_crop
