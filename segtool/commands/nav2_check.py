"""``segtool nav2-check``: check that a running seg_node gives Nav2's semantic segmentation layer what it needs.

Subscribes to ``segmentation/mask``, ``segmentation/confidence`` (best effort, depth 50) and
``segmentation/label_info`` (reliable, transient local) exactly as the layer does, after the node started,
listens for --seconds while the camera runs, and checks: LabelInfo arrived with ids 0..N-1 and their names;
both images are mono8; the mask and the confidence of a frame carry the identical stamp and size; at least
95 % of the frames seen came as such a pair. Prints the counts as JSON on the last line; exit code 1 if a check
failed. DDS is the environment's: run it in the layer's setting (e.g. no FASTDDS_DEFAULT_PROFILES_FILE).
"""
from __future__ import annotations

import argparse
import json


def add_parser(subparsers) -> None:
    p = subparsers.add_parser('nav2-check', help="check a running seg_node's outputs against the Nav2 layer's needs",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--namespace', default='', help="the node's namespace (default: none)")
    p.add_argument('--seconds', type=float, default=10.0, help='how long to listen once connected (default 10)')
    p.add_argument('--wait', type=float, default=30.0, help='how long to wait for the node (default 30)')
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import rclpy

    from segtool.nav2_layer import LayerListener

    rclpy.init()
    listener = LayerListener(args.namespace)
    try:
        if not listener.spin(args.wait, listener.connected):
            print(f'no publisher of {" and ".join(listener.topics.values())} within {args.wait:.0f} s')
            return 1
        print(f'listening to {", ".join(listener.topics.values())} for {args.seconds:.0f} s', flush=True)
        listener.spin(args.seconds)
        report = listener.report
        problems = report.problems()
        if not listener.labels_readable:
            problems[0] = 'vision_msgs is not installed here: LabelInfo cannot be read'
    finally:
        listener.close()
        rclpy.try_shutdown()
    for problem in problems:
        print(f'problem: {problem}')
    print(json.dumps({**report.summary(), 'problems': problems}))
    return 1 if problems else 0
