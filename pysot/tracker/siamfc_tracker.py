"""SiamFC tracker (Bertinetto et al., ECCV-W 2016): the published multi-scale procedure.

Per frame the search region is cropped at ``scale_num`` scales
``scale_step ** k`` (``k`` centred on 0) and scored in one batch. Each
``[1, h, w]`` response (already scaled by 0.001 in the model's head) is
upsampled ``response_up`` times with bicubic interpolation (17 -> 272); the
responses of the non-central scales are multiplied by ``scale_penalty``; the
scale with the highest peak wins. Its response is normalised to sum 1, blended
with a normalised Hann window (``window_influence``), and the peak's offset from
the map centre, mapped back through the ``total_stride`` and the crop scale,
moves the target. The size moves towards the chosen scale with damping
``scale_lr``. Published values: exemplar 127, instance 255, 3 scales,
step 1.0375, penalty 0.9745, lr 0.59, window 0.176, context 0.5 (the siamfc
experiment YAML sets them under ``TRACK``).

``best_score`` is the logistic probability ``sigmoid(response)`` at the chosen
peak (SiamFC is trained with a logistic loss on that response).
"""
from __future__ import annotations

from typing import Dict, Sequence

import cv2
import numpy as np
import torch

from pysot.core.registry import TRACKERS
from pysot.tracker.base_tracker import BaseTracker, clip_state
from pysot.utils.crop import context_size


@TRACKERS.register()
class SiamFCTracker(BaseTracker):
    """Fully-convolutional Siamese tracker; the model's ``track`` returns ``{"cls": [B, 1, h, w]}``."""

    HEAD = "score map"

    def __init__(self, model: torch.nn.Module, *, exemplar_size: int = 127, instance_size: int = 255,
                 context_amount: float = 0.5, scale_num: int = 3, scale_step: float = 1.0375,
                 scale_penalty: float = 0.9745, scale_lr: float = 0.59, window_influence: float = 0.176,
                 response_up: int = 16, total_stride: int = 8, clip_box_to_image: bool = True) -> None:
        super().__init__(model, clip_box_to_image)
        if scale_num < 1 or scale_step <= 0 or response_up < 1:
            raise ValueError(f"SiamFC needs scale_num >= 1, scale_step > 0, response_up >= 1; got "
                             f"{scale_num}, {scale_step}, {response_up}")
        self.exemplar_size = int(exemplar_size)
        self.instance_size = int(instance_size)
        self.context_amount = float(context_amount)
        self.scale_num = int(scale_num)
        self.scale_step = float(scale_step)
        self.scale_penalty = float(scale_penalty)
        self.scale_lr = float(scale_lr)
        self.window_influence = float(window_influence)
        self.response_up = int(response_up)
        self.total_stride = int(total_stride)
        self.scale_factors = self.scale_step ** (np.arange(self.scale_num) - (self.scale_num - 1) / 2)
        # Every scale but the central one pays the scale penalty.
        self._scale_weights = np.full(self.scale_num, self.scale_penalty)
        self._scale_weights[(self.scale_num - 1) // 2] = 1.0
        self._windows: Dict[int, np.ndarray] = {}

    @classmethod
    def config_kwargs(cls, cfg) -> Dict[str, object]:
        t = cfg.TRACK
        return dict(exemplar_size=t.EXEMPLAR_SIZE, instance_size=t.INSTANCE_SIZE, context_amount=t.CONTEXT_AMOUNT,
                    scale_num=t.SCALE_NUM, scale_step=t.SCALE_STEP, scale_penalty=t.SCALE_PENALTY,
                    scale_lr=t.SCALE_LR, window_influence=t.WINDOW_INFLUENCE, response_up=t.RESPONSE_UP,
                    total_stride=t.TOTAL_STRIDE, clip_box_to_image=t.CLIP_BOX_TO_IMAGE)

    def _window(self, side: int) -> np.ndarray:
        if side not in self._windows:
            hann = np.outer(np.hanning(side), np.hanning(side))
            self._windows[side] = hann / hann.sum()
        return self._windows[side]

    @torch.no_grad()
    def init(self, img: np.ndarray, bbox: Sequence[float]) -> None:
        """Cache the exemplar of ``bbox = [x, y, w, h]`` (one copy per scale, so batches pair up)."""
        img = self._start(img, bbox)
        self.channel_average = np.mean(img, axis=(0, 1))
        s_z = context_size(self.size[0], self.size[1], self.context_amount)
        self.z_crop = self._crop(img, self.center_pos, self.exemplar_size, int(round(s_z)))
        self.model.template(self.z_crop.repeat(self.scale_num, 1, 1, 1))

    def upsampled_responses(self, cls: torch.Tensor) -> np.ndarray:
        """``[B, 1, h, w]`` -> ``[B, h*up, w*up]`` float64, bicubic."""
        maps = cls.detach().float().cpu().numpy()[:, 0]
        finite = np.isfinite(maps)
        if not finite.all():
            # A NaN/inf response (diverged weights) is no evidence: the lowest finite value, so it
            # never wins the peak and the score stays a number (bicubic would spread NaN around).
            maps = np.where(finite, maps, maps[finite].min() if finite.any() else 0.0)
        h, w = maps.shape[1:]
        size = (w * self.response_up, h * self.response_up)
        return np.stack([cv2.resize(m, size, interpolation=cv2.INTER_CUBIC) for m in maps]).astype(np.float64)

    @torch.no_grad()
    def track(self, img: np.ndarray) -> Dict[str, object]:
        """``{"bbox", "raw_bbox": [x, y, w, h], "best_score": float, "scale": chosen scale factor}``."""
        img = self._next_frame(img)
        s_x = context_size(self.size[0], self.size[1], self.context_amount) * self.instance_size / self.exemplar_size
        crops = [self._crop(img, self.center_pos, self.instance_size, max(1, int(round(s_x * f))))
                 for f in self.scale_factors]
        responses = self.upsampled_responses(self.model.track(torch.cat(crops))["cls"])
        peaks = responses.reshape(self.scale_num, -1).max(axis=1)
        best_scale = int(np.argmax(peaks * self._scale_weights))
        response = responses[best_scale]
        raw = response
        response = response - response.min()
        total = response.sum()
        response = response / total if total > 0 else np.full_like(response, 1.0 / response.size)
        response = (1 - self.window_influence) * response + self.window_influence * self._window(response.shape[0])
        row, col = np.unravel_index(int(np.argmax(response)), response.shape)
        half = (np.array(response.shape[::-1], dtype=np.float64) - 1) / 2
        disp_response = np.array([col, row], dtype=np.float64) - half
        disp_instance = disp_response * self.total_stride / self.response_up
        disp_image = disp_instance * s_x * self.scale_factors[best_scale] / self.instance_size
        scale = (1 - self.scale_lr) + self.scale_lr * self.scale_factors[best_scale]
        self.center_pos, self.size = clip_state(self.center_pos + disp_image, self.size * scale, self.image_shape)
        best_score = float(1.0 / (1.0 + np.exp(-np.clip(raw[row, col], -50, 50))))
        return {**self._report(self.center_pos, self.size), "best_score": best_score,
                "scale": float(self.scale_factors[best_scale])}
