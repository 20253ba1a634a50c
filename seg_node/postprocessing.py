"""Model output -> class ids and confidence at model resolution -> camera resolution, colours and overlay.

The class decision is taken at the model's resolution (a per-channel running maximum, no full-resolution
float argmax) and the uint8/uint16 labels are then resized nearest-neighbour to the camera, undoing the
letterbox exactly. Refinements (seg_node.refine) start from :meth:`Postprocessor.scores` instead: the class score
planes of the picture's part of the output.
"""
from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np

from seg_node.inference import ModelSpec
from seg_node.preprocessing import Geometry, scaled


def argmax_channels(scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(labels uint8|uint16, best score) over axis 0 of (C, H, W) scores; ties go to the lower class id.

    A running maximum with OpenCV's vectorized compare/max/masked copy: faster than ``np.argmax(axis=0)``
    (docs/performance.md), and the same answer.
    """
    dtype = np.uint8 if scores.shape[0] <= 256 else np.uint16
    best = scores[0].copy()
    labels = np.zeros(best.shape, dtype)
    class_plane = np.empty_like(labels)
    for class_id in range(1, scores.shape[0]):
        higher = cv2.compare(scores[class_id], best, cv2.CMP_GT)
        cv2.max(best, scores[class_id], dst=best)
        class_plane.fill(class_id)
        cv2.copyTo(class_plane, higher, labels)
    return labels, best


def softmax(scores: np.ndarray) -> np.ndarray:
    """Softmax over axis 0 of (C, H, W) float32 scores (class planes), with OpenCV's exp (faster than numpy's)."""
    out = scores - scores.max(axis=0)
    planes = out.reshape(out.shape[0] * out.shape[1], -1)
    cv2.exp(planes, dst=planes)
    out /= out.sum(axis=0)
    return out


def nearest_indices(source: int, target: int) -> np.ndarray:
    """Source index of each of ``target`` output pixels, nearest by pixel centres: floor((i + 0.5) * source / target).

    The rule PIL, scikit-image and a fused graph (``segtool fuse``) follow; OpenCV's INTER_NEAREST_EXACT departs from
    it for some sizes (OpenCV 5.1: 240x320 -> 375x500), so :meth:`Postprocessor.resize` uses OpenCV only where it
    agrees.
    """
    return np.minimum((2 * np.arange(target) + 1) * source // (2 * target), source - 1)


@lru_cache(maxsize=64)
def _nearest_plan(source_hw: tuple[int, int], target_hw: tuple[int, int]) -> tuple[np.ndarray, np.ndarray] | None:
    """None where OpenCV's nearest resize between these sizes follows :func:`nearest_indices`, else their indices."""
    rows, cols = nearest_indices(source_hw[0], target_hw[0]), nearest_indices(source_hw[1], target_hw[1])
    ids = np.arange(max(source_hw), dtype=np.uint16)
    row_ids = np.ascontiguousarray(np.broadcast_to(ids[:source_hw[0], None], source_hw))
    col_ids = np.ascontiguousarray(np.broadcast_to(ids[None, :source_hw[1]], source_hw))
    size = (target_hw[1], target_hw[0])
    agrees = (np.array_equal(cv2.resize(row_ids, size, interpolation=cv2.INTER_NEAREST_EXACT)[:, 0], rows)
              and np.array_equal(cv2.resize(col_ids, size, interpolation=cv2.INTER_NEAREST_EXACT)[0], cols))
    return None if agrees else (rows, cols)


def content_slices(geometry: Geometry, out_hw: tuple[int, int]) -> tuple[slice, slice]:
    """Rows and columns of the camera picture in a model output of ``out_hw`` (letterbox padding left out)."""
    in_h, in_w = geometry.input_hw
    out_h, out_w = out_hw
    if (out_h, out_w) == (in_h, in_w):
        return geometry.content
    # the model answers at another resolution: scale the content box to it
    return (slice(scaled(geometry.top, out_h, in_h), scaled(geometry.top + geometry.height, out_h, in_h)),
            slice(scaled(geometry.left, out_w, in_w), scaled(geometry.left + geometry.width, out_w, in_w)))


class Postprocessor:
    """Reads one model output into labels/confidence and renders them at camera resolution."""

    def __init__(self, spec: ModelSpec, num_classes: int, palette: np.ndarray) -> None:
        self.spec = spec
        self.label_dtype = np.uint8 if num_classes <= 256 else np.uint16
        palette = np.asarray(palette, np.uint8)
        table_size = 256 if self.label_dtype == np.uint8 else 65536
        table = np.resize(palette, (table_size, 3))  # ids past the palette repeat it
        self._rgb_table, self._bgr_table = table, np.ascontiguousarray(table[:, ::-1])

    def decide(self, raw: np.ndarray, want_confidence: bool) -> tuple[np.ndarray, np.ndarray | None]:
        """Class ids (H, W) at model resolution and, if asked and known, the winner's probability as uint8."""
        spec = self.spec
        if spec.output_kind == 'labels':
            return _single_plane(raw[0], spec.output_layout).astype(self.label_dtype), None
        scores = raw[0].astype(np.float32, copy=False)
        if spec.num_classes == 1:
            plane = _single_plane(scores, spec.output_layout)
            if spec.output_kind == 'logits':
                plane = 1.0 / (1.0 + np.exp(-plane))
            labels = (plane > 0.5).astype(self.label_dtype)
            confidence = np.maximum(plane, 1.0 - plane) if want_confidence else None
        else:
            if spec.output_layout == 'NHWC':
                scores = np.ascontiguousarray(scores.transpose(2, 0, 1))
            labels, best = argmax_channels(scores)
            labels = labels.astype(self.label_dtype, copy=False)
            confidence = None
            if want_confidence:
                confidence = best if spec.output_kind == 'probabilities' else _softmax_max(scores, best)
        if confidence is not None:
            confidence = cv2.convertScaleAbs(confidence, alpha=255.0)
        return labels, confidence

    def scores(self, raw: np.ndarray, geometry: Geometry) -> tuple[np.ndarray, bool]:
        """Return the (C, h, w) float32 class scores of the picture's part and whether they are probabilities.

        A single sigmoid channel becomes two classes (background, foreground): logits (0, z), probabilities
        (1 - p, p). Raises ValueError for a model that outputs class ids.
        """
        spec = self.spec
        if spec.output_kind == 'labels':
            raise ValueError('the model outputs class ids, not scores')
        sample = raw[0].astype(np.float32, copy=False)
        if spec.num_classes == 1:
            plane = _single_plane(sample, spec.output_layout)
            sample = np.stack([np.zeros_like(plane), plane] if spec.output_kind == 'logits' else [1.0 - plane, plane])
        elif spec.output_layout == 'NHWC':
            sample = sample.transpose(2, 0, 1)
        rows, cols = content_slices(geometry, sample.shape[1:])
        return np.ascontiguousarray(sample[:, rows, cols]), spec.output_kind != 'logits'

    @staticmethod
    def to_camera(plane: np.ndarray, geometry: Geometry, frame_hw: tuple[int, int], smooth: bool = False) -> np.ndarray:
        """Crop the picture's part of a model-resolution plane and resize it to the camera's (H, W)."""
        return Postprocessor.resize(plane[content_slices(geometry, plane.shape[:2])], frame_hw, smooth)

    @staticmethod
    def resize(crop: np.ndarray, frame_hw: tuple[int, int], smooth: bool = False) -> np.ndarray:
        """Resize a plane of the picture to the camera's (H, W): nearest (:func:`nearest_indices`), or bilinear."""
        if crop.shape[:2] == frame_hw:
            return np.ascontiguousarray(crop)
        if not smooth and (plan := _nearest_plan(crop.shape[:2], tuple(frame_hw))) is not None:
            return np.take(np.take(crop, plan[0], axis=0), plan[1], axis=1)
        interpolation = cv2.INTER_LINEAR if smooth else cv2.INTER_NEAREST_EXACT
        return cv2.resize(crop, (frame_hw[1], frame_hw[0]), interpolation=interpolation)

    def colorize(self, labels: np.ndarray, bgr: bool = False) -> np.ndarray:
        """(H, W, 3) uint8 class colours, in BGR order when ``bgr``."""
        table = self._bgr_table if bgr else self._rgb_table
        if labels.dtype == np.uint8:
            return cv2.LUT(cv2.cvtColor(labels, cv2.COLOR_GRAY2BGR), table.reshape(256, 1, 3))
        return table[labels]


def blend(picture: np.ndarray, colors: np.ndarray, alpha: float) -> np.ndarray:
    """``(1 - alpha) * picture + alpha * colors``, rounded, in uint8."""
    return cv2.addWeighted(picture, 1.0 - alpha, colors, alpha, 0.0)


def _single_plane(sample: np.ndarray, layout: str) -> np.ndarray:
    """Return the (H, W) plane of a one-channel output sample (batch axis already removed)."""
    if layout == 'NHW':
        return sample
    return sample[0] if layout == 'NCHW' else sample[:, :, 0]


def _softmax_max(scores: np.ndarray, best: np.ndarray) -> np.ndarray:
    """Compute the largest softmax probability per pixel: 1 / sum_c exp(score_c - best)."""
    total = np.zeros_like(best)
    for plane in scores:
        cv2.add(total, cv2.exp(cv2.subtract(plane, best)), dst=total)
    return 1.0 / total
