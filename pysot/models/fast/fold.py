"""BatchNorm folding and activation fusion, found by tracing which module feeds which.

Pairs are found by *running* the model once on example crops and recording
which module produced each module's input, so any forward code (Sequential
stacks, ResNet blocks, necks) is handled without naming rules.
"""
from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional, Tuple

import torch
import torch.nn as nn

from pysot.models.fast.fuse import _ACTIVATIONS, _MONOTONE, FusedConv2d


# ---------------------------------------------------------------------- tracing
class _CallRecord:
    __slots__ = ("module", "input_producers")

    def __init__(self, module: nn.Module, input_producers: Tuple[Optional[nn.Module], ...]) -> None:
        self.module = module
        self.input_producers = input_producers


def _trace_producers(model: nn.Module, run: Callable[[], Any]) -> Tuple[List[_CallRecord], Any]:
    """Run ``run()`` recording, for each call of a leaf module, which leaf module produced its tensor inputs.

    Returns the records and what ``run()`` returned. Tensors are kept alive until the
    end, so Python ids are never reused within the trace.
    """
    producer: Dict[int, nn.Module] = {}
    keep: List[torch.Tensor] = []
    records: List[_CallRecord] = []

    def hook(module: nn.Module, inputs: Tuple[Any, ...], output: Any) -> None:
        tensors_in = [t for t in inputs if isinstance(t, torch.Tensor)]
        records.append(_CallRecord(module, tuple(producer.get(id(t)) for t in tensors_in)))
        if isinstance(output, torch.Tensor):
            producer[id(output)] = module
            keep.append(output)
        keep.extend(tensors_in)

    handles = [m.register_forward_hook(hook) for m in model.modules() if not list(m.children())]
    try:
        result = run()
    finally:
        for h in handles:
            h.remove()
    return records, result


class _Trace:
    """Per-module views of the call records: call counts and the producers of each call's inputs."""

    def __init__(self, records: List[_CallRecord]) -> None:
        self.calls: Dict[int, int] = {}
        self.producers: Dict[int, set] = {}
        for r in records:
            self.calls[id(r.module)] = self.calls.get(id(r.module), 0) + 1
            self.producers.setdefault(id(r.module), set()).add(r.input_producers)

    def single_producer(self, module: nn.Module) -> Optional[nn.Module]:
        """The one module that produced the (single) input of every call of ``module``, else ``None``."""
        producers = self.producers.get(id(module), set())
        if len(producers) != 1:
            return None
        (inputs,) = producers
        return inputs[0] if len(inputs) == 1 else None

    def count(self, module: nn.Module) -> int:
        return self.calls.get(id(module), 0)


def _replace_modules(model: nn.Module, replacements: Dict[int, nn.Module]) -> None:
    """Swap every submodule whose id is a key of ``replacements`` for its value, in place."""
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if id(child) in replacements:
                setattr(parent, name, replacements[id(child)])


def fold_and_fuse(model: nn.Module, run: Callable[[nn.Module], Any],
                  fuse_activations: bool = True) -> Tuple[Dict[str, int], Any]:
    """Fold BatchNorm into convolutions and fuse activations, in place (see the module docstring).

    Args:
        model: an eval-mode model; it is modified.
        run: ``run(model)`` performs a representative inference (every module on
            the inference path must be called at least once).
        fuse_activations: also turn ReLU / ReLU6 / Hardswish modules into convolution post-ops.
    Returns:
        counts ``{"convs", "folded_bn", "fused_act"}`` and what ``run`` returned on the
        unmodified model (a reference for checking the result).
    """
    records, reference = _trace_producers(model, lambda: run(model))
    trace = _Trace(records)
    consumers: Dict[int, int] = {}  # producer id -> number of modules fed only by it
    for module in model.modules():
        source = trace.single_producer(module)
        if source is not None:
            consumers[id(source)] = consumers.get(id(source), 0) + 1
    convs = [m for m in model.modules() if type(m) is nn.Conv2d and m.padding_mode == "zeros"
             and not isinstance(m.padding, str)]
    fused = {id(c): FusedConv2d.from_conv(c) for c in convs}
    conv_of: Dict[int, nn.Module] = {id(c): c for c in convs}  # module (conv or folded BN) -> its conv
    replacements: Dict[int, nn.Module] = dict(fused)
    folded = activations = 0
    for bn in [m for m in model.modules() if type(m) is nn.BatchNorm2d]:
        source = trace.single_producer(bn)
        if source is None or id(source) not in fused or trace.count(bn) != trace.count(source):
            continue
        if consumers.get(id(source), 0) > 1:
            continue  # the raw conv output has another consumer: folding would change what it sees
        fused[id(source)].fold_batchnorm(bn)
        conv_of[id(bn)] = source
        replacements[id(bn)] = nn.Identity()
        folded += 1
    if fuse_activations:
        for act in [m for m in model.modules() if type(m) in _ACTIVATIONS]:
            source = trace.single_producer(act)
            if source is not None and type(source) is nn.MaxPool2d and _ACTIVATIONS[type(act)] in _MONOTONE:
                # max(relu(a), relu(b)) == relu(max(a, b)): fusing before the pool is exact.
                source = trace.single_producer(source)
            if source is None or id(source) not in conv_of:
                continue
            conv = conv_of[id(source)]
            if trace.count(act) != trace.count(conv) or fused[id(conv)].activation != "none":
                continue
            fused[id(conv)].set_activation(_ACTIVATIONS[type(act)])
            replacements[id(act)] = nn.Identity()
            activations += 1
    _replace_modules(model, replacements)
    return {"convs": len(convs), "folded_bn": folded, "fused_act": activations}, reference

