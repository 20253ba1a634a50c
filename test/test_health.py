"""/diagnostics names what is wrong: each condition is produced here and read back by a subscriber over DDS."""
from __future__ import annotations

import math
import signal
import time

import numpy as np
import pytest
from diagnostic_msgs.msg import DiagnosticStatus
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import Image

import model_factory as mf
from seg_node.diagnostics import status_name
from seg_node.image_codec import Frame
from seg_node.inference import InferenceEngine
from seg_node.params import NODE_NAME
from seg_node.pipeline import FrameSettings, Outputs, build_pipeline, default_values
from ros_harness import NodeProcess, Peer, image_msg, values_of, write_params

OK, WARN, ERROR = DiagnosticStatus.OK, DiagnosticStatus.WARN, DiagnosticStatus.ERROR


pytestmark = pytest.mark.usefixtures('ros')


@pytest.fixture
def peer():
    p = Peer(topics=('mask',))
    yield p
    p.close()


def start(tmp_path, peer: Peer, *ros_args: str, **params) -> NodeProcess:
    params.setdefault('model_path', mf.save(tmp_path))
    process = NodeProcess(tmp_path, write_params(tmp_path, **params), *ros_args)
    peer.wait_connected(process)
    return process


def test_input_without_output_names_the_cause(tmp_path, peer):
    process = start(tmp_path, peer)
    try:
        broken = image_msg(mf.random_blocks(16, 16, 4))
        broken.step = 1
        peer.stream(broken, 1, seconds=4)
        status = peer.wait_status(lambda s: 'but no output yet' in s.message)
        assert status.level == WARN and 'frames arrive on /image' in status.message and 'malformed' in status.message
    finally:
        assert process.stop() == 0, process.log()


def test_all_frames_stale_is_reported(tmp_path, peer):
    process = start(tmp_path, peer, max_frame_age_ms=200)
    try:
        rgb = mf.random_blocks(16, 16, 4)
        peer.stream(image_msg(rgb), 5, seconds=3)  # stamped 1970: far older than 200 ms
        status = peer.wait_status(lambda s: 'older than max_frame_age_ms' in s.message)
        assert status.level == WARN and 'clock skew' in status.message
        assert int(values_of(status)['dropped (stale)']) > 0 and values_of(status)['frames out'] == '0'
    finally:
        assert process.stop() == 0, process.log()


def test_fresh_frames_pass_the_age_limit_and_old_ones_are_counted(tmp_path, peer):
    process = start(tmp_path, peer, max_frame_age_ms=5000)
    try:
        rgb = mf.random_blocks(16, 16, 4)
        fresh = image_msg(rgb)
        now = peer.node.get_clock().now().to_msg()
        assert peer.send_until(fresh, now.sec, lambda: bool(peer.received['mask']))
        assert peer.received['mask'][0].header.stamp.sec == now.sec
        peer.send(image_msg(rgb), 5)
        status = peer.wait_status(lambda s: values_of(s).get('dropped (stale)') == '1')
        assert values_of(status)['frames out'] == str(len(peer.received['mask']))
    finally:
        assert process.stop() == 0, process.log()


def test_a_silent_camera_is_reported_while_outputs_are_subscribed(tmp_path, peer):
    process = start(tmp_path, peer)
    try:
        peer.send_until_answered(image_msg(mf.random_blocks(16, 16, 4)), 1)
        status = peer.wait_status(lambda s: 'no frame arrived on /image' in s.message, timeout=15)
        assert status.level == WARN and 'camera gone' in status.message
        assert values_of(status)['outputs subscribed'] == 'mask'
    finally:
        assert process.stop() == 0, process.log()


def test_a_changed_input_encoding_and_size_are_reported(tmp_path, peer):
    process = start(tmp_path, peer)
    try:
        rgb = mf.random_blocks(16, 24, 4)
        peer.send_until_answered(image_msg(rgb), 1)
        peer.wait_status(lambda s: s.level == OK)
        peer.send_until_answered(image_msg(mf.random_blocks(32, 48, 4), 'bgr8'), 2)
        status = peer.wait_status(lambda s: 'input changed' in s.message)
        assert status.level == WARN and 'from rgb8 24 16 to bgr8 48 32' in status.message
    finally:
        assert process.stop() == 0, process.log()


def test_the_input_qos_follows_the_publishers_and_a_change_is_reported(tmp_path):
    outputs = Peer(topics=('mask',), camera='no_camera_here')
    process = NodeProcess(tmp_path, write_params(tmp_path, model_path=mf.save(tmp_path)))
    try:
        first = outputs.wait_status(lambda s: 'input QoS' in values_of(s))
        assert values_of(first)['input QoS'].startswith('best_effort (no publisher yet')
        reliable = QoSProfile(depth=2, reliability=ReliabilityPolicy.RELIABLE)
        camera = outputs.node.create_publisher(Image, 'image', reliable)
        status = outputs.wait_status(lambda s: 'input QoS changed' in s.message)
        assert status.level == WARN
        assert 'from best_effort to reliable: the publisher offers reliable' in status.message
        assert values_of(status)['input QoS'] == 'reliable (the publisher offers reliable)'
        rgb = mf.random_blocks(16, 16, 4)
        message = image_msg(rgb)
        assert outputs.spin_until(lambda: (camera.publish(message), bool(outputs.received['mask']))[1], 10)
        assert 'subscribed /image reliable: the publisher offers reliable' in process.log()
    finally:
        outputs.close()
        assert process.stop() == 0, process.log()


def test_namespaced_instances_report_under_their_own_names(tmp_path):
    peer = Peer(topics=())
    params = write_params(tmp_path, node='/**', model_path=mf.save(tmp_path))
    (tmp_path / 'left').mkdir()
    (tmp_path / 'right').mkdir()
    first = NodeProcess(tmp_path / 'left', params, '-r', '__ns:=/left')
    second = NodeProcess(tmp_path / 'right', params, '-r', '__ns:=/right')
    try:
        peer.wait_status(lambda s: True, name=status_name(f'/left/{NODE_NAME}'))
        peer.wait_status(lambda s: True, name=status_name(f'/right/{NODE_NAME}'))
    finally:
        peer.close()
        assert first.stop() == 0 and second.stop() == 0


#: Seconds the in-flight frame's inference should take here: time to see it start and stop the node meanwhile.
IN_FLIGHT_S = 3.0


def inference_seconds(path, rgb: np.ndarray) -> float:
    """Time one warm frame through the node's pipeline for the model at ``path``, in this process, now."""
    engine = InferenceEngine(str(path), ['cpu'])
    pipeline = build_pipeline(engine, default_values(engine))
    frame, outputs, settings = Frame(rgb, False), Outputs(mask=True), FrameSettings.defaults()
    pipeline.run(frame, outputs, settings)
    start = time.perf_counter()
    pipeline.run(frame, outputs, settings)
    return time.perf_counter() - start


def write_slow_model(path, rgb: np.ndarray, seconds: float) -> float:
    """Write a slow model whose inference of ``rgb`` takes about ``seconds`` on this machine; the estimate.

    Two sizes are timed here at run time and the convolution layers added that the difference says are needed:
    the test does not depend on the machine's speed.
    """
    timed = {}
    for layers in (2, 6):
        path.write_bytes(mf.slow_model(channels=64, layers=layers))
        timed[layers] = inference_seconds(path, rgb)
    per_layer = max((timed[6] - timed[2]) / 4, 1e-4)
    layers = 6 + max(0, math.ceil((seconds - timed[6]) / per_layer))
    path.write_bytes(mf.slow_model(channels=64, layers=layers))
    return timed[6] + (layers - 6) * per_layer


def counts(status) -> dict[str, int]:
    """Return the node's frame counters in a status."""
    return {key: int(value) for key, value in values_of(status).items()
            if key.startswith(('frames', 'dropped'))}


def settled(status) -> bool:
    """Every frame that reached the node is answered or counted as dropped: the worker is idle."""
    frames = counts(status)
    done = frames['frames out'] + frames['frames without subscribers']
    return frames['frames in'] > 0 and done + sum(v for k, v in frames.items() if k.startswith('dropped')) == \
        frames['frames in']


@pytest.mark.parametrize('sig', [signal.SIGINT, signal.SIGTERM])
def test_stopping_during_a_frame_in_flight_logs_no_error(tmp_path, peer, sig):
    """Stop the node while its /diagnostics show a frame taken in and not answered: no error, no answer.

    That frame's inference is made long enough on this machine (timed at run time) for the stop to come first.
    """
    rgb = mf.random_blocks(480, 640, 40)
    slow = tmp_path / 'slow.onnx'
    estimate = write_slow_model(slow, rgb, IN_FLIGHT_S)
    process = start(tmp_path, peer, model_path=str(slow))
    frame = image_msg(rgb)
    peer.send_until_answered(frame, 1, timeout=60 + 6 * estimate)  # warm: the next frame's inference takes as long
    idle = counts(peer.wait_status(settled, timeout=30 + 6 * estimate))
    in_flight = (lambda s: counts(s)['frames in'] > idle['frames in']
                 and counts(s)['frames out'] == idle['frames out'])
    assert peer.send_until(frame, 2, lambda: any(in_flight(s) for s in peer.statuses()), timeout=30)
    assert process.stop(sig) == 0
    log = process.log()
    assert not any(m.header.stamp.sec == 2 for m in peer.received['mask']), \
        f'the frame was answered before the stop (inference estimated at {estimate:.2f} s)'
    assert 'rror' not in log and 'Traceback' not in log, log


def test_a_stopped_worker_turns_the_status_to_error(tmp_path):
    """In process: the worker thread is ended behind the node's back; the next status says so."""
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.parameter import Parameter

    from seg_node.node import SegNode

    peer = Peer(topics=('mask',))
    node = SegNode(parameter_overrides=[Parameter('model_path', value=mf.save(tmp_path))])
    executor = SingleThreadedExecutor()
    executor.add_node(node)
    executor.add_node(peer.node)
    try:
        node.segmenter._mailbox.close()  # what an escaped exception would do: the worker returns
        node.segmenter._worker.join(5)
        end = time.monotonic() + 10
        while time.monotonic() < end and not any(s.level == ERROR for s in peer.statuses()):
            executor.spin_once(timeout_sec=0.1)
        status = next(s for s in peer.statuses() if s.level == ERROR)
        assert status.message.startswith('the worker thread stopped')
    finally:
        executor.shutdown()
        node.destroy_node()
        peer.close()
