"""``optimize_for_inference``: build, fold, fuse, verify (see :mod:`pysot.models.fast`)."""
from __future__ import annotations

import copy
import warnings
from typing import Optional, Tuple, Union

import torch
import torch.nn as nn

from pysot.models.fast.fold import fold_and_fuse
from pysot.models.fast.mobile import fast_squeeze_excite
from pysot.models.fast.model import FastModel
from pysot.models.fast.twin import twin_head
from pysot.models.fast.verify import Outputs, _check_against_reference
from pysot.models.fast.xcorr_choice import _DepthwiseChooser, _use_correlation
from pysot.models.tensor_tree import flatten_tensors, unflatten_tensors
from pysot.utils.log import get_logger
from pysot.utils.model_load import model_device

logger = get_logger("pysot.fast")


def _example_run(template_size: int, search_size: int, device: torch.device,
                 seed: int = 0) -> Tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    z = torch.rand(1, 3, template_size, template_size, generator=g) * 255
    x = torch.rand(1, 3, search_size, search_size, generator=g) * 255
    return z.to(device), x.to(device)


def _reference_run(model: nn.Module, z: torch.Tensor, x: torch.Tensor) -> Outputs:
    model.template(z)
    out = dict(model.track(x))
    inner = model.model if isinstance(model, FastModel) else model
    if "refine_head" in inner._modules:
        out["refine"] = model.mask_refine((x.shape[-1] // 64, x.shape[-1] // 64))
    return out


def _inference_run(model: nn.Module, z: torch.Tensor, x: torch.Tensor) -> Outputs:
    with torch.inference_mode():
        return _reference_run(model, z, x)


_AMP_DTYPES = {None: None, "none": None, "fp16": torch.float16, "float16": torch.float16,
               "bf16": torch.bfloat16, "bfloat16": torch.bfloat16}


def optimize_for_inference(model: nn.Module, device: Union[str, torch.device, None] = None, *,
                           fold_batchnorm: bool = True, fuse_activations: bool = True,
                           channels_last: Optional[bool] = None, amp: Optional[str] = None,
                           cuda_graph: Optional[bool] = None, triton_xcorr: bool = True,
                           search_size: int = 255, template_size: int = 127,
                           verify: bool = True, script_backbone: Optional[bool] = None) -> FastModel:
    """An inference-optimised copy of ``model`` on ``device``, wrapped as a :class:`FastModel`.

    Args:
        model: a built model (``template``/``track``), any device, any mode; not modified.
        device: target device (default: the model's).
        fold_batchnorm, fuse_activations: see the module docstring (exact in float32).
        channels_last: NHWC memory layout (default on: oneDNN's native layout on the CPU, where
            it saves the per-convolution layout reorders, and tensor-core friendly on GPU).
        amp: ``None`` (float32, exact), ``"fp16"`` or ``"bf16"`` autocast (CUDA).
        cuda_graph: capture ``track`` as a CUDA graph per input shape (default: on for CUDA,
            off for SiamMask, whose refine step reads intermediate features).
        triton_xcorr: on CUDA, let the Triton depthwise kernel replace cuDNN where it times faster.
        search_size, template_size: crop sizes of the example run used to trace and verify.
        verify: compare the optimised copy with ``model`` on the example crops; raise
            ``RuntimeError`` if they disagree beyond float32 rounding (only checked in float32).
        script_backbone: run the backbone as a frozen TorchScript graph prepared by
            ``torch.jit.optimize_for_inference`` (oneDNN prepacked convolutions, fused post-ops):
            for small mobile backbones on the CPU the per-op overhead of eager mode dominates.
            Default off: its fused kernels round differently enough that NanoTrack V1 on the real
            ``bag`` sequence drifts up to 1 px from the original code at frame 191 (16 frames over
            0.05 px; the eager fast path stays within 2.5e-4 px), and on a quiet machine it was no
            faster than the eager channels-last path (93.9 vs 96.2 fps, V1 bag, one thread).
    """
    device = torch.device(device) if device is not None else model_device(model)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(f"optimize_for_inference: device {device} requested but CUDA is not available")
    if amp not in _AMP_DTYPES:
        raise ValueError(f"optimize_for_inference: amp must be one of none, fp16, bf16; got {amp!r}")
    amp_dtype = _AMP_DTYPES[amp]
    if amp_dtype == torch.float16 and device.type != "cuda":
        raise ValueError("optimize_for_inference: amp='fp16' is for CUDA; on the CPU use amp='bf16' (or none)")
    if channels_last is None:
        channels_last = True
    if cuda_graph is None:
        cuda_graph = device.type == "cuda"
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # crops have fixed sizes: autotuning pays off at once

    fast = copy.deepcopy(model).to(device).eval()
    for p in fast.parameters():
        p.requires_grad_(False)
    z, x = _example_run(template_size, search_size, device)
    # Runs on the copy, so the caller's model keeps its cached template. The traced run, made
    # before any change, is the reference of the verification below. The new weights are made
    # outside inference mode: inference tensors could not be traced by the ONNX exporter.
    with torch.no_grad():
        if fold_batchnorm:
            stats, reference = fold_and_fuse(fast, lambda m: _inference_run(m, z, x), fuse_activations)
            logger.debug("fast path: %s", stats)
        else:
            reference = _inference_run(fast, z, x) if verify else None
    if script_backbone is None:
        script_backbone = False
    if fold_batchnorm and device.type == "cpu":
        twinned = twin_head(fast)
        if twinned:
            logger.debug("fast path: %s", twinned)
    gates = fast_squeeze_excite(fast)
    if gates:
        logger.debug("fast path: %d squeeze-excite gates as single functions", gates)
    _direct_sequentials(fast)
    if channels_last:
        fast = fast.to(memory_format=torch.channels_last)
    if script_backbone:
        _script_backbone(fast, z, x)
    if device.type == "cuda" and triton_xcorr:
        _use_correlation(fast, _DepthwiseChooser())
    wrapped = FastModel(fast, device, channels_last=channels_last, amp_dtype=amp_dtype, cuda_graph=cuda_graph)
    if verify:
        candidate = _inference_run(wrapped, z, x)
        _check_against_reference(reference, candidate, device, amp_dtype)
    return wrapped


class _DirectSequential(nn.Sequential):
    """An ``nn.Sequential`` that calls its children's ``forward`` directly and skips the
    ``Identity`` modules folding left in place of BatchNorms and fused activations.

    The fast copy registers no hooks on its modules, and ``nn.Module.__call__`` costs a few
    microseconds per child: NanoTrack's small maps make ~150 such calls a frame worth saving.
    """

    def forward(self, x):
        for module in self._modules.values():
            if type(module) is not nn.Identity:
                x = module.forward(x)
        return x


def _direct_sequentials(model: nn.Module) -> None:
    for module in model.modules():
        if type(module) is nn.Sequential:
            module.__class__ = _DirectSequential


class _ScriptedMatch(nn.Module):
    """A head whose ``match`` runs as a frozen TorchScript graph; ``prepare_template`` stays the head's.

    The template cache (a nested dict/tuple of tensors) enters the graph as flat tensor inputs.
    The graph holds the traced batch size (a grouped correlation folds the batch into its
    groups); other batch sizes (MultiTracker) run the eager head.
    """

    def __init__(self, head: nn.Module, graph: torch.jit.ScriptModule, spec, batch: int) -> None:
        super().__init__()
        self.head, self.graph, self.spec, self.batch = head, graph, spec, int(batch)

    def prepare_template(self, z_f):
        return self.head.prepare_template(z_f)

    def match(self, template, x_f):
        if x_f.size(0) != self.batch:
            return self.head.match(template, x_f)
        leaves, _ = flatten_tensors(template)
        return self.graph(x_f, *leaves)

    def forward(self, z_f, x_f):
        return self.match(self.prepare_template(z_f), x_f)


class _MatchGraph(nn.Module):
    def __init__(self, head: nn.Module, spec) -> None:
        super().__init__()
        self.head, self.spec = head, spec

    def forward(self, x_f: torch.Tensor, *leaves: torch.Tensor):
        return self.head.match(unflatten_tensors(list(leaves), self.spec), x_f)


def _script(module: nn.Module, example: tuple) -> torch.jit.ScriptModule:
    with warnings.catch_warnings():
        # Shape checks become constants (intended) and TorchScript announces its deprecation.
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        warnings.simplefilter("ignore", FutureWarning)
        traced = torch.jit.trace(module, example, check_trace=False)
        return torch.jit.optimize_for_inference(torch.jit.freeze(traced.eval()))


def _script_backbone(model: nn.Module, z: torch.Tensor, x: torch.Tensor) -> None:
    """Replace ``model.backbone`` by its traced, frozen, inference-optimised TorchScript graph, and
    the BAN head's per-frame ``match`` likewise (template work stays eager, it runs once).

    Tracing follows the (folded) modules' standard ops, which ``optimize_for_inference`` turns
    into oneDNN prepacked convolutions with fused activations. The backbone graph takes any crop
    size (template and search alike): the verification that follows checks both. A part that
    cannot be traced stays eager (logged).
    """
    try:
        with torch.no_grad():
            backbone = model.backbone
            model.backbone = _script(backbone, (x,))
            if "ban_head" in model._modules:
                head = model.ban_head
                z_f, x_f = model._features(z)[0], model._features(x)[0]
                leaves, spec = flatten_tensors(head.prepare_template(z_f))
                graph = _script(_MatchGraph(head, spec), (x_f, *leaves))
                model.ban_head = _ScriptedMatch(head, graph, spec, x_f.size(0))
    except (RuntimeError, TypeError, ValueError) as e:  # pragma: no cover - depends on the torch build
        logger.warning("fast path: network left eager (TorchScript failed: %s)", str(e).splitlines()[0])
