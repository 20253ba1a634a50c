"""Depth images are not cameras: tell a depth sensor's Image or CompressedImage from a colour camera's.

A robot bag records the depth camera beside the colour one, raw (``16UC1`` millimetres, ``32FC1`` metres) and
compressed: ``compressedDepth`` (image_transport's depth plugin: a header, then PNG or RVL) or the ordinary
``compressed`` plugin writing a 16-bit PNG. Decoded as colour, a depth picture gives a meaningless mask (or, raw,
an unsupported-encoding error): offline labelling skips such topics and names them.
"""
from __future__ import annotations

#: Single-channel encodings wider than 8 bits that sensor_msgs uses for depth and range images.
DEPTH_ENCODINGS = ('16UC1', '16SC1', '32SC1', '32FC1', '64FC1')
PNG_SIGNATURE = b'\x89PNG\r\n\x1a\n'
#: Offsets into a PNG of its IHDR bit depth and colour type (the IHDR chunk always comes first).
_PNG_BIT_DEPTH, _PNG_COLOUR_TYPE = 24, 25
_PNG_GREY = 0


def depth_kind(message) -> str | None:
    """Say why a sensor_msgs Image or CompressedImage holds depth rather than colour, or None for a camera picture."""
    if hasattr(message, 'encoding'):
        return f'{message.encoding} depth image' if message.encoding.upper() in DEPTH_ENCODINGS else None
    form = message.format
    if 'compresseddepth' in form.lower():
        return f"compressedDepth image (format '{form}')"
    encoding = form.split(';', 1)[0].strip()  # compressed_image_transport: "<encoding>; <codec> compressed ..."
    if encoding.upper() in DEPTH_ENCODINGS:
        return f"compressed {encoding} depth image (format '{form}')"
    data = bytes(message.data[:_PNG_COLOUR_TYPE + 1])
    if (data.startswith(PNG_SIGNATURE) and len(data) > _PNG_COLOUR_TYPE and data[_PNG_BIT_DEPTH] == 16
            and data[_PNG_COLOUR_TYPE] == _PNG_GREY and encoding.lower() != 'mono16'):
        return f"16-bit greyscale PNG, a depth image (format '{form}')"
    return None
