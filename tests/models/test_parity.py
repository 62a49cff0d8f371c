"""Outputs of the original PySOT / DaSiamRPN networks, reproduced on the fixtures' synthetic weights."""
import os

import pytest
import torch

from markers import slow_if_heavy
from parity import DASIAMRPN_FIXTURES, PYSOT_FIXTURES, load_fixture, synthetic_state_dict, within
from pysot.config import get_cfg, load_cfg
from pysot.models import build_model
from pysot.models.convert import convert_dasiamrpn

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _cfg_from_text(text):
    cfg = get_cfg()
    cfg.merge_from_other_cfg(cfg.load_cfg(text))
    return cfg


def _run(model, fixture):
    model.eval()
    model.template(torch.from_numpy(fixture["z"]))
    return model.track(torch.from_numpy(fixture["x"]))


@pytest.mark.parametrize("name", slow_if_heavy(PYSOT_FIXTURES))
def test_pysot_fixture_parity(name):
    fixture = load_fixture(name)
    model = build_model(_cfg_from_text(fixture["config"]))
    ours = [(k, list(v.shape)) for k, v in model.state_dict().items()]
    assert ours == [(k, list(s)) for k, s in fixture["manifest"]], "state_dict keys/shapes/order differ from PySOT"
    model.load_state_dict(synthetic_state_dict(fixture["manifest"], fixture["factors"]), strict=True)
    out = _run(model, fixture)
    for key in ("cls", "loc", "mask"):
        if key in fixture:
            assert out[key].shape == fixture[key].shape, key
            assert within(out[key].numpy(), fixture[key]) <= 1.0, key
        else:
            assert out[key] is None


@pytest.mark.parametrize("name", DASIAMRPN_FIXTURES)
def test_dasiamrpn_fixture_parity_after_conversion(name):
    fixture = load_fixture(name)
    model = build_model(load_cfg(os.path.join(REPO, "experiments", name, "config.yaml")))
    original = synthetic_state_dict(fixture["manifest"], fixture["factors"])
    converted = convert_dasiamrpn(original)
    assert set(converted) == set(model.state_dict())
    model.load_state_dict(converted, strict=True)
    out = _run(model, fixture)
    assert out["mask"] is None
    for key in ("cls", "loc"):
        assert out[key].shape == fixture[key].shape, key
        assert within(out[key].numpy(), fixture[key]) <= 1.0, key


def test_parity_detects_a_wrong_weight():
    """The check above is sensitive: perturbing one head weight breaks it."""
    fixture = load_fixture("siamrpn_alex_dwxcorr")
    model = build_model(_cfg_from_text(fixture["config"]))
    weights = synthetic_state_dict(fixture["manifest"], fixture["factors"])
    weights["rpn_head.cls.conv_search.0.weight"] = weights["rpn_head.cls.conv_search.0.weight"] * 1.05
    model.load_state_dict(weights)
    out = _run(model, fixture)
    assert within(out["cls"].numpy(), fixture["cls"]) > 1.0
