"""Fast-SCNN, the real-time network (Poudel et al., 2019), with two departures for CPU export and thin objects.

A shared learning-to-downsample path (stride 8), a global feature extractor of inverted residuals (stride 32) with
global-pooling context, a feature fusion module and a light classifier. The departures: the pyramid pooling keeps
only the global bin (fixed-bin adaptive pooling does not export with dynamic input sizes), and the classifier output
is refined at strides 4 and 2 with the learning-to-downsample features, then at full resolution with the image's
own edges: a residual correction of the upsampled logits whose last layer starts at zero, so it begins as a no-op
(and a checkpoint without it fine-tunes from where it was).
"""
from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn

from segtool.training.nets.blocks import ConvBNReLU, DSConv, resize_to


class InvertedResidual(nn.Module):
    """MobileNetV2 bottleneck: 1 x 1 expansion, 3 x 3 depthwise, linear 1 x 1 projection (+ identity)."""

    def __init__(self, cin: int, cout: int, stride: int, expand: int = 6) -> None:
        super().__init__()
        mid = cin * expand
        self.body = nn.Sequential(ConvBNReLU(cin, mid, 1), ConvBNReLU(mid, mid, 3, stride, groups=mid),
                                  ConvBNReLU(mid, cout, 1, relu=False))
        self.residual = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.body(x)
        return x + y if self.residual else y


def _bottlenecks(cin: int, cout: int, n: int, stride: int) -> nn.Sequential:
    return nn.Sequential(*(InvertedResidual(cin if i == 0 else cout, cout, stride if i == 0 else 1)
                           for i in range(n)))


class GlobalContext(nn.Module):
    """Concatenate the features with their global average, then fuse with a 1 x 1 convolution."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.pool = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(channels, channels // 4, 1),
                                  nn.ReLU(inplace=True))
        self.fuse = ConvBNReLU(channels + channels // 4, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fuse(torch.cat([x, resize_to(self.pool(x), x)], 1))


class FastSCNN(nn.Module):
    """Fast-SCNN with stride-4, stride-2 and full-resolution refinement; about 1.1 M parameters."""

    def __init__(self, num_classes: int) -> None:
        super().__init__()
        self.down_half = ConvBNReLU(3, 32, 3, 2)  # stride 2
        self.down1 = DSConv(32, 48, 2)  # stride 4
        self.down2 = DSConv(48, 64, 2)  # stride 8
        self.global_features = nn.Sequential(_bottlenecks(64, 64, 3, 2), _bottlenecks(64, 96, 3, 2),
                                             _bottlenecks(96, 128, 3, 1), GlobalContext(128))  # stride 32
        self.fuse_low = ConvBNReLU(64, 128, 1, relu=False)
        self.fuse_high = nn.Sequential(ConvBNReLU(128, 128, 3, groups=128), ConvBNReLU(128, 128, 1, relu=False))
        self.classifier = nn.Sequential(DSConv(128, 128), DSConv(128, 64))
        self.skip4 = ConvBNReLU(48, 64, 1, relu=False)
        self.refine4 = DSConv(64, 32)
        self.skip2 = ConvBNReLU(32, 32, 1, relu=False)
        self.refine2 = nn.Sequential(DSConv(32, 32), nn.Conv2d(32, num_classes, 1))
        self.skip1 = ConvBNReLU(3, 16, 3)
        self.refine1 = nn.Sequential(DSConv(16 + num_classes, 16), nn.Conv2d(16, num_classes, 1))
        nn.init.zeros_(self.refine1[-1].weight)
        nn.init.zeros_(self.refine1[-1].bias)
        self.relu = nn.ReLU(inplace=True)
        self.logit_pad = 0  # zero channels after the logits in the full-resolution refinement's input (for_export)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s2 = self.down_half(x)
        s4 = self.down1(s2)
        s8 = self.down2(s4)
        g = self.global_features(s8)
        fused = self.relu(self.fuse_low(s8) + self.fuse_high(resize_to(g, s8)))
        y = self.classifier(fused)
        y = self.refine4(self.relu(resize_to(y, s4) + self.skip4(s4)))
        y = resize_to(self.refine2(self.relu(resize_to(y, s2) + self.skip2(s2))), x)
        logits = F.pad(y, (0, 0, 0, 0, 0, self.logit_pad)) if self.logit_pad else y
        return y + self.refine1(torch.cat([logits, self.skip1(x)], 1))

    def for_export(self, block: int = 16) -> FastSCNN:
        """Return a copy computing the same function, arranged for ONNX Runtime's CPU kernels.

        The full-resolution refinement's input (the logits and 16 edge channels) is padded with zero channels after
        the logits to a multiple of ``block`` channels, and the refinement's first weights get zeros to match: ONNX
        Runtime runs convolutions and concatenations in its blocked (NCHWc) layout only on channel counts that are
        multiples of the SIMD block (8 floats with AVX2, 16 with AVX-512), the rest in a much slower generic path.
        """
        model = copy.deepcopy(self)
        first = model.refine1[0]
        logits = self.refine1[-1].out_channels
        pad = -(first[1][0].in_channels) % block
        if pad:
            padded = DSConv(first[1][0].in_channels + pad, first[1][0].out_channels)
            # The depthwise convolution and its batch norm grow along their channels, the pointwise one along its
            # inputs; the pointwise batch norm keeps its size.
            grow = {name: 0 for name, value in first.state_dict().items() if name.startswith('0.') and value.dim()}
            grow['1.0.weight'] = 1
            padded.load_state_dict({name: _insert_zeros(value, logits + self.logit_pad, pad, grow[name])
                                    if name in grow else value for name, value in first.state_dict().items()})
            model.refine1[0] = padded
            model.logit_pad += pad
        return model.eval()


def _insert_zeros(tensor: torch.Tensor, at: int, count: int, dim: int) -> torch.Tensor:
    """Insert ``count`` zero slices into ``tensor`` along ``dim``, before index ``at``."""
    zeros = torch.zeros(*tensor.shape[:dim], count, *tensor.shape[dim + 1:], dtype=tensor.dtype)
    return torch.cat([tensor.narrow(dim, 0, at), zeros, tensor.narrow(dim, at, tensor.shape[dim] - at)], dim)
