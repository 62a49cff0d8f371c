"""Training losses of the Siamese trackers.

Channel layout of the RPN outputs (the checkpoints'): ``cls [B, 2A, H, W]`` holds
the A background logits then the A foreground logits; ``loc [B, 4A, H, W]`` holds
dx for the A anchors, then dy, dw, dh. The anchor-free BAN heads (NanoTrack) are
the case ``A = 1`` for ``cls``; their ``loc [B, 4, H, W]`` holds each point's
distances to the box's left, top, right and bottom sides.
"""
from __future__ import annotations

from typing import Dict, Tuple

import torch
import torch.nn.functional as F


def log_softmax_cls(cls: torch.Tensor) -> torch.Tensor:
    """``[B, 2A, H, W]`` logits -> ``[B, A, H, W, 2]`` log-probabilities (background, foreground)."""
    b, a2, h, w = cls.shape
    return F.log_softmax(cls.view(b, 2, a2 // 2, h, w).permute(0, 2, 3, 4, 1), dim=-1)


def _nll_on(pred: torch.Tensor, label: torch.Tensor, value: int) -> torch.Tensor:
    mask = label == value
    if not bool(mask.any()):
        return pred.sum() * 0.0  # keeps the graph connected (DDP needs every parameter used)
    return F.nll_loss(pred[mask], torch.full_like(label[mask], value))


def select_cross_entropy_loss(log_probs: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
    """0.5 x mean NLL over positive anchors + 0.5 x over negative anchors; label -1 is ignored.

    ``log_probs [B, A, H, W, 2]`` (see :func:`log_softmax_cls`), ``label [B, A, H, W]`` in {1, 0, -1}.
    Balancing the two means keeps the few positives from being drowned by negatives.
    """
    pred = log_probs.reshape(-1, 2)
    label = label.reshape(-1).long()
    return 0.5 * _nll_on(pred, label, 1) + 0.5 * _nll_on(pred, label, 0)


def weight_l1_loss(loc: torch.Tensor, target: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Weighted L1 of the box deltas, summed over anchors and averaged over the batch.

    ``loc [B, 4A, H, W]``, ``target [B, 4, A, H, W]``, ``weight [B, A, H, W]``
    (``1 / #pos`` on positives, 0 elsewhere).
    """
    b, _, h, w = loc.shape
    diff = (loc.view(b, 4, -1, h, w) - target).abs().sum(dim=1)
    return (diff * weight).sum() / b


def balanced_logistic_loss(score: torch.Tensor, label: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """SiamFC's loss: weighted binary cross-entropy with logits, averaged over the batch.

    ``score [B, 1, H, W]`` logits; ``label`` in {0, 1} and ``weight`` (each class
    sums to 0.5 per sample) of the same shape.
    """
    loss = F.binary_cross_entropy_with_logits(score, label.float(), weight=weight, reduction="sum")
    return loss / score.shape[0]


def select_mask_logistic_loss(mask: torch.Tensor, gt_mask: torch.Tensor, positive: torch.Tensor,
                              out_size: int = 63, gt_size: int = 127, stride: int = 8,
                              padding: int = 32) -> Tuple[torch.Tensor, torch.Tensor]:
    """SiamMask's mask loss on the positive cells.

    Args:
        mask: ``[B, out_size^2, H, W]`` mask logits, one ``out_size x out_size`` mask per cell.
        gt_mask: ``[B, 1, S, S]`` search-crop mask in {-1, 1} (1 = object).
        positive: ``[B, H, W]`` bool, cells whose mask is supervised.

    The prediction is upsampled to ``gt_size`` and compared (soft margin) with the
    ``gt_size`` window of the ground-truth mask under each cell. Returns
    ``(loss, mean IoU at 0.5)``; both are 0 with no positive cell.
    """
    b, _, h, w = mask.shape
    pos = positive.reshape(-1)
    if not bool(pos.any()):
        zero = mask.sum() * 0.0
        return zero, zero.detach()
    pred = mask.permute(0, 2, 3, 1).reshape(-1, 1, out_size, out_size)[pos]
    pred = F.interpolate(pred, size=(gt_size, gt_size), mode="bilinear", align_corners=False).flatten(1)
    windows = F.unfold(gt_mask.float(), kernel_size=gt_size, padding=padding, stride=stride)  # [B, g^2, L]
    if windows.shape[-1] != h * w:
        raise ValueError(f"gt mask of size {tuple(gt_mask.shape[-2:])} gives {windows.shape[-1]} windows, "
                         f"the mask head has {h}x{w} cells")
    target = windows.permute(0, 2, 1).reshape(-1, gt_size * gt_size)[pos]
    loss = F.soft_margin_loss(pred, target)
    with torch.no_grad():
        p, t = pred > 0, target > 0
        inter = (p & t).sum(1).float()
        union = (p | t).sum(1).float().clamp(min=1)
        miou = (inter / union).mean()
    return loss, miou


def siamese_losses(model, batch: Dict[str, torch.Tensor], cls_weight: float = 1.0, loc_weight: float = 1.2,
                   mask_weight: float = 1.0) -> Dict[str, torch.Tensor]:
    """Training losses of a :class:`~pysot.models.ModelBuilder` on one batch (its ``forward``).

    ``batch``: ``template [B, 3, 127, 127]``, ``search [B, 3, S, S]`` (raw 0..255 BGR),
    and the targets of :class:`~pysot.datasets.dataset.TrainDataset`: RPN
    ``label_cls [B, A, H, W]``, ``label_loc [B, 4, A, H, W]``, ``label_loc_weight [B, A, H, W]``
    (optional ``label_mask [B, 1, S, S]`` in {-1, 1} for SiamMask), or SiamFC
    ``label_cls`` / ``label_weight`` ``[B, 1, H, W]``.

    Returns ``{"cls_loss", "loc_loss", ["mask_loss", "mask_iou"], "total_loss"}`` (SiamFC: ``loc_loss``
    is 0; ``mask_iou`` is the detached mean IoU at 0.5 of the supervised masks, for logging).
    """
    z_f, _ = model._features(batch["template"])
    x_f, _ = model._features(batch["search"])
    cls, loc = model.rpn_head(z_f, x_f)
    if tuple(cls.shape[-2:]) != tuple(batch["label_cls"].shape[-2:]):
        raise ValueError(f"the head's score map is {tuple(cls.shape[-2:])} but the training labels are "
                         f"{tuple(batch['label_cls'].shape[-2:])}: set TRAIN.OUTPUT_SIZE to {cls.shape[-1]}")
    out: Dict[str, torch.Tensor] = {}
    if loc is None:  # SiamFC: one logistic score map
        out["cls_loss"] = balanced_logistic_loss(cls, batch["label_cls"], batch["label_weight"])
        out["loc_loss"] = cls.sum() * 0.0
        out["total_loss"] = cls_weight * out["cls_loss"]
        return out
    label_cls = batch["label_cls"]
    out["cls_loss"] = select_cross_entropy_loss(log_softmax_cls(cls), label_cls)
    out["loc_loss"] = weight_l1_loss(loc, batch["label_loc"], batch["label_loc_weight"])
    total = cls_weight * out["cls_loss"] + loc_weight * out["loc_loss"]
    if getattr(model, "has_mask", False) and "label_mask" in batch:
        mask, _ = model.mask_head(z_f, x_f)
        positive = (label_cls == 1).any(dim=1)
        out["mask_loss"], out["mask_iou"] = select_mask_logistic_loss(mask, batch["label_mask"], positive)
        total = total + mask_weight * out["mask_loss"]
    out["total_loss"] = total
    return out


def linear_iou_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean ``1 - IoU`` of boxes given as side distances from the same point.

    ``pred``, ``target`` ``[N, 4]`` (left, top, right, bottom, all > 0). The IoU is
    smoothed as NanoTrack trains it: ``(intersection + 1) / (union + 1)``. ``N = 0``
    gives 0 (connected to the graph).
    """
    if pred.shape[0] == 0:
        return pred.sum() * 0.0
    pl, pt, pr, pb = pred.unbind(1)
    tl, tt, tr, tb = target.unbind(1)
    pred_area = (pl + pr) * (pt + pb)
    target_area = (tl + tr) * (tt + tb)
    intersection = (torch.min(pl, tl) + torch.min(pr, tr)) * (torch.min(pt, tt) + torch.min(pb, tb))
    union = pred_area + target_area - intersection
    return (1 - (intersection + 1.0) / (union + 1.0)).mean()


def point_losses(model, batch: Dict[str, torch.Tensor], cls_weight: float = 1.0,
                 loc_weight: float = 1.0) -> Dict[str, torch.Tensor]:
    """Training losses of a model with a BAN head (NanoTrack) on one batch.

    ``batch``: ``template [B, 3, 127, 127]``, ``search [B, 3, S, S]`` (raw 0..255 BGR) and the
    :class:`~pysot.datasets.point_target.PointTarget` targets ``label_cls [B, H, W]`` in {1, 0, -1},
    ``label_loc [B, 4, H, W]``. Classification: balanced cross-entropy over positive and negative
    points; regression: linear IoU loss over the positive points.
    """
    z_f, _ = model._features(batch["template"])
    x_f, _ = model._features(batch["search"])
    cls, loc = model.head(z_f, x_f)
    label_cls = batch["label_cls"]
    if tuple(cls.shape[-2:]) != tuple(label_cls.shape[-2:]):
        raise ValueError(f"the head's score map is {tuple(cls.shape[-2:])} but the training labels are "
                         f"{tuple(label_cls.shape[-2:])}: set TRAIN.OUTPUT_SIZE to {cls.shape[-1]}")
    out: Dict[str, torch.Tensor] = {"cls_loss": select_cross_entropy_loss(log_softmax_cls(cls), label_cls)}
    positive = label_cls.reshape(-1) == 1
    pred = loc.permute(0, 2, 3, 1).reshape(-1, 4)[positive]
    target = batch["label_loc"].permute(0, 2, 3, 1).reshape(-1, 4)[positive]
    out["loc_loss"] = linear_iou_loss(pred, target)
    out["total_loss"] = cls_weight * out["cls_loss"] + loc_weight * out["loc_loss"]
    return out
