"""model.forward(batch) -> losses for the shipped configs: forward + backward on CPU with small batches."""
import glob
import os

import pytest
import torch
from torch.utils.data import default_collate

from markers import slow_if_heavy
from pysot.config import CN, load_cfg
from pysot.datasets.dataset import build_train_dataset
from pysot.datasets.synthetic import write_crop511_dataset
from pysot.models import build_model
from pysot.training.components import BackboneUnfreezer

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return write_crop511_dataset(str(tmp_path_factory.mktemp("fwd")), num_videos=4, num_frames=3, seed=3)


def _batch(config, data, n=2, **dataset):
    cfg = load_cfg(os.path.join(REPO, "experiments", config, "config.yaml"))
    node = CN()
    node.ROOT, node.ANNO, node.FRAME_RANGE, node.NUM_USE = data["root"], data["anno"], 2, -1
    cfg.DATASET.NAMES = ["SYN"]
    cfg.DATASET.SYN = node
    for k, v in dataset.items():
        cfg.DATASET[k] = v
    ds = build_train_dataset(cfg, length=n)
    return cfg, {k: torch.as_tensor(v) for k, v in default_collate([ds[(0, i)] for i in range(n)]).items()}


def _check_training_step(model, batch, keys):
    torch.manual_seed(0)
    model.train()
    losses = model(batch)
    assert set(keys) <= set(losses) and torch.isfinite(losses["total_loss"])
    losses["total_loss"].backward()
    grads = [p.grad for p in model.parameters() if p.requires_grad]
    assert any(g is not None and g.abs().sum() > 0 for g in grads)
    return losses


EXPERIMENTS = sorted(os.path.basename(os.path.dirname(p))
                     for p in glob.glob(os.path.join(REPO, "experiments", "*", "config.yaml")))
WITHOUT_MASK = [name for name in EXPERIMENTS if not name.startswith("siammask")]


@pytest.mark.parametrize("config", slow_if_heavy(WITHOUT_MASK))
def test_forward_backward_from_dataset(config, data):
    cfg, batch = _batch(config, data, n=1 if "r50" in config or "mobilev2" in config else 2)
    one_stream = bool(cfg.get("CENTER") is not None and cfg.CENTER.CENTER)  # VitTrack: centre-head losses
    keys = ["focal_loss", "l1_loss", "giou_loss", "total_loss"] if one_stream else ["cls_loss", "loc_loss", "total_loss"]
    _check_training_step(build_model(cfg), batch, keys)


@pytest.mark.parametrize("config", EXPERIMENTS)
def test_every_experiment_names_trainable_backbone_layers(config):
    cfg = load_cfg(os.path.join(REPO, "experiments", config, "config.yaml"))
    model = build_model(cfg)
    unfreezer = BackboneUnfreezer(model.backbone, cfg.BACKBONE.TRAIN_LAYERS, cfg.BACKBONE.TRAIN_EPOCH)
    unfreezer.apply(cfg.BACKBONE.TRAIN_EPOCH)
    assert any(p.requires_grad for p in model.backbone.parameters())


def test_rpn_loss_goes_down_on_one_batch(data):
    cfg, batch = _batch("siamrpn_alex_tiny", data, n=4)
    torch.manual_seed(0)  # the initial weights must not depend on which tests ran before
    model = build_model(cfg)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    first = None
    for _ in range(6):
        loss = model(batch)["total_loss"]
        first = first if first is not None else loss.item()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.7 * first


@pytest.mark.slow
def test_siammask_forward_with_mask_loss(tmp_path):
    paths = write_crop511_dataset(str(tmp_path), num_videos=2, num_frames=2, seed=4, with_masks=True)
    cfg, batch = _batch("siammask_r50_l3", paths, n=1, NEG=0.0)
    assert batch["label_mask"].shape == (1, 1, 255, 255) and (batch["label_cls"] == 1).any()
    losses = _check_training_step(build_model(cfg), batch, ["cls_loss", "loc_loss", "mask_loss", "total_loss"])
    assert losses["mask_loss"].item() > 0
