"""Losses of the centre head (OSTrack / VitTrack): focal loss on the score map, L1 and GIoU on the box."""
from __future__ import annotations

from typing import Dict, Tuple

import torch

from pysot.models.head.center import decode_center

__all__ = ["focal_loss", "giou_loss", "center_losses", "normalize_crops"]

# ImageNet statistics, applied to the BGR planes in this order: what cv2.TrackerVit feeds the network.
_MEAN = (0.485, 0.456, 0.406)
_STD = (0.229, 0.224, 0.225)


def normalize_crops(crops: torch.Tensor) -> torch.Tensor:
    """``[B, 3, H, W]`` raw 0..255 BGR -> ``(pixel / 255 - mean) / std`` (per plane, mean/std in the order above)."""
    mean = crops.new_tensor(_MEAN).view(1, 3, 1, 1)
    std = crops.new_tensor(_STD).view(1, 3, 1, 1)
    return (crops / 255.0 - mean) / std


def focal_loss(pred: torch.Tensor, target: torch.Tensor, alpha: float = 2.0, beta: float = 4.0) -> torch.Tensor:
    """CenterNet's penalty-reduced focal loss between ``pred`` and a Gaussian ``target`` (same shape, in [0, 1]),
    summed and divided by the number of peaks (cells equal to 1)."""
    pos = target.eq(1).float()
    neg = target.lt(1).float()
    pred = pred.clamp(min=1e-12)
    pos_loss = (torch.log(pred) * (1 - pred) ** alpha * pos).sum()
    neg_loss = (torch.log(1 - pred) * pred ** alpha * (1 - target) ** beta * neg).sum()
    num_pos = pos.sum()
    return -neg_loss if num_pos == 0 else -(pos_loss + neg_loss) / num_pos


def giou_loss(pred: torch.Tensor, gt: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    """``(mean(1 - GIoU), IoU [N])`` of corner boxes ``[N, 4]`` ``x1, y1, x2, y2``."""
    area_p = (pred[:, 2] - pred[:, 0]).clamp(min=0) * (pred[:, 3] - pred[:, 1]).clamp(min=0)
    area_g = (gt[:, 2] - gt[:, 0]).clamp(min=0) * (gt[:, 3] - gt[:, 1]).clamp(min=0)
    lt = torch.max(pred[:, :2], gt[:, :2])
    rb = torch.min(pred[:, 2:], gt[:, 2:])
    inter = (rb - lt).clamp(min=0).prod(dim=1)
    union = area_p + area_g - inter
    iou = inter / union.clamp(min=1e-7)
    enclose = (torch.max(pred[:, 2:], gt[:, 2:]) - torch.min(pred[:, :2], gt[:, :2])).clamp(min=0).prod(dim=1)
    giou = iou - (enclose - union) / enclose.clamp(min=1e-7)
    return (1 - giou).mean(), iou


def center_losses(model, batch: Dict[str, torch.Tensor], focal_weight: float = 1.0, l1_weight: float = 5.0,
                  giou_weight: float = 2.0) -> Dict[str, torch.Tensor]:
    """``{"focal_loss", "giou_loss", "l1_loss", "iou", "total_loss"}`` of one batch.

    Batch: ``template [B, 3, T, T]``, ``search [B, 3, S, S]`` (raw 0..255 BGR, as the dataset gives them),
    ``heatmap [B, 1, F, F]`` (:class:`~pysot.datasets.center_target.CenterTarget`), ``box [B, 4]``
    ``x1, y1, w, h`` in search-crop fractions; optional ``negative [B]`` (1: no box loss for that pair).
    The box is read at the predicted score map's arg-max, as the original trains.
    """
    score, size, offset = model.forward_maps(normalize_crops(batch["template"].float()),
                                             normalize_crops(batch["search"].float()))
    focal = focal_loss(score, batch["heatmap"].float())
    cxcywh = decode_center(score, size, offset)
    pred = torch.cat([cxcywh[:, :2] - cxcywh[:, 2:] / 2, cxcywh[:, :2] + cxcywh[:, 2:] / 2], dim=1)
    box = batch["box"].float()
    gt = torch.cat([box[:, :2], box[:, :2] + box[:, 2:]], dim=1).clamp(0.0, 1.0)
    keep = torch.ones(len(gt), dtype=torch.bool, device=gt.device)
    if "negative" in batch:
        keep = batch["negative"].to(gt.device) < 0.5
    if keep.any():
        giou, iou = giou_loss(pred[keep], gt[keep])
        l1 = torch.nn.functional.l1_loss(pred[keep], gt[keep])
    else:
        giou = l1 = iou = score.sum() * 0.0
    total = focal_weight * focal + giou_weight * giou + l1_weight * l1
    return {"focal_loss": focal, "giou_loss": giou, "l1_loss": l1, "iou": iou.detach().mean(),
            "total_loss": total}
