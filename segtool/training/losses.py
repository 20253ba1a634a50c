"""Pixel-wise losses: cross-entropy, soft Dice and their sum, all honouring ``ignore_index`` and class weights."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from seg_node.label_sets import IGNORE_INDEX
from segtool.training.registry import LOSSES, resolve


class DiceLoss(nn.Module):
    """1 - mean over classes of the soft Dice coefficient (2|P.G| + s) / (|P| + |G| + s) on softmax probabilities.

    Pixels labelled ``ignore_index`` count for no class; ``weight`` (one per class) weights the class mean.
    Dice scores each class by its overlap, whatever its size, so rare classes weigh as much as frequent ones.
    """

    def __init__(self, weight: torch.Tensor | None = None, ignore_index: int = IGNORE_INDEX,
                 smooth: float = 1.0) -> None:
        super().__init__()
        self.ignore_index, self.smooth = ignore_index, smooth
        self.register_buffer('weight', weight)

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        classes = logits.shape[1]
        valid = (target != self.ignore_index).unsqueeze(1).to(logits.dtype)
        probs = logits.softmax(1) * valid
        onehot = F.one_hot(torch.where(target == self.ignore_index, 0, target), classes).permute(0, 3, 1, 2)
        onehot = onehot.to(logits.dtype) * valid
        dims = (0, 2, 3)
        inter = (probs * onehot).sum(dims)
        dice = (2 * inter + self.smooth) / (probs.sum(dims) + onehot.sum(dims) + self.smooth)
        weight = torch.ones_like(dice) if self.weight is None else self.weight.to(dice)
        return 1 - (dice * weight).sum() / weight.sum()


class CEDiceLoss(nn.Module):
    """Cross-entropy plus Dice loss."""

    def __init__(self, weight: torch.Tensor | None = None, ignore_index: int = IGNORE_INDEX) -> None:
        super().__init__()
        self.ce = nn.CrossEntropyLoss(weight=weight, ignore_index=ignore_index)
        self.dice = DiceLoss(weight, ignore_index)

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return self.ce(logits, target) + self.dice(logits, target)


def build_loss(name: str, ignore_index: int = IGNORE_INDEX, class_weights: list[float] | None = None) -> nn.Module:
    """Build the loss ``name`` (one of ``registry.LOSSES``) for logits (N, C, H, W) and int64 targets (N, H, W)."""
    weight = None if class_weights is None else torch.tensor(class_weights, dtype=torch.float32)
    return resolve(LOSSES, name)(weight=weight, ignore_index=ignore_index)
