"""SiamRPN / SiamRPN++ tracker, step for step as the original PySOT ``SiamRPNTracker``.

Per frame: crop a ``round(s_x)`` square around the last centre (mean-colour
padding) and resize it to ``instance_size``; score every anchor (softmax of the
two cls channels), decode its box, penalise changes of scale and aspect ratio,
blend with a cosine window, take the best anchor, and move the state towards
its box with a learning rate ``penalty * score * lr``.

The subclasses (long-term, SiamMask, DaSiamRPN) override the small steps
:meth:`SiamRPNTracker._instance_size`, :meth:`_select` and :meth:`_update`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F

from pysot.core.registry import TRACKERS
from pysot.tracker.base_tracker import BaseTracker, clip_state, nan_to_num, round_half_away
from pysot.utils.anchor import anchor_grid
from pysot.utils.crop import context_size


LOG_SIZE_BOUND = 10.0


def _change(r: np.ndarray) -> np.ndarray:
    return np.maximum(r, 1.0 / r)


@dataclass
class Proposals:
    """One frame's scored anchors. Index ``i`` runs over ``(anchor, row, col)`` in that order.

    ``score``: ``[N]`` foreground probability; ``boxes``: ``[4, N]`` ``cx, cy, w, h``
    in crop pixels relative to the crop centre; ``penalty``: ``[N]``;
    ``scale_z``: crop pixels per image pixel; ``s_x``: crop side in the image;
    ``score_size``: side of the score map; ``instance_size``: crop side in the model;
    ``x_crop``: the model input ``[1, 3, instance_size, instance_size]``.
    """

    score: np.ndarray
    boxes: np.ndarray
    penalty: np.ndarray
    scale_z: float
    s_x: float
    score_size: int
    instance_size: int
    outputs: Dict[str, torch.Tensor]
    x_crop: torch.Tensor

    @property
    def pscore(self) -> np.ndarray:
        return self.penalty * self.score


# TRACK.WINDOW values (see SiamRPNTracker).
WINDOWS = ("hann", "sqrt_hann")


@TRACKERS.register()
class SiamRPNTracker(BaseTracker):
    """Anchor-based Siamese tracker (SiamRPN, DaSiamRPN's network, SiamRPN++).

    Args:
        model: a ``pysot.models`` model (``template``/``track``, see the package docs).
        anchor_stride, anchor_ratios, anchor_scales: ``cfg.ANCHOR.*``.
        exemplar_size, instance_size: template / search crop sides fed to the model.
        base_size: ``cfg.TRACK.BASE_SIZE``; the score map is
            ``(instance_size - exemplar_size) // stride + 1 + base_size`` cells wide.
        context_amount: context added around the box for the crops.
        penalty_k, window_influence, lr: ``cfg.TRACK.*`` hyper-parameters.
        legacy_rounding: Python-2 ``round`` (half away from zero) for crop sizes,
            as the DaSiamRPN release computed them.
        window: ``"hann"`` (the outer product of two Hann windows) or ``"sqrt_hann"``, its
            square root, which is the window of OpenCV's ``cv2.TrackerDaSiamRPN``.
        clip_box_to_image: intersect the reported box with the frame.
    """

    #: What the model's head must output (checked by :func:`pysot.tracker.build_tracker`).
    HEAD = "anchors"

    def __init__(self, model: torch.nn.Module, *, anchor_stride: int = 8,
                 anchor_ratios: Sequence[float] = (0.33, 0.5, 1, 2, 3), anchor_scales: Sequence[float] = (8,),
                 exemplar_size: int = 127, instance_size: int = 255, base_size: int = 8,
                 context_amount: float = 0.5, penalty_k: float = 0.04, window_influence: float = 0.44,
                 lr: float = 0.4, legacy_rounding: bool = False, clip_box_to_image: bool = True,
                 window: str = "hann") -> None:
        super().__init__(model, clip_box_to_image)
        if instance_size < exemplar_size:
            raise ValueError(f"instance_size ({instance_size}) must be >= exemplar_size ({exemplar_size})")
        if window not in WINDOWS:
            raise ValueError(f"TRACK.WINDOW {window!r}: give one of {', '.join(WINDOWS)}")
        self.window = window
        self.anchor_stride = int(anchor_stride)
        self.anchor_ratios = [float(r) for r in anchor_ratios]
        self.anchor_scales = [float(s) for s in anchor_scales]
        self.anchor_num = len(self.anchor_ratios) * len(self.anchor_scales)
        self.exemplar_size = int(exemplar_size)
        self.instance_size = int(instance_size)
        self.base_size = int(base_size)
        self.context_amount = float(context_amount)
        self.penalty_k = float(penalty_k)
        self.window_influence = float(window_influence)
        self.lr = float(lr)
        self.legacy_rounding = bool(legacy_rounding)
        self._grids: Dict[int, Tuple[np.ndarray, np.ndarray]] = {}

    # ---------------------------------------------------------------- construction
    @classmethod
    def config_kwargs(cls, cfg) -> Dict[str, object]:
        """Map a config node onto this class's keyword arguments."""
        t = cfg.TRACK
        return dict(anchor_stride=cfg.ANCHOR.STRIDE, anchor_ratios=list(cfg.ANCHOR.RATIOS),
                    anchor_scales=list(cfg.ANCHOR.SCALES), exemplar_size=t.EXEMPLAR_SIZE,
                    instance_size=t.INSTANCE_SIZE, base_size=t.BASE_SIZE, context_amount=t.CONTEXT_AMOUNT,
                    penalty_k=t.PENALTY_K, window_influence=t.WINDOW_INFLUENCE, lr=t.LR,
                    legacy_rounding=t.LEGACY_ROUNDING, clip_box_to_image=t.CLIP_BOX_TO_IMAGE, window=t.WINDOW)

    # ---------------------------------------------------------------- geometry
    def _round(self, x: float) -> int:
        return round_half_away(x) if self.legacy_rounding else int(round(x))

    def score_size(self, instance_size: int) -> int:
        return (instance_size - self.exemplar_size) // self.anchor_stride + 1 + self.base_size

    def anchors_and_window(self, score_size: int) -> Tuple[np.ndarray, np.ndarray]:
        """Anchors ``[4, N]`` (``cx, cy, w, h`` relative to the crop centre) and the cosine window ``[N]``.

        ``N = A * score_size^2`` ordered ``(anchor, row, col)``, the order of the
        flattened ``cls``/``loc`` maps. (The DaSiamRPN release's Python-2 integer
        division in its anchor sizes gives the same integer sizes, so one grid serves both.)
        """
        if score_size not in self._grids:
            _, center = anchor_grid(self.anchor_stride, self.anchor_ratios, self.anchor_scales, 0.0, score_size)
            hanning = np.hanning(score_size)
            window = np.outer(hanning, hanning)
            if self.window == "sqrt_hann":  # OpenCV's createHanningWindow ends with a sqrt
                window = np.sqrt(window)
            window = np.tile(window.flatten(), self.anchor_num)
            self._grids[score_size] = (center.reshape(4, -1), window)
        return self._grids[score_size]

    def _context_side(self, size: np.ndarray) -> float:
        return context_size(size[0], size[1], self.context_amount)

    # ---------------------------------------------------------------- init / track
    @torch.no_grad()
    def init(self, img: np.ndarray, bbox: Sequence[float]) -> None:
        """Cache the template of ``bbox = [x, y, w, h]`` in ``img`` (``H x W x 3`` uint8 BGR)."""
        img = self._start(img, bbox)
        self.channel_average = np.mean(img, axis=(0, 1))
        s_z = self._round(self._context_side(self.size))
        self.z_crop = self._crop(img, self.center_pos, self.exemplar_size, s_z)
        self.model.template(self.z_crop)

    def _instance_size(self) -> int:
        """Search-crop side for the coming frame."""
        return self.instance_size

    def _propose(self, img: np.ndarray, instance_size: int) -> Proposals:
        """Crop, run the model, convert scores and boxes, compute the shape penalty."""
        x_crop, s_x, scale_z = self._search_crop(img, instance_size)
        return self._proposals(self.model.track(x_crop), x_crop, s_x, scale_z, instance_size)

    def _search_crop(self, img: np.ndarray, instance_size: int) -> Tuple[torch.Tensor, float, float]:
        """The search crop ``[1, 3, S, S]`` around the current centre, its side ``s_x`` in the image, ``scale_z``."""
        # NumPy scalars, as in the originals: a float64 scalar keeps the float32 box arithmetic it
        # meets in float64 (a Python float would leave it in float32).
        s_z = np.float64(self._context_side(self.size))
        scale_z = self.exemplar_size / s_z
        # Each original's own float expression, so that round(s_x) meets its halves exactly.
        if self.legacy_rounding:  # the release: s_z + 2 * pad, with Python 2's integer (S - 127) / 2
            s_x = s_z + 2 * (((instance_size - self.exemplar_size) // 2) / scale_z)
        else:
            s_x = s_z * (instance_size / self.exemplar_size)
        return self._crop(img, self.center_pos, instance_size, self._round(s_x)), s_x, scale_z

    def _proposals(self, outputs: Dict[str, torch.Tensor], x_crop: torch.Tensor, s_x: float, scale_z: float,
                   instance_size: int) -> Proposals:
        """Scores, boxes and penalties from the model's outputs for ``x_crop`` (split from
        :meth:`_propose` so that :class:`~pysot.tracker.multi_tracker.MultiTracker` can batch the model call)."""
        score_size = self.score_size(instance_size)
        cls, loc = outputs["cls"], outputs["loc"]
        if cls.shape[-1] != score_size or cls.shape[1] != 2 * self.anchor_num:
            raise ValueError(
                f"model cls output {tuple(cls.shape)} does not match the tracker's score map "
                f"[1, {2 * self.anchor_num}, {score_size}, {score_size}] (check TRACK.INSTANCE_SIZE, "
                f"TRACK.BASE_SIZE, ANCHOR.* against the model)")
        anchors, _ = self.anchors_and_window(score_size)
        score = self._convert_score(cls)
        boxes = self._convert_boxes(loc, anchors)
        target_w, target_h = self.size * scale_z
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):  # degenerate boxes -> NaN, dropped later
            # The scale penalty compares context sides with a fixed 0.5 context, whatever CONTEXT_AMOUNT is.
            s_c = _change(context_size(boxes[2], boxes[3], 0.5) / np.float64(context_size(target_w, target_h, 0.5)))
            r_c = _change((self.size[0] / self.size[1]) / (boxes[2] / boxes[3]))
            penalty = np.exp(-(r_c * s_c - 1) * self.penalty_k)
        return Proposals(score, boxes, penalty, scale_z, float(s_x), score_size, instance_size, outputs, x_crop)

    @staticmethod
    def _convert_score(cls: torch.Tensor) -> np.ndarray:
        """``[1, 2A, H, W]`` logits -> ``[A*H*W]`` foreground probability (channel ``A + a`` is fg of anchor ``a``)."""
        logits = cls.detach().permute(1, 2, 3, 0).reshape(2, -1).permute(1, 0)
        probability = F.softmax(logits.float(), dim=1)[:, 1].cpu().numpy()
        # A NaN/inf logit (diverged weights, fp16 overflow) is no evidence for the target: score 0,
        # so the reported best_score stays a probability and the state is not moved by it.
        return nan_to_num(probability, nan=0.0)

    @staticmethod
    def _convert_boxes(loc: torch.Tensor, anchors: np.ndarray) -> np.ndarray:
        """``[1, 4A, H, W]`` deltas -> ``[4, A*H*W]`` boxes ``cx, cy, w, h`` (crop pixels, centre-relative)."""
        delta = loc.detach().permute(1, 2, 3, 0).reshape(4, -1).float().cpu().numpy().copy()
        delta[0, :] = delta[0, :] * anchors[2, :] + anchors[0, :]
        delta[1, :] = delta[1, :] * anchors[3, :] + anchors[1, :]
        # exp(10) = 22026 anchor widths is far beyond any real box; the bound only keeps a
        # diverged head from producing inf/NaN sizes.
        delta[2:, :] = np.exp(np.clip(delta[2:, :], -LOG_SIZE_BOUND, LOG_SIZE_BOUND)) * anchors[2:, :]
        return nan_to_num(delta, nan=0.0)

    def _window_influence(self) -> float:
        return self.window_influence

    def _select(self, props: Proposals) -> Tuple[int, float]:
        """Index of the chosen proposal and its reported score."""
        _, window = self.anchors_and_window(props.score_size)
        influence = self._window_influence()
        pscore = nan_to_num(props.pscore * (1 - influence) + window * influence, nan=-np.inf)
        best = int(np.argmax(pscore))
        return best, float(props.score[best])

    def _moved_state(self, props: Proposals, best: int) -> Tuple[np.ndarray, np.ndarray]:
        """Centre and size after moving towards proposal ``best`` (before clipping)."""
        bbox = props.boxes[:, best] / props.scale_z
        lr = props.penalty[best] * props.score[best] * self.lr
        center = self.center_pos + bbox[:2]
        size = self.size * (1 - lr) + bbox[2:] * lr
        if not (np.all(np.isfinite(center)) and np.all(np.isfinite(size))):
            return self.center_pos, self.size  # a degenerate proposal never corrupts the state
        return center, size

    def _update(self, props: Proposals, best: int, best_score: float) -> None:
        center, size = self._moved_state(props, best)
        self.center_pos, self.size = clip_state(center, size, self.image_shape)

    @torch.no_grad()
    def track(self, img: np.ndarray) -> Dict[str, object]:
        """Track one frame: ``{"bbox": [x, y, w, h], "raw_bbox": [x, y, w, h], "best_score": float}``."""
        img = self._next_frame(img)
        return self._finish(self._propose(img, self._instance_size()))

    def _finish(self, props: Proposals) -> Dict[str, object]:
        """Select, update the state, report: the part of :meth:`track` after the model call."""
        best, best_score = self._select(props)
        self._update(props, best, best_score)
        self._last = (props, best)
        center, size = self._reported_state()
        return {**self._report(center, size), "best_score": best_score}

    def _reported_state(self) -> Tuple[np.ndarray, np.ndarray]:
        """The centre and size the box is reported from (the state itself, already clipped)."""
        return self.center_pos, self.size
