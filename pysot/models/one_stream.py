"""One-stream trackers (VitTrack): one network sees template and search together.

Unlike :class:`~pysot.models.model_builder.ModelBuilder` (template branch run once, then
correlated with every search crop), a one-stream backbone mixes the two token sets in every
attention block, so each frame runs the whole network on ``(template, search)``. The model
keeps the template crop after :meth:`OneStreamModel.template` so the trackers' protocol
(``template(z)`` once, ``track(x)`` per frame) is the same for both kinds.
"""
from __future__ import annotations

from typing import Dict, Mapping, Optional, Tuple

import torch
import torch.nn as nn

from pysot.config import CN, ConfigError

__all__ = ["OneStreamModel", "from_original_state_dict"]


class OneStreamModel(nn.Module):
    """A joint backbone (``forward(z, x) -> [B, C, F, F]``) and a centre head (``box_head``).

    Inference protocol (what :class:`~pysot.tracker.vit_tracker.VitTracker` calls):

    * ``template(z)``: keep ``z`` ``[B, 3, T, T]`` (normalised crop) for the next ``track`` calls.
    * ``track(x)``: ``x`` ``[B, 3, S, S]`` -> ``{"score": [B, 1, F, F], "size": [B, 2, F, F],
      "offset": [B, 2, F, F]}`` (see :class:`~pysot.models.head.center.CenterPredictor`).
    * ``forward_maps(z, x)``: the same without the cache; what the ONNX export traces.
    """

    one_stream = True

    def __init__(self, backbone: nn.Module, box_head: nn.Module, giou_weight: float = 2.0) -> None:
        super().__init__()
        self.backbone = backbone
        self.box_head = box_head
        self.giou_weight = float(giou_weight)
        self._template: Optional[torch.Tensor] = None

    @property
    def template_size(self) -> int:
        return int(self.backbone.template_size)

    @property
    def search_size(self) -> int:
        return int(self.backbone.search_size)

    def forward_maps(self, z: torch.Tensor, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(score [B, 1, F, F], size [B, 2, F, F], offset [B, 2, F, F])`` for normalised crops ``z``, ``x``."""
        return self.box_head(self.backbone(z, x))

    @torch.no_grad()
    def template(self, z: torch.Tensor) -> None:
        self._template = z

    @torch.no_grad()
    def track(self, x: torch.Tensor) -> Dict[str, torch.Tensor]:
        if self._template is None:
            raise RuntimeError("OneStreamModel.track called before template(z)")
        z = self._template
        if z.shape[0] != x.shape[0]:
            z = z.expand(x.shape[0], -1, -1, -1)
        score, size, offset = self.forward_maps(z, x)
        return {"score": score, "size": size, "offset": offset}

    def forward(self, batch: Dict[str, torch.Tensor], cls_weight: float = 1.0, loc_weight: float = 5.0,
                mask_weight: float = 0.0) -> Dict[str, torch.Tensor]:
        """Training losses of one batch (see :func:`pysot.models.loss_center.center_losses`).

        The trainer's weights map as ``cls_weight`` -> focal loss (``TRAIN.CLS_WEIGHT``), ``loc_weight``
        -> L1 (``TRAIN.LOC_WEIGHT``); the GIoU weight is ``self.giou_weight`` (``TRAIN.GIOU_WEIGHT``).
        ``mask_weight`` is unused (no mask head).
        """
        from pysot.models.loss_center import center_losses

        return center_losses(self, batch, focal_weight=cls_weight, l1_weight=loc_weight, giou_weight=self.giou_weight)

    @classmethod
    def from_config(cls, cfg: CN) -> "OneStreamModel":
        """``BACKBONE`` (a one-stream backbone) and ``CENTER`` (the head) of ``cfg``."""
        from pysot.core.registry import BACKBONES, HEADS
        from pysot.models.components import build_component

        source = str(cfg.get("CONFIG_FILE", "") or "")
        prefix = f"{source}: " if source else ""
        if cfg.ADJUST.ADJUST:
            raise ConfigError(f"{prefix}ADJUST.ADJUST: a one-stream model (CENTER.CENTER) has no neck; set it False")
        backbone = build_component(BACKBONES, cfg.BACKBONE, "BACKBONE", source)
        if not getattr(backbone, "one_stream", False):
            raise ConfigError(f"{prefix}BACKBONE.TYPE: {cfg.BACKBONE.TYPE} is not a one-stream backbone "
                              "(CENTER.CENTER needs one that takes template and search jointly, e.g. "
                              "VitTrackBackbone)")
        kwargs = dict(cfg.CENTER.KWARGS)
        kwargs.setdefault("in_channels", backbone.embed_dim)
        kwargs.setdefault("feat_size", backbone.feat_size[0])
        node = CN({"TYPE": cfg.CENTER.TYPE, "KWARGS": kwargs})
        head = build_component(HEADS, node, "CENTER", source)
        for key, want in (("TRACK.EXEMPLAR_SIZE", backbone.template_size),
                          ("TRACK.INSTANCE_SIZE", backbone.search_size)):
            section, name = key.split(".")
            if int(cfg[section][name]) != want:
                raise ConfigError(f"{prefix}{key} ({cfg[section][name]}) must equal the backbone's "
                                  f"{'template' if 'EXEMPLAR' in key else 'search'}_size ({want})")
        return cls(backbone=backbone, box_head=head, giou_weight=float(cfg.TRAIN.GIOU_WEIGHT))


def from_original_state_dict(state: Mapping[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """The original VitTracker's ``vit_dist`` state_dict (``net`` of its checkpoints) under our keys.

    Its backbone parts sit at the top level (``patch_embed.*``, ``pos_embed_z``, ``blocks.*``,
    ``norm.*``); ours are under ``backbone.``, the position embeddings as ``backbone.pos_embed.z``
    and ``.x``. ``box_head.*`` is the same. Distillation-only parts of its training mode
    (``convs.*``, ``extblocks.*``) are dropped.
    """
    renamed = {"pos_embed_z": "pos_embed.z", "pos_embed_x": "pos_embed.x"}
    out: Dict[str, torch.Tensor] = {}
    for key, value in state.items():
        if key.startswith(("convs.", "extblocks.")):
            continue
        out[key if key.startswith("box_head.") else f"backbone.{renamed.get(key, key)}"] = value
    return out
