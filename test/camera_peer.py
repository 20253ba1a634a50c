"""A camera in a process of its own: streams frames to seg_node at a fixed rate and counts the masks that return.

    python camera_peer.py RELIABILITY HEIGHT WIDTH FRAMES RATE

RELIABILITY is reliable or best_effort. It waits until seg_node's /diagnostics reports the input QoS it chose
for this publisher, streams FRAMES generated road scenes, waits for stragglers and prints one JSON line:
``{"chosen": ..., "sent": N, "received": M, "node": {its frame counters}}``. Run it with the DDS environment
under test (e.g. Fast DDS's defaults: no FASTDDS_DEFAULT_PROFILES_FILE).
"""
import json
import sys
import time

import rclpy
from diagnostic_msgs.msg import DiagnosticArray
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import Image

from seg_node.image_codec import fill_image
from seg_node.publishing import output_topic
from segtool.road_scenes import generate_scene


def main(reliability: str, height: int, width: int, frames: int, rate: float) -> dict:
    """Stream ``frames`` scenes at ``rate`` Hz; return what seg_node chose and how many masks came back."""
    node = rclpy.create_node('camera_peer')
    policy = ReliabilityPolicy.RELIABLE if reliability == 'reliable' else ReliabilityPolicy.BEST_EFFORT
    publisher = node.create_publisher(Image, 'image', QoSProfile(depth=10, reliability=policy))  # as image_transport
    received, chosen, counters = set(), [], {}
    node.create_subscription(Image, output_topic('mask'), lambda m: received.add(m.header.stamp.sec), 10)

    def on_diagnostics(array: DiagnosticArray) -> None:
        for status in array.status:
            counters.update((kv.key, kv.value) for kv in status.values if kv.key.startswith(('frames', 'dropped')))
            chosen.extend(kv.value for kv in status.values
                          if kv.key == 'input QoS' and kv.value.startswith(reliability))
    node.create_subscription(DiagnosticArray, '/diagnostics', on_diagnostics, 10)

    def spin(seconds: float, until=lambda: False) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end and not until():
            rclpy.spin_once(node, timeout_sec=min(0.05, max(end - time.monotonic(), 0.0)))

    spin(60, lambda: bool(chosen) and node.count_publishers(f'/{output_topic("mask")}') > 0
         and publisher.get_subscription_count() > 0)
    spin(0.5)
    message = Image()
    fill_image(message, generate_scene(0, height, width)[0], 'rgb8')
    start = time.monotonic()
    for index in range(frames):
        message.header.stamp.sec = index + 1
        publisher.publish(message)
        spin(start + (index + 1) / rate - time.monotonic())
    spin(3.0, lambda: len(received) >= frames)
    spin(1.5)  # one more /diagnostics with the final counters
    node.destroy_node()
    return {'chosen': chosen[-1] if chosen else None, 'sent': frames, 'received': len(received),
            'node': counters}


if __name__ == '__main__':
    rclpy.init()
    result = main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]))
    rclpy.try_shutdown()
    print(json.dumps(result))
