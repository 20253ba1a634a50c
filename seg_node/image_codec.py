"""sensor_msgs/Image and CompressedImage <-> numpy, without ROS imports.

Decoding yields a :class:`Frame`: a 3-channel uint8 picture in RGB or BGR order (whichever costs no
conversion), which preprocessing and the overlay use as is. Every malformed message raises
:class:`ImageError` with a message that names the fault.
"""
from __future__ import annotations

import array
from dataclasses import dataclass

import cv2
import numpy as np

# encoding -> (channels, bytes per channel)
_LAYOUTS = {
    'rgb8': (3, 1), 'bgr8': (3, 1), 'rgba8': (4, 1), 'bgra8': (4, 1),
    'mono8': (1, 1), 'mono16': (1, 2),
    'uyvy': (2, 1), 'yuv422': (2, 1), 'yuyv': (2, 1), 'yuv422_yuy2': (2, 1),
}
_YUV_TO_RGB = {'uyvy': cv2.COLOR_YUV2RGB_UYVY, 'yuv422': cv2.COLOR_YUV2RGB_UYVY,
               'yuyv': cv2.COLOR_YUV2RGB_YUY2, 'yuv422_yuy2': cv2.COLOR_YUV2RGB_YUY2}
_Y_FIRST = {'uyvy': False, 'yuv422': False, 'yuyv': True, 'yuv422_yuy2': True}  # YUY2 order: Y U Y V
# BT.601 studio range (Y 16..235, U/V 16..240) in 1/16384ths, as OpenCV >= 4.9 encodes 4:2:2: Y from each RGB
# pixel, U and V from the sum of a pixel pair.
_YUV_SHIFT = 14
_Y_FROM_RGB = np.array([4211, 8258, 1606], np.int32)
_U_FROM_PAIR = np.array([-1212, -2384, 3596], np.int32)
_V_FROM_PAIR = np.array([3596, -3015, -582], np.int32)
ENCODINGS = tuple(_LAYOUTS)
MAX_SIDE = 1 << 15


class ImageError(ValueError):
    """A message that cannot be decoded; the text says what is wrong with it."""


@dataclass(frozen=True)
class Frame:
    """A decoded camera picture: ``pixels`` is (H, W, 3) uint8, in BGR order when ``bgr`` else RGB."""

    pixels: np.ndarray
    bgr: bool

    @property
    def shape(self) -> tuple[int, int]:
        """(height, width)."""
        return self.pixels.shape[0], self.pixels.shape[1]

    def rgb(self) -> np.ndarray:
        """Return the pixels in RGB order (a copy only when they are BGR)."""
        return cv2.cvtColor(self.pixels, cv2.COLOR_BGR2RGB) if self.bgr else self.pixels


def decode_image(msg) -> Frame:
    """Decode a sensor_msgs/Image (any ``step`` padding, ``is_bigendian`` honoured) without copying rgb8/bgr8."""
    encoding = msg.encoding.lower()
    if encoding not in _LAYOUTS:
        raise ImageError(f"unsupported encoding '{msg.encoding}' (supported: {', '.join(ENCODINGS)})")
    height, width, step = int(msg.height), int(msg.width), int(msg.step)
    if height <= 0 or width <= 0:
        raise ImageError(f'empty image: {width}x{height}')
    if height > MAX_SIDE or width > MAX_SIDE:
        raise ImageError(f'image too large: {width}x{height}')
    channels, depth = _LAYOUTS[encoding]
    row_bytes = width * channels * depth
    if encoding in _YUV_TO_RGB and width % 2:
        raise ImageError(f'{encoding} needs an even width, got {width}')
    if step < row_bytes:
        raise ImageError(f'step {step} is smaller than width*bytes_per_pixel = {row_bytes} for {encoding}')
    data = np.frombuffer(msg.data, dtype=np.uint8)
    needed = (height - 1) * step + row_bytes
    if data.size < needed:
        raise ImageError(f'data has {data.size} bytes, {encoding} {width}x{height} with step {step} needs {needed}')
    rows = np.lib.stride_tricks.as_strided(data, shape=(height, row_bytes), strides=(step, 1))
    if depth == 2:
        order = '>' if msg.is_bigendian else '<'
        rows = np.ascontiguousarray(rows).view(np.dtype(f'{order}u2'))
    pixels = rows.reshape(height, width, -1)
    if encoding in ('rgb8', 'bgr8'):
        return Frame(pixels, bgr=encoding == 'bgr8')
    if encoding in ('rgba8', 'bgra8'):
        return Frame(np.ascontiguousarray(pixels[:, :, :3]), bgr=encoding == 'bgra8')
    if encoding == 'mono16':
        pixels = (pixels[:, :, 0] >> 8).astype(np.uint8)
    elif encoding in _YUV_TO_RGB:
        return Frame(cv2.cvtColor(np.ascontiguousarray(pixels), _YUV_TO_RGB[encoding]), bgr=False)
    return Frame(cv2.cvtColor(np.ascontiguousarray(pixels.reshape(height, width)), cv2.COLOR_GRAY2RGB), bgr=False)


def decode_compressed(msg) -> Frame:
    """Decode a sensor_msgs/CompressedImage (jpeg or png) to a BGR frame."""
    data = np.frombuffer(msg.data, dtype=np.uint8)
    if data.size == 0:
        raise ImageError(f"compressed image ('{msg.format}') has no data")
    pixels = cv2.imdecode(data, cv2.IMREAD_COLOR)
    if pixels is None:
        raise ImageError(f"compressed image ('{msg.format}', {data.size} bytes) could not be decoded as jpeg or png")
    return Frame(pixels, bgr=True)


def encode_pixels(rgb: np.ndarray, encoding: str) -> np.ndarray:
    """Convert an (H, W, 3) uint8 RGB picture to ``encoding``'s layout: (H, W[, C]), uint16 for mono16."""
    encoding = encoding.lower()
    if encoding not in _LAYOUTS:
        raise ImageError(f"unsupported encoding '{encoding}' (supported: {', '.join(ENCODINGS)})")
    if encoding == 'rgb8':
        out = rgb
    elif encoding == 'bgr8':
        out = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
    elif encoding == 'rgba8':
        out = cv2.cvtColor(rgb, cv2.COLOR_RGB2RGBA)
    elif encoding == 'bgra8':
        out = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGRA)
    elif encoding == 'mono8':
        out = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    elif encoding == 'mono16':
        out = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype('<u2') * 257
    else:
        out = rgb_to_yuv422(rgb, y_first=_Y_FIRST[encoding])
    return np.ascontiguousarray(out)


def rgb_to_yuv422(rgb: np.ndarray, y_first: bool) -> np.ndarray:
    """Encode (H, W, 3) uint8 RGB as interleaved 4:2:2, (H, W, 2): YUY2 order when ``y_first``, else UYVY.

    The same integers as OpenCV's ``COLOR_RGB2YUV_UYVY``/``_YUY2``, which OpenCV before 4.9 (Ubuntu 22.04's and
    24.04's) lacks; only tests and the demo camera encode YUV.
    """
    height, width = rgb.shape[:2]
    if width % 2:
        raise ImageError(f'4:2:2 YUV needs an even width, got {width}')
    pixels = rgb.astype(np.int32)
    pairs = pixels[:, 0::2] + pixels[:, 1::2]
    half = 1 << (_YUV_SHIFT - 1)
    luma = (pixels @ _Y_FROM_RGB + (16 << _YUV_SHIFT) + half) >> _YUV_SHIFT
    chroma = np.stack([pairs @ _U_FROM_PAIR, pairs @ _V_FROM_PAIR], axis=-1).reshape(height, width)
    chroma = (chroma + (128 << _YUV_SHIFT) + half) >> _YUV_SHIFT
    planes = (luma, chroma) if y_first else (chroma, luma)
    return np.clip(np.stack(planes, axis=-1), 0, 255).astype(np.uint8)


def fill_image(msg, pixels: np.ndarray, encoding: str) -> None:
    """Set a sensor_msgs/Image's size, encoding, step and data from a (H, W[, C]) array in that encoding's layout."""
    pixels = np.ascontiguousarray(pixels)
    msg.height, msg.width = int(pixels.shape[0]), int(pixels.shape[1])
    msg.encoding = encoding
    msg.is_bigendian = False
    msg.step = int(pixels.strides[0])
    msg.data = as_byte_array(pixels)


def as_byte_array(pixels: np.ndarray) -> array.array:
    """Return the bytes of a contiguous array as the ``array('B')`` rclpy stores without a per-element check."""
    data = array.array('B')
    data.frombytes(memoryview(pixels).cast('B'))
    return data
