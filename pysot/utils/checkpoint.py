"""Training checkpoints: atomic writes, clear errors on damaged files, resume state.

A checkpoint is a dict ``{"epoch", "iteration", "state_dict", "optimizer",
"lr_scheduler", "config" (YAML text), "rng"}``; ``state_dict`` keys are the
model's own parameter names (no DDP ``module.`` prefix), as the original
PySOT's released snapshots.
"""
from __future__ import annotations

import os
import pickle
import random
import re
from typing import Any, Dict, List

import numpy as np
import torch

from pysot.utils.fileio import atomic_open, process_alive


class CheckpointError(RuntimeError):
    """A checkpoint that cannot be read (truncated, not a checkpoint); the message names the file."""


def _numpy_globals() -> list:
    """The numpy types PySOT-style snapshots pickle (the optimizer's ``lr`` is a numpy scalar).

    Numpy's scalar reconstructor and ``numpy.dtype`` (with the concrete classes of the
    numeric dtypes, which unpickling a dtype instantiates under numpy 2); nothing that
    can hold an object. Files written under numpy 1 name the reconstructor
    ``numpy.core.multiarray.scalar``; numpy 2 moved it to ``numpy._core``, so it is
    allowed under both names.
    """
    try:
        from numpy._core.multiarray import scalar
    except ImportError:  # numpy 1
        from numpy.core.multiarray import scalar  # type: ignore[no-redef]
    numeric = {type(np.dtype(code)) for code in "?bBhHiIlLqQefdgFDG"} - {np.dtype}
    return [(scalar, "numpy.core.multiarray.scalar"), (scalar, "numpy._core.multiarray.scalar"), np.dtype,
            *sorted(numeric, key=lambda t: t.__name__)]


def safe_torch_load(path: str, map_location: Any = "cpu") -> Any:
    """``torch.load(weights_only=True)``: tensors, containers and plain values, plus numpy scalars/dtypes.

    Never runs code from the file: a pickle that needs any other global is refused
    with a :class:`CheckpointError` naming the file and the global. Every user-supplied
    checkpoint in the project is read through here.
    """
    with torch.serialization.safe_globals(_numpy_globals()):
        try:
            return torch.load(path, map_location=map_location, weights_only=True)
        except pickle.UnpicklingError as e:
            text = str(e)
            # torch words it several ways: "Unsupported global: GLOBAL x.y", "unsupported GLOBAL
            # posix.system whose module posix is blocked" (os.system), "... but got <class 'x.y'>".
            match = (re.search(r"[Uu]nsupported (?:global: )?GLOBAL ([\w.]+)", text)
                     or re.search(r"but got <class '([\w.]+)'>", text))
            if match:
                raise CheckpointError(
                    f"{path}: refused: its pickle needs `{match.group(1)}`, which a weights-only load does not run "
                    "(checkpoints hold tensors, numbers, strings and numpy scalars); "
                    "if you trust the file, re-save its tensors with torch.save(model.state_dict())") from None
            raise CheckpointError(f"{path}: cannot read checkpoint (unpickling error)") from None


def atomic_torch_save(obj: Any, path: str) -> None:
    """``torch.save`` to ``path.tmp<pid>``, fsync, then ``os.replace``: readers never see half a file."""
    with atomic_open(path, "wb", fsync=True) as f:
        torch.save(obj, f)


def remove_stale_temporaries(folder: str) -> List[str]:
    """Delete ``*.pth.tmp<pid>`` files that a killed run left in ``folder`` (its process is gone);
    returns their paths. A checkpoint killed mid-write leaves such a file, as large as a checkpoint."""
    removed = []
    if not os.path.isdir(folder):
        return removed
    for name in os.listdir(folder):
        stem, sep, pid = name.rpartition(".tmp")
        if not (sep and stem.endswith(".pth") and pid.isdigit()) or process_alive(int(pid)):
            continue
        path = os.path.join(folder, name)
        try:
            os.remove(path)
        except FileNotFoundError:
            continue
        removed.append(path)
    return removed


def load_checkpoint(path: str, map_location: Any = "cpu") -> Dict[str, Any]:
    """Read a checkpoint written by :func:`atomic_torch_save`; damaged files raise :class:`CheckpointError`."""
    if not os.path.isfile(path):
        raise CheckpointError(f"checkpoint not found: {path}")
    try:
        ckpt = safe_torch_load(path, map_location=map_location)
    except CheckpointError:
        raise
    except Exception as e:  # torch raises several types for a truncated zip/pickle
        raise CheckpointError(f"{path}: cannot read checkpoint ({type(e).__name__}: {e}); "
                              "the file is truncated or not a PyTorch checkpoint") from None
    if not isinstance(ckpt, dict):
        raise CheckpointError(f"{path}: expected a dict checkpoint, got {type(ckpt).__name__}")
    return ckpt


def rng_state() -> Dict[str, Any]:
    """Python, NumPy and torch generator states (restored on resume for exact continuation).

    Stored as tensors and plain numbers only, so ``torch.load(weights_only=True)``
    (the demo and test tools) can still read a training checkpoint.
    """
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    version, internal, gauss = random.getstate()
    state = {
        "python": (version, torch.tensor(internal, dtype=torch.int64), gauss),
        "numpy": (kind, torch.from_numpy(keys.astype(np.int64)), int(pos), int(has_gauss), float(cached)),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: Dict[str, Any]) -> None:
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(int(v) for v in internal.tolist()), gauss))
    kind, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def export_for_inference(checkpoint_path: str, out_path: str) -> int:
    """Keep only ``state_dict`` and ``config`` of a training checkpoint (what the tracker tools need),
    plus its ``run_info`` (versions, seed, config digest, commit) when it has one.

    Returns the size of the written file in bytes.
    """
    ckpt = load_checkpoint(checkpoint_path)
    out = {"state_dict": ckpt["state_dict"], "config": ckpt.get("config", ""), "iteration": ckpt.get("iteration")}
    if "run_info" in ckpt:
        out["run_info"] = ckpt["run_info"]
    atomic_torch_save(out, out_path)
    return os.path.getsize(out_path)
