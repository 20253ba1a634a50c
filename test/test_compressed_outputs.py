"""The compressed outputs over DDS, as image_transport's compressed subscriber, rviz2 or Foxglove receive them."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

import model_factory as mf
from ros_harness import NodeProcess, Peer, image_msg, pixels_of, values_of, write_params
from segtool.road_scenes import generate_scene

pytestmark = pytest.mark.usefixtures('ros')
TWINS = ('mask', 'mask/compressed', 'color_mask', 'color_mask/compressed', 'overlay', 'overlay/compressed')


def decoded(msg) -> np.ndarray:
    """Decode a CompressedImage as image_transport's subscriber does: the file's own depth and channels."""
    return cv2.imdecode(np.frombuffer(msg.data, np.uint8), cv2.IMREAD_UNCHANGED)


def assert_close(bgr: np.ndarray, expected_bgr: np.ndarray) -> None:
    """JPEG keeps brightness at full resolution and colour at half (4:2:0); compare each where it is kept.

    The test model's class colours change from pixel to pixel on a textured scene, the worst case for JPEG's
    colour; read in the wrong channel order the overlay would be off by about 50 levels.
    """
    luma = [cv2.cvtColor(image, cv2.COLOR_BGR2GRAY).astype(int) for image in (bgr, expected_bgr)]
    assert np.abs(luma[0] - luma[1]).mean() < 6, 'the JPEG is not the raw image'
    height, width = bgr.shape[:2]
    small = [cv2.resize(image, (width // 4, height // 4), interpolation=cv2.INTER_AREA).astype(int)
             for image in (bgr, expected_bgr)]
    assert np.abs(small[0] - small[1]).mean() < 6, "the JPEG's colours are not the raw image's"


def test_each_compressed_topic_decodes_to_its_raw_twin(tmp_path):
    camera = Peer(topics=TWINS)
    process = NodeProcess(tmp_path, write_params(tmp_path, model_path=mf.save(tmp_path)))
    try:
        camera.wait_connected(process)
        rgb = generate_scene(5, 240, 320)[0]
        for stamp, encoding in ((1, 'rgb8'), (2, 'bgr8')):
            camera.send_until_answered(image_msg(rgb, encoding), stamp)
            replies = dict(zip(TWINS, camera.replies(stamp, *TWINS)))
            for name in ('mask', 'color_mask', 'overlay'):
                raw, packed = replies[name], replies[f'{name}/compressed']
                assert packed.header == raw.header, name
                assert (packed.header.stamp.sec, packed.header.frame_id) == (stamp, 'camera')
            mask = replies['mask/compressed']
            assert mask.format == 'mono8; png compressed '
            np.testing.assert_array_equal(decoded(mask), pixels_of(replies['mask']))
            colours = replies['color_mask/compressed']
            assert colours.format == 'rgb8; jpeg compressed bgr8'
            assert_close(decoded(colours), np.ascontiguousarray(pixels_of(replies['color_mask'])[:, :, ::-1]))
            overlay = replies['overlay/compressed']
            assert overlay.format == f'{encoding}; jpeg compressed bgr8'
            bgr = decoded(overlay)
            assert bgr.shape == (240, 320, 3)
            raw = pixels_of(replies['overlay'])
            assert_close(bgr, np.ascontiguousarray(raw if encoding == 'bgr8' else raw[:, :, ::-1]))
            assert len(overlay.data) < 0.3 * len(replies['overlay'].data)
    finally:
        camera.close()
        assert process.stop() == 0, process.log()


def test_nothing_is_encoded_until_a_compressed_topic_is_subscribed(tmp_path):
    """The compress stage appears in /diagnostics only once someone subscribes to a compressed output."""
    camera = Peer(topics=('mask',))
    process = NodeProcess(tmp_path, write_params(tmp_path, model_path=mf.save(tmp_path), jpeg_quality=50))
    try:
        camera.wait_connected(process)
        rgb = mf.random_blocks(48, 64, 8, seed=21)
        camera.send_until_answered(image_msg(rgb), 1)
        camera.stream(image_msg(rgb), 2, seconds=2.5)
        status = values_of(camera.wait_status(lambda s: int(values_of(s)['frames out']) >= 3))
        assert status['outputs subscribed'] == 'mask'
        assert 'compress ms p50/p99' not in status and 'message ms p50/p99' in status
        overlays = Peer(topics=('overlay/compressed',))
        try:
            overlays.wait_connected(process)
            camera.wait_status(lambda s: values_of(s).get('outputs subscribed') == 'mask, overlay/compressed')
            assert camera.send_until(image_msg(rgb), 3, lambda: overlays.spin_until(
                lambda: any(m.header.stamp.sec == 3 for m in overlays.received['overlay/compressed']), 0.2))
            assert decoded(overlays.received['overlay/compressed'][-1]).shape == (48, 64, 3)
            camera.wait_status(lambda s: 'compress ms p50/p99' in values_of(s))
        finally:
            overlays.close()
    finally:
        camera.close()
        assert process.stop() == 0, process.log()
