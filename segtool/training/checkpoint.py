"""Checkpoints of plain tensors, dicts, lists and numbers, loadable with ``torch.load(..., weights_only=True)``."""
from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from segtool.training.nets import build_model


def save_checkpoint(path: Path, model: nn.Module, config: dict, meta: dict, **state) -> None:
    """Write ``model``'s weights, the training ``config``, ``meta`` and ``state`` atomically.

    ``meta`` is the data description (class names, palette, mean, std), ``state`` any further plain state (epoch,
    optimizer, history...).
    """
    path = Path(path)
    tmp = path.with_suffix('.tmp')
    torch.save({'model': model.state_dict(), 'config': config, 'meta': meta, **state}, tmp)
    tmp.replace(path)


def load_checkpoint(path: Path) -> dict:
    """Load a checkpoint's dict safely (no pickled code)."""
    return torch.load(path, map_location='cpu', weights_only=True)


def model_from_checkpoint(checkpoint: dict) -> nn.Module:
    """Rebuild the network a checkpoint describes, with its weights, in eval mode."""
    model = build_model(checkpoint['config']['model'], len(checkpoint['meta']['class_names']))
    model.load_state_dict(checkpoint['model'])
    return model.eval()


def load_matching_weights(model: nn.Module, weights: dict) -> list[str]:
    """Copy into ``model`` the tensors of ``weights`` whose name and shape match; the names left as they were."""
    own = model.state_dict()
    matching = {k: v for k, v in weights.items() if k in own and own[k].shape == v.shape}
    model.load_state_dict(matching, strict=False)
    return [k for k in own if k not in matching]
