"""One camera stream of the node: its subscription (reliability matched to the publishers), outputs and counters.

The subscription callback only counts the message, drops it if stale, and hands it to ``deliver`` (the node puts
it in the camera's slot of its newest-frame mailbox); the worker does the rest. A camera named ``front``
subscribes ``front/image`` (or ``front/image/compressed``) and publishes ``front/segmentation/*`` (each output's
Image, and for some a CompressedImage on ``<output topic>/compressed``); the unnamed camera uses the node's own
namespace.
"""
from __future__ import annotations

import time
from typing import Callable, Mapping

from rclpy.node import Node
from rclpy.qos import QoSProfile
from sensor_msgs.msg import CompressedImage, Image

from seg_node.diagnostics import PipelineStats
from seg_node.frame_path import decoder_for
from seg_node.input_qos import Choice, choose
from seg_node.publishing import output_name, output_topic, topic_types
from seg_node.refine.temporal import CameraStream


def _join(namespace: str, topic: str) -> str:
    return f'{namespace}/{topic}' if namespace else topic


def _shape_of(message) -> tuple:
    """Return what identifies the input's kind: encoding and size, or the compressed format."""
    if isinstance(message, CompressedImage):
        return (message.format,)
    return message.encoding, message.width, message.height


class Camera:
    """A camera's input subscription, its output publishers and its counters.

    ``outputs`` names outputs (of OUTPUT_NAMES); ``self.outputs`` has a publisher per topic key of each
    (``publishing.topic_types``: the Image, and a CompressedImage twin).
    """

    def __init__(self, node: Node, name: str, values: Mapping, outputs: list[str], output_qos: QoSProfile,
                 current_values: Callable[[], Mapping], deliver: Callable[[Camera, tuple], bool]) -> None:
        self.node, self.name = node, name
        compressed = values['input_transport'] == 'compressed'
        self.message_type = CompressedImage if compressed else Image
        self.decode = decoder_for(self.message_type)
        self.topic = node.resolve_topic_name(_join(name, 'image/compressed' if compressed else 'image'))
        self.stats = PipelineStats()
        self.outputs = {key: node.create_publisher(kind, _join(name, output_topic(key)), output_qos)
                        for key, kind in topic_types(outputs).items()}
        self.stream = CameraStream()  # the camera's state across frames (temporal smoothing)
        self.qos: Choice | None = None
        self._mode, self._depth = values['qos_reliability'], values['qos_depth']
        self._values, self._deliver = current_values, deliver
        self._subscription = None
        self._last_shape: tuple | None = None

    def subscribe(self) -> None:
        """Subscribe, or subscribe again when the publishers now call for another reliability."""
        offered = [info.qos_profile.reliability for info in self.node.get_publishers_info_by_topic(self.topic)]
        choice = choose(self._mode, offered)
        if self._subscription is not None and choice.reliability == self.qos.reliability:
            self.qos = choice  # the same reliability, maybe for another reason
            return
        if self._subscription is not None:
            self.node.destroy_subscription(self._subscription)
            self.stats.changed(f'input QoS changed from {self.qos.name} to {choice.name}: {choice.reason}')
        qos = QoSProfile(depth=self._depth, reliability=choice.reliability)
        self._subscription = self.node.create_subscription(self.message_type, self.topic, self._on_message, qos)
        self.qos = choice
        self.node.get_logger().info(f'subscribed {self.topic} {choice.name}: {choice.reason}')

    def unsubscribe(self) -> None:
        """Drop the input subscription (outputs stay)."""
        if self._subscription is not None:
            self.node.destroy_subscription(self._subscription)
            self._subscription = None

    def subscribers(self) -> list[str]:
        """Return the topic keys ('mask', 'overlay/compressed', ...) someone subscribes to."""
        return [key for key, publisher in self.outputs.items() if publisher.get_subscription_count() > 0]

    def wanted(self, values: Mapping) -> frozenset[str]:
        """Return the topic keys to publish: those someone subscribes to whose output ``publish_<name>`` enables."""
        return frozenset(key for key in self.subscribers() if values[f'publish_{output_name(key)}'])

    def _on_message(self, message) -> None:
        self.stats.count('in')
        shape = _shape_of(message)
        if shape != self._last_shape:
            if self._last_shape is not None:
                self.stats.changed(f"input changed from {' '.join(map(str, self._last_shape))} "
                                   f"to {' '.join(map(str, shape))}")
            self._last_shape = shape
        max_age = self._values()['max_frame_age_ms']
        if max_age:
            stamp = message.header.stamp
            age_ms = (self.node.get_clock().now().nanoseconds - (stamp.sec * 10**9 + stamp.nanosec)) / 1e6
            if age_ms > max_age:
                self.stats.drop('stale')
                return
        if self._deliver(self, (message, time.perf_counter())):
            self.stats.drop('replaced')

    def close(self) -> None:
        """Destroy the subscription and the publishers."""
        self.unsubscribe()
        for publisher in self.outputs.values():
            self.node.destroy_publisher(publisher)
