"""pysot: Siamese single-object tracking (SiamFC, SiamRPN, DaSiamRPN, SiamRPN++, SiamMask, NanoTrack)."""
import os as _os
import sys as _sys

__version__ = "0.1.0"

# Idle OpenMP threads sleep instead of spinning (libgomp reads this once, when torch is imported):
# spinning collapses tracking on a shared machine. Only before torch, only if unset; the thread
# count is chosen where trackers are built (pysot.utils.threads.use_default_threads).
if "torch" not in _sys.modules:
    _os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
