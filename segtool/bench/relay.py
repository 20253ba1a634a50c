"""A do-nothing node for ``segtool bench``: every ``relay/image`` goes straight back out on ``relay/mask``.

Run as ``python -m segtool.bench.relay``: the DDS floor a Python node cannot avoid.
"""
from __future__ import annotations

import rclpy
from rclpy.executors import ExternalShutdownException
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import Image


def main() -> None:
    """Relay until Ctrl-C."""
    rclpy.init()
    node = rclpy.create_node('seg_relay')
    publisher = node.create_publisher(Image, 'relay/mask', QoSProfile(depth=2, reliability=ReliabilityPolicy.RELIABLE))
    node.create_subscription(Image, 'relay/image', publisher.publish,
                             QoSProfile(depth=2, reliability=ReliabilityPolicy.BEST_EFFORT))
    try:
        rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        node.destroy_node()
        rclpy.try_shutdown()


if __name__ == '__main__':
    main()
