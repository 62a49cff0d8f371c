"""The one cropping module: trackers, training-data preparation and the
training dataset all cut their patches here.

Image convention: ``H x W x 3`` uint8 BGR (OpenCV). Centres are in pixel
coordinates where pixel ``i`` spans ``[i - 0.5, i + 0.5]``.
"""
from __future__ import annotations

from typing import Sequence, Tuple

import math

import cv2
import numpy as np


def round_half_away(x: float) -> int:
    """Python 2's ``round``: the nearest integer, halves away from zero (``-2.5 -> -3``).

    Exact for every double: the fraction ``|x| - floor(|x|)`` is computed without
    rounding, so ``0.49999999999999994`` goes to 0 (``floor(x + 0.5)`` would give 1).
    """
    magnitude = abs(float(x))
    whole = math.floor(magnitude)
    if magnitude - whole >= 0.5:
        whole += 1
    return int(math.copysign(whole, x)) if whole else 0


def context_size(w, h, context_amount: float = 0.5):
    """Side of the square exemplar region: ``sqrt((w + p)(h + p))``, ``p = context * (w + h)``.

    Scalars give a float; arrays of widths and heights give an array.
    """
    p = context_amount * (w + h)
    side = np.sqrt((w + p) * (h + p))
    return float(side) if np.ndim(side) == 0 else side


def get_subwindow(im: np.ndarray, pos: Sequence[float], model_sz: int, original_sz: float,
                  avg_chans: np.ndarray, half_away: bool = False) -> np.ndarray:
    """Crop a square of side ``original_sz`` centred on ``pos`` and resize it to ``model_sz``.

    Parts outside the image are filled with ``avg_chans`` (the image's mean
    colour), as the SiamFC family was trained. Returns a float32 tensor-ready
    array ``[1, 3, model_sz, model_sz]`` (raw 0..255 BGR, CHW).

    The integer window starts at ``pos - (original_sz + 1) / 2`` rounded to the
    nearest integer, exactly as the published trackers crop, so checkpoints see the
    same pixels. PySOT rounds halves up (``floor(v + 0.5)``); the DaSiamRPN release,
    written for Python 2, rounds them away from zero (``half_away=True``). The two
    differ on negative halves, i.e. when the window sticks out of the top or left
    of the image by a whole number of pixels plus one half.
    """
    return hwc_to_nchw(get_subwindow_hwc(im, pos, model_sz, original_sz, avg_chans, half_away))


def get_subwindow_hwc(im: np.ndarray, pos: Sequence[float], model_sz: int, original_sz: float,
                      avg_chans: np.ndarray, half_away: bool = False) -> np.ndarray:
    """As :func:`get_subwindow`, returning the ``model_sz x model_sz x 3`` uint8 patch."""
    sz = original_sz
    im_h, im_w = im.shape[:2]
    c = (original_sz + 1) / 2
    if half_away:
        xmin = float(round_half_away(pos[0] - c))
        ymin = float(round_half_away(pos[1] - c))
    else:
        xmin = np.floor(pos[0] - c + 0.5)
        ymin = np.floor(pos[1] - c + 0.5)
    xmax = xmin + sz - 1
    ymax = ymin + sz - 1
    left = int(max(0.0, -xmin))
    top = int(max(0.0, -ymin))
    right = int(max(0.0, xmax - im_w + 1))
    bottom = int(max(0.0, ymax - im_h + 1))
    # The published trackers wrote the float mean into a uint8 canvas, which truncates it;
    # OpenCV would round, shifting padded pixels by one grey level.
    fill = [float(np.floor(v)) for v in np.asarray(avg_chans).ravel()[:3]]
    y0, y1 = int(max(0.0, ymin)), int(min(im_h, ymax + 1))
    x0, x1 = int(max(0.0, xmin)), int(min(im_w, xmax + 1))
    inside = im[y0:y1, x0:x1, :] if y1 > y0 and x1 > x0 else None
    if (left or top or right or bottom) and inside is not None:
        # Padding the window's in-image part rather than the whole frame: the same pixels
        # for a fraction of the copying (speed.md).
        patch = cv2.copyMakeBorder(inside, top, bottom, left, right, cv2.BORDER_CONSTANT, value=fill)
    elif left or top or right or bottom:  # the window misses the image entirely
        xmin, xmax, ymin, ymax = xmin + left, xmax + left, ymin + top, ymax + top
        padded = cv2.copyMakeBorder(im, top, bottom, left, right, cv2.BORDER_CONSTANT, value=fill)
        patch = padded[int(ymin):int(ymax + 1), int(xmin):int(xmax + 1), :]
    else:
        patch = inside
    if model_sz != original_sz:
        patch = cv2.resize(patch, (int(model_sz), int(model_sz)))
    return patch


def hwc_to_nchw(patch: np.ndarray) -> np.ndarray:
    """``H x W x 3`` uint8 patch -> contiguous float32 ``[1, 3, H, W]``."""
    return np.ascontiguousarray(patch.transpose(2, 0, 1)[np.newaxis].astype(np.float32))


# ---------------------------------------------------------------- training crops
def crop_hwc(image: np.ndarray, bbox: Sequence[float], out_sz: int,
             padding: Sequence[float] = (0, 0, 0)) -> np.ndarray:
    """Affine-warp the corner box ``bbox = [x1, y1, x2, y2]`` onto an ``out_sz`` square.

    Outside pixels take ``padding``. Used for the crop-511 training layout and
    the training dataset's augmented crops.
    """
    a = (out_sz - 1) / (bbox[2] - bbox[0])
    b = (out_sz - 1) / (bbox[3] - bbox[1])
    c = -a * bbox[0]
    d = -b * bbox[1]
    mapping = np.array([[a, 0, c], [0, b, d]], dtype=np.float64)
    return cv2.warpAffine(image, mapping, (out_sz, out_sz), borderMode=cv2.BORDER_CONSTANT,
                          borderValue=tuple(float(v) for v in padding))


def search_region_box(bbox: Sequence[float], context_amount: float = 0.5, exemplar_size: int = 127,
                      instance_size: int = 255) -> Tuple[np.ndarray, np.ndarray]:
    """Corner boxes of the exemplar and search regions around the corner box ``bbox``.

    The exemplar region is the context square; the search region is the same
    square scaled by ``instance_size / exemplar_size``.
    """
    cx, cy = (bbox[0] + bbox[2]) / 2, (bbox[1] + bbox[3]) / 2
    s_z = context_size(bbox[2] - bbox[0], bbox[3] - bbox[1], context_amount)
    s_x = s_z * instance_size / exemplar_size

    def square(s: float) -> np.ndarray:
        return np.array([cx - s / 2, cy - s / 2, cx + s / 2, cy + s / 2], dtype=np.float64)

    return square(s_z), square(s_x)


def crop_like_siamfc(image: np.ndarray, bbox: Sequence[float], context_amount: float = 0.5,
                     exemplar_size: int = 127, instance_size: int = 255,
                     padding: Sequence[float] = (0, 0, 0)) -> Tuple[np.ndarray, np.ndarray]:
    """The crop-511 preparation: exemplar (``exemplar_size``) and search (``instance_size``) patches.

    The target keeps the scale it has in a tracker's exemplar crop, i.e. its
    context square maps onto ``exemplar_size`` pixels in both patches.
    """
    z_box, x_box = search_region_box(bbox, context_amount, exemplar_size, instance_size)
    z = crop_hwc(image, z_box, exemplar_size, padding)
    x = crop_hwc(image, x_box, instance_size, padding)
    return z, x
