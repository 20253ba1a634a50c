"""Segmentation networks by name; every one maps (N, 3, H, W) to logits (N, C, H, W) for any H, W."""
from __future__ import annotations

import torch
from torch import nn

from .deeplab import DeepLabV3Plus
from .fastscnn import FastSCNN
from .fcn import FCN8s
from .unet import UNet

MODELS: dict[str, type[nn.Module]] = {
    'fcn': FCN8s,
    'unet': UNet,
    'deeplabv3plus': DeepLabV3Plus,
    'fastscnn': FastSCNN,
}

# Nets built of depthwise convolutions train ~1.6x faster per CPU step in channels-last layout (oneDNN); the
# dense ones do not (FCN, U-Net about even, DeepLabv3+ 10-20 % slower), so they keep the default layout.
CHANNELS_LAST = {'fastscnn'}


def build_model(name: str, num_classes: int) -> nn.Module:
    """A fresh network ``name`` (one of ``MODELS``) with ``num_classes`` output channels."""
    if name not in MODELS:
        raise ValueError(f'unknown model {name!r}; choose from {", ".join(MODELS)}')
    return MODELS[name](num_classes)


def memory_format(name: str) -> torch.memory_format:
    """The memory layout network ``name`` trains fastest in on a CPU."""
    return torch.channels_last if name in CHANNELS_LAST else torch.contiguous_format
