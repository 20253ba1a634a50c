"""Reliable subscribers of seg_node's outputs on Fast DDS's defaults: what they receive, by output history depth.

Run as ``python -m segtool.bench.output_qos``. For each camera size and output history depth
(``output_qos_depth``) it starts ``seg_node`` (config/seg_node.yaml) without a Fast DDS profile (with
``--node-profile``: config/fastdds_localhost.xml, as the launch file gives it fastdds_shm.xml), plays generated
road scenes from this process (also without a profile) as a RELIABLE camera at a fixed rate, subscribes RELIABLE
(depth 50) to every output, and prints one JSON line per run: what the node counted on /diagnostics, its
resident memory, and per output the frames received and the latency camera -> output. :func:`play` is the camera
and subscriber side alone (``test/camera_peer.py`` runs it in a process of its own for the tests).
"""
from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import rclpy
from diagnostic_msgs.msg import DiagnosticArray
from rclpy.node import Node
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import Image

from seg_node.image_codec import fill_image
from seg_node.package_files import config_file
from seg_node.publishing import output_topic
from segtool.bench import SIZES
from segtool.bench.probe import rss_mb, start_process, stop_process
from segtool.dds import loopback
from segtool.road_scenes import generate_scene

#: The outputs seg_node publishes with its default config.
ALL_OUTPUTS = ('mask', 'color_mask', 'overlay', 'confidence')


def play(node: Node, reliability: str, height: int, width: int, frames: int, rate: float,
         outputs: tuple[str, ...] = ('mask',), depth: int = 10) -> dict:
    """Stream ``frames`` road scenes at ``rate`` Hz to seg_node's ``image``; count what comes back on ``outputs``.

    The camera publishes with ``reliability`` (depth 10, as image_transport does); each output is subscribed
    RELIABLE with history ``depth``. After the last frame it waits (up to 40 s) until seg_node's /diagnostics says
    it has answered or dropped every frame it got and each answer's outputs have arrived. Returns what seg_node
    chose for the camera, the frames sent, the masks received, per output the frames received and the latency
    from publishing the frame to receiving the output, and seg_node's frame counters from its last /diagnostics.
    """
    policy = ReliabilityPolicy.RELIABLE if reliability == 'reliable' else ReliabilityPolicy.BEST_EFFORT
    publisher = node.create_publisher(Image, 'image', QoSProfile(depth=10, reliability=policy))
    sent: dict[int, float] = {}
    arrivals: dict[str, dict[int, float]] = {name: {} for name in outputs}
    reliable = QoSProfile(depth=depth, reliability=ReliabilityPolicy.RELIABLE)
    for name in outputs:
        node.create_subscription(
            Image, output_topic(name),
            lambda m, name=name: arrivals[name].setdefault(m.header.stamp.sec, time.monotonic()), reliable)
    chosen, counters, last_sent, subscribed = [], {}, [float('inf')], set()

    def on_diagnostics(array: DiagnosticArray) -> None:
        for status in array.status:
            counters.update((kv.key, int(kv.value)) for kv in status.values
                            if kv.key.startswith(('frames', 'dropped')))
            chosen.extend(kv.value for kv in status.values
                          if kv.key == 'input QoS' and kv.value.startswith(reliability))
            for kv in status.values:
                if kv.key == 'outputs subscribed':
                    subscribed.clear()
                    subscribed.update(kv.value.split(', '))
        counters['after the last frame'] = array.header.stamp.sec + array.header.stamp.nanosec * 1e-9 > last_sent[0]
    node.create_subscription(DiagnosticArray, '/diagnostics', on_diagnostics, 10)

    def settled() -> bool:
        """Say whether the node has answered or dropped every frame it got and every answer's outputs are here."""
        if not counters.get('after the last frame'):
            return False
        handled = counters['frames out'] + counters['frames without subscribers'] + sum(
            v for k, v in counters.items() if k.startswith('dropped'))
        return handled == counters['frames in'] and all(len(a) >= counters['frames out'] for a in arrivals.values())

    def spin(seconds: float, until=lambda: False) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end and not until():
            rclpy.spin_once(node, timeout_sec=min(0.05, max(end - time.monotonic(), 0.0)))

    # seg_node computes an output only for the subscribers it has matched: wait until it says it has them all
    spin(60, lambda: bool(chosen) and publisher.get_subscription_count() > 0 and subscribed >= set(outputs))
    spin(0.5)  # let the endpoint matching settle both ways
    message = Image()
    fill_image(message, generate_scene(0, height, width)[0], 'rgb8')
    start = time.monotonic()
    for index in range(frames):
        message.header.stamp.sec = index + 1
        sent[index + 1] = time.monotonic()
        publisher.publish(message)
        spin(start + (index + 1) / rate - time.monotonic())
    last_sent[0] = time.time() + 0.2  # the node's clock is this machine's: its later statuses count every frame
    spin(30.0, settled)  # a busy machine may take seconds to work off a backlog
    spin(1.5)  # one more /diagnostics: no frame came in late
    spin(10.0, settled)
    per_output = {}
    for name, stamps in arrivals.items():
        latencies = np.asarray([arrived - sent[stamp] for stamp, arrived in stamps.items()]) * 1000.0
        p50, p99 = np.percentile(latencies, (50, 99)) if latencies.size else (float('nan'),) * 2
        per_output[name] = {'received': len(stamps), 'p50_ms': round(float(p50), 1), 'p99_ms': round(float(p99), 1)}
    return {'chosen': chosen[-1] if chosen else None, 'sent': frames, 'received': len(arrivals[outputs[0]]),
            'outputs': per_output, 'node': {k: v for k, v in counters.items() if k != 'after the last frame'}}


def measure(size: str, depth: int, frames: int, rate: float, folder: Path, model: str | None = None,
            node_profile: bool = False) -> dict:
    """One run: a fresh seg_node with ``output_qos_depth`` ``depth``, then :func:`play` with every output.

    With ``node_profile`` the node's process (only) loads config/fastdds_localhost.xml, as the launch file gives
    it fastdds_shm.xml.
    """
    args = ['-m', 'seg_node.node', '--ros-args', '--params-file', str(config_file('seg_node.yaml')),
            '-p', f'output_qos_depth:={depth}'] + (['-p', f'model_path:={model}'] if model else [])
    node_process = start_process(args, folder / 'node.log', loopback(dict(os.environ), profile=node_profile))
    node = rclpy.create_node(f'seg_output_qos_{os.getpid()}_{time.monotonic_ns()}')
    try:
        result = play(node, 'reliable', *SIZES[size], frames, rate, ALL_OUTPUTS, depth=50)
        memory = rss_mb(node_process.pid)
    finally:
        node.destroy_node()
        stop_process(node_process)
    return {'size': size, 'output_qos_depth': depth, 'node_profile': node_profile, 'node_rss_mb': memory, **result}


def main() -> None:
    """Measure each size and depth; print one JSON line per run."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--sizes', nargs='+', default=['VGA', 'HD'], choices=list(SIZES))
    parser.add_argument('--depths', type=int, nargs='+', default=[2, 5, 10, 20], help='output_qos_depth values')
    parser.add_argument('--rate', type=float, default=15.0, help='camera frames per second (default 15)')
    parser.add_argument('--frames', type=int, default=40, help='frames per run (default 40)')
    parser.add_argument('--repeat', type=int, default=1, help='runs of each setting (default 1)')
    parser.add_argument('--model', help="the node's model (default: config/seg_node.yaml's)")
    parser.add_argument('--node-profile', action='store_true',
                        help="the Fast DDS profile in the node's process, as the launch file sets it")
    args = parser.parse_args()
    loopback(profile=False)  # Fast DDS defaults here (the camera and the subscriber) and, unless asked, in the node
    rclpy.init()
    with tempfile.TemporaryDirectory() as folder:
        for _ in range(args.repeat):
            for size in args.sizes:
                for depth in args.depths:
                    row = measure(size, depth, args.frames, args.rate, Path(folder), args.model, args.node_profile)
                    print(json.dumps(row), flush=True)
    rclpy.try_shutdown()


if __name__ == '__main__':
    main()
