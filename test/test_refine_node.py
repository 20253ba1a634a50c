"""Refinements through the node as users run it: a separate process, frames over DDS, parameters set at runtime."""
from __future__ import annotations

import numpy as np
import pytest
from rcl_interfaces.srv import GetParameters, SetParameters
from rclpy.parameter import Parameter

import model_factory as mf
from ros_harness import NodeProcess, Peer, image_msg, pixels_of, write_params
from seg_node import publishing
from seg_node.params import NODE_NAME
from seg_node.refine.groups import UNKNOWN_GROUP

SIZE = (48, 64)


pytestmark = pytest.mark.usefixtures('ros')


class Parameters:
    """Set and get the node's parameters through its services, as ``ros2 param`` does."""

    def __init__(self, peer: Peer) -> None:
        self.peer = peer
        self.setter = peer.node.create_client(SetParameters, f'/{NODE_NAME}/set_parameters')
        self.getter = peer.node.create_client(GetParameters, f'/{NODE_NAME}/get_parameters')
        peer.wait_for_service(self.setter)
        peer.wait_for_service(self.getter)

    def _call(self, client, request):
        future = client.call_async(request)
        assert self.peer.spin_until(future.done, 10)
        return future.result()

    def set(self, **values) -> None:
        """Set parameters; each must be accepted."""
        messages = [Parameter(name, value=value).to_parameter_msg() for name, value in values.items()]
        request = SetParameters.Request(parameters=messages)
        for result in self._call(self.setter, request).results:
            assert result.successful, result.reason

    def get(self, name: str):
        """Return a parameter's value message."""
        return self._call(self.getter, GetParameters.Request(names=[name])).values[0]


def interior(truth: np.ndarray) -> np.ndarray:
    """Pixels whose 8 neighbours have their class: wrong answers there are noise, not boundary placement."""
    padded = np.pad(truth, 1, mode='edge')
    same = np.ones(truth.shape, bool)
    for dy in (0, 1, 2):
        for dx in (0, 1, 2):
            same &= padded[dy:dy + truth.shape[0], dx:dx + truth.shape[1]] == truth
    return same


def test_refinements_fix_a_noisy_model_and_steady_a_flickering_pixel(tmp_path):
    """Cleanup and CRF each fix >= 80 % of a noisy model's wrong interior pixels; temporal smoothing steadies flicker.

    The model's raw argmax is wrong at about a tenth of the pixels (fixed noise added to its scores).
    """
    noise = mf.logit_noise(SIZE, 0.1, 8.0, seed=3)
    model = mf.save(tmp_path, size=SIZE, noise=noise)
    peer = Peer(topics=('mask',))
    process = NodeProcess(tmp_path, write_params(tmp_path, model_path=model, publish_color_mask=False,
                                                 publish_overlay=False, temporal_reset_ms=10000))
    try:
        peer.wait_connected(process)
        params = Parameters(peer)
        picture = mf.random_blocks(*SIZE, 8, seed=3)
        truth = mf.expected_labels(picture)
        inside = interior(truth)

        def wrong_inside(stamp: int) -> int:
            return int(((pixels_of(peer.send_until_answered(image_msg(picture), stamp)) != truth) & inside).sum())

        raw = wrong_inside(1)
        assert raw > 100, f'the fixture should be noisy: {raw} wrong interior pixels'
        params.set(min_region_px=10)
        cleaned = wrong_inside(2)
        params.set(min_region_px=0, crf_iterations=5)
        refined = wrong_inside(3)
        assert cleaned <= 0.2 * raw and refined <= 0.2 * raw, (raw, cleaned, refined)

        params.set(crf_iterations=0)
        strong_red = np.full((*SIZE, 3), (200, 40, 40), np.uint8)
        weak_green = np.full((*SIZE, 3), (110, 135, 90), np.uint8)

        def masks(first_stamp: int) -> list[np.ndarray]:
            return [pixels_of(peer.send_until_answered(image_msg(strong_red if i % 2 == 0 else weak_green), stamp))
                    for i, stamp in enumerate(range(first_stamp, first_stamp + 6))]

        raw_masks = masks(10)
        flickering = np.any([a != b for a, b in zip(raw_masks, raw_masks[1:])], axis=0)
        assert flickering.sum() > 0.5 * flickering.size
        params.set(temporal_smoothing=0.8)
        smoothed = masks(20)
        assert all(np.array_equal(m[flickering], smoothed[0][flickering]) for m in smoothed)
        assert (smoothed[0][flickering] == 0).all()  # red, what the pixel mostly shows
    finally:
        peer.close()
        assert process.stop() == 0, process.log()


def test_temporal_smoothing_answers_every_camera_sized_frame(tmp_path):
    """temporal_smoothing 0.8 from the start, VGA-wide frames: every frame answered, a 4-frame flicker keeps its class.

    The score planes are 640 columns wide: past the 128 channels OpenCV 5 reads a 3-D array as.
    """
    size = (48, 640)
    peer = Peer(topics=('mask',))
    process = NodeProcess(tmp_path, write_params(tmp_path, model_path=mf.save(tmp_path), publish_color_mask=False,
                                                 publish_overlay=False, temporal_smoothing=0.8,
                                                 temporal_reset_ms=10000))
    try:
        peer.wait_connected(process)
        strong_red = np.full((*size, 3), (200, 40, 40), np.uint8)
        weak_green = np.full((*size, 3), (110, 135, 90), np.uint8)
        pictures = [strong_red, weak_green, strong_red, weak_green]
        masks = [pixels_of(peer.send_until_answered(image_msg(p), stamp)) for stamp, p in enumerate(pictures, 1)]
        assert [m.shape for m in masks] == [size] * 4
        assert all((m == 0).all() for m in masks), [np.unique(m) for m in masks]  # red throughout
        assert (mf.expected_labels(weak_green) == 1).all()  # what an unsmoothed frame would say
        assert 'frame failed' not in process.log()
    finally:
        peer.close()
        assert process.stop() == 0, process.log()


def test_class_groups_through_the_node(tmp_path):
    """group_mask: group ids in the order given, unlisted classes 255; the group names as metadata."""
    model = mf.save(tmp_path)
    groups = '{warm: [red], cool: [blue]}'
    peer = Peer(topics=('mask', 'group_mask'))
    received_info = []
    if publishing.LabelInfo is not None:
        from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
        latched = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE,
                             durability=DurabilityPolicy.TRANSIENT_LOCAL)
        peer.node.create_subscription(publishing.LabelInfo, publishing.GROUP_INFO_TOPIC, received_info.append,
                                      latched)
    process = NodeProcess(tmp_path, write_params(tmp_path, model_path=model, class_groups=groups))
    try:
        peer.wait_connected(process)
        picture = mf.random_blocks(32, 48, 8, seed=8)
        reply = peer.send_until_answered(image_msg(picture), 1, output='group_mask')
        assert reply.encoding == 'mono8' and (reply.height, reply.width) == (32, 48)
        assert reply.header.frame_id == 'camera'
        expected = np.array([0, UNKNOWN_GROUP, 1], np.uint8)[mf.expected_labels(picture)]
        np.testing.assert_array_equal(pixels_of(reply), expected)
        assert (expected == UNKNOWN_GROUP).any() and (expected == 1).any()
        if publishing.LabelInfo is not None:
            assert peer.spin_until(lambda: received_info, 10)
            assert [(c.class_id, c.class_name) for c in received_info[0].class_map] == \
                [(0, 'warm'), (1, 'cool'), (UNKNOWN_GROUP, 'unknown')]
        else:  # without vision_msgs the names are the read-only parameter itself
            assert Parameters(peer).get('class_groups').string_value == groups
            assert 'group names: class_groups' in process.log()
    finally:
        peer.close()
        assert process.stop() == 0, process.log()


@pytest.mark.parametrize('params, message', [
    (dict(class_groups='{warm: [red], odd: [purple]}'),
     "parameter 'class_groups': unknown class 'purple' in group 'odd' (the model's classes: red, green, blue)"),
    (dict(upsample='bicubic'), "parameter 'upsample': 'bicubic' is not one of nearest, bilinear"),
])
def test_a_bad_refinement_parameter_stops_the_node_with_one_clear_line(tmp_path, params, message):
    process = NodeProcess(tmp_path, write_params(tmp_path, model_path=mf.save(tmp_path), **params))
    assert process.wait_exit() == 1
    assert message in process.log() and 'Traceback' not in process.log()
    process.stop()
