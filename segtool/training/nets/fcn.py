"""FCN-8s (Long et al., 2015): a VGG-style encoder with the classifier as 1 x 1 convolutions.

Transposed-convolution upsampling and skip connections fuse the class scores of the stride-32, -16 and -8 features.
"""
from __future__ import annotations

import torch
from torch import nn

from segtool.training.nets.blocks import ConvBNReLU, crop_to


def _stage(cin: int, cout: int, convs: int) -> nn.Sequential:
    """``convs`` 3 x 3 convolutions, then a 2 x 2 max pool (ceil mode, so upsampling can crop back)."""
    layers = [ConvBNReLU(cin if i == 0 else cout, cout) for i in range(convs)]
    return nn.Sequential(*layers, nn.MaxPool2d(2, ceil_mode=True))


def _upsampler(classes: int, factor: int) -> nn.ConvTranspose2d:
    """Build a learnable transposed convolution upsampling by ``factor``, initialised as bilinear interpolation."""
    k = 2 * factor
    up = nn.ConvTranspose2d(classes, classes, k, factor, factor // 2, bias=False)
    centre = (k - 1) / 2
    ramp = 1 - torch.abs(torch.arange(k, dtype=torch.float32) - centre) / factor
    with torch.no_grad():
        up.weight.zero_()
        for c in range(classes):
            up.weight[c, c] = ramp[:, None] * ramp[None, :]
    return up


class FCN8s(nn.Module):
    """FCN-8s with a slim VGG encoder (strides 2..32) and conv "fc6/fc7" layers."""

    def __init__(self, num_classes: int, widths: tuple[int, ...] = (32, 64, 128, 192, 256)) -> None:
        super().__init__()
        convs = (2, 2, 3, 3, 3)
        chans = (3,) + widths
        self.stages = nn.ModuleList(_stage(chans[i], chans[i + 1], convs[i]) for i in range(5))
        self.fc = nn.Sequential(ConvBNReLU(widths[4], 512, 3), nn.Dropout2d(0.1), ConvBNReLU(512, 512, 1))
        self.score32 = nn.Conv2d(512, num_classes, 1)
        self.score16 = nn.Conv2d(widths[3], num_classes, 1)
        self.score8 = nn.Conv2d(widths[2], num_classes, 1)
        self.up32, self.up16, self.up8 = (_upsampler(num_classes, f) for f in (2, 2, 8))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feats = []
        y = x
        for stage in self.stages:
            y = stage(y)
            feats.append(y)
        s8, s16 = self.score8(feats[2]), self.score16(feats[3])
        y = crop_to(self.up32(self.score32(self.fc(feats[4]))), s16) + s16
        y = crop_to(self.up16(y), s8) + s8
        return crop_to(self.up8(y), x)
