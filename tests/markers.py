"""Markers shared by test modules (import as ``from markers import requires_cuda``)."""
import os

import pytest
import torch

requires_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")

# Networks whose CPU runs take tens of seconds each on 2 cores: their variants of a
# per-experiment test are marked slow (run by `-m slow` and CI); the AlexNet-family
# variants keep every such test in the default selection.
HEAVY_NETWORKS = ("r50", "mobilev2", "siammask")


def slow_if_heavy(names, ids=None):
    """``names`` (experiment names or config paths) for ``parametrize``, heavy networks marked slow.

    ``ids``: a function giving each parameter's id (default: the name itself).
    """
    params = []
    for name in names:
        experiment = os.path.basename(os.path.dirname(name)) if name.endswith(".yaml") else name
        marks = [pytest.mark.slow] if any(h in experiment for h in HEAVY_NETWORKS) else []
        params.append(pytest.param(name, marks=marks, id=ids(name) if ids else experiment))
    return params
