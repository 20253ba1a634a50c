"""Several cameras in one node (parameter ``cameras``): one model session, each camera its own topics and header."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

import model_factory as mf
from ros_harness import NodeProcess, Peer, image_msg, pixels_of, values_of, write_params
from seg_node.diagnostics import status_name
from seg_node.params import NODE_NAME


pytestmark = pytest.mark.usefixtures('ros')


def start(tmp_path, cameras: list[Peer], **params) -> NodeProcess:
    process = NodeProcess(tmp_path, write_params(tmp_path, cameras=[c.prefix.strip('/') for c in cameras], **params))
    for camera in cameras:
        camera.wait_connected(process)
    return process


def test_each_camera_gets_its_own_masks_with_its_own_header(tmp_path):
    front = Peer(namespace='front', topics=('mask', 'overlay'))
    rear = Peer(namespace='rear', topics=('mask', 'mask/compressed'))
    process = start(tmp_path, [front, rear], model_path=mf.save(tmp_path, batch='batch'))
    try:
        pictures = {'front': mf.random_blocks(48, 64, 8, seed=31), 'rear': mf.random_blocks(24, 40, 4, seed=32)}
        encodings = {'front': 'rgb8', 'rear': 'bgr8'}
        for name, camera in (('front', front), ('rear', rear)):
            reply = camera.send_until_answered(image_msg(pictures[name], encodings[name]), 1,
                                               frame_id=f'{name}_optical')
            assert reply.header.frame_id == f'{name}_optical'
            assert (reply.height, reply.width) == pictures[name].shape[:2]
        packed = rear.replies(1, 'mask/compressed')[0]  # rear/segmentation/mask/compressed, with rear's header
        assert packed.header.frame_id == 'rear_optical'
        np.testing.assert_array_equal(cv2.imdecode(np.frombuffer(packed.data, np.uint8), cv2.IMREAD_UNCHANGED),
                                      mf.expected_labels(pictures['rear']))
        for stamp in range(2, 6):  # both cameras at once: the frames may share a batch
            front.send(image_msg(pictures['front']), stamp, frame_id='front_optical')
            rear.send(image_msg(pictures['rear'], 'bgr8'), stamp, frame_id='rear_optical')
            front.spin_until(lambda: False, 0.05)
        front.spin_until(lambda: False, 1.0)
        for name, camera in (('front', front), ('rear', rear)):
            camera.spin_until(lambda: False, 0.2)
            for mask in camera.received['mask']:
                assert mask.header.frame_id == f'{name}_optical'
                np.testing.assert_array_equal(pixels_of(mask), mf.expected_labels(pictures[name]))
        front.wait_status(lambda s: int(values_of(s)['frames out']) > 0, name=status_name(f'/{NODE_NAME}', 'front'))
        rear.wait_status(lambda s: int(values_of(s)['frames out']) > 0, name=status_name(f'/{NODE_NAME}', 'rear'))
    finally:
        front.close()
        rear.close()
        assert process.stop() == 0, process.log()


def test_frames_waiting_together_go_through_the_model_as_one_batch(tmp_path):
    """A heavy model with a dynamic batch axis: while it works on one frame, both cameras' next frames wait."""
    slow = tmp_path / 'slow.onnx'
    slow.write_bytes(mf.slow_model(channels=32, layers=4))
    left, right = Peer(namespace='left', topics=('mask',)), Peer(namespace='right', topics=('mask',))
    process = start(tmp_path, [left, right], model_path=str(slow))
    try:
        rgb = mf.random_blocks(120, 160, 8, seed=33)
        for stamp in range(1, 9):
            left.send(image_msg(rgb), stamp)
            right.send(image_msg(rgb), stamp)
            left.spin_until(lambda: False, 0.05)
        for camera, name in ((left, 'left'), (right, 'right')):
            status = camera.wait_status(lambda s: int(values_of(s)['frames run in a batch']) > 0,
                                        name=status_name(f'/{NODE_NAME}', name), timeout=60)
            assert int(values_of(status)['frames out']) >= int(values_of(status)['frames run in a batch'])
            assert all(m.header.stamp.sec <= 8 and m.height == 120 for m in camera.received['mask'])
    finally:
        left.close()
        right.close()
        assert process.stop() == 0, process.log()
