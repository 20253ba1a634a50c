"""The node as users run it: a separate process, frames over DDS, every output checked."""
from __future__ import annotations

import signal
import sys
import time

import cv2
import numpy as np
import pytest
from diagnostic_msgs.msg import DiagnosticStatus
from rcl_interfaces.srv import SetParameters
from rclpy.parameter import Parameter
from sensor_msgs.msg import CompressedImage, Image

import model_factory as mf
from ros_harness import OUTPUTS, NodeProcess, Peer, image_msg, pixels_of, values_of, write_params
from seg_node.diagnostics import STAGES
from seg_node.params import NODE_NAME


pytestmark = pytest.mark.usefixtures('ros')


@pytest.fixture
def peer():
    p = Peer()
    yield p
    p.close()


@pytest.fixture
def model(tmp_path):
    return mf.save(tmp_path)


def start(tmp_path, peer: Peer, *ros_args: str, **params) -> NodeProcess:
    process = NodeProcess(tmp_path, write_params(tmp_path, **params), *ros_args)
    peer.wait_connected(process)
    return process


def test_every_output_matches_the_camera(tmp_path, peer, model):
    process = start(tmp_path, peer, model_path=model, publish_confidence=True, overlay_alpha=0.25)
    try:
        rgb = mf.random_blocks(48, 64, 4, seed=1)
        for stamp, encoding in enumerate(('rgb8', 'bgr8', 'mono8', 'rgba8', 'yuv422_yuy2'), start=100):
            peer.send_until_answered(image_msg(rgb, encoding), stamp)
            replies = dict(zip(OUTPUTS, peer.replies(stamp, *OUTPUTS)))
            for name, reply in replies.items():
                assert (reply.header.stamp.sec, reply.header.stamp.nanosec, reply.header.frame_id) == \
                    (stamp, 123, 'camera'), name
                assert (reply.height, reply.width) == (48, 64), name
            assert replies['mask'].encoding == 'mono8'
            assert replies['color_mask'].encoding == 'rgb8'
            assert replies['confidence'].encoding == 'mono8'
            assert replies['overlay'].encoding == ('bgr8' if encoding == 'bgr8' else 'rgb8')
            if encoding in ('rgb8', 'bgr8', 'rgba8'):
                expected = mf.expected_labels(rgb)
                np.testing.assert_array_equal(pixels_of(replies['mask']), expected)
                np.testing.assert_array_equal(pixels_of(replies['color_mask']), np.array(mf.PALETTE)[expected])
                overlay = pixels_of(replies['overlay'])
                picture = rgb if encoding != 'bgr8' else rgb[:, :, ::-1]
                colours = np.array(mf.PALETTE, np.float64)[expected]
                colours = colours if encoding != 'bgr8' else colours[:, :, ::-1]
                assert np.abs(overlay - (0.75 * picture + 0.25 * colours)).max() <= 1.0
    finally:
        assert process.stop() == 0, process.log()


def test_remapped_camera_topic_as_the_launch_file_does(tmp_path, model):
    camera_peer = Peer(topics=('mask',), camera='/cam/image_raw')
    process = start(tmp_path, camera_peer, '-r', 'image:=/cam/image_raw', model_path=model)
    try:
        rgb = mf.random_blocks(24, 32, 8, seed=9)
        np.testing.assert_array_equal(pixels_of(camera_peer.send_until_answered(image_msg(rgb), 5)),
                                      mf.expected_labels(rgb))
    finally:
        camera_peer.close()
        assert process.stop() == 0, process.log()


def test_compressed_input(tmp_path, model):
    compressed_peer = Peer(compressed=True, topics=('mask',))
    process = start(tmp_path, compressed_peer, model_path=model, input_transport='compressed')
    try:
        rgb = mf.random_blocks(32, 48, 8, seed=2)
        msg = CompressedImage(format='png')
        msg.data = cv2.imencode('.png', rgb[:, :, ::-1])[1].tobytes()
        reply = compressed_peer.send_until_answered(msg, 7)
        np.testing.assert_array_equal(pixels_of(reply), mf.expected_labels(rgb))
        msg = CompressedImage(format='jpeg')
        msg.data = cv2.imencode('.jpg', rgb[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, 95])[1].tobytes()
        reply = compressed_peer.send_until_answered(msg, 8)
        assert (pixels_of(reply) == mf.expected_labels(rgb)).mean() > 0.97  # jpeg blurs block edges
    finally:
        compressed_peer.close()
        assert process.stop() == 0, process.log()


@pytest.mark.parametrize('bad, reason', [
    (dict(step=10), 'step 10 is smaller than width*bytes_per_pixel'),
    (dict(data=b'\0' * 100), 'data has 100 bytes'),
    (dict(encoding='bayer_rggb8'), "unsupported encoding 'bayer_rggb8'"),
    (dict(height=0, width=0, step=0, data=b''), 'empty image: 0x0'),
])
def test_malformed_frame_is_logged_and_the_next_one_served(tmp_path, peer, model, bad, reason):
    process = start(tmp_path, peer, model_path=model)
    try:
        rgb = mf.random_blocks(16, 16, 4, seed=3)
        broken = image_msg(rgb)
        for key, value in bad.items():
            setattr(broken, key, value)
        assert peer.send_until(broken, 1, lambda: reason in process.log(), 10), process.log()
        assert 'skipping malformed image' in process.log()
        reply = peer.send_until_answered(image_msg(rgb), 2)
        np.testing.assert_array_equal(pixels_of(reply), mf.expected_labels(rgb))
    finally:
        assert process.stop() == 0, process.log()


def test_undecodable_jpeg_is_skipped(tmp_path, model):
    compressed_peer = Peer(compressed=True, topics=('mask',))
    process = start(tmp_path, compressed_peer, model_path=model, input_transport='compressed')
    try:
        assert compressed_peer.send_until(CompressedImage(format='jpeg', data=b'\xff\xd8not a jpeg'), 1,
                                          lambda: 'could not be decoded' in process.log(), 10), process.log()
        rgb = mf.random_blocks(16, 16, 4, seed=4)
        good = CompressedImage(format='png', data=cv2.imencode('.png', rgb[:, :, ::-1])[1].tobytes())
        np.testing.assert_array_equal(pixels_of(compressed_peer.send_until_answered(good, 2)),
                                      mf.expected_labels(rgb))
    finally:
        compressed_peer.close()
        assert process.stop() == 0, process.log()


@pytest.mark.parametrize('reliable', [True, False], ids=['reliable', 'best_effort'])
@pytest.mark.parametrize('size', [(480, 640), (720, 1280)], ids=['VGA', 'HD'])
def test_camera_sized_frames_with_the_profile_all_come_back(tmp_path, model, size, reliable):
    """Both processes load config/fastdds_localhost.xml (test/conftest.py): every frame at 10 Hz is answered."""
    camera = Peer(topics=('mask',), reliable=reliable)
    process = start(tmp_path, camera, model_path=model)
    try:
        rgb = mf.random_blocks(*size, 40, seed=5)
        camera.wait_status(lambda s: values_of(s).get('input QoS', '').startswith(
            'reliable' if reliable else 'best_effort'))
        for stamp in range(20):
            camera.send(image_msg(rgb), stamp)
            camera.spin_until(lambda: False, 0.1)
        camera.spin_until(lambda: len(camera.received['mask']) >= 20, 10)
        assert len(camera.received['mask']) == 20, f'{len(camera.received["mask"])}/20 frames came back'
        np.testing.assert_array_equal(pixels_of(camera.received['mask'][-1]), mf.expected_labels(rgb))
    finally:
        camera.close()
        assert process.stop() == 0, process.log()


def test_runtime_parameters_apply_or_are_rejected(tmp_path, peer, model):
    process = start(tmp_path, peer, model_path=model)
    client = peer.node.create_client(SetParameters, f'/{NODE_NAME}/set_parameters')
    try:
        peer.wait_for_service(client)

        def set_param(name, value):
            request = SetParameters.Request(parameters=[Parameter(name, value=value).to_parameter_msg()])
            future = client.call_async(request)
            assert peer.spin_until(future.done, 10)
            return future.result().results[0]

        assert set_param('overlay_alpha', 1.0).successful
        rejected = set_param('overlay_alpha', 1.5)
        assert not rejected.successful and 'overlay_alpha' in rejected.reason
        assert not set_param('model_path', 'other.onnx').successful
        rgb = mf.random_blocks(16, 16, 4, seed=6)
        reply = peer.send_until_answered(image_msg(rgb), 3, output='overlay')
        np.testing.assert_array_equal(pixels_of(reply), np.array(mf.PALETTE, np.uint8)[mf.expected_labels(rgb)])
        assert set_param('publish_mask', False).successful
        peer.received['mask'].clear()
        peer.send_until_answered(image_msg(rgb), 4, output='overlay')
        assert not peer.received['mask']
    finally:
        assert process.stop() == 0, process.log()


def test_diagnostics_report_rates_drops_and_stages(tmp_path, peer, model):
    process = start(tmp_path, peer, model_path=model)
    try:
        rgb = mf.random_blocks(16, 16, 4, seed=7)
        peer.send_until_answered(image_msg(rgb), 1)
        broken = image_msg(rgb)
        broken.step = 1
        assert peer.send_until(broken, 2, lambda: any(
            kv.key == 'dropped (malformed)' and kv.value != '0'
            for d in peer.diagnostics for s in d.status for kv in s.values), 10)
        keys = {kv.key for d in peer.diagnostics for s in d.status for kv in s.values}
        for stage in set(STAGES) - {'compress'}:  # compress: only while a compressed topic is subscribed
            assert f'{stage} ms p50/p99' in keys
        assert {'input fps', 'output fps', 'execution provider', 'dropped (replaced)'} <= keys
        assert any(s.hardware_id == 'CPUExecutionProvider' for d in peer.diagnostics for s in d.status)
    finally:
        assert process.stop() == 0, process.log()


def test_sigterm_shuts_down_cleanly(tmp_path, peer, model):
    process = start(tmp_path, peer, model_path=model)
    assert process.stop(signal.SIGTERM) == 0
    assert 'Traceback' not in process.log() and 'rror' not in process.log()


def test_events_executor_from_kilted_on():
    from rclpy.executors import SingleThreadedExecutor

    from seg_node.entry_point import EVENTS_EXECUTOR_SINCE, make_executor, rclpy_major

    experimental = pytest.importorskip('rclpy.experimental', reason='this rclpy has no rclpy.experimental (Humble)')
    if not hasattr(experimental, 'EventsExecutor'):
        pytest.skip('this rclpy has no EventsExecutor')
    major = rclpy_major()
    assert major is not None, "rclpy's package.xml was not found beside it"
    executor = make_executor()
    if major >= EVENTS_EXECUTOR_SINCE:
        assert type(executor).__name__ == 'EventsExecutor'  # rclpy.experimental.EventsExecutor is a factory
    else:  # Jazzy's experimental one, which crashes when a callback destroys a subscription
        assert isinstance(executor, SingleThreadedExecutor)
    executor.shutdown()


def test_single_threaded_executor_where_rclpy_has_no_events_executor(monkeypatch):
    from rclpy.executors import SingleThreadedExecutor

    from seg_node.entry_point import make_executor

    monkeypatch.setitem(sys.modules, 'rclpy.experimental', None)  # an older distro: the import fails
    executor = make_executor()
    assert isinstance(executor, SingleThreadedExecutor)
    executor.shutdown()


@pytest.mark.parametrize('params, message', [
    (dict(model_path='missing.onnx'), "model file not found: 'missing.onnx'"),
    (dict(overlay_alpha=2.0), 'overlay_alpha'),
    (dict(resize_mode='zoom'), "parameter 'resize_mode': 'zoom' is not one of stretch, letterbox"),
    (dict(providers=['tpu']), "parameter 'providers': 'tpu' is not one of tensorrt, cuda, cpu"),
    (dict(class_names=['a', 'b']), "'class_names': 2 names but the model outputs 3 classes"),
    (dict(qos_depth='deep'), "parameter 'qos_depth'"),
])
def test_startup_fault_exits_1_with_one_clear_line(tmp_path, model, params, message):
    params.setdefault('model_path', model)
    process = NodeProcess(tmp_path, write_params(tmp_path, **params))
    assert process.wait_exit() == 1
    log = process.log()
    assert message in log and 'Traceback' not in log
    assert '[seg_node] error:' in log
    process.stop()


def test_corrupt_or_unusable_model_exits_1(tmp_path):
    corrupt = tmp_path / 'corrupt.onnx'
    corrupt.write_bytes(b'not a protobuf at all')
    process = NodeProcess(tmp_path, write_params(tmp_path, model_path=str(corrupt)))
    assert process.wait_exit() == 1
    assert f'cannot load {corrupt} as an ONNX model' in process.log()
    process.stop()


def test_frames_arriving_while_busy_replace_the_waiting_one(tmp_path, model):
    """Frames sent faster than the node runs: no queue builds up, the newest frame wins, drops are counted.

    The camera is reliable here so that transport cannot lose the burst's last frame: what is dropped, the node dropped.
    """
    peer = Peer(reliable=True)
    process = start(tmp_path, peer, model_path=model, publish_color_mask=False, publish_overlay=False,
                    qos_reliability='reliable')
    try:
        rgb = mf.random_blocks(480, 640, 40, seed=8)
        peer.send_until_answered(image_msg(rgb), 1)
        burst = image_msg(rgb)
        for stamp in range(1000, 1060):
            peer.send(burst, stamp)
        assert peer.spin_until(lambda: any(m.header.stamp.sec == 1059 for m in peer.received['mask']), 10), \
            'the newest frame of the burst was not served'

        def counters():
            last = peer.diagnostics[-1].status[0].values if peer.diagnostics else []
            return {kv.key: kv.value for kv in last}
        assert peer.spin_until(lambda: counters().get('frames out') == str(len(peer.received['mask'])), 10)
        values = counters()
        frames_in, frames_out = int(values['frames in']), int(values['frames out'])
        replaced = int(values['dropped (replaced)'])
        assert replaced > 0 and frames_out < frames_in
        assert frames_in == frames_out + replaced
    finally:
        peer.close()
        assert process.stop() == 0, process.log()


def test_letterbox_through_the_node_is_undone_exactly(tmp_path):
    camera = Peer(topics=('mask', 'overlay'))
    process = start(tmp_path, camera, model_path=mf.save(tmp_path, size=(32, 32)), resize_mode='letterbox')
    try:
        rgb = mf.random_blocks(48, 64, 8, seed=12)  # 24x32 inside the 32x32 input: 8 rows of padding above and below
        reply = camera.send_until_answered(image_msg(rgb), 1)
        np.testing.assert_array_equal(pixels_of(reply), mf.expected_labels(rgb))
        assert camera.replies(1, 'overlay')[0].width == 64
    finally:
        camera.close()
        assert process.stop() == 0, process.log()


def test_outputs_are_computed_only_for_their_subscribers(tmp_path, model):
    camera = Peer(topics=('mask',))
    process = start(tmp_path, camera, model_path=model)
    try:
        rgb = mf.random_blocks(16, 16, 4, seed=13)
        camera.send_until_answered(image_msg(rgb), 1)
        assert values_of(camera.wait_status(lambda s: 'outputs subscribed' in values_of(s)))['outputs subscribed'] \
            == 'mask'
        overlays = []
        camera.node.create_subscription(Image, 'segmentation/overlay', overlays.append, 10)
        camera.wait_status(lambda s: values_of(s).get('outputs subscribed') == 'mask, overlay')
        assert camera.send_until(image_msg(rgb), 2, lambda: any(m.header.stamp.sec == 2 for m in overlays))
        colours = np.array(mf.PALETTE, np.float64)[mf.expected_labels(rgb)]
        assert np.abs(pixels_of(overlays[-1]) - (0.5 * rgb + 0.5 * colours)).max() <= 1.0
    finally:
        camera.close()
        assert process.stop() == 0, process.log()


def test_frames_without_any_subscriber_are_counted_not_computed(tmp_path, model):
    camera = Peer(topics=())
    process = NodeProcess(tmp_path, write_params(tmp_path, model_path=model))
    try:
        assert camera.spin_until(lambda: camera.publisher.get_subscription_count() > 0, 30)
        camera.wait_status(lambda s: values_of(s).get('outputs subscribed') == 'none')
        rgb = mf.random_blocks(16, 16, 4, seed=14)
        camera.stream(image_msg(rgb), 1, seconds=3)
        status = camera.wait_status(lambda s: int(values_of(s)['frames without subscribers']) > 0)
        assert values_of(status)['frames out'] == '0' and status.level == DiagnosticStatus.OK
    finally:
        camera.close()
        assert process.stop() == 0, process.log()


def test_a_multi_parameter_set_replaces_the_snapshot_whole(tmp_path, model):
    """The worker reads one snapshot per frame: a change makes a new one; one already taken never changes."""
    from seg_node.node import SegNode

    node = SegNode(parameter_overrides=[Parameter('model_path', value=model)])
    try:
        before = node.segmenter.values
        results = node.set_parameters_atomically([Parameter('overlay_alpha', value=0.2),
                                                  Parameter('publish_mask', value=False)])
        assert results.successful
        after = node.segmenter.values
        assert (before['overlay_alpha'], before['publish_mask']) == (0.5, True)
        assert (after['overlay_alpha'], after['publish_mask']) == (0.2, False)
        with pytest.raises(TypeError):
            after['overlay_alpha'] = 0.9  # read-only: nobody edits a snapshot in place
        assert not node.set_parameters_atomically([Parameter('overlay_alpha', value=0.3),
                                                   Parameter('overlay_alpha', value=7.0)]).successful
        assert node.segmenter.values is after
    finally:
        node.close()
        node.destroy_node()


def test_the_malformed_image_warning_leaves_the_loggers_other_warnings_alone(tmp_path, model):
    """In process: a plain ``warn`` on the node's logger still works after a malformed image was reported.

    rclpy keys a log call's filters by the calling frame, and in rclpy 9 every call of the deprecated ``warn`` has
    the same one (its wrapper). A throttled warning through ``warn`` made the next plain ``warn`` on the node's
    logger (rclpy's executor reports a failing timer with one) raise ValueError and end the node.
    """
    import warnings

    from rclpy.executors import SingleThreadedExecutor

    from seg_node.node import SegNode

    peer = Peer(topics=('mask',))
    node = SegNode(parameter_overrides=[Parameter('model_path', value=model)])
    executor = SingleThreadedExecutor()
    executor.add_node(node)
    executor.add_node(peer.node)
    broken = image_msg(mf.random_blocks(16, 16, 4, seed=7))
    broken.step = 1
    try:
        stats = node.segmenter.cameras[0].stats
        end = time.monotonic() + 20
        while time.monotonic() < end and not stats.counts['dropped_malformed']:
            peer.send(broken, 1)
            executor.spin_once(timeout_sec=0.1)
        assert stats.counts['dropped_malformed']
        with warnings.catch_warnings():
            warnings.simplefilter('ignore', DeprecationWarning)
            assert node.get_logger().warn('another warning, unthrottled')
    finally:
        node.close()
        executor.shutdown()
        node.destroy_node()
        peer.close()
