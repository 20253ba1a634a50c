"""U-Net (Ronneberger et al., 2015), with batch norm and transposed-convolution upsampling.

A symmetric encoder-decoder whose decoder concatenates the encoder features of the same scale.
"""
from __future__ import annotations

import torch
from torch import nn

from segtool.training.nets.blocks import ConvBNReLU, crop_to


def _double(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(ConvBNReLU(cin, cout), ConvBNReLU(cout, cout))


class UNet(nn.Module):
    """U-Net with four downsamplings; ``widths`` are the channels at strides 1, 2, 4, 8 and 16."""

    def __init__(self, num_classes: int, widths: tuple[int, ...] = (16, 32, 64, 128, 256)) -> None:
        super().__init__()
        self.down = nn.ModuleList([_double(3, widths[0])] + [
            nn.Sequential(nn.MaxPool2d(2, ceil_mode=True), _double(widths[i - 1], widths[i]))
            for i in range(1, len(widths))])
        self.up = nn.ModuleList(nn.ConvTranspose2d(widths[i], widths[i - 1], 2, 2)
                                for i in range(len(widths) - 1, 0, -1))
        self.fuse = nn.ModuleList(_double(2 * widths[i - 1], widths[i - 1]) for i in range(len(widths) - 1, 0, -1))
        self.head = nn.Conv2d(widths[0], num_classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for block in self.down:
            x = block(x)
            skips.append(x)
        x = skips.pop()
        for up, fuse in zip(self.up, self.fuse):
            skip = skips.pop()
            x = fuse(torch.cat([crop_to(up(x), skip), skip], 1))
        return self.head(x)
