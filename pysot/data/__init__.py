"""Models shipped inside the package (origin and licences: ``pysot/data/README.md``, ``NOTICE``).

Both files store their experiment config, so ``load_cfg_from_checkpoint(path)`` builds the network.
"""
import os

DATA_DIR = os.path.dirname(os.path.abspath(__file__))
#: NanoTrack V2's released weights (Apache-2.0, NanoTrack's authors): a real tracker, the default model.
DEFAULT_MODEL = os.path.join(DATA_DIR, "nanotrack_v2.pth")
#: A smoke-test SiamRPN trained on synthetic clips: fast tests only, it does not track real objects.
TINY_MODEL = os.path.join(DATA_DIR, "siamrpn_alex_tiny.pth")

__all__ = ["DATA_DIR", "DEFAULT_MODEL", "TINY_MODEL"]
