"""Crop augmentation of the training pairs, including the position-balanced shift.

Boxes are corner boxes ``[x1, y1, x2, y2]`` in pixel coordinates of the image
they refer to. Images are ``H x W x 3`` uint8 BGR. Every random draw comes from
the ``numpy.random.Generator`` passed in, so a sample is a pure function of its seed.
"""
from __future__ import annotations

from typing import Optional, Sequence, Tuple

import cv2
import numpy as np

from pysot.utils.bbox import center2corner, corner2center
from pysot.utils.crop import crop_hwc


def position_balanced_shift(rng: np.random.Generator, max_shift: float, uniform: bool = True) -> Tuple[float, float]:
    """Target offset ``(dx, dy)`` in output pixels from the crop centre.

    ``uniform=True`` is SiamRPN++'s remedy for position bias: the offset is
    uniform over ``[-max_shift, max_shift]`` on each axis, so the network sees
    the target equally often everywhere in the search region. ``uniform=False``
    draws a centre-heavy offset (normal, sigma = max_shift / 3, clipped), the
    behaviour whose bias SiamRPN++ diagnosed.
    """
    if max_shift <= 0:
        return 0.0, 0.0
    if uniform:
        d = rng.uniform(-max_shift, max_shift, size=2)
    else:
        d = np.clip(rng.normal(0.0, max_shift / 3.0, size=2), -max_shift, max_shift)
    return float(d[0]), float(d[1])


class Augmentation:
    """Scale jitter + position shift, then blur / colour / flip, of one crop.

    Args:
        shift: max target offset from the output centre, output pixels.
        scale: max relative scale jitter (crop side multiplied by ``1 +- scale``).
        blur: probability of a random Gaussian blur.
        flip: probability of a horizontal flip.
        color: probability of a colour jitter (per-channel gain and offset).
        uniform_shift: draw the offset with :func:`position_balanced_shift` uniformly.
    """

    def __init__(self, shift: float = 0.0, scale: float = 0.0, blur: float = 0.0, flip: float = 0.0,
                 color: float = 0.0, uniform_shift: bool = True) -> None:
        self.shift = float(shift)
        self.scale = float(scale)
        self.blur = float(blur)
        self.flip = float(flip)
        self.color = float(color)
        self.uniform_shift = bool(uniform_shift)

    def __call__(self, rng: np.random.Generator, image: np.ndarray, target: Sequence[float], out_size: int,
                 gray: bool = False, mask: Optional[np.ndarray] = None
                 ) -> Tuple[np.ndarray, np.ndarray, Optional[np.ndarray]]:
        """Cut an ``out_size`` crop around the target with jitter.

        ``target`` is the target's corner box in ``image``; ``mask`` (optional,
        ``H x W`` uint8, same size as ``image``) follows the same geometry.
        Returns ``(crop, box, mask_crop)``: the box is the target's corner box in
        crop coordinates; ``mask_crop`` is None without a mask.
        """
        h, w = image.shape[:2]
        side_x = side_y = float(out_size)
        if self.scale > 0:
            side_x /= 1 + rng.uniform(-self.scale, self.scale)
            side_y /= 1 + rng.uniform(-self.scale, self.scale)
        if self.shift > 0:
            # Put the target (not the image centre) at the drawn offset, measured in output pixels,
            # so the realised offset distribution is exactly the drawn one whatever the scale jitter.
            tcx, tcy, _, _ = corner2center(np.asarray(target, dtype=np.float64))
            dx, dy = position_balanced_shift(rng, self.shift, self.uniform_shift)
            crop_cx, crop_cy = tcx - dx * (side_x / out_size), tcy - dy * (side_y / out_size)
        else:
            crop_cx, crop_cy = (w - 1) / 2.0, (h - 1) / 2.0
        region = center2corner(np.array([crop_cx, crop_cy, side_x, side_y]))
        padding = image.reshape(-1, 3).mean(axis=0)
        crop = crop_hwc(image, region, out_size, padding)
        mask_crop = crop_hwc(mask, region, out_size, (0,)) if mask is not None else None
        sx, sy = (out_size - 1) / (region[2] - region[0]), (out_size - 1) / (region[3] - region[1])
        box = np.array([(target[0] - region[0]) * sx, (target[1] - region[1]) * sy,
                        (target[2] - region[0]) * sx, (target[3] - region[1]) * sy], dtype=np.float64)
        if gray:
            crop = cv2.cvtColor(cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
        if self.color > rng.random():
            gain = rng.uniform(0.8, 1.2, size=3)
            offset = rng.uniform(-20, 20, size=3)
            crop = np.clip(crop.astype(np.float32) * gain + offset, 0, 255).astype(np.uint8)
        if self.blur > rng.random():
            k = int(rng.choice([3, 5, 7]))
            crop = cv2.GaussianBlur(crop, (k, k), float(rng.uniform(0.5, 2.0)))
        if self.flip > rng.random():
            crop = np.ascontiguousarray(crop[:, ::-1])
            box = np.array([out_size - 1 - box[2], box[1], out_size - 1 - box[0], box[3]])
            if mask_crop is not None:
                mask_crop = np.ascontiguousarray(mask_crop[:, ::-1])
        return crop, box, mask_crop
