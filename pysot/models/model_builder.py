"""The Siamese tracking network: backbone -> (neck) -> heads, and its config builder.

Attribute names (``backbone``, ``neck``, ``rpn_head``, ``mask_head``,
``refine_head``) are those of PySOT, and NanoTrack's anchor-free head is
``ban_head`` as in its release, so both families' checkpoints load unchanged.
"""
from __future__ import annotations

from typing import Any, Dict, Optional, Sequence, Tuple

import torch
import torch.nn as nn

from pysot.config import CN, ConfigError
from pysot.core.registry import BACKBONES, HEADS, MASK_HEADS, NECKS, REFINE_HEADS
from pysot.models.components import build_component

# Importing the component packages fills the registries.
import pysot.models.backbone  # noqa: F401  (registration side effect)
import pysot.models.head  # noqa: F401
import pysot.models.neck  # noqa: F401

__all__ = ["ModelBuilder", "build_model"]


class ModelBuilder(nn.Module):
    """Backbone, optional neck, RPN (or SiamFC) head or BAN head, optional SiamMask heads.

    Inference protocol (what the trackers call):

    * ``template(z)``: ``z`` ``[B, 3, 127, 127]`` float, raw 0..255 BGR. Runs
      the template branch once and caches everything that depends on it alone.
    * ``track(x)``: ``x`` ``[B, 3, S, S]`` -> ``{"cls": [B, 2A, H, W]``
      (SiamFC: ``[B, 1, 17, 17]``), ``"loc": [B, 4A, H, W]`` or ``None``,
      ``"mask": [B, 63*63, H, W]`` or ``None}``. Row ``b`` of ``x`` is matched
      with template ``b``. With a BAN head (NanoTrack) ``cls`` is ``[B, 2, S, S]``
      and ``loc`` ``[B, 4, S, S]``: per point, distances to the box's four sides.
    * ``mask_refine(pos)`` (SiamMask only): refined mask logits ``[B, 127*127]``
      for the cell ``pos = (row, col)`` of the last ``track`` output.

    With a mask head, the backbone returns several levels: the last one feeds
    the neck and heads, the earlier ones (``used_layers`` 0, 1, 2 of ResNet)
    feed the refine module.
    """

    def __init__(
        self,
        backbone: nn.Module,
        rpn_head: Optional[nn.Module] = None,
        neck: Optional[nn.Module] = None,
        mask_head: Optional[nn.Module] = None,
        refine_head: Optional[nn.Module] = None,
        ban_head: Optional[nn.Module] = None,
    ) -> None:
        super().__init__()
        if refine_head is not None and mask_head is None:
            raise ValueError("a refine head needs a mask head (REFINE.REFINE requires MASK.MASK)")
        if (rpn_head is None) == (ban_head is None):
            raise ValueError("the model needs exactly one of an RPN head (RPN) and a BAN head (BAN.BAN)")
        for role, head in (("rpn_head", rpn_head), ("ban_head", ban_head), ("mask_head", mask_head)):
            _check_head_protocol(role, head)
        self.backbone = backbone
        if neck is not None:
            self.neck = neck
        if rpn_head is not None:
            self.rpn_head = rpn_head
        else:
            self.ban_head = ban_head
        if mask_head is not None:
            self.mask_head = mask_head
        if refine_head is not None:
            self.refine_head = refine_head
        self._template_state: Optional[Dict[str, Any]] = None
        self._search_state: Optional[Dict[str, Any]] = None

    # ------------------------------------------------------------------ features
    @property
    def has_mask(self) -> bool:
        return "mask_head" in self._modules

    @property
    def head(self) -> nn.Module:
        """The matching head: ``rpn_head`` (anchors, SiamFC) or ``ban_head`` (points)."""
        return self._modules["ban_head"] if "ban_head" in self._modules else self._modules["rpn_head"]

    @property
    def is_point_based(self) -> bool:
        return "ban_head" in self._modules

    def _features(self, images: torch.Tensor) -> Tuple[Any, Sequence[torch.Tensor]]:
        """(head features, low-level backbone features kept for mask refinement)."""
        features = self.backbone(images)
        low_level: Sequence[torch.Tensor] = ()
        if self.has_mask:
            low_level, features = features[:-1], features[-1]
        if "neck" in self._modules:
            features = self.neck(features)
        return features, low_level

    # ------------------------------------------------------------------ inference
    @torch.no_grad()
    def template(self, z: torch.Tensor) -> None:
        """Cache the template branch for ``z`` ``[B, 3, 127, 127]`` (raw 0..255 BGR)."""
        z_f, _ = self._features(z)
        state = {"rpn": self.head.prepare_template(z_f)}
        if self.has_mask:
            state["mask"] = self.mask_head.prepare_template(z_f)
        self._template_state = state
        self._search_state = None

    @torch.no_grad()
    def track(self, x: torch.Tensor) -> Dict[str, Optional[torch.Tensor]]:
        """Match search crops ``x`` ``[B, 3, S, S]`` against the cached template; see the class doc."""
        if self._template_state is None:
            raise RuntimeError("ModelBuilder.track called before template(z)")
        x_f, low_level = self._features(x)
        cls, loc = self.head.match(self._template_state["rpn"], x_f)
        mask = None
        if self.has_mask:
            mask, corr_feature = self.mask_head.match(self._template_state["mask"], x_f)
            self._search_state = {"low_level": low_level, "corr_feature": corr_feature}
        return {"cls": cls, "loc": loc, "mask": mask}

    @torch.no_grad()
    def mask_refine(self, pos: Tuple[int, int]) -> torch.Tensor:
        """Refined mask logits ``[B, 127*127]`` at cell ``pos = (row, col)`` of the last ``track``."""
        if "refine_head" not in self._modules:
            raise RuntimeError("mask_refine needs a refine head (REFINE.REFINE: True)")
        if self._search_state is None:
            raise RuntimeError("ModelBuilder.mask_refine called before track(x)")
        return self.refine_head(self._search_state["low_level"], self._search_state["corr_feature"], pos)

    # ------------------------------------------------------------------ training
    def forward(self, batch: Dict[str, torch.Tensor], cls_weight: float = 1.0, loc_weight: float = 1.2,
                mask_weight: float = 1.0) -> Dict[str, torch.Tensor]:
        """Training losses ``{"cls_loss", "loc_loss", ["mask_loss"], "total_loss"}`` of one batch.

        See :func:`pysot.models.loss.siamese_losses` (:func:`~pysot.models.loss.point_losses` for a
        BAN head) for the batch keys and shapes.
        """
        from pysot.models.loss import point_losses, siamese_losses

        if self.is_point_based:
            return point_losses(self, batch, cls_weight, loc_weight)
        return siamese_losses(self, batch, cls_weight, loc_weight, mask_weight)

    # ------------------------------------------------------------------ config
    @classmethod
    def from_config(cls, cfg: CN) -> "ModelBuilder":
        """Map ``BACKBONE``/``ADJUST``/``RPN`` or ``BAN``/``MASK``/``REFINE`` of ``cfg`` onto the registries."""
        source = str(cfg.get("CONFIG_FILE", "") or "")
        anchor_num = len(cfg.ANCHOR.RATIOS) * len(cfg.ANCHOR.SCALES)
        backbone = build_component(BACKBONES, cfg.BACKBONE, "BACKBONE", source)
        neck = build_component(NECKS, cfg.ADJUST, "ADJUST", source) if cfg.ADJUST.ADJUST else None
        # A BAN head (NanoTrack, anchor-free) replaces the RPN head; the RPN section is then unused.
        ban_head = build_component(HEADS, cfg.BAN, "BAN", source) if cfg.BAN.BAN else None
        rpn_head = None if ban_head is not None else build_component(HEADS, cfg.RPN, "RPN", source, anchor_num=anchor_num)
        mask_head = build_component(MASK_HEADS, cfg.MASK, "MASK", source) if cfg.MASK.MASK else None
        refine_head = build_component(REFINE_HEADS, cfg.REFINE, "REFINE", source) if cfg.REFINE.REFINE else None
        try:
            return cls(backbone=backbone, rpn_head=rpn_head, neck=neck, mask_head=mask_head, refine_head=refine_head,
                       ban_head=ban_head)
        except ValueError as e:
            raise ConfigError(f"{source or 'config'}: {e}") from None


def _check_head_protocol(role: str, head: Optional[nn.Module]) -> None:
    """Refuse at build time a head the trackers could not call (it would fail at ``tracker.init``)."""
    if head is None:
        return
    missing = [m for m in ("prepare_template", "match") if not callable(getattr(head, m, None))]
    if missing:
        raise ValueError(f"{role} {type(head).__name__} lacks {' and '.join(missing)}: a head subclasses "
                         "pysot.models.head.base.SiameseHead and implements prepare_template(z_f) (template-only "
                         "work, cached) and match(template, x_f) -> (cls, loc); see docs/models.md")


def build_model(cfg: CN) -> nn.Module:
    """The network described by ``cfg`` (on CPU, in train mode; call ``.eval()`` / ``.to(device)``).

    A Siamese :class:`ModelBuilder`, or with ``CENTER.CENTER`` a one-stream
    :class:`~pysot.models.one_stream.OneStreamModel` (VitTrack).
    """
    if cfg.get("CENTER") is not None and cfg.CENTER.CENTER:
        from pysot.models.one_stream import OneStreamModel

        return OneStreamModel.from_config(cfg)
    return ModelBuilder.from_config(cfg)
