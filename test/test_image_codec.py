"""Image codec: every encoding round trip, step padding, endianness, and every malformed case."""
from types import SimpleNamespace

import cv2
import numpy as np
import pytest

from seg_node.image_codec import (ENCODINGS, ImageError, decode_compressed, decode_image, encode_pixels,
                                  fill_image, rgb_to_yuv422)


def rgb_picture(height=6, width=8):
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (height, width, 3), dtype=np.uint8)


def message(pixels, encoding, pad=0):
    msg = SimpleNamespace(header=None)
    fill_image(msg, pixels, encoding)
    if pad:
        rows = np.frombuffer(msg.data, np.uint8).reshape(msg.height, msg.step)
        padded = np.concatenate([rows, np.full((msg.height, pad), 0xAB, np.uint8)], axis=1)
        msg.step += pad
        msg.data = padded.tobytes()
    return msg


@pytest.mark.parametrize('encoding', ENCODINGS)
@pytest.mark.parametrize('pad', [0, 5])
def test_round_trip(encoding, pad):
    rgb = rgb_picture()
    if encoding in ('uyvy', 'yuv422', 'yuyv', 'yuv422_yuy2'):
        rgb = np.repeat(rgb[:, ::2], 2, axis=1)  # chroma is shared by pixel pairs
    frame = decode_image(message(encode_pixels(rgb, encoding), encoding, pad=pad))
    assert frame.pixels.shape == rgb.shape and frame.pixels.dtype == np.uint8
    got = frame.rgb().astype(int)
    if encoding in ('rgb8', 'bgr8', 'rgba8', 'bgra8'):
        np.testing.assert_array_equal(got, rgb)
    elif encoding in ('mono8', 'mono16'):
        gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(int)
        np.testing.assert_array_equal(got, np.repeat(gray[:, :, None], 3, axis=2))
    else:
        assert np.abs(got - rgb.astype(int)).max() <= 4  # YUV rounding


@pytest.mark.parametrize('encoding, code', [('uyvy', 'COLOR_RGB2YUV_UYVY'), ('yuv422_yuy2', 'COLOR_RGB2YUV_YUY2')])
def test_yuv422_encoding_is_opencvs_where_opencv_has_it(encoding, code):
    if not hasattr(cv2, code):
        pytest.skip(f'OpenCV {cv2.__version__} has no {code} (added in 4.9) to compare with')
    corners = np.array([[[r, g, b] for r in (0, 255) for g in (0, 255) for b in (0, 255)]], np.uint8)
    pairs = np.stack(np.meshgrid(np.arange(8), np.arange(8)), axis=-1).reshape(1, -1)  # every pair of corners
    greys = np.repeat(np.arange(256, dtype=np.uint8), 6).reshape(8, 64, 3)
    for rgb in (rgb_picture(48, 64), corners[:, pairs[0]], greys):
        np.testing.assert_array_equal(encode_pixels(rgb, encoding), cv2.cvtColor(rgb, getattr(cv2, code)))


def test_yuv422_encoding_needs_an_even_width():
    with pytest.raises(ImageError, match='4:2:2 YUV needs an even width, got 7'):
        rgb_to_yuv422(rgb_picture(2, 7), y_first=True)


def test_rgb8_and_bgr8_are_not_copied():
    rgb = rgb_picture()
    for encoding in ('rgb8', 'bgr8'):
        msg = message(encode_pixels(rgb, encoding), encoding)
        frame = decode_image(msg)
        assert frame.bgr == (encoding == 'bgr8')
        assert np.shares_memory(frame.pixels, np.frombuffer(msg.data, np.uint8))


def test_mono16_honours_endianness():
    values = np.array([[0x1234, 0xFF00]], dtype=np.uint16)
    little = SimpleNamespace(encoding='mono16', height=1, width=2, step=4, is_bigendian=False,
                             data=values.astype('<u2').tobytes())
    big = SimpleNamespace(encoding='mono16', height=1, width=2, step=4, is_bigendian=True,
                          data=values.astype('>u2').tobytes())
    for msg in (little, big):
        np.testing.assert_array_equal(decode_image(msg).pixels[0, :, 0], [0x12, 0xFF])


def test_padding_bytes_are_ignored():
    rgb = rgb_picture()
    frame = decode_image(message(encode_pixels(rgb, 'rgb8'), 'rgb8', pad=7))
    np.testing.assert_array_equal(frame.pixels, rgb)


def good(**changes):
    msg = message(encode_pixels(rgb_picture(), 'rgb8'), 'rgb8')
    for key, value in changes.items():
        setattr(msg, key, value)
    return msg


@pytest.mark.parametrize('msg, text', [
    (good(step=23), 'step 23 is smaller than width*bytes_per_pixel = 24 for rgb8'),
    (good(data=b'\0' * 100), 'data has 100 bytes, rgb8 8x6 with step 24 needs 144'),
    (good(encoding='32FC1'), "unsupported encoding '32FC1'"),
    (good(height=0, width=0, step=0, data=b''), 'empty image: 0x0'),
    (good(width=-1), 'empty image'),
    (good(encoding='yuv422', width=7, step=14), 'needs an even width'),
    (good(height=100000), 'too large'),
])
def test_malformed_images_name_the_fault(msg, text):
    with pytest.raises(ImageError) as err:
        decode_image(msg)
    assert text in str(err.value)


def test_compressed_decodes_png_and_jpeg_to_bgr():
    rgb = rgb_picture(16, 16)
    png = SimpleNamespace(format='png', data=cv2.imencode('.png', rgb[:, :, ::-1])[1].tobytes())
    frame = decode_compressed(png)
    assert frame.bgr
    np.testing.assert_array_equal(frame.rgb(), rgb)
    jpeg = SimpleNamespace(format='jpeg', data=cv2.imencode('.jpg', rgb[:, :, ::-1])[1].tobytes())
    assert decode_compressed(jpeg).shape == (16, 16)


@pytest.mark.parametrize('data, text', [(b'', 'has no data'), (b'\xff\xd8garbage', 'could not be decoded')])
def test_compressed_faults(data, text):
    with pytest.raises(ImageError) as err:
        decode_compressed(SimpleNamespace(format='jpeg', data=data))
    assert text in str(err.value)
