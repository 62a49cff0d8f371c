"""Training loop and its components (optimizer groups, backbone unfreezing, progress)."""
