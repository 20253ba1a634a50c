"""A remote viewer of seg_node's outputs: when each output of each frame arrived, and the node's frame counters.

    python -m segtool.bench.viewer [--outputs mask,overlay] [--depth 10]

Subscribes RELIABLE (ROS's default QoS, as rviz does) with a history of ``--depth`` to the outputs and to
/diagnostics; prints ``listening`` once the node publishes every output, then on SIGTERM or SIGINT one JSON line:
``{"arrivals": {output: {stamp ns: received ns}}, "node": {its /diagnostics frame counters}}``. The receive time is
the wall clock, like the camera's stamp, so on one machine their difference is the camera-to-viewer latency.
"""
from __future__ import annotations

import argparse
import json
import signal
import time

import rclpy
from diagnostic_msgs.msg import DiagnosticArray
from rclpy.qos import QoSProfile
from rclpy.signals import SignalHandlerOptions
from sensor_msgs.msg import Image

from seg_node.publishing import output_topic
from segtool.bench.probe import stamp_key


def main() -> None:
    """Listen until told to stop; print what arrived."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--outputs', default='mask', help='comma-separated outputs to subscribe to (default mask)')
    parser.add_argument('--depth', type=int, default=10, help='history depth of the subscriptions (default 10)')
    args = parser.parse_args()
    stop = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.append(True))
    rclpy.init(signal_handler_options=SignalHandlerOptions.NO)
    node = rclpy.create_node('seg_remote_viewer')
    arrivals: dict[str, dict[int, int]] = {}
    qos = QoSProfile(depth=args.depth)
    for name in args.outputs.split(','):
        seen = arrivals[name] = {}
        node.create_subscription(Image, output_topic(name),
                                 lambda m, s=seen: s.setdefault(stamp_key(m), time.time_ns()), qos)
    counters: dict[str, int] = {}

    def on_diagnostics(array: DiagnosticArray) -> None:
        for status in array.status:
            counters.update((kv.key, int(kv.value)) for kv in status.values
                            if kv.key.startswith(('frames', 'dropped')) and kv.value.isdigit())
    node.create_subscription(DiagnosticArray, '/diagnostics', on_diagnostics, 10)
    listening = False
    while not stop:
        rclpy.spin_once(node, timeout_sec=0.1)
        if not listening and all(node.count_publishers(f'/{output_topic(n)}') for n in arrivals):
            listening = True
            print('listening', flush=True)
    print(json.dumps({'arrivals': arrivals, 'node': counters}), flush=True)
    node.destroy_node()
    rclpy.try_shutdown()


if __name__ == '__main__':
    main()
