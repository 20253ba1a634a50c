"""Layers shared by the networks."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class ConvBNReLU(nn.Sequential):
    """k x k convolution (optionally strided, dilated or depthwise), batch norm, ReLU."""

    def __init__(self, cin: int, cout: int, k: int = 3, stride: int = 1, dilation: int = 1, groups: int = 1,
                 relu: bool = True) -> None:
        layers = [nn.Conv2d(cin, cout, k, stride, dilation * (k // 2), dilation, groups, bias=False),
                  nn.BatchNorm2d(cout)]
        if relu:
            layers.append(nn.ReLU(inplace=True))
        super().__init__(*layers)


class DSConv(nn.Sequential):
    """Depthwise-separable convolution: 3 x 3 depthwise, then 1 x 1 pointwise, each with BN and ReLU."""

    def __init__(self, cin: int, cout: int, stride: int = 1) -> None:
        super().__init__(ConvBNReLU(cin, cin, 3, stride, groups=cin), ConvBNReLU(cin, cout, 1))


def resize_to(x: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """Bilinear resize of ``x`` to the spatial size of ``like`` (exports with dynamic sizes)."""
    return F.interpolate(x, size=like.shape[-2:], mode='bilinear', align_corners=False)


def crop_to(x: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """Crop ``x`` (at least as large) to the spatial size of ``like``, keeping the top-left corner."""
    return x[:, :, :like.shape[-2], :like.shape[-1]]
