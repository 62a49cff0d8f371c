"""The self-check of the fast path: the optimised copy must reproduce the original's outputs."""
from __future__ import annotations

from typing import Dict, Optional

import numpy as np
import torch

from pysot.utils.log import get_logger

logger = get_logger("pysot.fast")

# Relative tolerance of the self-check after folding: float32 rounding of a folded
# weight is ~1e-7 relative; deep networks accumulate it, so allow a generous margin.
VERIFY_RTOL = 1e-3
VERIFY_RTOL_TF32 = 1e-2

Outputs = Dict[str, Optional[torch.Tensor]]


def compare_outputs(reference: Outputs, candidate: Outputs) -> float:
    """Largest ``|a - b| / max(1, max|a|)`` over the ``cls``/``loc``/``mask`` outputs present."""
    worst = 0.0
    for key, ref in reference.items():
        if ref is None:
            continue
        other = candidate.get(key)
        if other is None or other.shape != ref.shape:
            return float("inf")
        scale = max(1.0, float(ref.abs().max()))
        worst = max(worst, float((ref.float() - other.float()).abs().max()) / scale)
    return worst


def _check_against_reference(reference: Outputs, candidate: Outputs, device: torch.device,
                             amp_dtype: Optional[torch.dtype]) -> None:
    """Raise ``RuntimeError`` when the optimised outputs are not those of the original model."""
    error = compare_outputs(reference, candidate)
    if amp_dtype is not None:
        # Reduced precision is a choice of the caller: only a broken result (overflow) is refused.
        if not np.isfinite(error):
            raise RuntimeError(f"optimize_for_inference: {amp_dtype} autocast overflows on this model (non-finite "
                               f"outputs; fp16 cannot hold the activations of raw 0..255 inputs): use amp='bf16'")
        logger.info("fast path with %s autocast: max relative deviation %.1e from float32", amp_dtype, error)
        return
    # cuDNN may round convolutions to TF32 (10-bit mantissa), differently in the two models.
    tolerance = VERIFY_RTOL_TF32 if device.type == "cuda" and torch.backends.cudnn.allow_tf32 else VERIFY_RTOL
    if not error <= tolerance:
        raise RuntimeError(f"optimize_for_inference: the optimised model differs from the original "
                           f"(max relative error {error:.2e} > {tolerance:g}); "
                           f"rerun with fold_batchnorm=False and report the model")
