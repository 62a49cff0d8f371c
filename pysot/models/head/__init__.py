"""Heads; importing this package registers them (HEADS, MASK_HEADS, REFINE_HEADS)."""
from pysot.models.head.ban import NanoBANv1, NanoBANv2, NanoBANv3
from pysot.models.head.base import SiameseHead
from pysot.models.head.center import CenterPredictor
from pysot.models.head.mask import MaskCorr, Refine
from pysot.models.head.siamfc import SiamFCHead
from pysot.models.head.rpn import DepthwiseRPN, DepthwiseXCorr, MultiRPN, UPChannelRPN

__all__ = [
    "SiameseHead", "UPChannelRPN", "DepthwiseXCorr", "DepthwiseRPN", "MultiRPN", "MaskCorr", "Refine", "SiamFCHead",
    "NanoBANv1", "NanoBANv2", "NanoBANv3", "CenterPredictor",
]
