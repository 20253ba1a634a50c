"""The node runs a fused model as it is: every input encoding gives the mask the unfused pipeline gives, over DDS.

The shipped road model on held-out road scenes, and the default street model on the shipped street frames.
"""
from __future__ import annotations

import functools

import cv2
import numpy as np
import onnx
import pytest
from sensor_msgs.msg import CompressedImage

from ros_harness import NodeProcess, Peer, image_msg, pixels_of, write_params
from seg_node.frame_path import process_frame
from seg_node.image_codec import ENCODINGS, decode_compressed, decode_image
from seg_node.inference import InferenceEngine
from seg_node.package_files import resolve_model_path
from seg_node.params import DEFAULT_MODEL
from seg_node.pipeline import FrameSettings, Outputs, SegmentationPipeline, build_pipeline, default_values
from segtool.datasets import ROAD_SEEDS
from segtool.frame_sources import STREET, load_frames
from segtool.fusion import fuse
from segtool.road_scenes import generate_scene

pytestmark = pytest.mark.usefixtures('ros')
ROAD = resolve_model_path('road_fastscnn.onnx')
OUTPUTS = ('mask', 'color_mask', 'overlay', 'confidence')


def engine_and_pipeline(path: str) -> tuple[InferenceEngine, SegmentationPipeline]:
    """Return the model's engine and its unfused pipeline."""
    engine = InferenceEngine(path, ['cpu'])
    return engine, build_pipeline(engine, default_values(engine))


@pytest.fixture(scope='module')
def road():
    """Return the shipped road model's engine and its unfused pipeline."""
    return engine_and_pipeline(ROAD)


@pytest.fixture(scope='module')
def street():
    """Return the default (street) model's engine and its unfused pipeline."""
    return engine_and_pipeline(resolve_model_path(DEFAULT_MODEL))


def fused_model(tmp_path, engine, bgr: bool) -> str:
    """Write ``engine``'s model fused for any camera size, with the confidence output."""
    path = tmp_path / f'fused_{"bgr" if bgr else "rgb"}.onnx'
    onnx.save(fuse(onnx.load(engine.path), engine.spec, default_values(engine), None, bgr, 'stretch', True), path)
    return str(path)


@functools.cache
def street_pictures() -> list[np.ndarray]:
    """Return the 40 shipped street frames as 640x480 RGB camera pictures."""
    return load_frames(STREET, 480, 640, 40)


def picture(model: str, stamp: int) -> np.ndarray:
    """Return a 640x480 RGB camera picture: a held-out road scene, or one of the shipped street frames."""
    if model == 'road':
        return generate_scene(ROAD_SEEDS['test'] + stamp, 480, 640)[0]
    return street_pictures()[stamp % 40]


def check_replies(peer: Peer, message, stamp: int, unfused, decode) -> None:
    """Send ``message``; the node's mask is the unfused pipeline's, its colours and confidence follow from it."""
    mask = pixels_of(peer.send_until_answered(message, stamp, timeout=60.0))
    replies = dict(zip(OUTPUTS, peer.replies(stamp, *OUTPUTS, timeout=30.0)))
    expected = process_frame(unfused, message, decode, Outputs(mask=True, confidence=True),
                             FrameSettings.defaults()).result
    np.testing.assert_array_equal(mask, expected.labels)
    np.testing.assert_array_equal(pixels_of(replies['color_mask']), unfused.postprocess.colorize(expected.labels))
    confidence = pixels_of(replies['confidence']).astype(int)
    assert np.abs(confidence - expected.confidence).max() <= 1


@pytest.mark.parametrize('model', ['road', 'street'])
def test_every_encoding_through_the_node_gives_the_unfused_mask(tmp_path, request, model):
    engine, unfused = request.getfixturevalue(model)
    peer = Peer(topics=OUTPUTS)
    process = NodeProcess(tmp_path, write_params(tmp_path, model_path=fused_model(tmp_path, engine, False)))
    try:
        peer.wait_connected(process)
        for stamp, encoding in enumerate(ENCODINGS, start=300):
            check_replies(peer, image_msg(picture(model, stamp), encoding), stamp, unfused, decode_image)
        assert 'fused: takes rgb uint8 camera pictures of any size' in process.log()
    finally:
        peer.close()
        assert process.stop() == 0, process.log()


@pytest.mark.parametrize('model', ['road', 'street'])
def test_compressed_frames_through_a_bgr_fused_model(tmp_path, request, model):
    engine, unfused = request.getfixturevalue(model)
    peer = Peer(compressed=True, topics=OUTPUTS)
    process = NodeProcess(tmp_path, write_params(tmp_path, model_path=fused_model(tmp_path, engine, True),
                                                 input_transport='compressed'))
    try:
        peer.wait_connected(process)
        for stamp, (fmt, extension) in enumerate((('png', '.png'), ('jpeg', '.jpg')), start=400):
            message = CompressedImage(format=fmt)
            message.data = cv2.imencode(extension, np.ascontiguousarray(picture(model, stamp)[:, :, ::-1]))[1].tobytes()
            check_replies(peer, message, stamp, unfused, decode_compressed)
    finally:
        peer.close()
        assert process.stop() == 0, process.log()
