"""README's "Camera-sized frames over DDS" table: how many camera frames come back as masks, by QoS and profile.

Run from the repository root: ``.venv/bin/python docs/eval/camera_qos.py [--frames 20] [--rate 15]``. Each cell is
one run on this machine (DDS on loopback, a domain of its own): a fresh ``seg_node`` (config/seg_node.yaml, the
default model) and ``test/camera_peer.py`` (generated rgb8 road scenes, a process of its own), with
config/fastdds_localhost.xml in neither process, in the camera's only, or in the node's only. It prints the
table in README's layout: frames that reached the node / frames sent, and in brackets the masks that came back
(fewer where the node is slower than the camera: a frame waiting for the worker is replaced by a newer one).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from seg_node.package_files import config_file
from segtool.bench.probe import start_process, stop_process
from segtool.dds import loopback

ROOT = Path(__file__).resolve().parents[2]
CAMERA = ROOT / 'test' / 'camera_peer.py'
SIZES = {'320×240': (240, 320), '640×480': (480, 640), '1280×720': (720, 1280)}
#: (row label, camera publishes, the node's qos_reliability)
ROWS = [('RELIABLE → RELIABLE (`auto`)', 'reliable', 'auto'),
        ('BEST_EFFORT → BEST_EFFORT (`auto`)', 'best_effort', 'auto'),
        ('RELIABLE → BEST_EFFORT (`qos_reliability: best_effort`)', 'reliable', 'best_effort')]
#: (column label, profile in the camera's process, profile in the node's process)
COLUMNS = [('Fast DDS defaults in both processes', False, False),
           ("profile in the camera's process", True, False),
           ("profile in the node's process only", False, True)]


def run(camera: str, node_qos: str, camera_profile: bool, node_profile: bool, size: tuple[int, int],
        frames: int, rate: float, folder: Path) -> str:
    """One cell: ``in/sent (masks)`` for one camera run against a fresh node."""
    node_env = loopback(dict(os.environ), profile=node_profile)
    node = start_process(['-m', 'seg_node.node', '--ros-args', '--params-file', str(config_file('seg_node.yaml')),
                          '-p', f'qos_reliability:={node_qos}'], folder / 'node.log', node_env)
    try:
        peer = subprocess.run([sys.executable, str(CAMERA), camera, str(size[0]), str(size[1]), str(frames),
                               str(rate)], env=loopback(dict(os.environ), profile=camera_profile),
                              capture_output=True, text=True, timeout=300, check=False)
    finally:
        stop_process(node)
    if peer.returncode:
        return f'failed ({peer.stderr.strip().splitlines()[-1] if peer.stderr.strip() else peer.returncode})'
    result = json.loads(peer.stdout.splitlines()[-1])
    return f"{result['node'].get('frames in', 0)}/{result['sent']} ({result['received']})"


def main() -> None:
    """Measure every cell of the table (320×240 only where nothing else is set) and print it as Markdown."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--frames', type=int, default=20, help='frames per run (default %(default)s)')
    parser.add_argument('--rate', type=float, default=15.0, help='camera frames per second (default %(default)s)')
    args = parser.parse_args()
    loopback()  # one domain for every run, on loopback
    print(f'| camera publishes → node subscribes | {" | ".join(label for label, *_ in COLUMNS)} |')
    print('|---' * (len(COLUMNS) + 1) + '|')
    with tempfile.TemporaryDirectory() as folder:
        for label, camera, node_qos in ROWS:
            columns = COLUMNS if node_qos == 'auto' else COLUMNS[:1]
            cells = [', '.join(f'{run(camera, node_qos, cam, node, SIZES[size], args.frames, args.rate, Path(folder))}'
                               f' at {size}' for size in ('640×480', '1280×720'))
                     for _, cam, node in columns]
            print(f'| {label} | {" | ".join(cells + [""] * (len(COLUMNS) - len(cells)))} |', flush=True)
        small = [run(camera, node_qos, False, False, SIZES['320×240'], args.frames, args.rate, Path(folder))
                 for _, camera, node_qos in ROWS]
        print(f'| 320×240, every row on Fast DDS defaults | {", ".join(small)} | | |')


if __name__ == '__main__':
    main()
