"""NanoTracker: the point-based (anchor-free) tracker of NanoTrack, step for step as its release.

Per frame it does what :class:`~pysot.tracker.siamrpn_tracker.SiamRPNTracker`
does (crop ``round(s_x)`` around the last centre, softmax scores, scale/ratio
penalty, cosine window, move with ``penalty * score * lr``, clip), with one
proposal per score-map *point* instead of per anchor: the head gives each
point's distances ``l, t, r, b`` to the box sides, so the box is
``x1 = px - l, y1 = py - t, x2 = px + r, y2 = py + b``.

Points sit every ``point_stride`` crop pixels, relative to the crop centre,
starting at ``-(S // 2) * stride``: for the even ``S = 16`` of V1/V2 the grid
is ``-128 .. 112``, half a stride off centre, exactly as the release places it.
"""
from __future__ import annotations

from typing import Dict, Tuple

import numpy as np
import torch

from pysot.core.registry import TRACKERS
from pysot.tracker.base_tracker import nan_to_num
from pysot.tracker.siamrpn_tracker import SiamRPNTracker


def point_grid(stride: int, size: int) -> np.ndarray:
    """``[2, size*size]`` float32 point coordinates ``x, y`` (row-major over the score map)."""
    offsets = (np.arange(size) - size // 2) * stride
    x, y = np.meshgrid(offsets, offsets)
    return np.stack([x.ravel(), y.ravel()]).astype(np.float32)


@TRACKERS.register()
class NanoTracker(SiamRPNTracker):
    """Point-based Siamese tracker (NanoTrack V1/V2/V3).

    Args:
        model: a ``pysot.models`` model with a BAN head: ``track`` gives ``cls [1, 2, S, S]``
            and ``loc [1, 4, S, S]`` (distances to the left/top/right/bottom sides).
        point_stride: crop pixels between points (``cfg.POINT.STRIDE``, 16).
        output_size: ``S`` (``cfg.TRACK.OUTPUT_SIZE``: 16 for V1/V2, 15 for V3); 0 derives it as
            ``(instance_size - exemplar_size) // point_stride + 1 + base_size``.
        exemplar_size, instance_size, base_size, context_amount, penalty_k, window_influence, lr,
        clip_box_to_image: as for :class:`SiamRPNTracker`.
    """

    HEAD = "points"

    def __init__(self, model: torch.nn.Module, *, point_stride: int = 16, output_size: int = 0,
                 exemplar_size: int = 127, instance_size: int = 255, base_size: int = 7,
                 context_amount: float = 0.5, penalty_k: float = 0.15, window_influence: float = 0.49,
                 lr: float = 0.385, clip_box_to_image: bool = True) -> None:
        super().__init__(model, anchor_stride=point_stride, anchor_ratios=(1.0,), anchor_scales=(1.0,),
                         exemplar_size=exemplar_size, instance_size=instance_size, base_size=base_size,
                         context_amount=context_amount, penalty_k=penalty_k, window_influence=window_influence,
                         lr=lr, legacy_rounding=False, clip_box_to_image=clip_box_to_image)
        if int(point_stride) <= 0 or int(output_size) < 0:
            raise ValueError(f"point_stride ({point_stride}) must be > 0 and output_size ({output_size}) >= 0")
        self.point_stride = int(point_stride)
        self.output_size = int(output_size)

    @classmethod
    def config_kwargs(cls, cfg) -> Dict[str, object]:
        t = cfg.TRACK
        return dict(point_stride=cfg.POINT.STRIDE, output_size=t.OUTPUT_SIZE, exemplar_size=t.EXEMPLAR_SIZE,
                    instance_size=t.INSTANCE_SIZE, base_size=t.BASE_SIZE, context_amount=t.CONTEXT_AMOUNT,
                    penalty_k=t.PENALTY_K, window_influence=t.WINDOW_INFLUENCE, lr=t.LR,
                    clip_box_to_image=t.CLIP_BOX_TO_IMAGE)

    def score_size(self, instance_size: int) -> int:
        if self.output_size:
            return self.output_size
        return (instance_size - self.exemplar_size) // self.point_stride + 1 + self.base_size

    def anchors_and_window(self, score_size: int) -> Tuple[np.ndarray, np.ndarray]:
        """Points ``[2, S*S]`` (see :func:`point_grid`) and the cosine window ``[S*S]``."""
        if score_size not in self._grids:
            hanning = np.hanning(score_size)
            self._grids[score_size] = (point_grid(self.point_stride, score_size),
                                       np.outer(hanning, hanning).flatten())
        return self._grids[score_size]

    @staticmethod
    def _convert_boxes(loc: torch.Tensor, points: np.ndarray) -> np.ndarray:
        """``[1, 4, S, S]`` side distances -> ``[4, S*S]`` boxes ``cx, cy, w, h`` (crop pixels, centre-relative).

        Computed in float32, as the release does, so the boxes agree to the last bit.
        """
        delta = loc.detach().permute(1, 2, 3, 0).reshape(4, -1).float().cpu().numpy()
        x1, y1 = points[0] - delta[0], points[1] - delta[1]
        x2, y2 = points[0] + delta[2], points[1] + delta[3]
        boxes = np.stack([(x1 + x2) * 0.5, (y1 + y2) * 0.5, x2 - x1, y2 - y1])
        # exp() of a diverged regression can overflow; a finite (huge) box is then penalised away.
        return nan_to_num(boxes, nan=0.0)
