"""Dense CRF: mean-field inference of the fully connected CRF with Potts terms on the model's class probabilities.

The energy (Kraehenbuehl and Koltun, 2011) is ``sum_i -log P_i(x_i) + sum_{i<j} [x_i != x_j] k(i, j)`` with
``k = w_a k_a + w_s k_s``: the appearance kernel ``k_a = exp(-|p_i - p_j|^2 / 2 theta_a^2 - |I_i - I_j|^2 /
2 theta_b^2)`` (position p, colour I) and the smoothness kernel ``k_s = exp(-|p_i - p_j|^2 / 2 theta_g^2)``. One
mean-field update is

    Q_i(l) = softmax_l(log P_i(l) + sum_m w_m M^m_i(l)),
    M^m_i(l) = sum_{j != i} k_m(i, j) Q_j(l) / sum_{j != i} k_m(i, j)

(with Potts compatibility the label-independent part of the message cancels in the softmax). Each message is
normalised to a kernel-weighted mean of the other pixels' Q, so a weight is the log-odds that a unanimous
neighbourhood adds. The smoothness message is an exact separable Gaussian (OpenCV, cut at 3 sigma); the
appearance message is approximated on a sparse bilateral grid: pixels are splatted to the nearest cell of a 5-D
lattice (y, x, r, g, b), one cell per sigma along each axis, the lattice is blurred with [1/2, 1, 1/2] along each
axis, and every pixel reads its cell back. That kernel weighs a pixel by 1 within its cell and about exp(-d^2 / 2)
at d cells (test/test_refine.py compares it with the exact kernel).
"""
from __future__ import annotations

import math
from typing import Callable, Sequence

import cv2
import numpy as np

from seg_node.postprocessing import softmax

#: A message: (C, H, W) probabilities Q -> (C, H, W) normalised message M.
Message = Callable[[np.ndarray], np.ndarray]


def mean_field_step(log_p: np.ndarray, q: np.ndarray, messages: Sequence[tuple[float, Message]]) -> np.ndarray:
    """Return one mean-field update of Q (C, H, W) given the unary log-probabilities and the weighted messages."""
    energy = log_p.copy()
    for weight, message in messages:
        energy += weight * message(q)
    return softmax(energy)


def _normaliser(total_weight: np.ndarray) -> np.ndarray:
    """1 / (sum over the other pixels of the kernel), 0 where a pixel has no neighbour at all."""
    others = total_weight - 1.0
    return np.where(others > 1e-6, 1.0 / np.maximum(others, 1e-6), 0.0).astype(np.float32)


class SmoothnessMessage:
    """Message of the smoothness kernel exp(-|p_i - p_j|^2 / 2 sigma^2): an exact separable Gaussian filter."""

    def __init__(self, hw: tuple[int, int], sigma: float) -> None:
        radius = max(1, math.ceil(3.0 * sigma))
        offsets = np.arange(-radius, radius + 1, dtype=np.float64)
        self.taps = np.exp(-offsets ** 2 / (2.0 * sigma ** 2)).astype(np.float32)
        self.norm = _normaliser(self._filter(np.ones(hw, np.float32)))

    def _filter(self, plane: np.ndarray) -> np.ndarray:
        """Sum of kernel-weighted values over every pixel, self included (zero outside the image)."""
        return cv2.sepFilter2D(plane, cv2.CV_32F, self.taps, self.taps, borderType=cv2.BORDER_CONSTANT)

    def __call__(self, q: np.ndarray) -> np.ndarray:
        """Return the normalised message of Q (C, H, W)."""
        filtered = np.stack([self._filter(plane) for plane in q])
        filtered -= q
        filtered *= self.norm
        return filtered


class AppearanceMessage:
    """Message of the appearance kernel on a sparse bilateral grid built from one image (see the module doc)."""

    def __init__(self, image: np.ndarray, spatial_sigma: float, color_sigma: float) -> None:
        h, w = image.shape[:2]
        # Cell coordinates along each axis, shifted by one: a free cell lies beyond the outermost occupied ones.
        rows = np.rint(np.arange(h) / spatial_sigma).astype(np.int64) + 1
        cols = np.rint(np.arange(w) / spatial_sigma).astype(np.int64) + 1
        levels = np.rint(np.arange(256) / color_sigma).astype(np.int64) + 1
        colour = np.take(levels, image.reshape(-1, 3))
        span = int(levels[-1]) + 2
        sizes = (int(rows[-1]) + 2, int(cols[-1]) + 2, span, span, span)
        strides = np.cumprod((1,) + sizes[:0:-1])[::-1]
        keys = ((rows[:, None] * strides[0] + cols[None, :] * strides[1]).ravel()
                + colour[:, 0] * strides[2] + colour[:, 1] * strides[3] + colour[:, 2])
        # Sort the pixels by cell: the pixel index rides in the key's low part (np.sort is far faster than argsort),
        # unless the product could overflow (huge inputs with tiny sigmas).
        if int(keys.max()) < np.iinfo(np.int64).max // (h * w):
            packed = np.sort(keys * (h * w) + np.arange(h * w))
            order, ordered = packed % (h * w), packed // (h * w)
        else:
            order = np.argsort(keys)
            ordered = keys[order]
        first = np.r_[True, ordered[1:] != ordered[:-1]]
        self.keys = ordered[first]
        self.order, self.starts = order, np.flatnonzero(first)
        self.cell_of = np.empty(h * w, np.int64)
        self.cell_of[order] = np.cumsum(first) - 1
        self.neighbours = [(self._lookup(self.keys - stride), self._lookup(self.keys + stride)) for stride in strides]
        self.norm = _normaliser(self._filter(np.ones((1, h * w), np.float32)))

    def _lookup(self, keys: np.ndarray) -> np.ndarray:
        """Index of each key's cell, or the index of the empty cell (one past the last) where it is not occupied."""
        found = np.minimum(np.searchsorted(self.keys, keys), len(self.keys) - 1)
        return np.where(self.keys[found] == keys, found, len(self.keys))

    def _filter(self, values: np.ndarray) -> np.ndarray:
        """Splat (C, N) values to the grid, blur it along each axis, slice it back to (C, N)."""
        grid = np.zeros((values.shape[0], len(self.keys) + 1), np.float32)
        grid[:, :-1] = np.add.reduceat(np.take(values, self.order, axis=1), self.starts, axis=1)
        for below, above in self.neighbours:
            blurred = np.take(grid, below, axis=1)
            blurred += np.take(grid, above, axis=1)
            blurred *= 0.5
            grid[:, :-1] += blurred
        return np.take(grid, self.cell_of, axis=1)

    def __call__(self, q: np.ndarray) -> np.ndarray:
        """Return the normalised message of Q (C, H, W)."""
        flat = q.reshape(q.shape[0], -1)
        filtered = self._filter(flat)
        filtered -= flat
        filtered *= self.norm
        return filtered.reshape(q.shape)


def dense_crf(probabilities: np.ndarray, image: np.ndarray, iterations: int, spatial_sigma: float,
              color_sigma: float, appearance_weight: float, smoothness_weight: float,
              smoothness_sigma: float) -> np.ndarray:
    """Refine (C, H, W) class probabilities with ``iterations`` mean-field updates, guided by the (H, W, 3) image."""
    q = np.ascontiguousarray(probabilities, dtype=np.float32)
    log_p = cv2.log(np.maximum(q, 1e-6).reshape(q.shape[0] * q.shape[1], -1)).reshape(q.shape)
    messages = []
    if appearance_weight > 0:
        messages.append((appearance_weight, AppearanceMessage(image, spatial_sigma, color_sigma)))
    if smoothness_weight > 0:
        messages.append((smoothness_weight, SmoothnessMessage(q.shape[1:], smoothness_sigma)))
    for _ in range(iterations):
        q = mean_field_step(log_p, q, messages)
    return q
