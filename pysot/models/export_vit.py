"""The single ONNX network ``cv2.TrackerVit`` loads (VitTrack's one-stream model).

Contract (OpenCV's ``modules/video/src/tracking/tracker_vit.cpp``): inputs ``template``
``[1, 3, 128, 128]`` and ``search`` ``[1, 3, 256, 256]``, float32, BGR planes normalised as
``(pixel / 255 - mean) / std`` with the ImageNet mean and std in that order; outputs
``output1`` score ``[1, 1, 16, 16]``, ``output2`` size ``[1, 2, 16, 16]``, ``output3`` offset
``[1, 2, 16, 16]``. OpenCV sets ``template`` once at ``init`` and runs the net per frame.
"""
from __future__ import annotations

from typing import Dict, Tuple

import torch
import torch.nn as nn

from pysot.models.export import evaluating, export_graph, unwrap_model, compare_outputs
from pysot.utils.log import get_logger
from pysot.utils.model_load import model_device

__all__ = ["VitGraph", "export_opencv_vit", "verify_opencv_vit", "OPENCV_VIT_SIZES"]

logger = get_logger("pysot.export")

# tracker_vit.cpp's fixed sizes: template, search, score map side.
OPENCV_VIT_SIZES = (128, 256, 16)


class VitGraph(nn.Module):
    """``(template, search)`` -> ``(score, size, offset)``: the one-stream model without its template cache."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = unwrap_model(model)

    def forward(self, template: torch.Tensor, search: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        return self.model.forward_maps(template, search)


def _check(model: nn.Module) -> nn.Module:
    inner = unwrap_model(model)
    if not getattr(inner, "one_stream", False):
        raise ValueError("--opencv: cv2.TrackerVit runs one-stream models (CENTER.CENTER True, e.g. "
                         "experiments/vittrack)")
    if model_device(inner).type != "cpu":
        raise ValueError("export_opencv_vit: move the model to the CPU first (model.to('cpu'))")
    t, s, f = OPENCV_VIT_SIZES
    if (inner.template_size, inner.search_size) != (t, s):
        raise ValueError(f"--opencv: cv2.TrackerVit crops a {t}-px template and a {s}-px search region; this "
                         f"model takes {inner.template_size} and {inner.search_size}")
    return inner


def export_opencv_vit(model: nn.Module, out_path: str, opset: int = 14) -> str:
    """Write ``out_path`` (an ``.onnx`` file) for ``cv2.TrackerVit_Params.net``; return the path.

    Raises ``ValueError`` for a model OpenCV's tracker cannot run (not one-stream, other crop sizes,
    a score map other than 16x16).
    """
    inner = _check(model)
    t, s, f = OPENCV_VIT_SIZES
    z, x = torch.randn(1, 3, t, t), torch.randn(1, 3, s, s)
    with evaluating(inner), torch.no_grad():
        graph = VitGraph(inner)
        score, _, _ = graph(z, x)
        if tuple(score.shape[-2:]) != (f, f):
            raise ValueError(f"--opencv: cv2.TrackerVit assumes a {f}x{f} score map; this model gives "
                             f"{score.shape[-2]}x{score.shape[-1]}")
        export_graph(graph, (z, x), out_path, ["template", "search"], ["output1", "output2", "output3"], opset)
    logger.info("wrote %s (cv2.TrackerVit)", out_path)
    return out_path


def verify_opencv_vit(model: nn.Module, path: str, seed: int = 0) -> Dict[str, float]:
    """Run the export with onnxruntime on random crops and compare with PyTorch:
    ``{"score", "size", "offset": max relative error}``."""
    import onnxruntime as ort

    inner = _check(model)
    t, s, _ = OPENCV_VIT_SIZES
    g = torch.Generator().manual_seed(seed)
    z, x = torch.randn(1, 3, t, t, generator=g), torch.randn(1, 3, s, s, generator=g)
    with evaluating(inner), torch.no_grad():
        ref = VitGraph(inner)(z, x)
    options = ort.SessionOptions()
    options.log_severity_level = 3
    sess = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    outs = sess.run(["output1", "output2", "output3"], {"template": z.numpy(), "search": x.numpy()})
    return {k: compare_outputs({k: r}, {k: torch.from_numpy(o)}) for k, r, o in zip(("score", "size", "offset"), ref, outs)}
