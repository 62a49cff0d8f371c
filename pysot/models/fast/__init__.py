"""Inference fast path: an optimised copy of a built model with the same ``template``/``track`` API.

``optimize_for_inference(model, device)`` returns a :class:`FastModel` wrapping a
deep copy of ``model`` (the original is left untouched, so both can be timed in
one process). What it does, and why it stays exact:

* **BatchNorm folding.** Every ``BatchNorm2d`` whose input is always the output
  of one ``Conv2d`` is folded into that convolution
  (``alpha = g / sqrt(v + eps)``, ``w' = w * alpha``, ``b' = beta - m * alpha + b * alpha``,
  the constants formed in float32 exactly as BatchNorm's own kernel forms them
  on every call: float64 constants are an ulp off and moved NanoTrack V3 on
  the real ``bag`` 1.7 px away from the original), and replaced by ``Identity``. Pairs are found by *running* the model once on example crops
  and recording which module produced each module's input, so any forward code
  (Sequential stacks, ResNet blocks, necks) is handled without naming rules.
* **Activation fusion.** A ``ReLU``/``ReLU6`` module whose every call consumes
  the output of the same (folded) convolution - directly or through a
  ``MaxPool2d``, with which a monotone activation commutes exactly - becomes
  a post-op of that convolution (one oneDNN call on the CPU, no extra pass
  over the feature map). Shared activation modules (ResNet's ``self.relu``,
  called after three different producers) are left alone.
* **CPU kernels** (float32, no autograd): a 1x1 convolution is a BLAS matrix
  product over the pixels, any other one oneDNN with a weight packed once
  (see :mod:`~pysot.models.fast.fuse`); ``Sequential`` containers call their
  children directly and skip the ``Identity`` left by folding.
* **NanoTrack.** MobileNetV3's squeeze-excite gates run as one function
  (:mod:`~pysot.models.fast.mobile`) and NanoTrack V2's two head branches as
  one (:mod:`~pysot.models.fast.twin`): on 16x16 maps the calls, not the
  arithmetic, are the cost.
* **Verification.** The optimised copy is run on the same example crops and
  compared with the original; a mismatch beyond float32 rounding raises
  ``RuntimeError`` instead of silently changing results.
* ``torch.inference_mode`` around ``template``/``track``; ``channels_last``
  layout by default (oneDNN's native layout on the CPU: no reorder around each
  convolution; tensor-core friendly on GPU).
* Opt-in ``torch.autocast`` (bf16; fp16 on CUDA only). NOT parity-exact, see
  docs/speed.md; a frame with non-finite outputs is recomputed in float32.
* CUDA only: ``cudnn.benchmark``, CUDA-graph capture of the per-frame
  ``track`` step, and the depthwise correlation chosen per shape between the
  cuDNN grouped convolution and the fused Triton kernel of
  :mod:`pysot.core.xcorr_triton` (whichever is faster when first seen).

The CPU path in float32 reproduces the parity fixtures (tests/speed).

Each concern reads alone: :mod:`~pysot.models.fast.fuse` (the fused
convolution), :mod:`~pysot.models.fast.fold` (BatchNorm folding and
activation fusion by tracing), :mod:`~pysot.models.fast.verify` (the
self-check), :mod:`~pysot.models.fast.model` (the ``FastModel`` wrapper),
:mod:`~pysot.models.fast.graphs` (CUDA-graph capture),
:mod:`~pysot.models.fast.xcorr_choice` (cuDNN vs Triton correlation),
:mod:`~pysot.models.fast.twin` and :mod:`~pysot.models.fast.mobile` (NanoTrack) and
:mod:`~pysot.models.fast.optimize` (the entry point).
"""
from pysot.models.fast.fold import fold_and_fuse
from pysot.models.fast.fuse import FusedConv2d
from pysot.models.fast.graphs import _copy_tree_  # noqa: F401  (tests emulate graph replay with it)
from pysot.models.fast.model import FastModel
from pysot.models.fast.optimize import optimize_for_inference
from pysot.models.fast.verify import (VERIFY_RTOL, VERIFY_RTOL_TF32, NonFiniteOutputError,  # noqa: F401
                                      compare_outputs)
from pysot.models.fast.xcorr_choice import _use_correlation  # noqa: F401  (the Triton interpreter check)

__all__ = ["FastModel", "FusedConv2d", "fold_and_fuse", "optimize_for_inference", "compare_outputs",
           "NonFiniteOutputError"]
