"""Segmentation metrics from a confusion matrix (numpy only, so ONNX evaluation needs no torch)."""
from __future__ import annotations

import numpy as np


class ConfusionMatrix:
    """Accumulates ``matrix[true, predicted]`` pixel counts, skipping pixels labelled ``ignore_index``."""

    def __init__(self, num_classes: int, ignore_index: int = 255) -> None:
        self.num_classes, self.ignore_index = num_classes, ignore_index
        self.matrix = np.zeros((num_classes, num_classes), np.int64)

    def update(self, predicted: np.ndarray, target: np.ndarray) -> None:
        """Add a batch of predicted and true label maps of the same shape."""
        target = np.asarray(target).ravel().astype(np.int64)
        predicted = np.asarray(predicted).ravel().astype(np.int64)
        keep = target != self.ignore_index
        if (target[keep] >= self.num_classes).any() or (target[keep] < 0).any():
            raise ValueError(f'target holds labels outside 0..{self.num_classes - 1} (ignore {self.ignore_index})')
        index = target[keep] * self.num_classes + predicted[keep]
        self.matrix += np.bincount(index, minlength=self.num_classes ** 2).reshape(self.matrix.shape)

    def merge(self, matrix: np.ndarray) -> None:
        """Add counts gathered elsewhere (e.g. another process)."""
        self.matrix += matrix

    def iou(self) -> np.ndarray:
        """Per-class intersection over union; NaN for a class neither present nor predicted."""
        tp = np.diag(self.matrix).astype(np.float64)
        union = self.matrix.sum(0) + self.matrix.sum(1) - tp
        with np.errstate(invalid='ignore', divide='ignore'):
            return np.where(union > 0, tp / union, np.nan)

    def dice(self) -> np.ndarray:
        """Per-class Dice (F1) score; NaN for a class neither present nor predicted."""
        tp = np.diag(self.matrix).astype(np.float64)
        total = self.matrix.sum(0) + self.matrix.sum(1)
        with np.errstate(invalid='ignore', divide='ignore'):
            return np.where(total > 0, 2 * tp / total, np.nan)

    def mean_iou(self) -> float:
        """Mean IoU over the classes that occur (in truth or prediction)."""
        iou = self.iou()
        return float(np.nanmean(iou)) if np.isfinite(iou).any() else float('nan')

    def pixel_accuracy(self) -> float:
        """Fraction of labelled pixels predicted right."""
        total = self.matrix.sum()
        return float(np.trace(self.matrix) / total) if total else float('nan')

    def report(self, class_names: list[str] | tuple[str, ...]) -> dict:
        """All metrics as plain JSON-ready values (None for undefined)."""
        def plain(values: np.ndarray) -> dict:
            return {n: (None if np.isnan(v) else float(v)) for n, v in zip(class_names, values)}
        iou, dice = self.iou(), self.dice()
        return {'mean_iou': self.mean_iou(), 'mean_dice': float(np.nanmean(dice)) if np.isfinite(dice).any()
                else None, 'pixel_accuracy': self.pixel_accuracy(), 'iou': plain(iou), 'dice': plain(dice),
                'class_names': list(class_names), 'confusion_matrix': self.matrix.tolist()}
