"""DaSiamRPN inference (Zhu et al., ECCV 2018) on the UP-channel SiamRPN model.

Three parts, each switchable from the YAML:

1. The release tracker (always on): SiamRPN tracking with a 271-px search crop,
   no ``BASE_SIZE`` cells, and, for targets covering less than
   ``small_object_area_ratio`` of the first frame, a ``small_object_instance_size``
   (287-px) crop. With ``legacy_rounding`` it repeats the release's Python-2
   arithmetic (``round`` half away from zero), so the
   published models give the published boxes. The reported box is
   ``[cx - w/2, cy - h/2, w, h]``, the release's output form.
2. Distractor-aware re-ranking (``TRACK.DISTRACTOR.ENABLE``): the proposals
   scoring at least ``score_threshold`` go through NMS, the chosen one first;
   the survivors centred outside the chosen box are distractors ``d_i`` (at
   most ``max_num``), weighted by their scores ``a_i``. Each of the ``top_k``
   proposals ``p`` (by window-blended score) is re-scored
   ``f(z, p) - weight * sum_i a_i f(d_i, p) / sum_i a_i``, where
   ``f(d_i, .)`` is the model's score map for the same search crop with the
   distractor's exemplar crop as template. The reported ``best_score`` is the
   re-scored value of the winner (clipped at 0).
3. Local-to-global search (``TRACK.GLOBAL_SEARCH.ENABLE``): while the best score
   is below ``failure_score`` the state is held and the search crop grows by
   ``step`` pixels per frame up to ``max_instance_size``, with the cosine window
   nearly off; a confident detection moves the state there and restores the
   normal crop.

Defaults (``pysot/core/config.py``): NMS IoU 0.5, distractor score 0.3, at most 5
distractors, weight 0.5, top 10 proposals; failure score 0.3, step 128 px, up to 767 px.
"""
from __future__ import annotations

from typing import Dict, List, Tuple

import numpy as np
import torch

from pysot.core.registry import TRACKERS
from pysot.tracker.base_tracker import clip_state
from pysot.tracker.siamrpn_lt_tracker import LOST_WINDOW_INFLUENCE
from pysot.tracker.siamrpn_tracker import Proposals, SiamRPNTracker
from pysot.utils.bbox import center2corner, iou


def nms(boxes_corner: np.ndarray, order: np.ndarray, iou_threshold: float) -> List[int]:
    """Greedy NMS: indices from ``order`` (best first) not overlapping a kept box by more than the threshold.

    ``boxes_corner``: ``[N, 4]`` ``x1, y1, x2, y2``.
    """
    remaining = np.asarray(order, dtype=np.int64)
    kept: List[int] = []
    while remaining.size:
        head = int(remaining[0])
        kept.append(head)
        overlap = iou(boxes_corner[head][None, :], boxes_corner[remaining[1:]])
        remaining = remaining[1:][overlap <= iou_threshold]
    return kept


# Proposals entering the distractor NMS, best first: enough to reach every
# look-alike on a 25x25x5 map without an O(N^2) NMS over all of them.
NMS_POOL = 200


@TRACKERS.register()
class DaSiamRPNTracker(SiamRPNTracker):
    """See the module docstring; SiamRPN kwargs plus the DaSiamRPN ones below."""

    def __init__(self, model: torch.nn.Module, *, small_object_instance_size: int = 0,
                 small_object_area_ratio: float = 0.004, distractor: bool = False,
                 distractor_nms_threshold: float = 0.5, distractor_score_threshold: float = 0.3,
                 distractor_max_num: int = 5, distractor_weight: float = 0.5, distractor_top_k: int = 10,
                 global_search: bool = False, failure_score: float = 0.3, global_step: int = 128,
                 max_instance_size: int = 767, **kwargs) -> None:
        super().__init__(model, **kwargs)
        self.normal_instance_size = self.instance_size
        self.small_object_instance_size = int(small_object_instance_size)
        self.small_object_area_ratio = float(small_object_area_ratio)
        self.distractor = bool(distractor)
        self.distractor_nms_threshold = float(distractor_nms_threshold)
        self.distractor_score_threshold = float(distractor_score_threshold)
        self.distractor_max_num = int(distractor_max_num)
        self.distractor_weight = float(distractor_weight)
        self.distractor_top_k = int(distractor_top_k)
        self.global_search = bool(global_search)
        self.failure_score = float(failure_score)
        self.global_step = int(global_step)
        self.max_instance_size = int(max_instance_size)
        if self.global_search and (self.global_step <= 0 or self.max_instance_size < self.instance_size):
            raise ValueError(f"global search needs STEP > 0 (got {self.global_step}) and MAX_INSTANCE_SIZE >= "
                             f"INSTANCE_SIZE (got {self.max_instance_size} < {self.instance_size})")
        self.search_size = self.instance_size
        self.lost = False
        self.last_distractors: np.ndarray = np.zeros((0, 4))

    @classmethod
    def config_kwargs(cls, cfg) -> Dict[str, object]:
        kwargs = super().config_kwargs(cfg)
        t = cfg.TRACK
        d, g = t.DISTRACTOR, t.GLOBAL_SEARCH
        kwargs.update(small_object_instance_size=t.SMALL_OBJECT_INSTANCE_SIZE,
                      small_object_area_ratio=t.SMALL_OBJECT_AREA_RATIO, distractor=d.ENABLE,
                      distractor_nms_threshold=d.NMS_THRESHOLD, distractor_score_threshold=d.SCORE_THRESHOLD,
                      distractor_max_num=d.MAX_NUM, distractor_weight=d.WEIGHT, distractor_top_k=d.TOP_K,
                      global_search=g.ENABLE, failure_score=g.FAILURE_SCORE, global_step=g.STEP,
                      max_instance_size=g.MAX_INSTANCE_SIZE)
        return kwargs

    # ---------------------------------------------------------------- init
    def init(self, img: np.ndarray, bbox) -> None:
        super().init(img, bbox)
        im_h, im_w = self.image_shape
        small = self.size[0] * self.size[1] / float(im_h * im_w) < self.small_object_area_ratio
        self.instance_size = (self.small_object_instance_size if self.small_object_instance_size > 0 and small
                              else self.normal_instance_size)
        self.search_size = self.instance_size
        self.lost = False
        self.last_distractors = np.zeros((0, 4))

    # ---------------------------------------------------------------- search region
    def _instance_size(self) -> int:
        return self.search_size

    def _window_influence(self) -> float:
        return LOST_WINDOW_INFLUENCE if self.search_size > self.instance_size else self.window_influence

    def _search_crop(self, img: np.ndarray, instance_size: int):
        self._frame = img  # the distractors' exemplar crops come from the current frame
        return super()._search_crop(img, instance_size)

    # ---------------------------------------------------------------- distractors
    def _select(self, props: Proposals) -> Tuple[int, float]:
        best, best_score = super()._select(props)
        self.last_distractors = np.zeros((0, 4))
        if not self.distractor:
            return best, best_score
        _, window = self.anchors_and_window(props.score_size)
        influence = self._window_influence()
        blended = props.pscore * (1 - influence) + window * influence
        candidates = np.argsort(-blended, kind="stable")[: self.distractor_top_k]
        # Distractors: the best-scoring proposals anywhere in the crop that survive NMS
        # against the chosen one and each other.
        pool = np.argsort(-props.score, kind="stable")[:NMS_POOL]
        pool = pool[props.score[pool] >= self.distractor_score_threshold]
        pool = np.concatenate([[best], pool[pool != best]])
        corners = center2corner(props.boxes.T.astype(np.float64))
        kept = nms(corners, pool, self.distractor_nms_threshold)
        # A proposal centred inside the chosen box is the target at another shape, not a look-alike.
        x1, y1, x2, y2 = corners[best]
        outside = [k for k in kept[1:] if not (x1 <= props.boxes[0, k] <= x2 and y1 <= props.boxes[1, k] <= y2)]
        distractors = outside[: self.distractor_max_num]
        if not distractors:
            return best, best_score
        weights = props.score[distractors]
        boxes = np.stack([self._to_image_xywh(props, k) for k in distractors])
        similarity = self._distractor_scores(props, boxes)  # [K, N]
        penalty = self.distractor_weight * (weights[:, None] * similarity).sum(0) / weights.sum()
        rescored = blended[candidates] - penalty[candidates]
        best = int(candidates[int(np.argmax(rescored))])
        self.last_distractors = boxes
        return best, max(0.0, float(props.score[best] - penalty[best]))

    def _to_image_xywh(self, props: Proposals, idx: int) -> np.ndarray:
        """Proposal ``idx`` as an image box ``[x, y, w, h]``."""
        cx, cy, w, h = props.boxes[:, idx] / props.scale_z
        cx, cy = cx + self.center_pos[0], cy + self.center_pos[1]
        return np.array([cx - w / 2, cy - h / 2, w, h])

    def _distractor_scores(self, props: Proposals, boxes: np.ndarray) -> np.ndarray:
        """``[K, N]``: the score map of the current search crop under the template of each
        distractor box (``[K, 4]`` image ``x, y, w, h``)."""
        maps = []
        for x, y, w, h in boxes:
            center = np.array([x + w / 2, y + h / 2])
            s_z = self._round(self._context_side(np.array([w, h])))
            self.model.template(self._crop(self._frame, center, self.exemplar_size, max(1, s_z)))
            maps.append(self._convert_score(self.model.track(props.x_crop)["cls"]))
        self.model.template(self.z_crop)  # the target's template back in place
        return np.stack(maps)

    # ---------------------------------------------------------------- state update
    def _update(self, props: Proposals, best: int, best_score: float) -> None:
        if self.global_search and best_score < self.failure_score:
            self.lost = True
            self.search_size = min(self.search_size + self.global_step, self.max_instance_size)
            self.center_pos, self.size = clip_state(self.center_pos, self.size, self.image_shape)
            return
        self.lost = False
        self.search_size = self.instance_size
        super()._update(props, best, best_score)

    def _finish(self, props: Proposals) -> Dict[str, object]:
        out = super()._finish(props)
        out["lost"] = self.lost
        out["instance_size"] = props.instance_size
        return out
