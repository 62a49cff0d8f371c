"""ONNX export of a tracking model as two graphs: ``template`` and ``track``.

The correlation kernels depend on the template, so they cannot be ONNX
initializers. The split makes them data:

* ``<name>_template.onnx``: ``z`` ``[B, 3, 127, 127]`` -> ``t0, t1, ...``, the
  leaves of the model's template cache in a fixed order (for a depthwise RPN:
  the ``conv_kernel`` outputs of the cls and loc branches, per level).
* ``<name>_track.onnx``: ``(x [B, 3, S, S], t0, t1, ...)`` -> ``cls``, ``loc``
  (and ``mask`` for SiamMask). The correlations are grouped ``Conv`` nodes whose
  weight ``W`` is a graph tensor computed from the template inputs (batch
  folded into channels: ``groups = B * C``), so no weight is static.

Both graphs have a fixed batch ``B`` (the correlation's ``group`` attribute
depends on it): export one pair per batch size you deploy. The track graph's
search side ``S`` is dynamic by default (axes ``S``/``H``/``W``), so one graph
serves the short-term 255, the long-term 831 and DaSiamRPN's growing regions.
The SiamMask refine step (a crop at a data-dependent cell) is not exported.
Inputs are raw 0..255 BGR float32, exactly as for ``model.template``/``model.track``.
"""
from __future__ import annotations

import contextlib
import json
import warnings
from typing import Any, Dict, List, Optional, Tuple

import torch
import torch.nn as nn

from pysot.models.fast import FastModel, compare_outputs
from pysot.models.tensor_tree import flatten_tensors, unflatten_tensors
from pysot.utils.fileio import atomic_open
from pysot.utils.log import get_logger
from pysot.utils.model_load import model_device

logger = get_logger("pysot.export")

__all__ = ["TemplateGraph", "TrackGraph", "export_onnx", "verify_onnx", "export_opencv_nano", "verify_opencv_nano",
           "OPENCV_NANO_SCORE_SIZE"]


def unwrap_model(model: nn.Module) -> nn.Module:
    """The ModelBuilder itself (unwraps a :class:`~pysot.models.fast.FastModel`)."""
    return model.model if isinstance(model, FastModel) else model


@contextlib.contextmanager
def evaluating(model: nn.Module):
    """``model`` in eval mode for the block; its train/eval flags and cached template restored after.

    The exporter restores the train flag of the module it is given, and a new wrapper module
    is in training mode: without this the caller's model would leave in training mode (batch
    statistics in every BatchNorm) with its template cache replaced by the example's.
    """
    modes = {m: m.training for m in model.modules()}
    state = getattr(model, "_template_state", None)
    model.eval()
    try:
        yield model
    finally:
        for m, training in modes.items():
            m.training = training
        model._template_state = state


class TemplateGraph(nn.Module):
    """``z`` ``[B, 3, 127, 127]`` -> tuple of template-cache tensors (see the module docstring)."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = unwrap_model(model)

    def forward(self, z: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        self.model.template(z)
        leaves, _ = flatten_tensors(self.model._template_state)
        return tuple(leaves)


class TrackGraph(nn.Module):
    """``(x, *template_tensors)`` -> ``(cls, loc[, mask])`` with the template cache given as inputs."""

    def __init__(self, model: nn.Module, spec: Any) -> None:
        super().__init__()
        self.model = unwrap_model(model)
        self.spec = spec
        self.output_keys = ["cls", "loc"] + (["mask"] if getattr(self.model, "has_mask", False) else [])

    def forward(self, x: torch.Tensor, *template: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        self.model._template_state = unflatten_tensors(list(template), self.spec)
        out = self.model.track(x)
        if out["loc"] is None:
            raise ValueError("ONNX export: this model has no loc output (SiamFC); export its cls graph instead")
        return tuple(out[k] for k in self.output_keys)


def export_graph(module: nn.Module, args: Tuple[torch.Tensor, ...], path: str, input_names: List[str],
            output_names: List[str], opset: int, dynamic_axes: Optional[Dict[str, Dict[int, str]]] = None) -> None:
    with atomic_open(path, "wb") as f, warnings.catch_warnings():
        # Shape checks in the correlation become constants: intended, the batch is fixed.
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        # The TorchScript-based exporter: it needs no extra package and handles the
        # runtime-weight convolutions; the graph is small enough to trace.
        torch.onnx.export(module.eval(), args, f, input_names=input_names, output_names=output_names,
                          opset_version=opset, dynamo=False, do_constant_folding=True, dynamic_axes=dynamic_axes)


def export_onnx(model: nn.Module, out_prefix: str, search_size: int = 255, template_size: int = 127,
                batch: int = 1, opset: int = 17, dynamic_search: bool = True) -> Dict[str, Any]:
    """Write ``<out_prefix>_template.onnx`` and ``<out_prefix>_track.onnx`` (+ ``<out_prefix>.json``).

    Args:
        model: a built model (CPU, float32) or its FastModel; traced in eval mode, and left
            as it was (mode and cached template).
        out_prefix: path prefix of the written files.
        search_size: ``S`` of the example crop the track graph is traced with (``cfg.TRACK.INSTANCE_SIZE``).
        batch: fixed batch size ``B`` of both graphs.
        dynamic_search: let the track graph take any search side (else only ``search_size``).
    Returns:
        ``{"template": path, "track": path, "meta": path, "template_outputs": names, "track_outputs": names}``.
    """
    inner = unwrap_model(model)
    if model_device(inner).type != "cpu":
        raise ValueError("export_onnx: move the model to the CPU first (model.to('cpu'))")
    if batch < 1:
        raise ValueError(f"export_onnx: batch must be >= 1, got {batch}")
    z = torch.rand(batch, 3, template_size, template_size) * 255
    x = torch.rand(batch, 3, search_size, search_size) * 255
    paths = {"template": out_prefix + "_template.onnx", "track": out_prefix + "_track.onnx",
             "meta": out_prefix + ".json"}
    with evaluating(inner), torch.no_grad():
        inner.template(z)
        template_leaves, spec = flatten_tensors(inner._template_state)
        template_names = [f"t{i}" for i in range(len(template_leaves))]
        track = TrackGraph(inner, spec)
        dynamic_axes = None
        if dynamic_search:
            dynamic_axes = {"x": {2: "S", 3: "S"}, **{k: {2: "H", 3: "W"} for k in track.output_keys}}
        export_graph(TemplateGraph(inner), (z,), paths["template"], ["z"], template_names, opset)
        export_graph(track, (x, *template_leaves), paths["track"], ["x"] + template_names, track.output_keys, opset,
                dynamic_axes)
    meta = {"batch": batch, "template_size": template_size, "search_size": search_size,
            "dynamic_search": bool(dynamic_search),
            "template_outputs": template_names, "track_inputs": ["x"] + template_names,
            "track_outputs": track.output_keys, "input_format": "raw 0..255 BGR float32, NCHW"}
    with atomic_open(paths["meta"]) as f:
        json.dump(meta, f, indent=2)
    logger.debug("wrote %s and %s (batch %d, search %s)", paths["template"], paths["track"], batch,
                "any" if dynamic_search else search_size)
    return dict(paths, template_outputs=template_names, track_outputs=track.output_keys)


def verify_onnx(model: nn.Module, exported: Dict[str, Any], seed: int = 0,
                z: Optional[torch.Tensor] = None, x: Optional[torch.Tensor] = None,
                search_size: Optional[int] = None) -> Dict[str, float]:
    """Run both graphs with onnxruntime (CPU) and compare with PyTorch.

    Returns ``{output name: max |onnx - torch| / max(1, max |torch|)}`` for the
    track outputs. ``z``/``x`` default to random crops of the exported sizes
    (``x`` of side ``search_size`` if given, for a dynamic-search graph).
    """
    import onnxruntime as ort

    with open(exported["meta"]) as f:
        meta = json.load(f)
    g = torch.Generator().manual_seed(seed)
    b, tz, sx = meta["batch"], meta["template_size"], search_size or meta["search_size"]
    z = torch.rand(b, 3, tz, tz, generator=g) * 255 if z is None else z
    x = torch.rand(b, 3, sx, sx, generator=g) * 255 if x is None else x
    inner = unwrap_model(model)
    with evaluating(inner), torch.no_grad():
        inner.template(z)
        reference = inner.track(x)
    options = ort.SessionOptions()
    options.log_severity_level = 3
    template_sess = ort.InferenceSession(exported["template"], options, providers=["CPUExecutionProvider"])
    track_sess = ort.InferenceSession(exported["track"], options, providers=["CPUExecutionProvider"])
    template_out = template_sess.run(None, {"z": z.numpy()})
    feeds = {"x": x.numpy(), **{name: value for name, value in zip(meta["template_outputs"], template_out)}}
    track_out = track_sess.run(None, feeds)
    errors = {}
    for name, value in zip(meta["track_outputs"], track_out):
        ref = reference[name]
        if value.shape != tuple(ref.shape):
            raise ValueError(f"verify_onnx: {name} has shape {value.shape} in ONNX, {tuple(ref.shape)} in PyTorch")
        errors[name] = compare_outputs({name: ref}, {name: torch.from_numpy(value)})
    return errors


# ---------------------------------------------------------------- OpenCV's TrackerNano
# cv2.TrackerNano runs two networks of fixed names: the backbone (one input, one output) on both
# crops, and the "neckhead" with inputs input1 (template features) / input2 (search features) and
# outputs output1 (cls [1, 2, 16, 16]) / output2 (loc [1, 4, 16, 16]). Its C++ tracker hard-codes a
# 16x16 score map at stride 16 (NanoTrack V1/V2), and feeds crops as raw 0..255 values.
OPENCV_NANO_SCORE_SIZE = 16


class NanoBackboneGraph(nn.Module):
    """``image [1, 3, S, S]`` -> backbone features ``[1, C, S/16, S/16]``."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = unwrap_model(model)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        features = self.model.backbone(image)
        return self.model.neck(features) if "neck" in self.model._modules else features


class NanoNeckHeadGraph(nn.Module):
    """``(template features [1, C, 8, 8], search features [1, C, 16, 16])`` -> ``(cls, loc)``."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = unwrap_model(model)

    def forward(self, z_f: torch.Tensor, x_f: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        head = self.model.head
        return head.match(head.prepare_template(z_f), x_f)


def export_opencv_nano(model: nn.Module, out_prefix: str, opset: int = 14, template_size: int = 127,
                       search_size: int = 255) -> Dict[str, str]:
    """Write ``<out_prefix>_backbone.onnx`` and ``<out_prefix>_neckhead.onnx`` for ``cv2.TrackerNano``.

    ``model``: a NanoTrack model (BAN head) on the CPU. The backbone graph is traced on a search
    crop with a dynamic spatial size, so OpenCV can run it on the 127 template as well.
    Raises ``ValueError`` for a model OpenCV's tracker cannot run (no BAN head, or a score map
    other than 16x16, such as NanoTrack V3's 15x15).
    """
    inner = unwrap_model(model)
    if not getattr(inner, "is_point_based", False):
        raise ValueError("--opencv: cv2.TrackerNano runs NanoTrack models only (a BAN head: BAN.BAN True)")
    if model_device(inner).type != "cpu":
        raise ValueError("export_opencv_nano: move the model to the CPU first (model.to('cpu'))")
    z = torch.rand(1, 3, template_size, template_size) * 255
    x = torch.rand(1, 3, search_size, search_size) * 255
    paths = {"backbone": out_prefix + "_backbone.onnx", "neckhead": out_prefix + "_neckhead.onnx"}
    with evaluating(inner), torch.no_grad():
        backbone = NanoBackboneGraph(inner)
        z_f, x_f = backbone(z), backbone(x)
        cls, _ = NanoNeckHeadGraph(inner)(z_f, x_f)
        if tuple(cls.shape[-2:]) != (OPENCV_NANO_SCORE_SIZE, OPENCV_NANO_SCORE_SIZE):
            raise ValueError(f"--opencv: cv2.TrackerNano assumes a {OPENCV_NANO_SCORE_SIZE}x{OPENCV_NANO_SCORE_SIZE} "
                             f"score map; this model gives {cls.shape[-2]}x{cls.shape[-1]} (NanoTrack V1/V2 only)")
        export_graph(backbone, (x,), paths["backbone"], ["input"], ["output"], opset,
                {"input": {2: "H", 3: "W"}, "output": {2: "h", 3: "w"}})
        export_graph(NanoNeckHeadGraph(inner), (z_f, x_f), paths["neckhead"], ["input1", "input2"],
                ["output1", "output2"], opset)
    logger.info("wrote %s and %s (cv2.TrackerNano)", paths["backbone"], paths["neckhead"])
    return paths


def verify_opencv_nano(model: nn.Module, paths: Dict[str, str], seed: int = 0, template_size: int = 127,
                       search_size: int = 255) -> Dict[str, float]:
    """Run the cv2.TrackerNano pair with onnxruntime (backbone on both crops, then the neckhead) and
    compare with PyTorch: ``{"template_features", "search_features", "cls", "loc": max relative error}``."""
    import onnxruntime as ort

    g = torch.Generator().manual_seed(seed)
    z = torch.rand(1, 3, template_size, template_size, generator=g) * 255
    x = torch.rand(1, 3, search_size, search_size, generator=g) * 255
    inner = unwrap_model(model)
    with evaluating(inner), torch.no_grad():
        backbone = NanoBackboneGraph(inner)
        z_f, x_f = backbone(z), backbone(x)
        cls, loc = NanoNeckHeadGraph(inner)(z_f, x_f)
    options = ort.SessionOptions()
    options.log_severity_level = 3
    backbone_sess = ort.InferenceSession(paths["backbone"], options, providers=["CPUExecutionProvider"])
    head_sess = ort.InferenceSession(paths["neckhead"], options, providers=["CPUExecutionProvider"])
    (oz,) = backbone_sess.run(None, {"input": z.numpy()})
    (ox,) = backbone_sess.run(None, {"input": x.numpy()})
    ocls, oloc = head_sess.run(None, {"input1": oz, "input2": ox})
    pairs = {"template_features": (z_f, oz), "search_features": (x_f, ox), "cls": (cls, ocls), "loc": (loc, oloc)}
    return {k: compare_outputs({k: ref}, {k: torch.from_numpy(value)}) for k, (ref, value) in pairs.items()}
