"""What Nav2's segmentation layer receives from seg_node: best-effort mask/confidence pairs by size and DDS profile.

Run as ``python -m segtool.bench.nav2_qos``. For each camera size, and with and without the project's Fast DDS
profile in the node's process, it starts ``seg_node`` (config/seg_node.yaml), then ``segtool nav2-check`` with
Fast DDS defaults (the layer's process), plays generated road scenes as a camera with the profile, and counts the
frames the node published (its /diagnostics) against the time-matched pairs the layer-like subscriber got.
The profile is config/fastdds_localhost.xml: the launch file's fastdds_shm.xml with UDP kept on loopback.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import rclpy
from diagnostic_msgs.msg import DiagnosticArray
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import Image

from seg_node.image_codec import fill_image
from seg_node.package_files import config_file
from segtool.bench.probe import start_process, stop_process
from segtool.dds import loopback
from segtool.road_scenes import generate_scene

SIZES = {'VGA': (480, 640), 'HD': (720, 1280)}


def diagnostic_value(arrays: list[DiagnosticArray], key: str) -> int:
    """Return the last count ``key`` that seg_node reported on /diagnostics (0 if none yet)."""
    values = [kv.value for array in arrays for status in array.status for kv in status.values if kv.key == key]
    return int(values[-1]) if values else 0


def start_check(seconds: float, log: Path) -> subprocess.Popen:
    """``segtool nav2-check`` with Fast DDS defaults, returned once it listens; its stdout goes to ``log``."""
    env = loopback(dict(os.environ), profile=False)
    check = subprocess.Popen([sys.executable, '-m', 'segtool', 'nav2-check', '--seconds', str(seconds)],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    with open(log, 'w') as out:
        for line in check.stdout:
            out.write(line)
            if line.startswith(('listening', 'no publisher')):
                return check
    raise RuntimeError(f'nav2-check exited early: {log.read_text()}')


def measure(node, frame: Image, node_profile: bool, rate: float, frames: int, folder: Path) -> dict:
    """One run: a fresh node, a late layer-like subscriber, ``frames`` camera frames at ``rate`` Hz."""
    env = loopback(dict(os.environ), profile=node_profile)
    seg = start_process(['-m', 'seg_node.node', '--ros-args', '--params-file', str(config_file('seg_node.yaml'))],
                        folder / 'node.log', env)
    camera = node.create_publisher(Image, 'image', QoSProfile(depth=2, reliability=ReliabilityPolicy.BEST_EFFORT))
    diagnostics: list[DiagnosticArray] = []
    listener = node.create_subscription(DiagnosticArray, '/diagnostics', diagnostics.append, 10)
    try:
        while camera.get_subscription_count() == 0:
            if seg.poll() is not None:
                raise RuntimeError(f"seg_node exited: {(folder / 'node.log').read_text()}")
            rclpy.spin_once(node, timeout_sec=0.1)
        check = start_check(frames / rate + 4.0, folder / 'check.log')
        start = time.perf_counter()
        for index in range(frames):
            frame.header.stamp.sec, frame.header.stamp.nanosec = 1000 + index, 0
            camera.publish(frame)
            while (left := start + (index + 1) / rate - time.perf_counter()) > 0:
                rclpy.spin_once(node, timeout_sec=left)
        lines = check.communicate(timeout=60)[0].splitlines()
        end = time.monotonic() + 1.5  # the node's last /diagnostics, queued while we waited
        while time.monotonic() < end:
            rclpy.spin_once(node, timeout_sec=0.1)
        node_counts = {key: diagnostic_value(diagnostics, key)
                       for key in ('frames in', 'dropped (replaced)', 'frames out')}
        return {**json.loads(lines[-1]), 'sent': frames, **node_counts}
    finally:
        stop_process(seg)
        node.destroy_subscription(listener)
        node.destroy_publisher(camera)


def main() -> None:
    """Measure every size with and without the node's profile; print one JSON line per run."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--rate', type=float, default=15.0, help='camera frames per second (default 15)')
    parser.add_argument('--frames', type=int, default=60, help='frames per run (default 60)')
    parser.add_argument('--repeat', type=int, default=1, help='runs of each setting (default 1)')
    args = parser.parse_args()
    loopback()
    rclpy.init()
    node = rclpy.create_node('seg_nav2_qos_camera')
    with tempfile.TemporaryDirectory() as folder:
        for _ in range(args.repeat):
            for size, (height, width) in SIZES.items():
                frame = Image()
                fill_image(frame, generate_scene(7, height, width)[0], 'rgb8')
                for node_profile in (True, False):
                    row = measure(node, frame, node_profile, args.rate, args.frames, Path(folder))
                    print(json.dumps({'size': size, 'node_profile': node_profile, **row}), flush=True)
    node.destroy_node()
    rclpy.try_shutdown()


if __name__ == '__main__':
    main()
