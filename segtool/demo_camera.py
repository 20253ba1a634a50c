"""``seg_camera``: a camera publisher for demos and benchmarks, playing frames at a fixed rate.

Sources: ``street`` (real street frames shipped with the package: CamVid test frames), ``scenes`` (the procedural
road-scene generator, seeded), a folder of images, or a video file.
Publishes sensor_msgs/Image on ``image``, best effort unless ``reliability`` is ``reliable`` (camera drivers
offer either; ROS's default QoS is reliable with a history of 10).
"""
from __future__ import annotations

import sys
import time

from rcl_interfaces.msg import ParameterDescriptor
from rclpy.duration import Duration
from rclpy.node import Node
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import Image

from seg_node.entry_point import run
from seg_node.image_codec import encode_pixels, fill_image
from segtool.frame_sources import SCENES, STREET, SourceError, load_frames

#: Seconds a reliable camera, done, waits for its last frames to be acknowledged before it exits.
ACK_WAIT_S = 3.0
RELIABILITY = {'best_effort': ReliabilityPolicy.BEST_EFFORT, 'reliable': ReliabilityPolicy.RELIABLE}


class QosError(ValueError):
    """The camera's ``reliability`` or ``depth`` parameter is invalid."""


class CameraNode(Node):
    """Publishes its frames in a loop at ``rate`` Hz once subscribed to, stamped with the time of sending."""

    def __init__(self) -> None:
        super().__init__('seg_camera')
        params = {
            'source': (STREET, f"'{STREET}' (real street frames shipped with the package), "
                               f"'{SCENES}' (generated road scenes), a folder of images or a video file"),
            'width': (640, 'frame width'), 'height': (480, 'frame height'),
            'rate': (30.0, 'frames per second'), 'encoding': ('rgb8', 'sensor_msgs/Image encoding to send'),
            'frame_id': ('camera', 'header.frame_id'), 'frames': (60, 'distinct frames to load and loop over'),
            'seed': (0, 'first seed of the generated scenes'),
            'count': (0, 'stop after publishing this many frames (0 = never)'),
            'duration': (0.0, 'stop this many seconds after the first frame (0 = never)'),
            'reliability': ('best_effort', 'best_effort or reliable'), 'depth': (1, 'publisher history depth'),
        }
        values = {name: self.declare_parameter(name, default, ParameterDescriptor(description=text)).value
                  for name, (default, text) in params.items()}
        if values['reliability'] not in RELIABILITY:
            raise QosError(f"reliability must be one of {', '.join(RELIABILITY)}, not '{values['reliability']}'")
        if values['depth'] < 1:
            raise QosError(f"depth must be at least 1, not {values['depth']}")
        frames = load_frames(values['source'], values['height'], values['width'], values['frames'], values['seed'])
        self._payloads = [encode_pixels(f, values['encoding']) for f in frames]
        self._encoding, self._frame_id, self._count = values['encoding'], values['frame_id'], values['count']
        self._duration = values['duration']
        self._sent = self._failed = 0
        self._sent_between = (0.0, 0.0)  # monotonic times of the first and the last frame sent
        qos = QoSProfile(depth=values['depth'], reliability=RELIABILITY[values['reliability']])
        self._publisher = self.create_publisher(Image, 'image', qos)
        self.create_timer(1.0 / values['rate'], self._tick)
        self.get_logger().info(f"playing {len(frames)} frames of {values['source']} at {values['rate']} Hz, "
                               f"{values['width']}x{values['height']} {values['encoding']}")

    @property
    def done(self) -> bool:
        """Whether ``count`` frames have been sent or ``duration`` seconds have passed since the first."""
        return 0 < self._count <= self._sent or (
            self._duration > 0 and self._sent > 0 and time.monotonic() - self._sent_between[0] >= self._duration)

    def close(self) -> None:
        """Once done, wait (a little) until the subscribers have acknowledged what a reliable publisher sent."""
        if self.done:
            seconds = max(self._sent_between[1] - self._sent_between[0], 1e-9)
            self.get_logger().info(f'sent {self._sent - self._failed} of {self._sent} frames in {seconds:.2f} s: '
                                   f'{(self._sent - 1) / seconds:.2f} Hz')
            self._publisher.wait_for_all_acked(Duration(seconds=ACK_WAIT_S))

    def _tick(self) -> None:
        if self.done or self._publisher.get_subscription_count() == 0:
            return  # nothing is sent before someone listens, so no frame is lost to discovery
        msg = Image()
        fill_image(msg, self._payloads[self._sent % len(self._payloads)], self._encoding)
        msg.header.stamp = self.get_clock().now().to_msg()
        msg.header.frame_id = self._frame_id
        try:
            self._publisher.publish(msg)  # a reliable publisher may block here while the link is full
        except RuntimeError as err:  # rclpy's RCLError: e.g. a reliable history full of unacknowledged frames
            self._failed += 1
            self.get_logger().warning(f'a frame was not sent: {err}', throttle_duration_sec=5.0)
        now = time.monotonic()
        self._sent_between = (self._sent_between[0] if self._sent else now, now)
        self._sent += 1


def main(args: list[str] | None = None) -> int:
    """Run the camera until Ctrl-C, or until ``count`` frames are sent or ``duration`` has passed."""
    return run('seg_camera', CameraNode, (SourceError, QosError), args, finished=lambda node: node.done)


if __name__ == '__main__':
    sys.exit(main())
