"""Registry behaviour and extending pysot with a component defined outside the package."""
import pytest
import torch
import torch.nn as nn

from pysot.config import load_cfg
from pysot.core.registry import BACKBONES, HEADS, Registry, RegistryError
from pysot.models import build_model
from pysot.models.head.base import SiameseHead


@HEADS.register("TestOnlyMeanCorrHead")
class MeanCorrHead(SiameseHead):
    """A user head living outside pysot: scores = 1x1 projection of a mean template correlation."""

    def __init__(self, in_channels: int, anchor_num: int = 5) -> None:
        super().__init__()
        self.cls = nn.Conv2d(in_channels, 2 * anchor_num, 1)
        self.loc = nn.Conv2d(in_channels, 4 * anchor_num, 1)

    def prepare_template(self, z_f):
        return z_f.mean(dim=(2, 3), keepdim=True)

    def match(self, template, x_f):
        feature = x_f * template
        return self.cls(feature), self.loc(feature)


def test_external_head_builds_from_yaml(tmp_path):
    path = tmp_path / "custom.yaml"
    path.write_text(
        "BACKBONE:\n  TYPE: alexnetlegacy\n  KWARGS: {width_mult: 0.5}\n"
        "ADJUST:\n  ADJUST: False\n"
        "RPN:\n  TYPE: TestOnlyMeanCorrHead\n  KWARGS: {in_channels: 128}\n"
        "ANCHOR:\n  RATIOS: [0.5, 1, 2]\n  SCALES: [8]\n"
    )
    model = build_model(load_cfg(str(path))).eval()
    assert isinstance(model.rpn_head, MeanCorrHead)
    assert model.rpn_head.cls.out_channels == 6  # anchor_num injected from RATIOS x SCALES
    model.template(torch.rand(1, 3, 127, 127) * 255)
    out = model.track(torch.rand(1, 3, 255, 255) * 255)
    assert out["cls"].shape == (1, 6, 22, 22) and out["loc"].shape == (1, 12, 22, 22)


def test_lookup_is_exact_then_case_insensitive():
    assert BACKBONES.get("resnet50") is BACKBONES.get("RESNET50")
    assert "alexnetlegacy" in BACKBONES and "nonexistent" not in BACKBONES


def test_duplicates_and_unknown_names_are_explained():
    registry = Registry("widgets")

    @registry.register()
    class Widget:
        def __init__(self, size: int = 1) -> None:
            self.size = size

    with pytest.raises(RegistryError, match="already registered in the widgets registry"):
        registry.register("Widget")(Widget)
    with pytest.raises(RegistryError, match="no 'Gadget' in the widgets registry; registered: Widget"):
        registry.get("Gadget")
    with pytest.raises(TypeError, match="cfg.yaml: WIDGET.KWARGS: Widget does not take colour"):
        registry.build("Widget", {"colour": 1}, where="cfg.yaml: WIDGET.KWARGS")
    assert registry.build("Widget", {"size": 3}).size == 3
