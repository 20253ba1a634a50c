"""Segmentation networks by name; every one maps (N, 3, H, W) to logits (N, C, H, W) for any H, W."""
from __future__ import annotations

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


def build_model(name: str, num_classes: int) -> nn.Module:
    """A fresh network ``name`` (one of ``MODELS``) with ``num_classes`` output channels."""
    if name not in MODELS:
        raise ValueError(f'unknown model {name!r}; choose from {", ".join(MODELS)}')
    return MODELS[name](num_classes)
