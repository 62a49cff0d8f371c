"""Training targets of VitTrack's centre head, and its crop geometry on crop-511 images.

The crop-511 images of the training pipeline show the target at SiamRPN's scale (the context
square ``sqrt((w + p)(h + p))``, ``p = (w + h) / 2``, is 127 px). VitTrack crops
``factor * sqrt(w * h)`` instead (2 for the template, 4 for the search region), so
:meth:`CenterTarget.rescale` first scales the image about the target so that this side spans the
network's input; the usual augmentation (shift, scale jitter, blur, colour) then crops it.
"""
from __future__ import annotations

import math
from typing import Dict, Sequence, Tuple

import cv2
import numpy as np
import torch

__all__ = ["CenterTarget", "gaussian_radius", "center_heatmap", "center_targets"]


def gaussian_radius(w: float, h: float, min_overlap: float = 0.7) -> float:
    """CenterNet's radius (its original, "bug-version" formula, which OSTrack and VitTrack train with)
    for a box of ``w x h`` cells: the smallest of three quadratic roots."""
    b1 = h + w
    c1 = w * h * (1 - min_overlap) / (1 + min_overlap)
    r1 = (b1 + math.sqrt(b1 ** 2 - 4 * c1)) / 2
    b2 = 2 * (h + w)
    c2 = (1 - min_overlap) * w * h
    r2 = (b2 + math.sqrt(b2 ** 2 - 16 * c2)) / 2
    a3 = 4 * min_overlap
    b3 = -2 * min_overlap * (h + w)
    c3 = (min_overlap - 1) * w * h
    r3 = (b3 + math.sqrt(b3 ** 2 - 4 * a3 * c3)) / 2
    return min(r1, r2, r3)


def center_heatmap(box_xywh: Sequence[float], feat_size: int, min_overlap: float = 0.7) -> np.ndarray:
    """``[F, F]`` float32 Gaussian peak (1 at the centre cell) for a box ``x1, y1, w, h`` in crop fractions."""
    x, y, w, h = (float(v) * feat_size for v in box_xywh)
    radius = max(int(gaussian_radius(w, h, min_overlap)), 0)
    cx, cy = int(np.round(x + w / 2)), int(np.round(y + h / 2))  # numpy rounds half to even, as torch
    heat = np.zeros((feat_size, feat_size), np.float32)
    sigma = (2 * radius + 1) / 6
    yy, xx = np.ogrid[-radius:radius + 1, -radius:radius + 1]
    g = np.exp(-(xx * xx + yy * yy) / (2 * sigma * sigma))
    g[g < np.finfo(g.dtype).eps * g.max()] = 0
    left, right = min(cx, radius), min(feat_size - cx, radius + 1)
    top, bottom = min(cy, radius), min(feat_size - cy, radius + 1)
    if left + right > 0 and top + bottom > 0 and 0 <= cx < feat_size + radius and 0 <= cy < feat_size + radius:
        patch = g[radius - top:radius + bottom, radius - left:radius + right].astype(np.float32)
        region = heat[cy - top:cy + bottom, cx - left:cx + right]
        if region.size and patch.shape == region.shape:
            heat[cy - top:cy + bottom, cx - left:cx + right] = np.maximum(region, patch)
    return heat


def center_targets(boxes_xywh: torch.Tensor, feat_size: int) -> Dict[str, torch.Tensor]:
    """Batch targets for boxes ``[B, 4]`` (``x1, y1, w, h``, crop fractions): ``{"heatmap": [B, 1, F, F]}``."""
    maps = [center_heatmap(b.tolist(), feat_size) for b in boxes_xywh]
    return {"heatmap": torch.from_numpy(np.stack(maps))[:, None]}


class CenterTarget:
    """Per-sample targets of the training dataset for a centre head.

    Args:
        search_size: network search side ``S`` (256).
        stride: crop pixels per score-map cell (16); ``F = S / stride``.
        template_factor, search_factor: crop sides over ``sqrt(w * h)`` (2, 4).
        exemplar_size: network template side (128).
    """

    def __init__(self, search_size: int = 256, stride: int = 16, template_factor: float = 2.0,
                 search_factor: float = 4.0, exemplar_size: int = 128) -> None:
        self.search_size, self.stride = int(search_size), int(stride)
        self.feat_size = self.search_size // self.stride
        self.template_factor, self.search_factor = float(template_factor), float(search_factor)
        self.exemplar_size = int(exemplar_size)

    def rescale(self, image: np.ndarray, box: np.ndarray, template: bool) -> Tuple[np.ndarray, np.ndarray]:
        """Scale ``image`` about the target's centre so ``factor * sqrt(w * h)`` spans the network's input side;
        returns the image (same size) and the target's corner box in it."""
        w, h = box[2] - box[0], box[3] - box[1]
        side = (self.template_factor if template else self.search_factor) * math.sqrt(max(w * h, 1e-6))
        k = (self.exemplar_size if template else self.search_size) / side
        cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
        m = np.array([[k, 0, cx - k * cx], [0, k, cy - k * cy]], np.float64)
        pad = image.reshape(-1, 3).mean(axis=0)
        out = cv2.warpAffine(image, m, (image.shape[1], image.shape[0]), flags=cv2.INTER_LINEAR,
                             borderMode=cv2.BORDER_CONSTANT, borderValue=tuple(float(v) for v in pad))
        return out, np.array([cx - k * w / 2, cy - k * h / 2, cx + k * w / 2, cy + k * h / 2])

    def __call__(self, box: Sequence[float], negative: bool, rng: np.random.Generator) -> Dict[str, np.ndarray]:
        """``{"heatmap": [1, F, F], "box": [4] x1, y1, w, h (crop fractions)}`` for the search crop's corner box;
        a negative pair gets an empty map."""
        s = float(self.search_size)
        xywh = np.array([box[0] / s, box[1] / s, (box[2] - box[0]) / s, (box[3] - box[1]) / s], np.float32)
        heat = np.zeros((self.feat_size, self.feat_size), np.float32) if negative else center_heatmap(xywh, self.feat_size)
        return {"heatmap": heat[None], "box": xywh}
