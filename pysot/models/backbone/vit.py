"""VitTrack's one-stream backbone: a small ViT that sees the template and the search crop jointly.

The layout (and, but for ``pos_embed.z``/``.x``, every state_dict key) is that of the original VitTracker's ``vit_dist``
model (lpylpy0514/VitTracker, the network OpenCV's ``cv2.TrackerVit`` runs): a LeViT-style
convolutional patch embedding (four stride-2 conv+BN, Hardswish between), learned position
embeddings for the template and the search tokens, the two token sets concatenated, plain
pre-norm transformer blocks (timm's ``Block``: LayerNorm, multi-head self-attention with a
qkv bias, LayerNorm, GELU MLP), a final LayerNorm. Only the search tokens leave it, as a map.
"""
from __future__ import annotations

from typing import Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from pysot.core.registry import BACKBONES

__all__ = ["VitTrackBackbone", "ConvBN", "Attention", "Mlp", "Block"]


class ConvBN(nn.Sequential):
    """``Conv2d`` (no bias) then ``BatchNorm2d``; children ``c`` and ``bn`` as in LeViT."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3, stride: int = 2,
                 padding: int = 1) -> None:
        super().__init__()
        self.add_module("c", nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding, bias=False))
        self.add_module("bn", nn.BatchNorm2d(out_channels))


class PatchEmbedding(nn.Module):
    """``[B, 3, H, W]`` -> tokens ``[B, H/16 * W/16, C]`` through four stride-2 ``ConvBN`` (C/8, C/4, C/2, C)."""

    def __init__(self, embed_dim: int) -> None:
        super().__init__()
        if embed_dim % 8:
            raise ValueError(f"embed_dim ({embed_dim}) must be a multiple of 8 (the patch embedding's "
                             "first stage has embed_dim / 8 channels)")
        c = embed_dim
        self.net = nn.Sequential(ConvBN(3, c // 8), nn.Hardswish(), ConvBN(c // 8, c // 4), nn.Hardswish(),
                                 ConvBN(c // 4, c // 2), nn.Hardswish(), ConvBN(c // 2, c))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).flatten(2).transpose(1, 2)


class PositionEmbedding(nn.Module):
    """Learned position embeddings ``z [1, Nz, C]`` and ``x [1, Nx, C]`` (the original's ``pos_embed_z``/``_x``).

    A child module rather than two bare parameters so ``BACKBONE.TRAIN_LAYERS`` can name it
    (the trainer selects backbone layers by child name).
    """

    def __init__(self, template_tokens: int, search_tokens: int, dim: int) -> None:
        super().__init__()
        self.z = nn.Parameter(torch.zeros(1, template_tokens, dim))
        self.x = nn.Parameter(torch.zeros(1, search_tokens, dim))
        nn.init.trunc_normal_(self.z, std=0.02)
        nn.init.trunc_normal_(self.x, std=0.02)


class Attention(nn.Module):
    """Multi-head self-attention over ``[B, N, C]`` tokens (one ``qkv`` projection, then ``proj``)."""

    def __init__(self, dim: int, num_heads: int) -> None:
        super().__init__()
        if dim % num_heads:
            raise ValueError(f"embed_dim ({dim}) must be divisible by num_heads ({num_heads})")
        self.num_heads = num_heads
        self.qkv = nn.Linear(dim, dim * 3, bias=True)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, c = x.shape
        qkv = self.qkv(x).reshape(b, n, 3, self.num_heads, c // self.num_heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)
        # Written out (not F.scaled_dot_product_attention) so the ONNX graph stays plain MatMul/Softmax,
        # which every OpenCV DNN version imports.
        attn = (q * (c // self.num_heads) ** -0.5) @ k.transpose(-2, -1)
        x = attn.softmax(dim=-1) @ v
        return self.proj(x.transpose(1, 2).reshape(b, n, c))


class Mlp(nn.Module):
    """``fc1`` -> GELU (exact) -> ``fc2``."""

    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(F.gelu(self.fc1(x)))


class Block(nn.Module):
    """Pre-norm transformer block: ``x + attn(norm1(x))``, then ``x + mlp(norm2(x))``."""

    def __init__(self, dim: int, num_heads: int, mlp_ratio: float) -> None:
        super().__init__()
        # timm's Block (which the original uses) normalises with eps 1e-6, the final norm with torch's 1e-5.
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = Attention(dim, num_heads)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


@BACKBONES.register()
class VitTrackBackbone(nn.Module):
    """One-stream ViT: ``forward(z, x)`` -> search feature map ``[B, C, S/16, S/16]``.

    Args:
        embed_dim: token width ``C`` (48 in VitTrack).
        depth: transformer blocks (3).
        num_heads: attention heads (1).
        mlp_ratio: MLP hidden width over ``C`` (4).
        template_size: template crop side ``T`` (128 -> 8x8 = 64 tokens).
        search_size: search crop side ``S`` (256 -> 16x16 = 256 tokens).

    ``z``: ``[B, 3, T, T]`` and ``x``: ``[B, 3, S, S]``, normalised as the tracker feeds them
    (``(pixel / 255 - mean) / std``, ImageNet mean and std).
    """

    stride = 16
    one_stream = True

    def __init__(self, embed_dim: int = 48, depth: int = 3, num_heads: int = 1, mlp_ratio: float = 4.0,
                 template_size: int = 128, search_size: int = 256) -> None:
        super().__init__()
        for name, size in (("template_size", template_size), ("search_size", search_size)):
            if size <= 0 or size % self.stride:
                raise ValueError(f"{name} ({size}) must be a positive multiple of the patch stride {self.stride}")
        self.template_size, self.search_size = int(template_size), int(search_size)
        self.embed_dim = int(embed_dim)
        self.patch_embed = PatchEmbedding(embed_dim)
        self.pos_embed = PositionEmbedding((template_size // self.stride) ** 2, (search_size // self.stride) ** 2,
                                           embed_dim)
        self.blocks = nn.ModuleList([Block(embed_dim, num_heads, mlp_ratio) for _ in range(depth)])
        self.norm = nn.LayerNorm(embed_dim)

    @property
    def feat_size(self) -> Tuple[int, int]:
        return self.search_size // self.stride, self.search_size // self.stride

    def forward(self, z: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        z = self.patch_embed(z) + self.pos_embed.z
        x = self.patch_embed(x) + self.pos_embed.x
        tokens = torch.cat((z, x), dim=1)
        for block in self.blocks:
            tokens = block(tokens)
        tokens = self.norm(tokens)
        n = self.pos_embed.x.shape[1]
        side = self.search_size // self.stride
        # The search tokens are the last N, in row-major patch order: back to a map.
        return tokens[:, -n:].transpose(1, 2).reshape(tokens.shape[0], self.embed_dim, side, side)
