"""SiamMask tracker: the SiamRPN box plus a refined per-frame segmentation mask.

The box is the RPN's (exactly as :class:`SiamRPNTracker`). The mask comes from
``model.mask_refine((row, col))`` at the chosen anchor's cell: a
``mask_output_size``-square of logits covering the exemplar-sized window
around that cell, which is mapped back onto the frame with an affine warp.
"""
from __future__ import annotations

from typing import Dict, Sequence

import cv2
import numpy as np
import torch

from pysot.core.registry import TRACKERS
from pysot.tracker.siamrpn_tracker import Proposals, SiamRPNTracker

# Components smaller than this (pixels) are noise; the polygon then falls back to the box.
MIN_CONTOUR_AREA = 100


@TRACKERS.register()
class SiamMaskTracker(SiamRPNTracker):
    """SiamRPN tracker whose output adds ``"mask"`` (``H x W`` float32 in 0..1) and ``"polygon"``.

    ``polygon`` is 8 numbers ``x1, y1, ..., x4, y4``: the minimum-area rotated
    rectangle of the largest mask component above ``mask_threshold``, or the
    axis-aligned box when the mask is empty.

    Extra args: ``mask_threshold`` (``cfg.TRACK.MASK_THERSHOLD``, the original
    spelling), ``mask_output_size`` (``cfg.TRACK.MASK_OUTPUT_SIZE``).
    """

    NEEDS_MASK = True

    def __init__(self, model: torch.nn.Module, *, mask_threshold: float = 0.30, mask_output_size: int = 127,
                 **kwargs) -> None:
        super().__init__(model, **kwargs)
        if not hasattr(model, "mask_refine"):
            raise ValueError("SiamMaskTracker needs a model with a mask refine head (MASK.MASK and REFINE.REFINE "
                             "true in the config); this model has no mask_refine()")
        self.mask_threshold = float(mask_threshold)
        self.mask_output_size = int(mask_output_size)

    @classmethod
    def config_kwargs(cls, cfg) -> Dict[str, object]:
        kwargs = super().config_kwargs(cfg)
        kwargs.update(mask_threshold=cfg.TRACK.MASK_THERSHOLD, mask_output_size=cfg.TRACK.MASK_OUTPUT_SIZE)
        return kwargs

    def _finish(self, props: Proposals) -> Dict[str, object]:
        center_before = self.center_pos.copy()
        out = super()._finish(props)
        _, best = self._last
        s_x = self._round(props.s_x)
        crop_box = [center_before[0] - s_x / 2, center_before[1] - s_x / 2, s_x, s_x]
        _, row, col = np.unravel_index(best, (self.anchor_num, props.score_size, props.score_size))
        logits = self.model.mask_refine((int(row), int(col)))
        size = self.mask_output_size
        mask = np.nan_to_num(logits.sigmoid().reshape(size, size).float().cpu().numpy(), nan=0.0)
        mask_in_img = self._mask_to_image(mask, crop_box, int(row), int(col), props.instance_size)
        out["mask"] = mask_in_img
        out["polygon"] = self._mask_polygon(mask_in_img)
        return out

    def _mask_to_image(self, mask: np.ndarray, crop_box: Sequence[float], row: int, col: int,
                       instance_size: int) -> np.ndarray:
        """Warp the ``S x S`` mask of cell ``(row, col)`` onto the frame (``H x W`` float32)."""
        im_h, im_w = self.image_shape
        s = crop_box[2] / instance_size  # image pixels per crop pixel
        # The mask of cell (row, col) covers the exemplar-sized window whose corner is
        # base_size/2 cells up-left of the cell, in crop coordinates.
        sub_x = crop_box[0] + (col - self.base_size / 2) * self.anchor_stride * s
        sub_y = crop_box[1] + (row - self.base_size / 2) * self.anchor_stride * s
        sub_side = s * self.exemplar_size
        scale = self.mask_output_size / sub_side
        back_box = [-sub_x * scale, -sub_y * scale, im_w * scale, im_h * scale]
        a = (im_w - 1) / back_box[2]
        b = (im_h - 1) / back_box[3]
        mapping = np.array([[a, 0, -a * back_box[0]], [0, b, -b * back_box[1]]], dtype=np.float64)
        return cv2.warpAffine(mask, mapping, (im_w, im_h), flags=cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_CONSTANT, borderValue=0)

    def _mask_polygon(self, mask: np.ndarray) -> list:
        binary = (mask > self.mask_threshold).astype(np.uint8)
        found = cv2.findContours(binary, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
        contours = found[-2]  # OpenCV 3 returns (image, contours, hierarchy); 4+ (contours, hierarchy)
        areas = [cv2.contourArea(c) for c in contours]
        if areas and max(areas) > MIN_CONTOUR_AREA:
            contour = contours[int(np.argmax(areas))]
            corners = cv2.boxPoints(cv2.minAreaRect(contour.reshape(-1, 2)))
        else:
            # The original falls back to the state's box as it is, unclipped.
            x, y, w, h = self._report(self.center_pos, self.size)["raw_bbox"]
            corners = np.array([[x, y], [x + w, y], [x + w, y + h], [x, y + h]])
        return [float(v) for v in np.asarray(corners).flatten()]
