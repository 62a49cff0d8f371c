"""Loading weights into a model: PySOT / DataParallel / DDP checkpoints alike."""
from __future__ import annotations

import os
from collections import OrderedDict
from typing import Any, Mapping, Optional, Union

import torch
import torch.nn as nn

from pysot.utils.checkpoint import CheckpointError, safe_torch_load
from pysot.utils.log import get_logger

logger = get_logger("pysot.model_load")

__all__ = ["CheckpointMismatchError", "load_pretrain", "model_device", "read_state_dict", "remove_prefix"]


class CheckpointMismatchError(KeyError):
    """Checkpoint keys that do not match the model's (strict loading)."""

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return str(self.args[0]) if self.args else ""

_WRAPPER_KEYS = ("state_dict", "model")


def model_device(model: nn.Module) -> torch.device:
    """The device of ``model``'s first parameter (the CPU for a model without parameters)."""
    try:
        return next(model.parameters()).device
    except StopIteration:
        return torch.device("cpu")


def remove_prefix(state_dict: Mapping[str, Any], prefix: str = "module.") -> "OrderedDict[str, Any]":
    """Drop ``prefix`` from every key that has it (DataParallel / DDP wrap names with ``module.``)."""
    return OrderedDict((k[len(prefix):] if k.startswith(prefix) else k, v) for k, v in state_dict.items())


def _source_name(path_or_state_dict: Union[str, os.PathLike, Mapping[str, Any]]) -> str:
    """How errors name a checkpoint: its path, or ``state_dict`` for one given in memory."""
    if isinstance(path_or_state_dict, (str, os.PathLike)):
        return os.fspath(path_or_state_dict)
    return "state_dict"


def read_state_dict(path_or_state_dict: Union[str, os.PathLike, Mapping[str, Any]]) -> "OrderedDict[str, torch.Tensor]":
    """A flat ``name -> tensor`` dict from a file or an in-memory checkpoint.

    Accepts a bare state_dict, ``{"state_dict": ...}`` (PySOT training
    snapshots) and ``{"model": ...}``; strips ``module.`` prefixes. Files are
    read onto the CPU.
    """
    source = _source_name(path_or_state_dict)
    if isinstance(path_or_state_dict, (str, os.PathLike)):
        if not os.path.isfile(source):
            raise FileNotFoundError(f"checkpoint not found: {source}")
        try:
            checkpoint = safe_torch_load(source, map_location="cpu")
        except CheckpointError as e:
            raise ValueError(str(e)) from None
        except Exception as e:  # a pickle that needs more than tensors, or not a torch file
            raise ValueError(f"{source}: cannot be read as a PyTorch checkpoint ({type(e).__name__}: {e})") from None
    else:
        checkpoint = path_or_state_dict
    if not isinstance(checkpoint, Mapping):
        raise ValueError(f"{source}: expected a state_dict (a mapping), got {type(checkpoint).__name__}")
    for key in _WRAPPER_KEYS:
        inner = checkpoint.get(key)
        if isinstance(inner, Mapping) and inner and all(isinstance(v, torch.Tensor) for v in inner.values()):
            checkpoint = inner
            break
    tensors = OrderedDict((k, v) for k, v in checkpoint.items() if isinstance(v, torch.Tensor))
    if not tensors:
        raise ValueError(f"{source}: holds no tensors (keys: {', '.join(list(checkpoint)[:8])})")
    # A diverged run saves NaN weights; tracking with them gives NaN scores on every frame, so refuse here.
    bad = [k for k, v in tensors.items() if v.is_floating_point() and not bool(torch.isfinite(v).all())]
    if bad:
        raise ValueError(f"{source}: {len(bad)} tensor(s) hold NaN or inf values: {_summarise(bad)}")
    return remove_prefix(tensors)


def _summarise(keys: list, limit: int = 6) -> str:
    shown = ", ".join(keys[:limit])
    return shown + (f" ... (+{len(keys) - limit} more)" if len(keys) > limit else "")


def load_pretrain(model: nn.Module, path_or_state_dict: Union[str, os.PathLike, Mapping[str, Any]],
                  strict: bool = False, name: Optional[str] = None) -> nn.Module:
    """Load weights into ``model`` (in place) and return it.

    Missing and unexpected keys are logged as a warning (``strict=False``) or
    raised as :class:`CheckpointMismatchError` (a ``KeyError``, ``strict=True``); a tensor whose shape differs
    from the model's always raises a ``ValueError`` naming the key. BN
    ``num_batches_tracked`` counters absent from old files are not reported.
    A checkpoint none of whose tensors belongs to the model (another network, or
    backbone weights given for a whole model) raises :class:`CheckpointMismatchError`
    even with ``strict=False``: it would leave the model as initialised.
    ``name`` is how errors and logs call the checkpoint (default: its path, or
    ``state_dict`` for one given in memory, e.g. the file it was read from).
    """
    state_dict = read_state_dict(path_or_state_dict)
    source = name or _source_name(path_or_state_dict)
    own = model.state_dict()
    mismatched = [
        f"{k}: checkpoint {tuple(v.shape)} vs model {tuple(own[k].shape)}"
        for k, v in state_dict.items()
        if k in own and tuple(v.shape) != tuple(own[k].shape)
    ]
    if mismatched:
        raise ValueError(f"{source}: shape mismatch: " + "; ".join(mismatched[:5]) + (" ..." if len(mismatched) > 5 else ""))
    missing = [k for k in own if k not in state_dict and not k.endswith("num_batches_tracked")]
    unexpected = [k for k in state_dict if k not in own]
    if own and len(unexpected) == len(state_dict):
        raise CheckpointMismatchError(
            f"{source}: none of its {len(state_dict)} tensors belongs to the model "
            f"(checkpoint keys: {_summarise(list(state_dict), 3)}; model keys: {_summarise(list(own), 3)})")
    if strict and (missing or unexpected):
        parts = []
        if missing:
            parts.append(f"missing {len(missing)}: {_summarise(missing)}")
        if unexpected:
            parts.append(f"unexpected {len(unexpected)}: {_summarise(unexpected)}")
        raise CheckpointMismatchError(f"{source}: checkpoint does not match the model; " + "; ".join(parts))
    if missing:
        logger.warning("%s: missing %d keys (left as initialised): %s", source, len(missing), _summarise(missing))
    if unexpected:
        logger.warning("%s: unexpected %d keys (ignored): %s", source, len(unexpected), _summarise(unexpected))
    model.load_state_dict(state_dict, strict=False)
    loaded = len(state_dict) - len(unexpected)
    logger.info("%s: loaded %d/%d tensors", source, loaded, len(own))
    return model
