"""Drive a real ``seg_node`` process from a test: publish frames, collect every output, read its log."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import rclpy
import yaml
from diagnostic_msgs.msg import DiagnosticArray
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import CompressedImage, Image

from seg_node.diagnostics import status_name
from seg_node.image_codec import decode_image, encode_pixels, fill_image
from seg_node.params import NODE_NAME
from seg_node.pipeline import OUTPUT_NAMES
from seg_node.publishing import is_compressed, output_topic

#: The outputs every node publishes (group_mask only with class_groups).
OUTPUTS = tuple(name for name in OUTPUT_NAMES if name != 'group_mask')
#: The /diagnostics status of the node in the root namespace with one unnamed camera.
STATUS_NAME = status_name(f'/{NODE_NAME}')


def write_params(tmp_path: Path, node: str = NODE_NAME, **values) -> Path:
    """Write a ROS 2 params file for ``node`` (a node name, or ``/**`` for any node in any namespace)."""
    path = tmp_path / 'params.yaml'
    path.write_text(yaml.safe_dump({node: {'ros__parameters': values}}))
    return path


class NodeProcess:
    """``seg_node`` as a subprocess; output goes to a log file the test can read."""

    def __init__(self, tmp_path: Path, params: Path | None = None, *extra: str, module: str = 'seg_node.node',
                 env: dict[str, str] | None = None) -> None:
        self.log_path = tmp_path / 'seg_node.log'
        args = [sys.executable, '-m', module, '--ros-args']
        if params:
            args += ['--params-file', str(params)]
        self._log = open(self.log_path, 'w')
        self.proc = subprocess.Popen(args + list(extra), stdout=self._log, stderr=subprocess.STDOUT,
                                     env=os.environ if env is None else env)

    def log(self) -> str:
        """Everything the node printed so far."""
        return self.log_path.read_text()

    def wait_exit(self, timeout: float = 30.0) -> int:
        """Wait for the exit code."""
        return self.proc.wait(timeout=timeout)

    def stop(self, sig: int = signal.SIGINT) -> int:
        """Send ``sig`` and wait for the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=15)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
            self._log.close()


class Peer:
    """A test-side node: a camera publisher (best effort unless ``reliable``) and subscribers to every output.

    With ``namespace``, it is the node's camera of that name: ``<namespace>/image``, ``<namespace>/segmentation/*``.
    ``topics`` are topic keys of ``publishing.output_topic``: 'mask', ..., and 'mask/compressed' (a CompressedImage).
    """

    def __init__(self, compressed: bool = False, topics: tuple[str, ...] = OUTPUTS, camera: str = 'image',
                 reliable: bool = False, namespace: str = '') -> None:
        self.node = rclpy.create_node(f'seg_test_peer_{os.getpid()}_{time.monotonic_ns()}')
        qos = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE if reliable
                         else ReliabilityPolicy.BEST_EFFORT)
        self.prefix = f'{namespace}/' if namespace else ''
        camera = f'{self.prefix}{camera}/compressed' if compressed else f'{self.prefix}{camera}'
        self.publisher = self.node.create_publisher(CompressedImage if compressed else Image, camera, qos)
        self.received: dict[str, list] = {name: [] for name in topics}
        for name in topics:
            self.node.create_subscription(CompressedImage if is_compressed(name) else Image,
                                          self.prefix + output_topic(name),
                                          lambda m, name=name: self.received[name].append(m), 10)
        self.diagnostics: list[DiagnosticArray] = []
        self.node.create_subscription(DiagnosticArray, '/diagnostics', self.diagnostics.append, 10)

    def spin_until(self, condition, timeout: float = 20.0) -> bool:
        """Spin until ``condition()`` holds or ``timeout`` passes; whether it held."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if condition():
                return True
            rclpy.spin_once(self.node, timeout_sec=0.05)
        return condition()

    def wait_connected(self, process: NodeProcess, timeout: float = 30.0) -> None:
        """Until the node subscribes to our camera and publishes to every subscriber of ours."""
        def ready() -> bool:
            if process.proc.poll() is not None:
                raise AssertionError(f'seg_node exited early:\n{process.log()}')
            return (self.publisher.get_subscription_count() > 0
                    and all(self.node.count_publishers(f'/{self.prefix}{output_topic(n)}') > 0 for n in self.received))
        assert self.spin_until(ready, timeout), f'seg_node never connected:\n{process.log()}'
        self.spin_until(lambda: False, 0.5)  # let the endpoint matching settle both ways

    def send(self, message, stamp_sec: int, frame_id: str = 'camera') -> None:
        """Publish ``message`` with a recognisable header."""
        message.header.stamp.sec = stamp_sec
        message.header.stamp.nanosec = 123
        message.header.frame_id = frame_id
        self.publisher.publish(message)

    def wait_for_service(self, client, timeout: float = 30.0) -> None:
        """Wait until ``client``'s service is there and can answer us.

        wait_for_service sees the request topic matched; the response topic may match a little later, and Fast DDS
        drops a reply sent before it has ("client will not receive response"), so let discovery settle too.
        """
        assert client.wait_for_service(timeout_sec=timeout), f'{client.srv_name} never appeared'
        self.spin_until(lambda: False, 1.0)

    def stream(self, message, stamp_sec: int, seconds: float, period: float = 0.1) -> None:
        """Publish ``message`` every ``period`` seconds for ``seconds``, handling what arrives in between."""
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.send(message, stamp_sec)
            self.spin_until(lambda: False, period)

    def send_until(self, message, stamp_sec: int, done, timeout: float = 20.0, frame_id: str = 'camera') -> bool:
        """Publish once a second until ``done()`` holds (best effort may lose a frame); whether it held."""
        end = time.monotonic() + timeout
        while time.monotonic() < end and not done():
            self.send(message, stamp_sec, frame_id)
            self.spin_until(done, 1.0)
        return done()

    def send_until_answered(self, message, stamp_sec: int, output: str = 'mask', timeout: float = 20.0,
                            frame_id: str = 'camera') -> Image:
        """Publish until an output with this stamp comes back; that output."""
        def answered():
            return next((m for m in self.received[output] if m.header.stamp.sec == stamp_sec), None)
        assert self.send_until(message, stamp_sec, lambda: answered() is not None, timeout, frame_id), \
            f'no {output} came back for stamp {stamp_sec}'
        return answered()

    def replies(self, stamp_sec: int, *outputs: str, timeout: float = 10.0) -> list:
        """Wait for each of ``outputs`` stamped ``stamp_sec``; return them in that order."""
        def reply(name: str) -> Image | None:
            return next((m for m in self.received[name] if m.header.stamp.sec == stamp_sec), None)
        assert self.spin_until(lambda: all(reply(n) is not None for n in outputs), timeout), \
            f'not every one of {outputs} came back for stamp {stamp_sec}'
        return [reply(n) for n in outputs]

    def statuses(self, name: str = STATUS_NAME) -> list:
        """Return every DiagnosticStatus received under ``name`` (the node's status is named by its full name)."""
        return [s for array in self.diagnostics for s in array.status if s.name == name]

    def wait_status(self, condition, name: str = STATUS_NAME, timeout: float = 20.0):
        """Spin until a status under ``name`` satisfies ``condition(status)``; return it (AssertionError if none)."""
        def found():
            return next((s for s in reversed(self.statuses(name)) if condition(s)), None)
        self.spin_until(lambda: found() is not None, timeout)
        messages = [f'{s.level!r} {s.message}' for s in self.statuses(name)[-5:]]
        assert found() is not None, f'no matching status under {name!r}; the last ones: {messages}'
        return found()

    def close(self) -> None:
        """Destroy the test node."""
        self.node.destroy_node()


def values_of(status) -> dict[str, str]:
    """Return a DiagnosticStatus's key/value pairs as a dict."""
    return {kv.key: kv.value for kv in status.values}


def image_msg(rgb: np.ndarray, encoding: str = 'rgb8') -> Image:
    """Build a sensor_msgs/Image of an RGB picture in ``encoding``."""
    msg = Image()
    fill_image(msg, encode_pixels(rgb, encoding), encoding)
    return msg


def pixels_of(msg: Image) -> np.ndarray:
    """Return an output image's pixels: (H, W) for mono, (H, W, 3) for colour."""
    return decode_image(msg).pixels if msg.encoding in ('rgb8', 'bgr8') else np.frombuffer(
        msg.data, np.uint8 if msg.encoding == 'mono8' else np.uint16).reshape(msg.height, msg.width)
