"""``segtool soak``: stream a long run of camera frames through the node, restarting the camera mid-stream.

The node (its params file: default config/seg_node.yaml) stays up the whole time; the demo camera plays each
segment WIDTHxHEIGHT:ENCODING:FRAMES in turn, and is killed (SIGKILL) and started again at the next segment's
size and encoding. The soak fails (exit code 1) if the node dies, if it does not resume after a restart, or if
its RSS grows by more than --rss-goal-mb after the warm-up, less its largest single step (a buffer kept once is
not a leak; three samples after the warm-up at least, else RSS is not judged and the soak fails). Writes
OUT/soak.json (settings, per-segment figures, samples of RSS, CPU and output fps, the node's /diagnostics
statuses as they changed) and OUT/soak.png.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

#: Warm-up (every size once), then 10,000 VGA frames with the camera killed and restarted at another size and
#: encoding in between.
DEFAULT_SEGMENTS = ('640x480:rgb8:500', '1280x720:yuv422:300', '640x480:bgr8:5000', '1280x720:rgb8:300',
                    '640x480:rgb8:5000')


def add_parser(subparsers) -> None:
    p = subparsers.add_parser('soak', help='a long camera stream through the node, camera restarts, RSS over time',
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--params', default=None, help="the node's params file (default: config/seg_node.yaml)")
    p.add_argument('--segments', nargs='+', default=list(DEFAULT_SEGMENTS), metavar='WxH:ENCODING:FRAMES',
                   help='camera segments, masks to receive from each (default: %(default)s)')
    p.add_argument('--rate', type=float, default=30.0, help='camera frames per second (default %(default)s)')
    p.add_argument('--sample-every', type=float, default=5.0, help='seconds between samples (default %(default)s)')
    p.add_argument('--warmup-segments', type=int, default=2,
                   help='segments that are warm-up (default %(default)s: one of each frame size of the default '
                        'segments; a new size grows buffers once)')
    p.add_argument('--warmup', type=int, default=500,
                   help='masks of the first segment after the warm-up segments before RSS growth is counted '
                        '(default %(default)s)')
    p.add_argument('--outputs', nargs='+', default=['mask', 'overlay'],
                   help='node outputs the soak subscribes to, so that the node computes them (default: %(default)s)')
    p.add_argument('--rss-goal-mb', type=float, default=5.0,
                   help='fail if RSS grows more than this after the warm-up, its largest single step left out; '
                        '0: only report (default %(default)s)')
    p.add_argument('--resume-timeout', type=float, default=60.0,
                   help='seconds without a mask (after a camera start) before the soak fails (default %(default)s)')
    p.add_argument('--out', default='soak_out', help='folder for soak.json, soak.png and logs (default %(default)s)')
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from seg_node.package_files import config_file
    from seg_node.pipeline import OUTPUT_NAMES
    from segtool.bench.soak import Segment, plot, rss_verdict, soak
    from segtool.dds import loopback

    loopback()
    try:
        segments = [Segment.parse(text) for text in args.segments]
    except ValueError as err:
        print(f'segtool soak: error: {err}', file=sys.stderr)
        return 1
    unknown = sorted(set(args.outputs) - set(OUTPUT_NAMES))
    if unknown:
        print(f"segtool soak: error: --outputs {', '.join(unknown)}: not one of {', '.join(OUTPUT_NAMES)}",
              file=sys.stderr)
        return 1
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    params = Path(args.params) if args.params else config_file('seg_node.yaml')
    report = soak(params, segments, out, rate=args.rate, period=args.sample_every, outputs=tuple(args.outputs),
                  resume_timeout=args.resume_timeout, warmup=args.warmup, warmup_segments=args.warmup_segments)
    plot(report, out / 'soak.png')
    summary = report['summary']
    for segment in report['segments']:
        if 'masks' in segment:
            print(f"soak: {segment['camera']}: {segment['masks']} masks in {segment['seconds']} s; first masked "
                  f"frame {segment['camera_start_to_first_masked_frame_s']} s after the camera started")
    growth = summary.get('rss_growth_after_warmup_mb')
    if growth is not None:
        print(f"soak: node RSS {summary['rss_after_warmup_mb']} MB after the warm-up, "
              f"{summary['rss_end_mb']} MB at the end ({growth:+} MB over {summary['masks_after_warmup']} masks, "
              f"largest step {summary['rss_largest_step_mb']} MB; max {summary['rss_max_mb']} MB)")
    print(f'soak: wrote {out}/soak.json and {out}/soak.png')
    failures = [report['error']] if 'error' in report else []
    if report['node_exit_code'] != 0:
        failures.append(f"seg_node exited with {report['node_exit_code']} when stopped")
    if args.rss_goal_mb and (verdict := rss_verdict(summary, args.rss_goal_mb)) is not None:
        failures.append(verdict)
    for failure in failures:
        print(f'segtool soak: error: {failure}', file=sys.stderr)
    return 1 if failures else 0
