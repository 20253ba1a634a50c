"""DeepLabv3+ (Chen et al., 2018): an atrous residual encoder, atrous spatial pyramid pooling and the v3+ decoder.

The encoder's last stage is atrous (output stride 16), the pyramid pooling has parallel dilated branches and image
pooling, and the decoder fuses stride-4 low-level features.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from segtool.training.nets.blocks import ConvBNReLU, resize_to


class ResBlock(nn.Module):
    """Basic residual block (two 3 x 3 convolutions), optionally strided or dilated."""

    def __init__(self, cin: int, cout: int, stride: int = 1, dilation: int = 1) -> None:
        super().__init__()
        self.body = nn.Sequential(ConvBNReLU(cin, cout, 3, stride, dilation),
                                  ConvBNReLU(cout, cout, 3, 1, dilation, relu=False))
        self.short = (nn.Identity() if stride == 1 and cin == cout
                      else ConvBNReLU(cin, cout, 1, stride, relu=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.body(x) + self.short(x))


class ASPP(nn.Module):
    """1 x 1 branch, one 3 x 3 branch per dilation rate, and image-level pooling, fused by a 1 x 1 conv."""

    def __init__(self, cin: int, cout: int, rates: tuple[int, ...]) -> None:
        super().__init__()
        self.branches = nn.ModuleList([ConvBNReLU(cin, cout, 1)] + [ConvBNReLU(cin, cout, 3, dilation=r)
                                                                    for r in rates])
        self.pool = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(cin, cout, 1), nn.ReLU(inplace=True))
        self.project = nn.Sequential(ConvBNReLU(cout * (len(rates) + 2), cout, 1), nn.Dropout2d(0.1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outs = [b(x) for b in self.branches] + [resize_to(self.pool(x), x)]
        return self.project(torch.cat(outs, 1))


class DeepLabV3Plus(nn.Module):
    """DeepLabv3+ on a slim residual encoder, with ASPP ``rates`` for small inputs.

    The ``rates`` suit stride-16 features of ~15 x 20 (240 x 320 input): the paper's (6, 12, 18) assume 33 x 33.
    """

    def __init__(self, num_classes: int, widths: tuple[int, ...] = (32, 48, 96, 160, 256),
                 rates: tuple[int, ...] = (3, 6, 9)) -> None:
        super().__init__()
        self.stem = ConvBNReLU(3, widths[0], 3, 2)  # stride 2
        self.layer1 = nn.Sequential(ResBlock(widths[0], widths[1], 2), ResBlock(widths[1], widths[1]))  # 4
        self.layer2 = nn.Sequential(ResBlock(widths[1], widths[2], 2), ResBlock(widths[2], widths[2]))  # 8
        self.layer3 = nn.Sequential(ResBlock(widths[2], widths[3], 2), ResBlock(widths[3], widths[3]))  # 16
        self.layer4 = nn.Sequential(ResBlock(widths[3], widths[4], 1, 2), ResBlock(widths[4], widths[4], 1, 4))
        self.aspp = ASPP(widths[4], 128, rates)
        self.low = ConvBNReLU(widths[1], 32, 1)
        self.decoder = nn.Sequential(ConvBNReLU(128 + 32, 128), ConvBNReLU(128, 128))
        self.classifier = nn.Conv2d(128, num_classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        low = self.layer1(self.stem(x))
        deep = self.aspp(self.layer4(self.layer3(self.layer2(low))))
        y = self.decoder(torch.cat([resize_to(deep, low), self.low(low)], 1))
        return resize_to(self.classifier(y), x)
