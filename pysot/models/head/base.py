"""Common interface of the Siamese heads.

A head matches template features ``z_f`` against search features ``x_f``.
Everything that depends on the template alone is computed once by
:meth:`SiameseHead.prepare_template` (the tracker calls it at ``init``) and
reused by :meth:`SiameseHead.match` on every frame; ``forward(z_f, x_f)`` does
both, for training. Splitting the two is exact: the template branch never sees
the search features.
"""
from __future__ import annotations

from typing import Any, Optional, Tuple

import torch
import torch.nn as nn

HeadOutput = Tuple[torch.Tensor, Optional[torch.Tensor]]


class SiameseHead(nn.Module):
    """Base class; subclasses implement :meth:`prepare_template` and :meth:`match`."""

    def prepare_template(self, z_f: Any) -> Any:
        """Template-only work (cached between frames)."""
        raise NotImplementedError(f"{type(self).__name__} must implement prepare_template")

    def match(self, template: Any, x_f: Any) -> HeadOutput:
        """``(cls, loc)`` for the prepared template and search features; ``loc`` may be ``None``.

        (The building blocks share this protocol with other outputs:
        :class:`~pysot.models.head.rpn.DepthwiseXCorr` returns one map,
        :class:`~pysot.models.head.mask.MaskCorr` ``(mask, correlation feature)``.)
        """
        raise NotImplementedError(f"{type(self).__name__} must implement match")

    def forward(self, z_f: Any, x_f: Any) -> HeadOutput:
        return self.match(self.prepare_template(z_f), x_f)
