"""Long-term SiamRPN (PySOT's ``SiamRPNLTTracker``, the VOT-LT entry of SiamRPN++).

Two states. *Tracking*: as :class:`SiamRPNTracker`. *Lost*: entered when the
best score falls below ``confidence_low``; the search crop grows to
``lost_instance_size`` (831 px by default, most of a typical frame around the
last position), the cosine window is almost switched off (influence 0.001) so a
far-away re-appearance can win, and the state is only moved by a proposal
scoring at least ``confidence_low``. The tracker returns to *tracking* once a
score exceeds ``confidence_high``. As in the original, the state itself is not
clipped to the image; the reported box comes from the clipped state.
"""
from __future__ import annotations

from typing import Dict

import numpy as np
import torch

from pysot.core.registry import TRACKERS
from pysot.tracker.base_tracker import clip_state
from pysot.tracker.siamrpn_tracker import Proposals, SiamRPNTracker

# While lost the original tracker keeps a token cosine window rather than none.
LOST_WINDOW_INFLUENCE = 0.001


@TRACKERS.register()
class SiamRPNLTTracker(SiamRPNTracker):
    """SiamRPN with a lost state; extra args ``lost_instance_size``, ``confidence_low``, ``confidence_high``.

    ``self.longterm_state`` (PySOT's name; ``self.lost`` too, as on DaSiamRPN's tracker) is True
    while the target is taken as lost; ``track`` reports it as ``"lost"``.
    """

    def __init__(self, model: torch.nn.Module, *, lost_instance_size: int = 831, confidence_low: float = 0.85,
                 confidence_high: float = 0.998, **kwargs) -> None:
        super().__init__(model, **kwargs)
        if not confidence_low <= confidence_high:
            raise ValueError(f"confidence_low ({confidence_low}) must be <= confidence_high ({confidence_high})")
        self.lost_instance_size = int(lost_instance_size)
        self.confidence_low = float(confidence_low)
        self.confidence_high = float(confidence_high)
        self.longterm_state = False

    @classmethod
    def config_kwargs(cls, cfg) -> Dict[str, object]:
        kwargs = super().config_kwargs(cfg)
        kwargs.update(lost_instance_size=cfg.TRACK.LOST_INSTANCE_SIZE, confidence_low=cfg.TRACK.CONFIDENCE_LOW,
                      confidence_high=cfg.TRACK.CONFIDENCE_HIGH)
        return kwargs

    def init(self, img: np.ndarray, bbox) -> None:
        super().init(img, bbox)
        self.longterm_state = False

    @property
    def lost(self) -> bool:
        """True while the target is taken as lost (the same flag as ``longterm_state``)."""
        return self.longterm_state

    def _instance_size(self) -> int:
        return self.lost_instance_size if self.longterm_state else self.instance_size

    def _window_influence(self) -> float:
        return LOST_WINDOW_INFLUENCE if self.longterm_state else self.window_influence

    def _update(self, props: Proposals, best: int, best_score: float) -> None:
        # Unlike the short-term tracker, the original keeps the unclipped centre and size as its
        # state and clips only the box it reports: a target leaving the frame is searched where it
        # went, not at the border.
        if best_score >= self.confidence_low:
            self.center_pos, self.size = self._moved_state(props, best)
        self.update_lost_state(best_score)

    def _reported_state(self):
        return clip_state(self.center_pos, self.size, self.image_shape)

    def update_lost_state(self, best_score: float) -> None:
        """Hysteresis: lost below ``confidence_low``, found again above ``confidence_high``."""
        if best_score < self.confidence_low:
            self.longterm_state = True
        elif best_score > self.confidence_high:
            self.longterm_state = False

    def _finish(self, props: Proposals) -> Dict[str, object]:
        out = super()._finish(props)
        out["lost"] = self.longterm_state
        return out
