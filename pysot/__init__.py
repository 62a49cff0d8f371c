"""pysot: Siamese single-object tracking (SiamFC, SiamRPN, DaSiamRPN, SiamRPN++, SiamMask)."""
__version__ = "0.1.0"
