"""The self-check of the fast path: the optimised copy must reproduce the original's outputs."""
from __future__ import annotations

from typing import Dict, Optional

import torch

from pysot.utils.log import get_logger

logger = get_logger("pysot.fast")

# Relative tolerance of the self-check after folding: float32 rounding of a folded
# weight is ~1e-7 relative; deep networks accumulate it, so allow a generous margin.
VERIFY_RTOL = 1e-3
VERIFY_RTOL_TF32 = 1e-2

Outputs = Dict[str, Optional[torch.Tensor]]


class NonFiniteOutputError(ValueError):
    """An output compared by :func:`compare_outputs` holds NaN or inf; the message names the output.

    ``output`` is its key (``"cls"`` ...), ``side`` ``"reference"`` or ``"candidate"``.
    """

    def __init__(self, output: str, side: str, value: torch.Tensor) -> None:
        nan = int(torch.isnan(value).sum())
        inf = int(torch.isinf(value).sum())
        self.output, self.side = output, side
        self.counts = f"{nan} NaN, {inf} inf of {value.numel()} values"
        super().__init__(f"output {output!r} of the {side} is not finite ({self.counts})")


def _check_finite(name: str, side: str, value: torch.Tensor) -> None:
    if not bool(torch.isfinite(value).all()):
        raise NonFiniteOutputError(name, side, value)


def compare_outputs(reference: Outputs, candidate: Outputs) -> float:
    """Largest ``|a - b| / max(1, max|a|)`` over the ``cls``/``loc``/``mask`` outputs present.

    Outputs are tensors of any matching shape (``cls`` ``[B, 2A, H, W]`` ...); ``None``
    entries of ``reference`` are skipped. A missing or differently shaped candidate
    output gives ``inf``. NaN/inf in either side raises :class:`NonFiniteOutputError`
    naming the output: a maximum over NaN differences is not an error bound, and a
    network that outputs NaN must never pass a parity check.
    """
    worst = 0.0
    for key, ref in reference.items():
        if ref is None:
            continue
        other = candidate.get(key)
        if other is None or other.shape != ref.shape:
            return float("inf")
        _check_finite(key, "reference", ref)
        _check_finite(key, "candidate", other)
        scale = max(1.0, float(ref.abs().max()))
        worst = max(worst, float((ref.float() - other.float()).abs().max()) / scale)
    return worst


def _check_against_reference(reference: Outputs, candidate: Outputs, device: torch.device,
                             amp_dtype: Optional[torch.dtype]) -> None:
    """Raise ``RuntimeError`` when the optimised outputs are not those of the original model."""
    try:
        error = compare_outputs(reference, candidate)
    except NonFiniteOutputError as e:
        what = f"output {e.output!r} ({e.counts})"
        if e.side == "reference":
            raise RuntimeError(f"optimize_for_inference: the original model's {what} is not finite on the "
                               "example crops; check its weights") from None
        if amp_dtype is not None:
            raise RuntimeError(f"optimize_for_inference: {amp_dtype} autocast overflows on this model ({what}; "
                               "fp16 cannot hold the activations of raw 0..255 inputs): use amp='bf16'") from None
        raise RuntimeError(f"optimize_for_inference: the optimised model's {what} is not finite; "
                           "rerun with fold_batchnorm=False and report the model") from None
    if amp_dtype is not None:
        # Reduced precision is a choice of the caller: only a broken result (overflow) is refused.
        logger.info("fast path with %s autocast: max relative deviation %.1e from float32", amp_dtype, error)
        return
    # cuDNN may round convolutions to TF32 (10-bit mantissa), differently in the two models.
    tolerance = VERIFY_RTOL_TF32 if device.type == "cuda" and torch.backends.cudnn.allow_tf32 else VERIFY_RTOL
    if not error <= tolerance:
        raise RuntimeError(f"optimize_for_inference: the optimised model differs from the original "
                           f"(max relative error {error:.2e} > {tolerance:g}); "
                           f"rerun with fold_batchnorm=False and report the model")
