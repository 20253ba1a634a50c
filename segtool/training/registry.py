"""The networks and losses ``segtool`` knows, by name, without importing torch (``segtool --help`` stays fast).

Each entry names where its class lives; :func:`resolve` imports it when a run needs it. Command-line choices,
defaults and the comparison are all read from these two tables.
"""
from __future__ import annotations

import importlib

#: Network name -> ``module:class``; every class takes ``num_classes`` and maps (N, 3, H, W) to (N, C, H, W) logits.
MODELS = {
    'fcn': 'segtool.training.nets.fcn:FCN8s',
    'unet': 'segtool.training.nets.unet:UNet',
    'segnet': 'segtool.training.nets.segnet:SegNet',
    'deeplabv3plus': 'segtool.training.nets.deeplab:DeepLabV3Plus',
    'fastscnn': 'segtool.training.nets.fastscnn:FastSCNN',
}
#: Loss name -> ``module:class``; every class takes ``weight`` and ``ignore_index`` keywords.
LOSSES = {
    'ce': 'torch.nn:CrossEntropyLoss',
    'dice': 'segtool.training.losses:DiceLoss',
    'ce+dice': 'segtool.training.losses:CEDiceLoss',
}


def resolve(table: dict[str, str], name: str) -> type:
    """Import the class registered as ``name`` in ``table`` (MODELS or LOSSES); ValueError naming the choices."""
    if name not in table:
        kind = 'model' if table is MODELS else 'loss'
        raise ValueError(f'unknown {kind} {name!r}; choose from {", ".join(table)}')
    module, _, attribute = table[name].partition(':')
    return getattr(importlib.import_module(module), attribute)
