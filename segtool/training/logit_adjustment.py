"""Post-hoc logit adjustment of a model trained with class weights, folded into its output layer's bias.

Weighting class c by w_c in the loss raises its logit by about log w_c where it is learned: rare classes are found
more often but also predicted where they are not. Adding ``-tau * log(w_c)`` to the logits takes back part of that
shift (Menon et al., "Long-tail learning via logit adjustment", ICLR 2021); ``tau`` is chosen on a validation
split. The shift lives in the bias of the layer that makes the logits, so the adjusted model costs nothing more.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from segtool.training.evaluate import batches
from segtool.training.metrics import ConfusionMatrix


def logit_shift(class_weights: list[float], tau: float) -> np.ndarray:
    """Return the per-class shift ``-tau * log(w_c)`` that undoes ``tau`` of the class weighting."""
    weights = np.asarray(class_weights, np.float64)
    if (weights <= 0).any():
        raise ValueError(f'class weights must be positive: {list(class_weights)}')
    return (-tau * np.log(weights)).astype(np.float32)


def fold_into_output_bias(model: nn.Module, shift: np.ndarray, size: tuple[int, int] = (64, 96)) -> str:
    """Add ``shift`` to the bias of the convolution whose bias moves ``model``'s logits by exactly that much.

    The candidates are the convolutions with one output per class, last first; each is tried on a random input and
    kept only if every logit moved by its class's shift. Returns the layer's name; raises ValueError if none does.
    """
    model.eval()
    delta = torch.from_numpy(np.asarray(shift, np.float32))
    x = torch.randn(1, 3, *size, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        before = model(x)
        candidates = [(name, m) for name, m in model.named_modules()
                      if isinstance(m, nn.Conv2d) and m.out_channels == len(delta) and m.bias is not None]
        for name, conv in reversed(candidates):
            bias = conv.bias.clone()
            conv.bias += delta
            moved = model(x) - before
            if torch.allclose(moved, delta.view(1, -1, 1, 1).expand_as(moved), atol=1e-4):
                return name
            conv.bias.copy_(bias)
    raise ValueError(f'{type(model).__name__}: no convolution\'s bias shifts its logits directly; '
                     'logit adjustment needs one (the output layer)')


def sweep(model: nn.Module, meta: dict, dataset, size: tuple[int, int], shifts: dict[float, np.ndarray],
          batch_size: int = 8, ignore_index: int = 255, progress: bool = True) -> dict[float, ConfusionMatrix]:
    """Score every candidate shift on ``dataset`` in one pass of ``model``: a confusion matrix per key."""
    matrices = {key: ConfusionMatrix(len(meta['class_names']), ignore_index) for key in shifts}
    model.eval()
    for images, masks in batches(dataset, meta, size, batch_size, progress):
        with torch.no_grad():
            logits = model(torch.from_numpy(images)).numpy()
        for key, shift in shifts.items():
            matrices[key].update((logits + shift[None, :, None, None]).argmax(1), masks)
    return matrices
