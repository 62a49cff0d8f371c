"""What a training run needs to be reproduced: versions, seed, config digest, git commit.

:func:`run_info` is stored in every training checkpoint (``ckpt["run_info"]``) and written
to the log when a run starts, so a snapshot found months later says what made it.
"""
from __future__ import annotations

import hashlib
import os
import platform
import subprocess
from typing import Dict, Optional

import cv2
import numpy as np
import torch

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def config_digest(text: str) -> str:
    """SHA-256 (hex) of the resolved YAML text: two runs with the same digest had the same config."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def git_commit(path: str = REPO) -> Optional[str]:
    """``<sha>`` of the checkout ``path`` is in, ``<sha>-dirty`` with uncommitted changes to tracked
    files, None outside a git checkout (an installed wheel) or without git."""
    try:
        sha = subprocess.run(["git", "-C", path, "rev-parse", "HEAD"], capture_output=True, text=True,
                             timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", path, "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return f"{sha}-dirty" if dirty else sha or None


def run_info(config_text: str, seed: int, device: str = "cpu") -> Dict[str, object]:
    """Versions (Python, torch, numpy, OpenCV, CUDA, cuDNN, pysot), the seed, the config digest,
    the git commit, the device and the deterministic-algorithm switch, as plain strings and
    numbers (a checkpoint stays readable with ``torch.load(weights_only=True)``)."""
    from pysot import __version__ as pysot_version

    cudnn = torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None
    return {
        "python": platform.python_version(),
        "torch": str(torch.__version__),
        "numpy": str(np.__version__),
        "opencv": str(cv2.__version__),
        "cuda": str(torch.version.cuda or "none"),
        "cudnn": str(cudnn) if cudnn else "none",
        "pysot": str(pysot_version),
        "seed": int(seed),
        "config_sha256": config_digest(config_text),
        "git_commit": git_commit() or "unknown",
        "device": str(device),
        "deterministic_algorithms": bool(torch.are_deterministic_algorithms_enabled()),
    }


def format_run_info(info: Dict[str, object]) -> str:
    return " ".join(f"{k}={v}" for k, v in info.items())
