"""The shipped tiny model (demo default) tracks held-out synthetic clips far better than untrained."""
import os

import torch
import yaml

from pysot.config import CN, get_cfg, load_cfg
from pysot.models import build_model
from pysot.training.synthetic_eval import synthetic_success
from pysot.utils.model_load import load_pretrain

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CFG = os.path.join(REPO, "experiments", "siamrpn_alex_tiny", "config.yaml")
WEIGHTS = os.path.join(REPO, "pysot", "data", "siamrpn_alex_tiny.pth")


def test_shipped_file_is_small_and_self_describing():
    assert os.path.getsize(WEIGHTS) < 5 * 2 ** 20
    ckpt = torch.load(WEIGHTS, map_location="cpu", weights_only=True)
    data = yaml.safe_load(ckpt["config"])
    data.pop("CONFIG_FILE", None)  # where it was loaded from; not a schema key
    cfg = get_cfg()
    cfg.merge_from_other_cfg(CN(data))
    load_pretrain(build_model(cfg), ckpt, strict=True)


def test_tiny_model_beats_untrained_on_held_out_clips():
    cfg = load_cfg(CFG)
    torch.manual_seed(0)
    untrained = build_model(cfg)
    trained = load_pretrain(build_model(cfg), WEIGHTS, strict=True)
    seeds = range(2)
    auc_trained = synthetic_success(cfg, trained, seeds, num_frames=30)
    auc_untrained = synthetic_success(cfg, untrained, seeds, num_frames=30)
    assert auc_trained > 0.5, auc_trained
    assert auc_trained > auc_untrained + 0.3, (auc_trained, auc_untrained)
