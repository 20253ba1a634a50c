"""Compressed outputs without ROS transport: image_transport's format strings, lossless masks, lazy encoding."""
import cv2
import numpy as np
import pytest
from builtin_interfaces.msg import Time
from sensor_msgs.msg import CompressedImage, Image
from std_msgs.msg import Header

import model_factory as mf
from seg_node import compression, publishing
from seg_node.frame_path import Job, process_frames
from seg_node.image_codec import decode_image
from seg_node.inference import InferenceEngine
from seg_node.pipeline import FrameSettings, Outputs, build_pipeline, default_values
from ros_harness import image_msg
from segtool.road_scenes import generate_scene

HEADER = Header(frame_id='camera_optical', stamp=Time(sec=12, nanosec=345))


def decoded(msg: CompressedImage) -> np.ndarray:
    return cv2.imdecode(np.frombuffer(msg.data, np.uint8), cv2.IMREAD_UNCHANGED)


# What compressed_image_transport's CompressedPublisher::publish writes (image_transport_plugins, rolling):
# "<encoding>; png compressed " plus "bgr8" for colour, "<encoding>; jpeg compressed bgr8" for colour.
@pytest.mark.parametrize('encoding, codec, expected', [
    ('mono8', 'png', 'mono8; png compressed '),
    ('mono16', 'png', 'mono16; png compressed '),
    ('rgb8', 'jpeg', 'rgb8; jpeg compressed bgr8'),
    ('bgr8', 'jpeg', 'bgr8; jpeg compressed bgr8'),
])
def test_format_is_image_transports(encoding, codec, expected):
    assert compression.compressed_format(encoding, codec) == expected


@pytest.mark.parametrize('classes, dtype, encoding', [(7, np.uint8, 'mono8'), (1000, np.uint16, 'mono16')])
def test_png_mask_decodes_to_the_exact_labels(classes, dtype, encoding):
    labels = np.random.default_rng(1).integers(0, classes, (480, 640)).astype(dtype)
    labels[:100] = classes - 1  # the largest id, where 16-bit masks need their high byte
    msg = compression.compressed_message(labels, encoding, 'png', HEADER, 80)
    assert msg.header == HEADER and msg.format == f'{encoding}; png compressed '
    back = decoded(msg)
    assert back.dtype == dtype
    np.testing.assert_array_equal(back, labels)


@pytest.mark.parametrize('encoding', ['rgb8', 'bgr8'])
def test_jpeg_decodes_close_to_the_picture_in_bgr_order(encoding):
    rgb = generate_scene(3, 240, 320)[0]
    pixels = rgb if encoding == 'rgb8' else np.ascontiguousarray(rgb[:, :, ::-1])
    msg = compression.compressed_message(pixels, encoding, 'jpeg', HEADER, 80)
    bgr = decoded(msg)
    assert bgr.shape == (240, 320, 3)
    # image_transport's subscriber reads BGR; read as RGB this picture would be off by about 20 levels
    assert np.abs(bgr.astype(int) - rgb[:, :, ::-1]).mean() < 5
    smaller = compression.compressed_message(pixels, encoding, 'jpeg', HEADER, 20)
    assert len(smaller.data) < len(msg.data)


def test_topic_keys_of_the_outputs():
    types = publishing.topic_types(['mask', 'color_mask', 'overlay', 'confidence'])
    assert types == {'mask': Image, 'mask/compressed': CompressedImage, 'color_mask': Image,
                     'color_mask/compressed': CompressedImage, 'overlay': Image,
                     'overlay/compressed': CompressedImage, 'confidence': Image}
    assert publishing.output_topic('overlay/compressed') == 'segmentation/overlay/compressed'
    assert publishing.output_name('overlay/compressed') == 'overlay' and publishing.is_compressed('mask/compressed')
    assert not publishing.is_compressed('mask')


@pytest.fixture
def pipeline(tmp_path):
    engine = InferenceEngine(mf.save(tmp_path), ['cpu'])
    return build_pipeline(engine, default_values(engine))


def test_only_the_topics_asked_for_are_built_and_encoded(pipeline, monkeypatch):
    calls = []
    encode = compression.encode
    monkeypatch.setattr(compression, 'encode', lambda *args: calls.append(args[1:3]) or encode(*args))
    rgb = mf.random_blocks(48, 64, 8, seed=4)
    message = image_msg(rgb)
    message.header = HEADER
    settings = FrameSettings.defaults()

    def run(*topics: str):
        job = Job.for_topics(message, decode_image, frozenset(topics))
        return job, process_frames(pipeline, [job], settings)[0]

    job, raw = run('mask', 'overlay', 'confidence')
    assert calls == [] and 'compress' not in raw.timings
    assert set(raw.messages) == {'mask', 'overlay', 'confidence'}
    job, packed = run('overlay/compressed')
    assert job.want == Outputs(mask=False, overlay=True)
    assert calls == [('rgb8', 'jpeg')] and 'compress' in packed.timings
    assert set(packed.messages) == {'overlay/compressed'}  # no raw overlay built for a compressed-only subscriber
    assert packed.result.color_mask is None and packed.messages['overlay/compressed'].header == HEADER
    calls.clear()
    job, both = run('mask', 'mask/compressed', 'color_mask/compressed')
    assert sorted(calls) == [('mono8', 'png'), ('rgb8', 'jpeg')]
    np.testing.assert_array_equal(decoded(both.messages['mask/compressed']), mf.expected_labels(rgb))
    np.testing.assert_array_equal(decode_image(both.messages['mask']).pixels[:, :, 0], mf.expected_labels(rgb))


def test_without_topics_a_job_builds_the_raw_image_of_each_output_it_wants(pipeline):
    message = image_msg(mf.random_blocks(16, 16, 4, seed=5))
    job = Job(message, decode_image, Outputs(mask=True, color_mask=True))
    processed = process_frames(pipeline, [job], FrameSettings.defaults())[0]
    assert set(processed.messages) == {'mask', 'color_mask'}
