"""Segmentation networks by name (``registry.MODELS``); every one maps (N, 3, H, W) to logits (N, C, H, W)."""
from __future__ import annotations

import torch
from torch import nn

from segtool.training.registry import MODELS, resolve

# Nets built of depthwise convolutions train faster per CPU step in channels-last layout (oneDNN); the dense ones
# do not, so they keep the default layout (docs/toolchain.md has the measurement).
CHANNELS_LAST = {'fastscnn'}


def build_model(name: str, num_classes: int) -> nn.Module:
    """Build a fresh network ``name`` (one of ``registry.MODELS``) with ``num_classes`` output channels."""
    return resolve(MODELS, name)(num_classes)


def memory_format(name: str) -> torch.memory_format:
    """Return the memory layout network ``name`` trains fastest in on a CPU."""
    return torch.channels_last if name in CHANNELS_LAST else torch.contiguous_format
