"""DaSiamRPN name conversion and tools/convert_checkpoint.py."""
import os
import subprocess
import sys

import pytest
import torch

from parity import load_fixture, synthetic_state_dict
from tool_loader import load_tool
from pysot.config import load_cfg
from pysot.models import build_model
from pysot.models.convert import convert_dasiamrpn, looks_like_dasiamrpn
from pysot.utils.model_load import CheckpointMismatchError, load_pretrain

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _release_file(name, tmp_path):
    """A DaSiamRPN-style .model: original names, no BN counters (pre-0.4.1 PyTorch)."""
    fixture = load_fixture(name)
    weights = synthetic_state_dict(fixture["manifest"], fixture["factors"])
    weights = {k: v for k, v in weights.items() if not k.endswith("num_batches_tracked")}
    path = tmp_path / f"{name}.model"
    torch.save(weights, path)
    return path, weights


def test_names_map_onto_the_up_channel_model():
    weights = synthetic_state_dict(load_fixture("dasiamrpn_vot")["manifest"], {})
    assert looks_like_dasiamrpn(weights)
    converted = convert_dasiamrpn({"module." + k: v for k, v in weights.items()})
    assert converted["backbone.features.14.weight"] is weights["featureExtract.14.weight"]
    assert converted["rpn_head.template_cls_conv.weight"] is weights["conv_cls1.weight"]
    assert converted["rpn_head.template_loc_conv.bias"] is weights["conv_r1.bias"]
    assert converted["rpn_head.search_cls_conv.weight"] is weights["conv_cls2.weight"]
    assert converted["rpn_head.search_loc_conv.weight"] is weights["conv_r2.weight"]
    assert converted["rpn_head.loc_adjust.weight"] is weights["regress_adjust.weight"]
    assert not looks_like_dasiamrpn(converted)
    with pytest.raises(CheckpointMismatchError, match="not a DaSiamRPN parameter name: fc.weight"):
        convert_dasiamrpn({"fc.weight": torch.zeros(1)})


def test_cli_converts_verifies_and_embeds_the_config(tmp_path):
    source, weights = _release_file("dasiamrpn_vot", tmp_path)
    output = tmp_path / "out" / "dasiamrpn_vot.pth"
    config = os.path.join(REPO, "experiments", "dasiamrpn_vot", "config.yaml")
    env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""))
    run = subprocess.run(
        [sys.executable, os.path.join(REPO, "tools", "convert_checkpoint.py"),
         "--input", str(source), "--output", str(output), "--config", config],
        capture_output=True, text=True, env=env, timeout=120,
    )
    assert run.returncode == 0, run.stderr
    saved = torch.load(output, map_location="cpu", weights_only=True)
    assert "UPChannelRPN" in saved["config"] and "DaSiamRPNTracker" in saved["config"]
    model = load_pretrain(build_model(load_cfg(config)), str(output), strict=True)
    torch.testing.assert_close(model.rpn_head.loc_adjust.weight, weights["regress_adjust.weight"])
    assert [p for p in os.listdir(output.parent)] == ["dasiamrpn_vot.pth"]  # no temporary left behind


def test_cli_refuses_a_mismatched_config(tmp_path):
    source, _ = _release_file("dasiamrpn_big", tmp_path)
    output = tmp_path / "wrong.pth"
    convert_checkpoint = load_tool("convert_checkpoint")
    config = os.path.join(REPO, "experiments", "dasiamrpn_vot", "config.yaml")
    assert convert_checkpoint.main(["--input", str(source), "--output", str(output), "--config", config]) == 2
    assert not output.exists()
    # Without --config the width of the first convolution picks the BIG experiment.
    assert convert_checkpoint.main(["--input", str(source), "--output", str(output)]) == 0
    assert "width_mult: 2.0" in torch.load(output, weights_only=True)["config"]


def test_cli_reads_its_input_once(tmp_path, monkeypatch):
    source, _ = _release_file("dasiamrpn_vot", tmp_path)
    reads = []
    real_load = torch.load

    def counting_load(f, *args, **kwargs):
        reads.append(str(f))
        return real_load(f, *args, **kwargs)

    monkeypatch.setattr(torch, "load", counting_load)
    assert load_tool("convert_checkpoint").main(["--input", str(source), "--output", str(tmp_path / "out.pth")]) == 0
    assert reads == [str(source)]


def test_cli_errors_name_the_input(tmp_path, caplog):
    import logging

    other = tmp_path / "other.pth"
    torch.save({"fc.weight": torch.zeros(2)}, other)
    tool = load_tool("convert_checkpoint")
    logging.getLogger("pysot").propagate = True  # let caplog see the package logger
    try:
        with caplog.at_level(logging.ERROR, logger="pysot"):
            assert tool.main(["--input", str(other), "--output", str(tmp_path / "o.pth")]) == 2
            config = os.path.join(REPO, "experiments", "dasiamrpn_vot", "config.yaml")
            assert tool.main(["--input", str(other), "--output", str(tmp_path / "o.pth"), "--config", config]) == 2
    finally:
        logging.getLogger("pysot").propagate = False
    assert f"{other}: not a DaSiamRPN release file" in caplog.text
    assert f"{other}: none of its 1 tensors belongs to the model" in caplog.text
    assert not (tmp_path / "o.pth").exists()
