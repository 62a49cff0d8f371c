"""NanoTrack training: point targets, the BAN losses, and tools/train.py on synthetic data."""
import os

import numpy as np
import torch

from pysot.config import load_cfg
from pysot.datasets.point_target import PointTarget
from pysot.datasets.synthetic import write_crop511_dataset
from pysot.models import build_model
from pysot.models.loss import linear_iou_loss
from pysot.utils.checkpoint import load_checkpoint
from tool_loader import REPO, load_tool

CFG = os.path.join(REPO, "experiments", "nanotrack_v2", "config.yaml")


def test_point_grid_is_the_trackers_grid_in_crop_pixels():
    target = PointTarget(stride=16, search_size=255, output_size=16)
    assert target.points[0, 0, 0] == -1 and target.points[0, 0, 15] == 239  # 127 + (-128 .. 112)
    assert target.points[1, 8, 0] == 127 and target.points[0, 0, 8] == 127


def test_point_labels_and_side_distances():
    rng = np.random.default_rng(0)
    target = PointTarget(stride=16, search_size=255, output_size=16, pos_num=16, total_num=64)
    box = [95.0, 111.0, 159.0, 143.0]  # 64 x 32 around the crop centre (127, 127)
    out = target(box, False, rng)
    cls, delta = out["cls"], out["delta"]
    # inner ellipse (semi-axes 16, 8): only the centre point lies inside (the neighbours at +-16 are on it)
    assert cls[8, 8] == 1 and set(np.unique(cls)) <= {-1, 0, 1}
    assert (cls == 1).sum() <= 16 and (cls == 0).sum() <= 48
    np.testing.assert_array_equal(delta[:, 8, 8], [127 - 95, 127 - 111, 159 - 127, 143 - 127])
    negative = target(box, True, rng)["cls"]
    assert (negative == 1).sum() == 0 and negative[8, 8] == 0 and (negative == 0).sum() <= 16


def test_linear_iou_loss_hand_computed():
    pred = torch.tensor([[10.0, 10.0, 10.0, 10.0]])
    target = torch.tensor([[10.0, 10.0, 30.0, 10.0]])  # 20x20 inside 40x20: IoU (400+1)/(800+1)
    torch.testing.assert_close(linear_iou_loss(pred, target), torch.tensor(1 - 401 / 801))
    assert linear_iou_loss(pred[:0], target[:0]).item() == 0.0


def test_forward_backward_gives_point_losses():
    torch.manual_seed(0)
    cfg = load_cfg(CFG)
    model = build_model(cfg)
    rng = np.random.default_rng(1)
    target = PointTarget(cfg.POINT.STRIDE, 255, cfg.TRAIN.OUTPUT_SIZE)
    labels = [target([100.0, 100.0, 160.0, 150.0], i == 1, rng) for i in range(2)]
    batch = {"template": torch.rand(2, 3, 127, 127) * 255, "search": torch.rand(2, 3, 255, 255) * 255,
             "label_cls": torch.from_numpy(np.stack([t["cls"] for t in labels])),
             "label_loc": torch.from_numpy(np.stack([t["delta"] for t in labels]))}
    losses = model(batch, cls_weight=1.0, loc_weight=1.0)
    assert set(losses) == {"cls_loss", "loc_loss", "total_loss"}
    assert all(torch.isfinite(v) for v in losses.values()) and losses["loc_loss"] > 0
    losses["total_loss"].backward()
    assert model.ban_head.bbox_pred[0].weight.grad.abs().sum() > 0
    assert model.ban_head.cls_pred[0].weight.grad.abs().sum() > 0


def test_train_tool_runs_nanotrack_on_synthetic_data(tmp_path):
    data = write_crop511_dataset(str(tmp_path / "data"), num_videos=4, num_frames=5, seed=3)
    snap = tmp_path / "snap"
    code = load_tool("train").main([
        "--cfg", CFG, "--device", "cpu", "--opts",
        "DATASET.NAMES", "['GOT']", "DATASET.GOT.ROOT", data["root"], "DATASET.GOT.ANNO", data["anno"],
        "DATASET.GOT.FRAME_RANGE", "3", "DATASET.GOT.NUM_USE", "-1",
        "TRAIN.EPOCH", "2", "TRAIN.ITERS_PER_EPOCH", "2", "TRAIN.BATCH_SIZE", "2", "TRAIN.NUM_WORKERS", "0",
        "TRAIN.LR_WARMUP.EPOCH", "1", "TRAIN.PRINT_FREQ", "1", "BACKBONE.TRAIN_EPOCH", "1",
        "TRAIN.SNAPSHOT_DIR", str(snap), "TRAIN.LOG_DIR", str(snap / "logs")])
    assert code == 0
    ck = load_checkpoint(str(snap / "latest.pth"))
    assert ck["iteration"] == 4 and "NanoTracker" in ck["config"]
    assert any(k.startswith("ban_head.") for k in ck["state_dict"])
    # the snapshot rebuilds the same network (its own config) and loads strictly
    model = build_model(load_cfg(CFG)).eval()
    model.load_state_dict(ck["state_dict"], strict=True)
