"""``segtool demo`` (``make demo``): the node on the default model, fed by the project's camera at 30 Hz.

Starts ``seg_node`` (config/seg_node.yaml) and ``seg_camera`` (generated road scenes, or --source) as
separate processes, receives the mask and the overlay, and writes an animated overlay, a few overlay PNGs
and a summary (frames in/out, dropped, latency p50/p99) to demo_out/. DDS stays on this machine.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from seg_node.package_files import config_file
from segtool.frame_sources import SCENES, STREET


def add_parser(subparsers) -> None:
    p = subparsers.add_parser('demo', help='play real street frames through the node (make demo)',
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--seconds', type=float, default=float(os.environ.get('DEMO_SECONDS', 20)),
                   help='how long the camera plays (env DEMO_SECONDS; default 20)')
    p.add_argument('--params', default=None, help='node params file (default: config/seg_node.yaml)')
    p.add_argument('--source', default=STREET,
                   help=f"camera source: '{STREET}' (CamVid test frames shipped with the package; default), "
                        f"'{SCENES}' (generated road scenes), an image folder or a video")
    p.add_argument('--rate', type=float, default=30.0, help='camera frames per second')
    p.add_argument('--size', default='640x480', help='camera WIDTHxHEIGHT')
    p.add_argument('--out', default='demo_out', help='output folder (default %(default)s)')
    p.set_defaults(func=run)


def start(module: str, log: Path, *ros_args: str) -> subprocess.Popen:
    """``python -m MODULE --ros-args ...`` with its output in ``log``."""
    return subprocess.Popen([sys.executable, '-m', module, '--ros-args', *ros_args],
                            stdout=open(log, 'w'), stderr=subprocess.STDOUT)


def run(args: argparse.Namespace) -> int:
    import rclpy
    from diagnostic_msgs.msg import DiagnosticArray
    from sensor_msgs.msg import Image

    from seg_node.publishing import output_topic
    from segtool.dds import loopback

    loopback()
    args.params = args.params or str(config_file('seg_node.yaml'))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    width, height = (int(v) for v in args.size.split('x'))
    rclpy.init()
    observer = rclpy.create_node('seg_demo_observer')
    masks, overlays, diagnostics = [], [], []

    def on_mask(msg: Image) -> None:
        masks.append((time.time(), msg.header.stamp.sec + msg.header.stamp.nanosec * 1e-9))

    observer.create_subscription(Image, output_topic('mask'), on_mask, 10)
    observer.create_subscription(Image, output_topic('overlay'), overlays.append, 10)
    observer.create_subscription(DiagnosticArray, '/diagnostics', diagnostics.append, 10)
    node = start('seg_node.node', out / 'seg_node.log', '--params-file', args.params)
    camera = None
    try:
        deadline = time.monotonic() + 60
        while observer.count_publishers(f"/{output_topic('mask')}") == 0:
            if node.poll() is not None or time.monotonic() > deadline:
                print((out / 'seg_node.log').read_text(), file=sys.stderr)
                print('demo: seg_node did not start (log above)', file=sys.stderr)
                return 1
            rclpy.spin_once(observer, timeout_sec=0.1)
        count = int(args.seconds * args.rate)
        camera = start('segtool.demo_camera', out / 'seg_camera.log', '-p', f'source:={args.source}',
                       '-p', f'rate:={args.rate}', '-p', f'count:={count}', '-p', f'width:={width}',
                       '-p', f'height:={height}')
        print(f'demo: camera plays {count} frames ({args.source}, {width}x{height}) at {args.rate} Hz ...')
        while camera.poll() is None:
            rclpy.spin_once(observer, timeout_sec=0.05)
        drain = time.monotonic() + 2.0
        while time.monotonic() < drain:
            rclpy.spin_once(observer, timeout_sec=0.05)
        if camera.returncode != 0:
            print((out / 'seg_camera.log').read_text(), file=sys.stderr)
            return 1
    finally:
        for proc in (camera, node):
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGINT)
                proc.wait(timeout=15)
        observer.destroy_node()
        rclpy.try_shutdown()
    summary = summarize(count, masks, diagnostics, args)
    write_outputs(out, overlays, summary)
    return 0 if masks else 1


def summarize(sent: int, masks: list, diagnostics: list, args: argparse.Namespace) -> dict:
    """demo_out/summary.json: the camera, frames in and out, latency, and the node's last diagnostics."""
    latency = np.array([(received - stamp) * 1000 for received, stamp in masks])
    last = {kv.key: kv.value for kv in diagnostics[-1].status[0].values} if diagnostics else {}
    span = masks[-1][0] - masks[0][0] if len(masks) > 1 else 0.0
    return {
        'camera': f'{args.source} {args.size} at {args.rate} Hz',
        'params': os.path.relpath(args.params),
        'frames published': sent,
        'masks received': len(masks),
        'node frames in': last.get('frames in'),
        'node dropped (replaced by a newer frame)': last.get('dropped (replaced)'),
        'node dropped (malformed)': last.get('dropped (malformed)'),
        'output fps': round((len(masks) - 1) / span, 1) if span else None,
        'latency camera->mask ms p50': round(float(np.percentile(latency, 50)), 1) if masks else None,
        'latency camera->mask ms p99': round(float(np.percentile(latency, 99)), 1) if masks else None,
        'node stage latency ms p50/p99': {k: v for k, v in last.items() if k.endswith('p50/p99')},
        'execution provider': last.get('execution provider'),
    }


def write_outputs(out: Path, overlays: list, summary: dict) -> None:
    """Overlay PNGs, an animated GIF and the summary."""
    import cv2

    from seg_node.image_codec import decode_image

    pictures = [cv2.cvtColor(decode_image(m).rgb(), cv2.COLOR_RGB2BGR) for m in overlays[::3][:60]]
    for index, picture in enumerate(pictures[:: max(1, len(pictures) // 4)][:4]):
        cv2.imwrite(str(out / f'overlay_{index}.png'), picture)
    if pictures:
        animation = cv2.Animation()
        animation.frames = [cv2.resize(p, (p.shape[1] // 2, p.shape[0] // 2)) for p in pictures]
        animation.durations = [100] * len(pictures)
        cv2.imwriteanimation(str(out / 'overlay.gif'), animation)
    (out / 'summary.json').write_text(json.dumps(summary, indent=2) + '\n')
    print(json.dumps(summary, indent=2))
    print(f'demo: wrote {out}/overlay.gif, overlay_*.png, summary.json')
