"""A head registered without the SiameseHead protocol is refused at build time, not at tracker.init."""
import pytest
import torch

from pysot.config import ConfigError, load_cfg
from pysot.core import registry
from pysot.models import ModelBuilder, build_model
from pysot.models.backbone.alexnet import AlexNetLegacy

TINY = "experiments/siamrpn_alex_tiny/config.yaml"


class PlainHead(torch.nn.Module):  # what the README once showed
    def __init__(self, anchor_num=5, in_channels=96, out_channels=96):
        super().__init__()
        self.conv = torch.nn.Conv2d(in_channels, 2 * anchor_num, 1)


@pytest.fixture
def plain_head_registered():
    saved = dict(registry.HEADS._entries)
    registry.HEADS.register("PlainHeadForTest")(PlainHead)
    yield
    registry.HEADS._entries = saved


def test_plain_module_head_is_refused_with_the_fix(plain_head_registered, monkeypatch):
    monkeypatch.chdir(registry.__file__.rsplit("/pysot/", 1)[0])
    cfg = load_cfg(TINY, ["RPN.TYPE", "PlainHeadForTest"])
    with pytest.raises(ConfigError, match="prepare_template and match.*SiameseHead"):
        build_model(cfg)
    with pytest.raises(ValueError, match="rpn_head PlainHead lacks"):
        ModelBuilder(backbone=AlexNetLegacy(), rpn_head=PlainHead())
