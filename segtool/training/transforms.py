"""Augmentation and input normalisation.

Scale jitter, random crop, horizontal flip, colour jitter and blur, then (pixel / 255 - mean) / std.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from seg_node.label_sets import IGNORE_INDEX
from seg_node.preprocessing import IMAGENET_MEAN, IMAGENET_STD


@dataclass(frozen=True)
class Transform:
    """Bring an image and its mask to ``size`` (bilinear image, nearest mask), augment them, normalise the image.

    Augmentation, with an ``rng``: scale jitter (``scale``, a range of factors: the pair is resized to factor x
    ``size``, then a ``size`` window is cut from it, or it is padded to ``size`` with the mean colour and
    ``ignore_index`` where it came out smaller), the window's position (random with ``crop``, else centred), and a
    horizontal flip with probability ``flip``, then the image alone: ``color_jitter`` (brightness, contrast,
    saturation, hue: each factor drawn from [1 - x, 1 + x], the hue turned by up to x of a full turn) and a Gaussian
    blur (sigma 0.1-1.5 pixels) with probability ``blur``. An augmentation that is off draws no random number, so
    runs without it repeat those made before it existed.
    """

    size: tuple[int, int]
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD
    flip: float = 0.0
    scale: tuple[float, float] = (1.0, 1.0)
    crop: bool = False
    ignore_index: int = IGNORE_INDEX
    color_jitter: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)
    blur: float = 0.0

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
        """Return the network input and the int64 (H, W) target; ``rng`` drives the augmentation."""
        h, w = self.size
        if rng is not None and tuple(self.scale) != (1.0, 1.0):
            factor = rng.uniform(*self.scale)
            scaled = (max(1, round(w * factor)), max(1, round(h * factor)))
            image, mask = self._window(cv2.resize(image, scaled, interpolation=cv2.INTER_LINEAR),
                                       cv2.resize(mask, scaled, interpolation=cv2.INTER_NEAREST), rng)
        elif mask.shape[:2] != (h, w):
            mask = cv2.resize(mask, (w, h), interpolation=cv2.INTER_NEAREST)
        if rng is not None and self.flip > 0 and rng.random() < self.flip:
            image, mask = image[:, ::-1], mask[:, ::-1]
        if rng is not None:
            image = self._photometric(image, rng)
        return self.image(image), mask.astype(np.int64)

    def _photometric(self, image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Jitter brightness, contrast, saturation and hue, then blur, as ``color_jitter`` and ``blur`` ask."""
        brightness, contrast, saturation, hue = self.color_jitter
        if brightness or contrast or saturation:
            x = image.astype(np.float32)
            if brightness:
                x *= rng.uniform(1 - brightness, 1 + brightness)
            gray = x @ np.array([0.299, 0.587, 0.114], np.float32)
            if contrast:
                mean = float(gray.mean())
                factor = rng.uniform(1 - contrast, 1 + contrast)
                x, gray = (x - mean) * factor + mean, (gray - mean) * factor + mean
            if saturation:
                x = gray[..., None] + (x - gray[..., None]) * rng.uniform(1 - saturation, 1 + saturation)
            image = np.clip(x + 0.5, 0, 255).astype(np.uint8)
        if hue:
            hsv = cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2HSV_FULL)
            hsv[..., 0] += np.uint8(round(rng.uniform(-hue, hue) * 256) % 256)  # wraps round the colour circle
            image = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB_FULL)
        if self.blur and rng.random() < self.blur:
            image = cv2.GaussianBlur(np.ascontiguousarray(image), (0, 0), rng.uniform(0.1, 1.5))
        return image

    def _window(self, image: np.ndarray, mask: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Cut (or pad to) a ``size`` window of the scaled pair, at a random offset with ``crop``, else centred."""
        h, w = self.size

        def offset(extra: int) -> int:  # > 0: the picture overhangs the window by that much; < 0: it falls short
            return int(rng.integers(min(0, extra), max(0, extra) + 1)) if self.crop else extra // 2

        top, left = offset(image.shape[0] - h), offset(image.shape[1] - w)
        window = np.empty((h, w, 3), np.uint8)
        window[:] = np.clip(np.round(np.asarray(self.mean) * 255), 0, 255).astype(np.uint8)
        labels = np.full((h, w), self.ignore_index, mask.dtype)
        src_y, src_x, dst_y, dst_x = max(top, 0), max(left, 0), max(-top, 0), max(-left, 0)
        rows, cols = min(h - dst_y, image.shape[0] - src_y), min(w - dst_x, image.shape[1] - src_x)
        window[dst_y:dst_y + rows, dst_x:dst_x + cols] = image[src_y:src_y + rows, src_x:src_x + cols]
        labels[dst_y:dst_y + rows, dst_x:dst_x + cols] = mask[src_y:src_y + rows, src_x:src_x + cols]
        return window, labels


class TransformedDataset:
    """A dataset seen through a ``Transform``; its random draws come from (seed, epoch, index), so runs repeat."""

    def __init__(self, dataset, transform: Transform, seed: int = 0) -> None:
        self.dataset, self.transform, self.seed, self.epoch = dataset, transform, seed, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        image, mask = self.dataset[i]
        return self.transform(image, mask, np.random.default_rng([self.seed, self.epoch, i]))
