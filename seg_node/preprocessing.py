"""Camera frame -> model input tensor: resize (stretch or letterbox), RGB order, normalization, layout."""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from seg_node.image_codec import Frame
from seg_node.model_metadata import RESIZE_MODES

#: The normalisation most pretrained backbones expect (torchvision convention: RGB, on pixel/255).
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def scaled(length: int, numerator: int, denominator: int) -> int:
    """Return ``length * numerator / denominator`` rounded half up, in integers (a fused graph computes the same)."""
    return (2 * length * numerator + denominator) // (2 * denominator)


@dataclass(frozen=True)
class Geometry:
    """Where the camera picture lies inside the model input: rows ``top:top+height``, cols ``left:left+width``."""

    frame_hw: tuple[int, int]
    input_hw: tuple[int, int]
    top: int
    left: int
    height: int
    width: int

    @classmethod
    def plan(cls, frame_hw: tuple[int, int], input_hw: tuple[int, int], mode: str) -> Geometry:
        """Stretch fills the input; letterbox keeps the aspect ratio and centres the picture."""
        in_h, in_w = input_hw
        if mode == 'stretch':
            return cls(frame_hw, input_hw, 0, 0, in_h, in_w)
        if mode != 'letterbox':
            raise ValueError(f"resize_mode '{mode}' is not one of {', '.join(RESIZE_MODES)}")
        frame_h, frame_w = frame_hw
        if in_h * frame_w <= in_w * frame_h:  # the height limits the scale
            height, width = in_h, min(in_w, max(1, scaled(frame_w, in_h, frame_h)))
        else:
            height, width = min(in_h, max(1, scaled(frame_h, in_w, frame_w))), in_w
        return cls(frame_hw, input_hw, (in_h - height) // 2, (in_w - width) // 2, height, width)

    @property
    def content(self) -> tuple[slice, slice]:
        """Index of the picture's rows and columns in a model-resolution array."""
        return slice(self.top, self.top + self.height), slice(self.left, self.left + self.width)


class Preprocessor:
    """Turns frames into the model's input: ``(pixel/255 - mean)/std`` in RGB, NCHW or NHWC, float32 or float16."""

    def __init__(self, mean, std, layout: str, dtype: np.dtype) -> None:
        mean = np.asarray(mean, np.float32)
        std = np.asarray(std, np.float32)
        # One table lookup per channel does the whole normalization: uint8 value -> float.
        values = np.arange(256, dtype=np.float32)[:, None]
        self._lut = ((values / 255.0 - mean) / std).reshape(256, 1, 3).astype(np.float32)
        self._plane_luts = [np.ascontiguousarray(self._lut[:, :, c]) for c in range(3)]
        self._pad = tuple(float(v) for v in np.clip(np.round(mean * 255.0), 0, 255))
        self.layout = layout
        self.dtype = np.dtype(dtype)

    def __call__(self, frame: Frame, geometry: Geometry) -> np.ndarray:
        """Build the input tensor, batch of one, for ``frame`` placed as ``geometry`` says."""
        picture = frame.pixels
        if picture.shape[:2] != (geometry.height, geometry.width):
            picture = cv2.resize(picture, (geometry.width, geometry.height), interpolation=cv2.INTER_LINEAR)
        in_h, in_w = geometry.input_hw
        if (geometry.height, geometry.width) != (in_h, in_w):
            pad = self._pad[::-1] if frame.bgr else self._pad
            picture = cv2.copyMakeBorder(
                picture, geometry.top, in_h - geometry.height - geometry.top, geometry.left,
                in_w - geometry.width - geometry.left, cv2.BORDER_CONSTANT, value=pad)
        if self.layout == 'NCHW':
            # Each colour plane is looked up straight into its place in the tensor: no transpose, no colour
            # conversion (BGR planes are taken in reverse; docs/performance.md has the cost).
            planes = cv2.split(picture)
            tensor = np.empty((1, 3, in_h, in_w), np.float32)
            for channel, plane in enumerate(planes[::-1] if frame.bgr else planes):
                cv2.LUT(plane, self._plane_luts[channel], dst=tensor[0, channel])
            return tensor.astype(self.dtype, copy=False)
        if frame.bgr:
            picture = cv2.cvtColor(picture, cv2.COLOR_BGR2RGB)
        return np.ascontiguousarray(cv2.LUT(picture, self._lut)[None], dtype=self.dtype)
