"""Nested template caches as flat tensor lists, and back.

A head's ``prepare_template`` returns a tensor or a nested dict/list/tuple of tensors. Two
consumers need it as a flat list of tensors: ONNX export (graph inputs and outputs,
:mod:`pysot.models.export`) and the fast path's batched template step
(:mod:`pysot.models.fast.optimize`). They share these two functions.
"""
from __future__ import annotations

from typing import Any, List, Sequence, Tuple

import torch

__all__ = ["flatten_tensors", "unflatten_tensors"]


def flatten_tensors(tree: Any) -> Tuple[List[torch.Tensor], Any]:
    """``(leaves, spec)``: the tensors of a nested dict/list/tuple in order, and a spec that
    :func:`unflatten_tensors` rebuilds the same structure from; a ``TypeError`` for other leaves."""
    if isinstance(tree, torch.Tensor):
        return [tree], None
    if isinstance(tree, dict):
        leaves, specs = [], []
        for key in tree:
            sub, spec = flatten_tensors(tree[key])
            leaves += sub
            specs.append((key, len(sub), spec))
        return leaves, ("dict", specs)
    if isinstance(tree, (list, tuple)):
        leaves, specs = [], []
        for item in tree:
            sub, spec = flatten_tensors(item)
            leaves += sub
            specs.append((None, len(sub), spec))
        return leaves, ("list" if isinstance(tree, list) else "tuple", specs)
    raise TypeError(f"template cache holds a {type(tree).__name__}; only tensors, dicts, lists and tuples export")


def unflatten_tensors(leaves: Sequence[torch.Tensor], spec: Any) -> Any:
    """The structure ``spec`` describes, filled with ``leaves`` (as :func:`flatten_tensors` gave them)."""
    if spec is None:
        (leaf,) = leaves
        return leaf
    kind, items = spec
    out, start = [], 0
    for key, count, sub in items:
        out.append((key, unflatten_tensors(leaves[start : start + count], sub)))
        start += count
    if kind == "dict":
        return {k: v for k, v in out}
    values = [v for _, v in out]
    return values if kind == "list" else tuple(values)
