"""VitTrack trains through the shared pipeline: tools/train.py, the YAML and the crop-511 dataset."""
import os

import numpy as np
import pytest
import torch

from pysot.config import load_cfg
from pysot.datasets.center_target import CenterTarget, center_heatmap, gaussian_radius
from pysot.datasets.dataset import build_train_dataset
from pysot.datasets.synthetic import write_crop511_dataset
from pysot.models.loss_center import focal_loss, giou_loss
from pysot.utils.checkpoint import load_checkpoint
from tool_loader import REPO, load_tool

CFG = os.path.join(REPO, "experiments", "vittrack", "train_sequences.yaml")


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return write_crop511_dataset(str(tmp_path_factory.mktemp("data")), num_videos=4, num_frames=4, seed=3)


def _opts(data, snap):
    return ["DATASET.SEQUENCES.ROOT", data["root"], "DATASET.SEQUENCES.ANNO", data["anno"], "TRAIN.EPOCH", "2",
            "TRAIN.ITERS_PER_EPOCH", "2", "TRAIN.BATCH_SIZE", "2", "TRAIN.NUM_WORKERS", "0",
            "TRAIN.SNAPSHOT_DIR", str(snap), "TRAIN.LOG_DIR", ""]


def test_dataset_gives_crops_at_the_trackers_factors_with_centre_targets(data):
    cfg = load_cfg(CFG, _opts(data, "unused"))
    ds = build_train_dataset(cfg, length=4)
    sample = ds[0]
    assert sample["template"].shape == (3, 128, 128) and sample["search"].shape == (3, 256, 256)
    assert sample["heatmap"].shape == (1, 16, 16) and sample["heatmap"].max() == 1.0
    x, y, w, h = sample["box"]
    # the search crop spans SEARCH_FACTOR * sqrt(w * h) (scale jitter +-25%)
    assert 0.75 / 4 <= np.sqrt(w * h) <= 1.25 / 4 + 1e-6
    row, col = np.unravel_index(sample["heatmap"][0].argmax(), (16, 16))
    assert abs((col + 0.5) / 16 - (x + w / 2)) <= 1 / 16 and abs((row + 0.5) / 16 - (y + h / 2)) <= 1 / 16


def test_heatmap_and_losses_by_hand():
    heat = center_heatmap([0.25, 0.25, 0.5, 0.5], 16)  # centre cell (8, 8), 8x8-cell box
    assert heat[8, 8] == 1.0 and heat[8, 7] < 1.0 and heat.min() == 0.0
    assert int(gaussian_radius(8, 8)) == 2
    target = torch.zeros(1, 1, 4, 4)
    target[0, 0, 1, 1] = 1.0
    pred = torch.full((1, 1, 4, 4), 0.5)
    # one peak: -log(0.5) * 0.5^2 + 15 negatives * -log(0.5) * 0.5^2
    assert focal_loss(pred, target).item() == pytest.approx(16 * 0.25 * np.log(2), rel=1e-5)
    loss, iou = giou_loss(torch.tensor([[0.0, 0.0, 1.0, 1.0]]), torch.tensor([[0.0, 0.0, 1.0, 2.0]]))
    assert iou.item() == pytest.approx(0.5) and loss.item() == pytest.approx(0.5)


def test_rescale_puts_the_target_at_the_factor():
    target = CenterTarget()
    img = np.zeros((511, 511, 3), np.uint8)
    _, box = target.rescale(img, np.array([230.0, 240.0, 280.0, 270.0]), template=False)  # 50 x 30
    assert np.sqrt((box[2] - box[0]) * (box[3] - box[1])) * 4 == pytest.approx(256)


def test_train_tool_runs_vittrack_and_the_loss_is_finite(data, tmp_path):
    snap = tmp_path / "snap"
    assert load_tool("train").main(["--cfg", CFG, "--device", "cpu", "--opts"] + _opts(data, snap)) == 0
    ck = load_checkpoint(str(snap / "latest.pth"))
    assert ck["iteration"] == 4 and "VitTracker" in ck["config"]
    assert all(torch.isfinite(v).all() for v in ck["state_dict"].values() if v.is_floating_point())
