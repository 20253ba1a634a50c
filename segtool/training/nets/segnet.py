"""SegNet (Badrinarayanan et al., 2017): an encoder-decoder that unpools with the encoder's max-pooling indices.

Each encoder stage ends in a 2 x 2 max pool that remembers where every maximum was; the mirrored decoder stage puts
each value back at that position (zeros elsewhere) and densifies the sparse map with convolutions. No features are
copied across, only the indices, which keeps boundaries sharp at little memory.

The unpooling is written as a scatter of the pooled values to their indices (``ScatterElements`` in ONNX), which is
what MaxUnpool computes: torch's ONNX exporter has no symbolic for ``max_unpool2d`` at opset 17, and this form exports
with dynamic height and width.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from segtool.training.nets.blocks import ConvBNReLU


def unpool(x: torch.Tensor, indices: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """Place each value of ``x`` at its max-pooling index in a zero map of ``like``'s spatial size (MaxUnpool)."""
    n, c, h, w = x.shape[0], x.shape[1], like.shape[-2], like.shape[-1]
    out = x.new_zeros(n, c, h * w).scatter(2, indices.flatten(2), x.flatten(2))
    return out.view(n, c, h, w)


def _convs(cin: int, cout: int, count: int) -> nn.Sequential:
    return nn.Sequential(*(ConvBNReLU(cin if i == 0 else cout, cout) for i in range(count)))


class SegNet(nn.Module):
    """SegNet with a slim VGG-style encoder (``widths`` at strides 1..16, ``convs`` per stage) and its mirror."""

    #: Its output jumps where two values of a pooling window tie within rounding: the maximum's place, and so where
    #: the decoder puts it, can differ between torch and ONNX Runtime (seen: 7.1240587 vs 7.124055 after a trained
    #: model's third stage, the runtimes' features differing by 1e-5). Its export is therefore checked on classes.
    exact_parity = False

    def __init__(self, num_classes: int, widths: tuple[int, ...] = (16, 32, 64, 128, 128),
                 convs: tuple[int, ...] = (2, 2, 3, 3, 3)) -> None:
        super().__init__()
        chans = (3,) + widths
        self.encoder = nn.ModuleList(_convs(chans[i], chans[i + 1], convs[i]) for i in range(len(widths)))
        # Decoder stage i undoes encoder stage i: it unpools to that stage's size and maps its width to the one before.
        outs = (widths[0],) + widths[:-1]
        self.decoder = nn.ModuleList(_convs(widths[i], outs[i], convs[i]) for i in range(len(widths)))
        self.classifier = nn.Conv2d(widths[0], num_classes, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled = []
        for stage in self.encoder:
            x = stage(x)
            y, indices = F.max_pool2d(x, 2, 2, ceil_mode=True, return_indices=True)
            pooled.append((indices, x))
            x = y
        for stage, (indices, before) in zip(reversed(self.decoder), reversed(pooled)):
            x = stage(unpool(x, indices, before))
        return self.classifier(x)
