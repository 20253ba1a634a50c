"""Camera and seg_node on two hosts: frames that reach the node and masks that come back, by link, size, rate, QoS.

Run as root: ``python -m segtool.bench.network`` (docs/networking.md). Two network namespaces joined by a veth
link (segtool.bench.netns) stand in for two computers: the demo camera and a viewer on host a, seg_node
(config/seg_node.yaml) on host b. For each cell the link is shaped to its rate, a fresh node starts, the viewer
waits until it sees the node's outputs, then the camera plays ``--seconds`` of generated road scenes. Every
process loads the same Fast DDS profile (or none: Fast DDS's defaults). One JSON line per cell, then a table.
"""
from __future__ import annotations

import argparse
import itertools
import json
import random
import re
import select
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from seg_node.package_files import config_file
from segtool.bench.netns import TwoHosts, dds_environment, unavailable
from segtool.bench.probe import stop_process

#: Fast DDS profiles by the name the table uses; None is Fast DDS's defaults.
PROFILES = {'defaults': None, 'shm': 'fastdds_shm.xml', 'network': 'fastdds_network.xml',
            'localhost': 'fastdds_localhost.xml'}
#: The link's name when it is not shaped: the veth pair as it is.
UNSHAPED = 'veth'
SIZES = {'640x480': (640, 480), '1280x720': (1280, 720)}
#: The camera's QoS: ROS's sensor-data profile (best effort, depth 5) or its default one (reliable, depth 10).
CAMERA_DEPTH = {'best_effort': 5, 'reliable': 10}
#: Seconds after the camera's last frame for the last masks and the node's last /diagnostics (sent every second).
SETTLE_S = 3.0


class CellError(RuntimeError):
    """A cell could not be measured: a process under test exited or never connected; the text has its log."""


@dataclass(frozen=True)
class Cell:
    """One measurement: the link's rate and loss, the camera's size, rate and reliability, the Fast DDS profile."""

    link: str
    size: str
    rate: float
    reliability: str
    profile: str
    loss: float = 0.0


def wait_line(process: subprocess.Popen, text: str, timeout: float, watch: list[subprocess.Popen]) -> bool:
    """Read ``process``'s stdout until a line ``text``; False if ``timeout`` passes or a process of ``watch`` exits."""
    end = time.monotonic() + timeout
    while (left := end - time.monotonic()) > 0:
        if any(p.poll() is not None for p in watch):
            return False
        ready, _, _ = select.select([process.stdout], [], [], min(left, 0.5))
        if ready and process.stdout.readline().strip() == text:
            return True
    return False


def measure(hosts: TwoHosts, cell: Cell, seconds: float, folder: Path, outputs: tuple[str, ...] = ('mask',),
            node_args: tuple[str, ...] = ()) -> dict:
    """Measure ``cell`` on ``hosts`` (already shaped); frame counts and the camera-to-viewer latency of each output."""
    profile = PROFILES[cell.profile]
    env = dds_environment(config_file(profile) if profile else None, random.randint(1, 100))
    width, height = SIZES[cell.size]
    count = round(cell.rate * seconds)
    logs = {name: folder / f'{name}.log' for name in ('node', 'viewer', 'camera')}
    node = hosts.start('b', ['-m', 'seg_node.node', '--ros-args', '--params-file', str(config_file('seg_node.yaml')),
                             '-p', f'qos_reliability:={cell.reliability}', *node_args], logs['node'], env)
    viewer = hosts.start('a', ['-m', 'segtool.bench.viewer', '--outputs', ','.join(outputs)], logs['viewer'], env,
                         stdout=subprocess.PIPE)
    try:
        if not wait_line(viewer, 'listening', 90.0, [node, viewer]):
            raise CellError(f"the viewer never saw seg_node's outputs; node log:\n{logs['node'].read_text()[-1500:]}"
                            f"\nviewer log:\n{logs['viewer'].read_text()[-1500:]}")
        camera = hosts.start('a', ['-m', 'segtool.demo_camera', '--ros-args', '-p', f'width:={width}',
                                   '-p', f'height:={height}', '-p', f'rate:={cell.rate}', '-p', f'count:={count}',
                                   '-p', f'duration:={seconds}', '-p', 'frames:=4',
                                   '-p', f'reliability:={cell.reliability}',
                                   '-p', f'depth:={CAMERA_DEPTH[cell.reliability]}'], logs['camera'], env)
        try:
            code = camera.wait(timeout=60.0 + 3 * seconds)
        except subprocess.TimeoutExpired:
            raise CellError(f"the camera sent nothing or never ended (did seg_node subscribe?); node log:\n"
                            f"{logs['node'].read_text()[-1500:]}") from None
        if code:
            raise CellError(f"the camera exited with {code}:\n{logs['camera'].read_text()[-1500:]}")
        time.sleep(SETTLE_S)
    finally:
        if viewer.poll() is None:
            viewer.send_signal(signal.SIGTERM)
        lines = viewer.communicate(timeout=30)[0].splitlines()
        stop_process(node)
    if not lines or not lines[-1].startswith('{'):
        raise CellError(f"the viewer ended without its report:\n{logs['viewer'].read_text()[-1500:]}")
    seen = json.loads(lines[-1])
    sent = re.search(r'sent (\d+) of \d+ frames in [\d.]+ s: ([\d.]+) Hz', logs['camera'].read_text())
    counters = seen['node']
    if sent is None:
        raise CellError(f"the camera did not say what it sent:\n{logs['camera'].read_text()[-1500:]}")
    row = {**asdict(cell), 'sent': int(sent.group(1)), 'sent_hz': float(sent.group(2)),
           'node_in': counters.get('frames in', 0), 'node_out': counters.get('frames out', 0),
           'replaced': counters.get('dropped (replaced)', 0)}
    for name, arrivals in seen['arrivals'].items():
        latency = np.array([received - int(stamp) for stamp, received in arrivals.items()]) / 1e6
        row[name] = len(arrivals)
        if len(latency):
            p50, p99 = np.percentile(latency, [50, 99])
            row[f'{name}_p50_ms'], row[f'{name}_p99_ms'] = round(float(p50), 1), round(float(p99), 1)
    return row


def table(rows: list[dict], output: str = 'mask') -> str:
    """Lay ``rows`` out in Markdown: frames sent, in at the node, answered, ``output`` back at the viewer, latency."""
    lines = ['| link | camera | QoS | Fast DDS profile | sent (at Hz) | at the node | node out (replaced) | '
             f'{output} back | p50 / p99 ms |', '|---|---|---|---|---|---|---|---|---|']
    for row in rows:
        link = row['link'] + (f" {row['loss']:.0%} loss" if row['loss'] else '')
        cell = f"| {link} | {row['size']} {row['rate']:g} Hz | {row['reliability']} | {row['profile']} | "
        if 'error' in row:
            lines.append(cell + f"- | - | - | - | {row['error'].splitlines()[0][:60]} |")
            continue
        latency = f"{row[f'{output}_p50_ms']} / {row[f'{output}_p99_ms']}" if f'{output}_p50_ms' in row else '-'
        lines.append(cell + f"{row['sent']} ({row['sent_hz']}) | {row['node_in']} | "
                     f"{row['node_out']} ({row['replaced']}) | {row[output]} | {latency} |")
    return '\n'.join(lines)


def main() -> None:
    """Measure every combination asked for; print one JSON line per cell, then the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--links', default='1gbit,100mbit',
                        help=f'link rates, tc units, or {UNSHAPED} for no shaping (default 1gbit,100mbit)')
    parser.add_argument('--loss', type=float, default=0.0, help='packet loss probability on the link (default 0)')
    parser.add_argument('--sizes', default='640x480,1280x720', help=f"camera sizes, of {', '.join(SIZES)}")
    parser.add_argument('--rates', default='15,30', help='camera rates in Hz (default 15,30)')
    parser.add_argument('--qos', default='reliable,best_effort', help="camera reliabilities (default both)")
    parser.add_argument('--profiles', default='defaults,shm,network',
                        help=f"Fast DDS profiles, of {', '.join(PROFILES)} (default defaults,shm,network)")
    parser.add_argument('--outputs', default='mask', help='outputs the viewer subscribes to (default mask)')
    parser.add_argument('--seconds', type=float, default=10.0, help='seconds of camera per cell (default 10)')
    parser.add_argument('--json', type=Path, help='also write the rows to this file')
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit('stopped by SIGTERM'))  # the namespaces are still undone
    why = unavailable()
    if why:
        raise SystemExit(f'two network namespaces cannot be made here: {why}')
    rows = []
    with TwoHosts() as hosts, tempfile.TemporaryDirectory() as folder:
        hosts.lose(args.loss)
        for link in args.links.split(','):
            hosts.shape(None if link == UNSHAPED else link)
            for size, rate, reliability, profile in itertools.product(
                    args.sizes.split(','), args.rates.split(','), args.qos.split(','), args.profiles.split(',')):
                cell = Cell(link, size, float(rate), reliability, profile, args.loss)
                try:
                    row = measure(hosts, cell, args.seconds, Path(folder), tuple(args.outputs.split(',')))
                except CellError as err:
                    row = {**asdict(cell), 'error': str(err)}
                rows.append(row)
                print(json.dumps(row), flush=True)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1) + '\n')
    print(table(rows, args.outputs.split(',')[0]))


if __name__ == '__main__':
    main()
