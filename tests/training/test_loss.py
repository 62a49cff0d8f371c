import math

import torch
import torch.nn.functional as F

from pysot.models.loss import (balanced_logistic_loss, log_softmax_cls, select_cross_entropy_loss,
                               select_mask_logistic_loss, weight_l1_loss)


def test_select_cross_entropy_by_hand():
    # One anchor, 1x3 map: logits (bg, fg) per cell; labels pos, neg, ignore.
    bg = torch.tensor([0.0, 2.0, 5.0]).view(1, 1, 1, 3)
    fg = torch.tensor([1.0, 0.0, -5.0]).view(1, 1, 1, 3)
    cls = torch.cat([bg, fg], dim=1)  # [1, 2A, 1, 3], A = 1
    label = torch.tensor([1, 0, -1]).view(1, 1, 1, 3)
    loss = select_cross_entropy_loss(log_softmax_cls(cls), label)
    pos = -math.log(math.exp(1) / (math.exp(0) + math.exp(1)))
    neg = -math.log(math.exp(2) / (math.exp(2) + math.exp(0)))
    assert abs(loss.item() - (0.5 * pos + 0.5 * neg)) < 1e-6


def test_select_cross_entropy_without_positives_keeps_graph():
    cls = torch.zeros(2, 10, 3, 3, requires_grad=True)
    label = torch.zeros(2, 5, 3, 3, dtype=torch.long)
    loss = select_cross_entropy_loss(log_softmax_cls(cls), label)
    assert abs(loss.item() - 0.5 * math.log(2)) < 1e-6
    loss.backward()
    assert cls.grad is not None


def test_weight_l1_by_hand():
    loc = torch.zeros(2, 4 * 1, 2, 2)
    target = torch.ones(2, 4, 1, 2, 2)
    weight = torch.zeros(2, 1, 2, 2)
    weight[0, 0, 0, 0] = 1.0  # one positive in sample 0
    # |0 - 1| summed over 4 deltas = 4, times weight 1, divided by batch 2.
    assert abs(weight_l1_loss(loc, target, weight).item() - 2.0) < 1e-6


def test_balanced_logistic_by_hand():
    score = torch.tensor([[[[2.0, -1.0]]]])
    label = torch.tensor([[[[1.0, 0.0]]]])
    weight = torch.tensor([[[[0.5, 0.5]]]])
    expected = 0.5 * F.softplus(torch.tensor(-2.0)) + 0.5 * F.softplus(torch.tensor(-1.0))
    assert abs(balanced_logistic_loss(score, label, weight).item() - expected.item()) < 1e-6


def test_mask_loss_prefers_the_right_mask():
    # 3x3 cells: (79 + 2*32 - 127) / 8 + 1 = 3 windows of 127 per axis.
    s, h = 79, 3
    gt = -torch.ones(1, 1, s, s)
    gt[..., 20:60, 25:55] = 1
    positive = torch.zeros(1, h, h, dtype=torch.bool)
    positive[0, 1, 1] = True
    # The ideal 63x63 prediction is the ground truth window under the centre cell, downsampled.
    windows = F.unfold(gt, kernel_size=127, padding=32, stride=8)
    ideal = windows[0, :, 1 * h + 1].view(1, 1, 127, 127)
    good = F.interpolate(ideal * 8, size=(63, 63), mode="bilinear", align_corners=False).flatten(1)
    mask = torch.zeros(1, 63 * 63, h, h)
    mask[0, :, 1, 1] = good[0]
    loss_good, iou_good = select_mask_logistic_loss(mask, gt, positive)
    mask_bad = mask.clone()
    mask_bad[0, :, 1, 1] = -good[0]
    loss_bad, iou_bad = select_mask_logistic_loss(mask_bad, gt, positive)
    # Zero padding of the windows (as in SiamMask) leaves a log(2) floor on padded pixels.
    assert loss_good < 0.5 * loss_bad and iou_good > 0.9 and iou_bad < 0.1
    none, _ = select_mask_logistic_loss(mask, gt, torch.zeros_like(positive))
    assert none.item() == 0
