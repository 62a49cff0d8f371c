"""Export of an UP-channel SiamRPN / DaSiamRPN model for OpenCV's ``cv2.TrackerDaSiamRPN``.

OpenCV's tracker (``modules/video/src/tracking/tracker_dasiamrpn.cpp``, 4.x and 5.x) loads
three ONNX files and drives them by fixed tensor names:

* ``model`` (the main net), one input (a raw 0..255 BGR crop, NCHW float32):
  - run on the 127-px template crop, its intermediate output ``63`` is read: the backbone's
    template features ``[1, 256, 6, 6]``;
  - run on the 271-px search crop, its two graph outputs are read in order: ``delta``
    ``[1, 20, 19, 19]`` (the regression map after ``loc_adjust``), then the score
    ``[1, 10, 19, 19]`` (cls logits; OpenCV applies the softmax over the 2 of each anchor),
    which is the output of the classification correlation and therefore named ``68``;
  - the two correlations are Conv nodes with constant weights whose outputs are named ``65``
    (regression, weight ``[20, 256, 4, 4]``) and ``68`` (classification, ``[10, 256, 4, 4]``):
    at ``init`` OpenCV overwrites those weights with the kernels of the target
    (``Net.setParam(layer, 0, kernel)``).
* ``kernel_r1``: template features ``[1, 256, 6, 6]`` -> ``[1, 5120, 4, 4]`` (our
  ``template_loc_conv``), reshaped by OpenCV to ``[20, 256, 4, 4]``.
* ``kernel_cls1``: the same for classification, ``[1, 2560, 4, 4]`` -> ``[10, 256, 4, 4]``.

OpenCV 5's graph engine calls the same nodes ``onnx_node_output_0!63`` (``!65``, ``!68``); both
engines name a node after its first output, so renaming the output tensors serves both.
The shapes are fixed in OpenCV's C++: 256 feature channels, 5 anchors (ratios 0.33, 0.5, 1, 2, 3,
scale 8, stride 8), a 6x6 template feature map and a 19x19 score map for a 271-px search.
DaSiamRPN's SiamRPNvot/otb networks and UP-channel SiamRPN (AlexNet) fit; SiamRPNBIG (512
channels) and depthwise-correlation models do not.
"""
from __future__ import annotations

from typing import Dict, List, Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from pysot.models.export import evaluating, export_graph, unwrap_model
from pysot.utils.fileio import atomic_open
from pysot.utils.log import get_logger
from pysot.utils.model_load import model_device

logger = get_logger("pysot.export")

__all__ = ["OPENCV_DASIAMRPN", "OPENCV_DASIAMRPN_FILES", "export_opencv_dasiamrpn", "verify_opencv_dasiamrpn",
           "check_opencv_dasiamrpn_model", "check_opencv_dasiamrpn_anchors", "opencv_names"]

# What cv2.TrackerDaSiamRPN hard-codes (trackerConfig in tracker_dasiamrpn.cpp).
OPENCV_DASIAMRPN = {
    "exemplar_size": 127, "instance_size": 271, "stride": 8, "ratios": (0.33, 0.5, 1.0, 2.0, 3.0), "scales": (8,),
    "channels": 256, "anchor_num": 5, "kernel_size": 4, "score_size": 19,
    "window_influence": 0.43, "penalty_k": 0.055, "lr": 0.4, "context_amount": 0.5,
}
# TrackerDaSiamRPN_Params attribute -> file suffix written by export_opencv_dasiamrpn.
OPENCV_DASIAMRPN_FILES = {"model": "_model.onnx", "kernel_cls1": "_kernel_cls1.onnx", "kernel_r1": "_kernel_r1.onnx"}
# Tensor names the C++ tracker asks for.
FEATURE_NAME, LOC_CORR_NAME, CLS_CORR_NAME = "63", "65", "68"


def opencv_names(name: str) -> Tuple[str, str]:
    """The names cv2.TrackerDaSiamRPN may use for the node whose output is ``name``: OpenCV's
    current ONNX naming ``onnx_node_output_0!<name>`` (4.6+ importer; the 5.x graph engine also
    accepts it for an output tensor), then the legacy bare ``<name>`` (older 4.x)."""
    return "onnx_node_output_0!" + name, name


def _by_opencv_name(call, name: str):
    """``call(layer_name)`` with the first of :func:`opencv_names` this OpenCV accepts."""
    import cv2

    first, legacy = opencv_names(name)
    try:
        return call(first)
    except cv2.error as e:
        try:
            return call(legacy)
        except cv2.error:
            raise e from None


def check_opencv_dasiamrpn_model(model: nn.Module) -> None:
    """Raise ``ValueError`` (one line, the reason) if cv2.TrackerDaSiamRPN cannot run ``model``."""
    from pysot.models.head.rpn import UPChannelRPN

    inner = unwrap_model(model)
    head = getattr(inner, "rpn_head", None)
    if not isinstance(head, UPChannelRPN):
        raise ValueError("--opencv: cv2.TrackerDaSiamRPN runs UP-channel SiamRPN / DaSiamRPN models only "
                         f"(RPN.TYPE UPChannelRPN; this model's head is {type(head).__name__})")
    if getattr(inner, "has_mask", False) or "neck" in inner._modules:
        raise ValueError("--opencv: cv2.TrackerDaSiamRPN runs a backbone and an UP-channel head only "
                         "(no neck, no mask branch)")
    channels = head.search_cls_conv.in_channels
    anchors = head.template_cls_conv.out_channels // (2 * channels)
    want_c, want_a = OPENCV_DASIAMRPN["channels"], OPENCV_DASIAMRPN["anchor_num"]
    if (channels, anchors) != (want_c, want_a):
        raise ValueError(f"--opencv: cv2.TrackerDaSiamRPN reshapes the kernels to {want_c} channels and "
                         f"{want_a} anchors; this model has {channels} channels and {anchors} anchors "
                         "(SiamRPNBIG's 512 channels do not fit)")


def check_opencv_dasiamrpn_anchors(stride: int, ratios, scales) -> Optional[str]:
    """A one-line reason why OpenCV's fixed anchors differ from a config's, or None."""
    want = OPENCV_DASIAMRPN
    same = (int(stride) == want["stride"] and len(ratios) == len(want["ratios"])
            and all(abs(float(a) - b) < 1e-6 for a, b in zip(ratios, want["ratios"]))
            and [float(s) for s in scales] == [float(s) for s in want["scales"]])
    if same:
        return None
    return (f"ANCHOR (stride {stride}, ratios {list(ratios)}, scales {list(scales)}) differs from "
            f"cv2.TrackerDaSiamRPN's fixed anchors (stride {want['stride']}, ratios {list(want['ratios'])}, "
            f"scales {list(want['scales'])}): OpenCV would decode this model's boxes wrongly")


class OpenCVDaSiamRPNMain(nn.Module):
    """The ``model`` file: crop ``[1, 3, S, S]`` -> ``(delta [1, 20, s, s], score [1, 10, s, s])``.

    The correlation kernels are parameters (ONNX initializers) that OpenCV replaces at ``init``;
    they start as the kernels of ``example_z`` so that the file alone is a valid network.
    """

    def __init__(self, model: nn.Module, loc_kernel: torch.Tensor, cls_kernel: torch.Tensor) -> None:
        super().__init__()
        inner = unwrap_model(model)
        self.backbone = inner.backbone
        self.head = inner.rpn_head
        self.loc_kernel = nn.Parameter(loc_kernel.detach().clone(), requires_grad=False)
        self.cls_kernel = nn.Parameter(cls_kernel.detach().clone(), requires_grad=False)

    def forward(self, crop: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        features = self.backbone(crop)  # renamed "63" in the file
        # Regression first: OpenCV reads the unconnected outputs in order, delta then score.
        delta = self.head.loc_adjust(F.conv2d(self.head.search_loc_conv(features), self.loc_kernel))
        score = F.conv2d(self.head.search_cls_conv(features), self.cls_kernel)
        return delta, score


class _KernelNet(nn.Module):
    """A ``kernel_r1``/``kernel_cls1`` file: template features ``[1, 256, 6, 6]`` -> ``[1, 256*k, 4, 4]``."""

    def __init__(self, conv: nn.Conv2d) -> None:
        super().__init__()
        self.conv = conv

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.conv(features)


def _as_opencv_kernel(kernel: torch.Tensor) -> torch.Tensor:
    """``[1, C*k, h, w]`` template kernel -> the ``[k, C, h, w]`` Conv weight OpenCV makes of it."""
    channels = OPENCV_DASIAMRPN["channels"]
    return kernel.reshape(-1, channels, kernel.size(-2), kernel.size(-1))


def _rename_for_opencv(path: str, feature_output: str) -> None:
    """Rename, in the ONNX file at ``path``, the backbone's output to ``63`` and the two
    constant-weight correlation Conv outputs to ``65`` (regression) and ``68`` (classification)."""
    import onnx

    model = onnx.load(path)
    graph = model.graph
    shapes = {init.name: tuple(init.dims) for init in graph.initializer}
    channels, k = OPENCV_DASIAMRPN["channels"], OPENCV_DASIAMRPN["kernel_size"]
    a = OPENCV_DASIAMRPN["anchor_num"]
    weight_to_name = {(4 * a, channels, k, k): LOC_CORR_NAME, (2 * a, channels, k, k): CLS_CORR_NAME}
    renames: Dict[str, str] = {feature_output: FEATURE_NAME}
    for node in graph.node:
        if node.op_type == "Conv" and len(node.input) >= 2 and shapes.get(node.input[1]) in weight_to_name:
            renames[node.output[0]] = weight_to_name[shapes[node.input[1]]]
    found = sorted(renames.values())
    if found != sorted([FEATURE_NAME, LOC_CORR_NAME, CLS_CORR_NAME]):
        raise RuntimeError(f"export for cv2.TrackerDaSiamRPN: expected tensors 63, 65, 68 in {path}, found {found}")
    taken = {name for node in graph.node for name in list(node.input) + list(node.output)}
    clash = taken & set(renames.values()) - set(renames)
    if clash:  # a traced name already equal to "63"... would make the graph ambiguous
        raise RuntimeError(f"export for cv2.TrackerDaSiamRPN: {path} already has tensors {sorted(clash)}")
    for node in graph.node:
        node.input[:] = [renames.get(n, n) for n in node.input]
        node.output[:] = [renames.get(n, n) for n in node.output]
        # OpenCV names a layer after its node's name when it has one, else after its first output
        # ("63", or "onnx_node_output_0!63" in the new naming): nameless nodes, as in the files of
        # OpenCV's own conversion, are what its tracker looks up.
        node.name = ""
    for value in list(graph.value_info) + list(graph.output):
        value.name = renames.get(value.name, value.name)
    with atomic_open(path, "wb") as f:
        f.write(model.SerializeToString())


def _backbone_output_name(path: str) -> str:
    """The tensor that feeds the search convolutions: the input shared by the two 3x3 search Convs."""
    import onnx

    graph = onnx.load(path).graph
    consumers: Dict[str, List[str]] = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node.op_type)
    graph_inputs = {i.name for i in graph.input}
    # The backbone output is the only tensor read by exactly two Convs (search_loc_conv, search_cls_conv).
    candidates = [n for n, ops in consumers.items() if ops == ["Conv", "Conv"] and n not in graph_inputs]
    if len(candidates) != 1:
        raise RuntimeError(f"export for cv2.TrackerDaSiamRPN: cannot find the backbone output in {path} "
                           f"({candidates})")
    return candidates[0]


def export_opencv_dasiamrpn(model: nn.Module, out_prefix: str, opset: int = 11) -> Dict[str, str]:
    """Write ``<out_prefix>_model.onnx``, ``_kernel_cls1.onnx`` and ``_kernel_r1.onnx`` for
    ``cv2.TrackerDaSiamRPN`` (its ``Params.model``, ``.kernel_cls1``, ``.kernel_r1``).

    ``model``: an UP-channel SiamRPN / DaSiamRPN model on the CPU (checked by
    :func:`check_opencv_dasiamrpn_model`); left as it was (mode, cached template).
    Returns ``{"model": path, "kernel_cls1": path, "kernel_r1": path}``.
    """
    check_opencv_dasiamrpn_model(model)
    inner = unwrap_model(model)
    if model_device(inner).type != "cpu":
        raise ValueError("export_opencv_dasiamrpn: move the model to the CPU first (model.to('cpu'))")
    spec = OPENCV_DASIAMRPN
    z = torch.rand(1, 3, spec["exemplar_size"], spec["exemplar_size"]) * 255
    x = torch.rand(1, 3, spec["instance_size"], spec["instance_size"]) * 255
    paths = {key: out_prefix + suffix for key, suffix in OPENCV_DASIAMRPN_FILES.items()}
    head = inner.rpn_head
    with evaluating(inner), torch.no_grad():
        z_f = inner.backbone(z)
        if tuple(z_f.shape[-2:]) != (spec["kernel_size"] + 2,) * 2:
            raise ValueError(f"--opencv: cv2.TrackerDaSiamRPN needs 6x6 template features for a 127-px crop; "
                             f"this backbone gives {z_f.shape[-2]}x{z_f.shape[-1]}")
        cls_kernel, loc_kernel = head.prepare_template(z_f)
        main = OpenCVDaSiamRPNMain(inner, _as_opencv_kernel(loc_kernel), _as_opencv_kernel(cls_kernel)).eval()
        delta, score = main(x)
        size = spec["score_size"]
        if tuple(score.shape[-2:]) != (size, size):
            raise ValueError(f"--opencv: cv2.TrackerDaSiamRPN assumes a {size}x{size} score map for a 271-px "
                             f"search; this model gives {score.shape[-2]}x{score.shape[-1]}")
        # OpenCV runs the main net on both crop sizes: trace it without fixed spatial sizes.
        export_graph(main, (x,), paths["model"], ["input"], ["delta", "score"], opset,
                {"input": {2: "H", 3: "W"}, "delta": {2: "h", 3: "w"}, "score": {2: "h", 3: "w"}})
        _rename_for_opencv(paths["model"], _backbone_output_name(paths["model"]))
        export_graph(_KernelNet(head.template_loc_conv), (z_f,), paths["kernel_r1"], ["input"], ["r1"], opset)
        export_graph(_KernelNet(head.template_cls_conv), (z_f,), paths["kernel_cls1"], ["input"], ["cls1"], opset)
    logger.info("wrote %s, %s and %s (cv2.TrackerDaSiamRPN)", *paths.values())
    return paths


def verify_opencv_dasiamrpn(model: nn.Module, paths: Dict[str, str], seed: int = 0) -> Dict[str, float]:
    """Drive the three files with ``cv2.dnn`` exactly as cv2.TrackerDaSiamRPN does (template
    features by name, kernels written into the correlation layers) and compare with PyTorch.

    Returns ``{"features", "delta", "score": max |cv2 - torch| / max(1, max |torch|)}``.
    """
    import cv2
    import numpy as np

    from pysot.models.fast import compare_outputs

    spec = OPENCV_DASIAMRPN
    g = torch.Generator().manual_seed(seed)
    z = torch.rand(1, 3, spec["exemplar_size"], spec["exemplar_size"], generator=g) * 255
    x = torch.rand(1, 3, spec["instance_size"], spec["instance_size"], generator=g) * 255
    inner = unwrap_model(model)
    with evaluating(inner), torch.no_grad():
        z_f = inner.backbone(z)
        inner.template(z)
        reference = inner.track(x)
    net, kernel_cls1, kernel_r1 = (cv2.dnn.readNet(paths[k]) for k in ("model", "kernel_cls1", "kernel_r1"))
    net.setInput(z.numpy())
    features = _by_opencv_name(net.forward, FEATURE_NAME)
    kernel_r1.setInput(features)
    kernel_cls1.setInput(features)
    r1 = kernel_r1.forward().reshape(4 * spec["anchor_num"], spec["channels"], spec["kernel_size"], -1)
    cls1 = kernel_cls1.forward().reshape(2 * spec["anchor_num"], spec["channels"], spec["kernel_size"], -1)
    # OpenCV's tracker does this: the target's kernels become the correlation Convs' weights.
    _by_opencv_name(lambda layer: net.setParam(layer, 0, np.ascontiguousarray(r1)), LOC_CORR_NAME)
    _by_opencv_name(lambda layer: net.setParam(layer, 0, np.ascontiguousarray(cls1)), CLS_CORR_NAME)
    net.setInput(x.numpy())
    delta, score = net.forward(net.getUnconnectedOutLayersNames())
    pairs = {"features": (z_f, features), "delta": (reference["loc"], delta), "score": (reference["cls"], score)}
    errors = {}
    for key, (ref, value) in pairs.items():
        value = np.asarray(value)
        if value.shape != tuple(ref.shape):
            raise ValueError(f"verify_opencv_dasiamrpn: {key} has shape {value.shape} in OpenCV, "
                             f"{tuple(ref.shape)} in PyTorch")
        errors[key] = compare_outputs({key: ref}, {key: torch.from_numpy(value.astype(np.float32))})
    return errors
