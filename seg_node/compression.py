"""Outputs as sensor_msgs/CompressedImage, the way image_transport's compressed plugin writes them.

Class ids go PNG (lossless; 16-bit above 256 classes), colour images JPEG. The ``format`` string is the plugin's:
``'<encoding>; png compressed '`` for a mono image, ``'<encoding>; jpeg compressed bgr8'`` for a colour one (the
plugin hands colour to OpenCV as BGR), so image_transport's compressed subscriber, rviz2, rqt_image_view and
Foxglove decode them as they decode any ``<topic>/compressed``.
"""
from __future__ import annotations

import cv2
import numpy as np
from sensor_msgs.msg import CompressedImage

from seg_node.image_codec import as_byte_array

#: The outputs that also go out compressed on ``<topic>/compressed``, and their codec.
CODECS = {'mask': 'png', 'color_mask': 'jpeg', 'overlay': 'jpeg'}
#: PNG of class ids: zlib level 3 (image_transport's default), run-length matching, and no per-row prediction
#: filter where this OpenCV can be told (IMWRITE_PNG_FILTER; 4.5 cannot): ids come in runs, which a filter does not
#: shorten, and trying every filter on every row costs more than the rest of the encoding.
PNG_PARAMS = [cv2.IMWRITE_PNG_COMPRESSION, 3, cv2.IMWRITE_PNG_STRATEGY, cv2.IMWRITE_PNG_STRATEGY_RLE] + (
    [cv2.IMWRITE_PNG_FILTER, cv2.IMWRITE_PNG_FILTER_NONE] if hasattr(cv2, 'IMWRITE_PNG_FILTER') else [])
_SUFFIXES = {'png': '.png', 'jpeg': '.jpg'}


def compressed_format(encoding: str, codec: str) -> str:
    """Return image_transport's ``format`` for ``encoding`` compressed with ``codec`` (png or jpeg)."""
    target = 'bgr8' if encoding in ('rgb8', 'bgr8') else ''
    return f'{encoding}; {codec} compressed {target}'


def encode(pixels: np.ndarray, encoding: str, codec: str, jpeg_quality: int) -> np.ndarray:
    """Compress (H, W) mono8/mono16 or (H, W, 3) rgb8/bgr8 ``pixels`` with ``codec``; the file's bytes."""
    if encoding == 'rgb8':
        pixels = cv2.cvtColor(pixels, cv2.COLOR_RGB2BGR)
    params = PNG_PARAMS if codec == 'png' else [cv2.IMWRITE_JPEG_QUALITY, jpeg_quality]
    ok, data = cv2.imencode(_SUFFIXES[codec], pixels, params)
    if not ok:
        raise ValueError(f'OpenCV could not encode a {encoding} {pixels.shape} image as {codec}')
    return data


def compressed_message(pixels: np.ndarray, encoding: str, codec: str, header, jpeg_quality: int) -> CompressedImage:
    """Build the CompressedImage of ``pixels`` (in ``encoding``'s layout) carrying ``header`` unchanged."""
    msg = CompressedImage()
    msg.header = header
    msg.format = compressed_format(encoding, codec)
    msg.data = as_byte_array(encode(pixels, encoding, codec, jpeg_quality))
    return msg
