"""Augmentation and input normalisation: resize, random horizontal flip, (pixel / 255 - mean) / std."""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from seg_node.preprocessing import IMAGENET_MEAN, IMAGENET_STD


@dataclass(frozen=True)
class Transform:
    """Resize to ``size`` (bilinear image, nearest mask), flip with probability ``flip``, normalise."""

    size: tuple[int, int]
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD
    flip: float = 0.0

    def image(self, image: np.ndarray) -> np.ndarray:
        """Turn an RGB uint8 image into the network's normalised float32 (3, H, W) input."""
        h, w = self.size
        if image.shape[:2] != (h, w):
            image = cv2.resize(image, (w, h), interpolation=cv2.INTER_LINEAR)
        scale = 1 / (255 * np.asarray(self.std, np.float32))
        x = (image.astype(np.float32) - 255 * np.asarray(self.mean, np.float32)) * scale
        return np.ascontiguousarray(x.transpose(2, 0, 1))

    def __call__(self, image: np.ndarray, mask: np.ndarray,
                 rng: np.random.Generator | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Return the network input and the int64 (H, W) target; ``rng`` drives the random flip."""
        h, w = self.size
        if mask.shape[:2] != (h, w):
            mask = cv2.resize(mask, (w, h), interpolation=cv2.INTER_NEAREST)
        if rng is not None and self.flip > 0 and rng.random() < self.flip:
            image, mask = image[:, ::-1], mask[:, ::-1]
        return self.image(image), mask.astype(np.int64)


class TransformedDataset:
    """A dataset seen through a ``Transform``; flips are drawn from (seed, epoch, index), so runs repeat."""

    def __init__(self, dataset, transform: Transform, seed: int = 0) -> None:
        self.dataset, self.transform, self.seed, self.epoch = dataset, transform, seed, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        image, mask = self.dataset[i]
        return self.transform(image, mask, np.random.default_rng([self.seed, self.epoch, i]))
