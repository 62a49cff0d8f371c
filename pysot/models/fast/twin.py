"""Twin branches: NanoTrack V2's classification and regression branches run as one.

The two branches of :class:`~pysot.models.head.ban.NanoBANv2` have the same
shape from the search features to the towers' outputs: a 1x1 adapter, a
pixel-wise correlation, a channel gate, six depthwise-separable blocks. Run
side by side on channel-concatenated maps they take half the kernel calls, and
on the CPU the calls, not the arithmetic, are what a 16x16 map costs (a oneDNN
convolution spends ~35 us setting up for ~5 us of work). Every output channel
is still computed from its own branch's weights only:

* the two adapters share their input: one 1x1 convolution with both weight sets;
* the correlations and the small gate convolutions multiply by block-diagonal
  matrices (the other branch's block is exact zeros);
* depthwise convolutions work per channel, so concatenating channels is exact;
* the towers' 1x1 convolutions become 2-group convolutions (a batched matrix product).

Only the order of float32 sums can change (checked by the fast path's
verification and by the NanoTrack parity tests on real sequences).
"""
from __future__ import annotations

from typing import Dict, List, Optional, Tuple

import torch
import torch.nn as nn

from pysot.models.fast.fuse import FusedConv2d


def _convs(module: nn.Module) -> List[FusedConv2d]:
    """The folded convolutions of a tower, in order; any other module makes it untwinnable (``[]``)."""
    children = list(module.children()) if isinstance(module, nn.Sequential) else [module]
    children = [c for c in children if type(c) is not nn.Identity]  # folded BatchNorms, fused activations
    return children if all(type(c) is FusedConv2d for c in children) else []


def _same_geometry(a: FusedConv2d, b: FusedConv2d) -> bool:
    return (a.weight.shape == b.weight.shape and a.stride == b.stride and a.padding == b.padding
            and a.dilation == b.dilation and a.groups == b.groups and a.activation == b.activation
            and (a.bias is None) == (b.bias is None))


def _concat(a: FusedConv2d, b: FusedConv2d, grouped: bool) -> FusedConv2d:
    """``a`` and ``b`` side by side on concatenated channels (``grouped``: each sees only its half)."""
    groups = a.groups * 2 if grouped else a.groups
    bias = None if a.bias is None else torch.cat([a.bias, b.bias])
    out = FusedConv2d(torch.cat([a.weight, b.weight]), bias, a.stride, a.padding, a.dilation, groups)
    out.activation = a.activation
    return out


def _block_diagonal(a: FusedConv2d, b: FusedConv2d) -> FusedConv2d:
    """A 1x1 convolution applying ``a`` to the first half of the channels and ``b`` to the second,
    as one ungrouped (matrix-product) convolution whose off-diagonal blocks are zero."""
    (oa, ia), (ob, ib) = a.weight.shape[:2], b.weight.shape[:2]
    weight = a.weight.new_zeros(oa + ob, ia + ib, 1, 1)
    weight[:oa, :ia] = a.weight
    weight[oa:, ia:] = b.weight
    bias = None if a.bias is None else torch.cat([a.bias, b.bias])
    out = FusedConv2d(weight, bias, (1, 1), (0, 0), (1, 1), 1)
    out.activation = a.activation
    return out


class TwinBANv2(nn.Module):
    """A folded :class:`~pysot.models.head.ban.NanoBANv2` running both branches at once.

    Same protocol and outputs as the head it replaces: ``prepare_template(z_f)`` with
    ``z_f [B, C, 8, 8]``, then ``match(template, x_f)`` with ``x_f [B, C, 16, 16]`` gives
    ``cls [B, 2, 16, 16]`` and ``loc [B, 4, 16, 16]`` (channels-last views).
    Build it with :func:`twin_head`, which checks the folded head has the expected shape.
    """

    def __init__(self, head: nn.Module) -> None:
        super().__init__()
        cls, reg = head.corr_pw_cls, head.corr_pw_reg
        self.kernel_cls, self.kernel_reg = cls.conv_kernel, reg.conv_kernel  # template side: once per target
        self.search = _concat(_convs(cls.conv_search)[0], _convs(reg.conv_search)[0], grouped=False)
        self.gate_fc1 = _block_diagonal(cls.CA_layer.fc1, reg.CA_layer.fc1)
        self.gate_relu = cls.CA_layer.relu if cls.CA_layer.fc1.activation == "none" else nn.Identity()
        self.gate_fc2 = _block_diagonal(cls.CA_layer.fc2, reg.CA_layer.fc2)
        self.tower = nn.Sequential(*[_concat(a, b, grouped=True)
                                     for a, b in zip(_convs(head.cls_pw_tower), _convs(head.bbox_pw_tower))])
        cls_pred = _convs(head.cls_pred)[0]
        self.pred = _block_diagonal(cls_pred, _convs(head.bbox_pred)[0])
        self.cls_channels = int(cls_pred.weight.shape[0])

    def prepare_template(self, z_f: torch.Tensor) -> torch.Tensor:
        """``z_f [B, C, hk, wk]`` -> the block-diagonal correlation matrix ``[B, 2C, 2*hk*wk]``."""
        cells = [k(z_f).flatten(2) for k in (self.kernel_cls, self.kernel_reg)]  # [B, C, hk*wk] each
        b, c, n = cells[0].shape
        matrix = cells[0].new_zeros(b, 2 * c, 2 * n)
        matrix[:, :c, :n] = cells[0]
        matrix[:, c:, n:] = cells[1]
        return matrix

    def match(self, template: torch.Tensor, x_f: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        search = self.search(x_f)  # [B, 2C, H, W]: the two adapted maps
        b, c2, h, w = search.shape
        rows = search.permute(0, 2, 3, 1).reshape(b, h * w, c2)
        corr = torch.bmm(rows, template)  # [B, H*W, 2 * cells]: pixel-wise correlation of both branches
        corr = corr.view(b, h, w, -1).permute(0, 3, 1, 2)
        gate = torch.sigmoid(self.gate_fc2(self.gate_relu(self.gate_fc1(corr.mean((2, 3), keepdim=True)))))
        out = self.pred(self.tower(corr * gate))
        cls, loc = out[:, :self.cls_channels], out[:, self.cls_channels:]
        return cls, torch.exp(loc)

    def forward(self, z_f: torch.Tensor, x_f: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        return self.match(self.prepare_template(z_f), x_f)


def twin_head(model: nn.Module) -> Optional[str]:
    """Replace a folded NanoTrack V2 head of ``model`` by its :class:`TwinBANv2`, in place.

    Returns what was done (for the log), or ``None`` when the model has no such head or
    its folding left a shape the twin does not cover (then nothing changes).
    """
    from pysot.models.head.ban import NanoBANv2

    head = model._modules.get("ban_head")
    if type(head) is not NanoBANv2:
        return None
    cls, reg = head.corr_pw_cls, head.corr_pw_reg
    pairs = [(_convs(cls.conv_search), _convs(reg.conv_search)),
             (_convs(head.cls_pw_tower), _convs(head.bbox_pw_tower)),
             ([cls.CA_layer.fc1, cls.CA_layer.fc2], [reg.CA_layer.fc1, reg.CA_layer.fc2])]
    for a, b in pairs:
        if not a or len(a) != len(b) or not all(type(x) is FusedConv2d and _same_geometry(x, y) for x, y in zip(a, b)):
            return None
    if len(pairs[0][0]) != 1 or not all(c.is_pointwise and c.groups == 1 for c in pairs[0][0] + pairs[2][0]):
        return None
    for conv in pairs[1][0]:  # a tower alternates depthwise and 1x1 convolutions
        depthwise = conv.groups == conv.weight.shape[0] and conv.weight.shape[1] == 1
        if not (depthwise or (conv.is_pointwise and conv.groups == 1)):
            return None
    preds = _convs(head.cls_pred), _convs(head.bbox_pred)
    if (len(preds[0]) != 1 or len(preds[1]) != 1 or not all(p[0].is_pointwise and p[0].groups == 1 for p in preds)
            or preds[0][0].activation != preds[1][0].activation
            or (preds[0][0].bias is None) != (preds[1][0].bias is None)):
        return None
    model.ban_head = TwinBANv2(head)
    return f"NanoBANv2 branches twinned ({len(pairs[1][0])} tower convolutions)"
