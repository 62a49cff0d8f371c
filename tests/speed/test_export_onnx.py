"""ONNX export of the template/track graphs, checked with onnxruntime against PyTorch."""
import json
import os

import pytest
import torch

from pysot.models.export import export_onnx, verify_onnx
from parity import within
from pysot.models.fast import optimize_for_inference
from tool_loader import load_tool
from tracker.tracker_helpers import dasiamrpn_cfg_and_model, fixture_cfg_and_model

pytest.importorskip("onnxruntime")
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
REL_TOL = 1e-4


def test_depthwise_export_matches_pytorch(tmp_path):
    cfg, model, fx = fixture_cfg_and_model("siamrpn_alex_dwxcorr")
    exported = export_onnx(model, str(tmp_path / "alex"), search_size=cfg.TRACK.INSTANCE_SIZE)
    assert os.path.isfile(exported["template"]) and os.path.isfile(exported["track"])
    # The fixture's own crops: ONNX must reproduce what the parity tests check.
    errors = verify_onnx(model, exported, z=torch.from_numpy(fx["z"]), x=torch.from_numpy(fx["x"]))
    assert set(errors) == {"cls", "loc"} and max(errors.values()) <= REL_TOL, errors
    meta = json.load(open(exported["meta"]))
    assert meta["track_inputs"] == ["x"] + meta["template_outputs"] and meta["search_size"] == 287


def test_correlation_weights_are_graph_inputs_not_initializers(tmp_path):
    import onnx

    cfg, model, _ = fixture_cfg_and_model("siamrpn_alex_dwxcorr")
    exported = export_onnx(model, str(tmp_path / "alex"), search_size=cfg.TRACK.INSTANCE_SIZE)
    graph = onnx.load(exported["track"]).graph
    initializers = {i.name for i in graph.initializer}
    runtime_weight_convs = [n for n in graph.node if n.op_type == "Conv" and n.input[1] not in initializers]
    assert len(runtime_weight_convs) == 2  # cls and loc depthwise correlations


def test_up_channel_export_batched_and_folded(tmp_path):
    cfg, model, _ = dasiamrpn_cfg_and_model("dasiamrpn_vot")
    fast = optimize_for_inference(model, "cpu", search_size=cfg.TRACK.INSTANCE_SIZE)
    exported = export_onnx(fast, str(tmp_path / "das"), search_size=cfg.TRACK.INSTANCE_SIZE, batch=2)
    # One graph for DaSiamRPN's 271 search, its 287 small-target search and a grown region.
    for size in (271, 287, 335):
        errors = verify_onnx(model, exported, search_size=size)
        assert max(errors.values()) <= REL_TOL, (size, errors)


@pytest.mark.slow
def test_dynamic_and_static_search_sizes(tmp_path):
    import onnxruntime as ort

    cfg, model, _ = fixture_cfg_and_model("siamrpn_r50_l234_dwxcorr")
    exported = export_onnx(model, str(tmp_path / "r50"), search_size=255)
    for size in (255, 351):  # the short-term crop and a larger (long-term style) one
        errors = verify_onnx(model, exported, search_size=size)
        assert max(errors.values()) <= REL_TOL, (size, errors)
    static = export_onnx(model, str(tmp_path / "r50s"), search_size=255, dynamic_search=False)
    assert verify_onnx(model, static)["cls"] <= REL_TOL
    with pytest.raises(Exception, match="(?i)dimension|shape"):
        verify_onnx(model, static, search_size=287)
    assert json.load(open(static["meta"]))["dynamic_search"] is False
    assert ort  # the static graph's refusal above came from onnxruntime's shape check


def test_export_leaves_the_model_as_it_was(tmp_path):
    """The exporter restores the train flag of the wrapper it traces (a fresh module, in training
    mode): the caller's model must not come back with BatchNorm in batch-statistics mode."""
    cfg, model, fx = fixture_cfg_and_model("siamrpn_alex_dwxcorr")
    z, x = torch.from_numpy(fx["z"]), torch.from_numpy(fx["x"])
    with torch.no_grad():
        model.template(z)
    cached = model._template_state
    exported = export_onnx(model, str(tmp_path / "alex"), search_size=cfg.TRACK.INSTANCE_SIZE)
    verify_onnx(model, exported)
    assert not any(m.training for m in model.modules())
    assert model._template_state is cached
    with torch.no_grad():
        out = model.track(x)
    for key in ("cls", "loc"):
        assert within(out[key].numpy(), fx[key]) <= 1.0, key


def test_wrong_export_is_detected(tmp_path):
    """verify_onnx compares against PyTorch: a changed weight after export is caught."""
    cfg, model, _ = fixture_cfg_and_model("siamrpn_alex_dwxcorr")
    exported = export_onnx(model, str(tmp_path / "alex"), search_size=cfg.TRACK.INSTANCE_SIZE)
    with torch.no_grad():
        model.rpn_head.cls.head[3].bias += 1.0
    assert verify_onnx(model, exported)["cls"] > REL_TOL
    with torch.no_grad():
        model.rpn_head.cls.head[3].bias[0] = float("nan")
    with pytest.raises(ValueError, match="output 'cls' of the reference is not finite"):
        verify_onnx(model, exported)


@pytest.mark.slow
def test_siammask_export_includes_mask(tmp_path):
    cfg, model, _ = fixture_cfg_and_model("siammask_r50_l3")
    exported = export_onnx(model, str(tmp_path / "mask"), search_size=cfg.TRACK.INSTANCE_SIZE)
    errors = verify_onnx(model, exported)
    assert set(errors) == {"cls", "loc", "mask"} and max(errors.values()) <= REL_TOL, errors


def _tool():
    return load_tool("export_onnx")


def test_export_tool(tmp_path, capsys):
    config = os.path.join(REPO, "experiments", "siamrpn_alex_dwxcorr", "config.yaml")
    assert _tool().main(["--config", config, "--output", str(tmp_path / "a"), "--fold-bn"]) == 0
    out = capsys.readouterr().out
    assert "onnxruntime vs PyTorch at search 287" in out and "at search 351" in out
    assert _tool().main(["--config", config, "--snapshot", str(tmp_path / "missing.pth"),
                         "--output", str(tmp_path / "b")]) == 2
