"""The node runs a fused model as it is: every input encoding gives the mask the unfused pipeline gives, over DDS."""
from __future__ import annotations

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
from seg_node.pipeline import FrameSettings, Outputs, build_pipeline, default_values
from segtool.datasets import ROAD_SEEDS
from segtool.fusion import fuse
from segtool.road_scenes import generate_scene

pytestmark = pytest.mark.usefixtures('ros')
ROAD = resolve_model_path('road_fastscnn.onnx')
OUTPUTS = ('mask', 'color_mask', 'overlay', 'confidence')


@pytest.fixture(scope='module')
def road():
    """Return the shipped road model's engine and its unfused pipeline."""
    engine = InferenceEngine(ROAD, ['cpu'])
    return engine, build_pipeline(engine, default_values(engine))


def fused_road(tmp_path, engine, bgr: bool) -> str:
    """Write the road model fused for any camera size, with the confidence output."""
    path = tmp_path / f'road_fused_{"bgr" if bgr else "rgb"}.onnx'
    onnx.save(fuse(onnx.load(ROAD), engine.spec, default_values(engine), None, bgr, 'stretch', True), path)
    return str(path)


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


def test_every_encoding_through_the_node_gives_the_unfused_mask(tmp_path, road):
    engine, unfused = road
    peer = Peer(topics=OUTPUTS)
    process = NodeProcess(tmp_path, write_params(tmp_path, model_path=fused_road(tmp_path, engine, False)))
    try:
        peer.wait_connected(process)
        for stamp, encoding in enumerate(ENCODINGS, start=300):
            rgb = generate_scene(ROAD_SEEDS['test'] + stamp, 480, 640)[0]
            check_replies(peer, image_msg(rgb, encoding), stamp, unfused, decode_image)
        assert 'fused: takes rgb uint8 camera pictures of any size' in process.log()
    finally:
        peer.close()
        assert process.stop() == 0, process.log()


def test_compressed_frames_through_a_bgr_fused_model(tmp_path, road):
    engine, unfused = road
    peer = Peer(compressed=True, topics=OUTPUTS)
    process = NodeProcess(tmp_path, write_params(tmp_path, model_path=fused_road(tmp_path, engine, True),
                                                 input_transport='compressed'))
    try:
        peer.wait_connected(process)
        for stamp, (fmt, extension) in enumerate((('png', '.png'), ('jpeg', '.jpg')), start=400):
            bgr = np.ascontiguousarray(generate_scene(ROAD_SEEDS['test'] + stamp, 480, 640)[0][:, :, ::-1])
            message = CompressedImage(format=fmt)
            message.data = cv2.imencode(extension, bgr)[1].tobytes()
            check_replies(peer, message, stamp, unfused, decode_compressed)
    finally:
        peer.close()
        assert process.stop() == 0, process.log()
