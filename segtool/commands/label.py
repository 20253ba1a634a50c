"""``segtool label``: segment a rosbag2 bag, a video or an image folder offline, exactly as the node would.

The pipeline is the node's, built from the node's params file (default config/seg_node.yaml; ``-p`` overrides
one parameter like ``--ros-args -p``), and every frame takes the node's frame path.

  bag (a rosbag2 folder, or one .mcap / .db3 file; MCAP or sqlite3)
      -> a new MCAP bag: each camera topic and, beside it, <camera namespace>/segmentation/mask (and the other
         outputs asked for), each with its input's header at its input's log time: Foxglove and
         "ros2 bag play" show them in sync. A truncated or damaged bag is labelled up to the damage, the output
         closed and valid, and then the error names the damage (exit code 1).
  folder of images / video file
      -> OUT/mask/*.png (class ids) and OUT/overlay/*.png (and the other outputs asked for); for a video also
         OUT/overlay.mp4.

The input is never written: an output that exists is refused unless --overwrite, one that is or holds the
input always.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from seg_node.pipeline import OUTPUT_NAMES


def add_parser(subparsers) -> None:
    p = subparsers.add_parser('label', help='segment a bag, a video or an image folder offline, like the node',
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('source', help='a rosbag2 bag (folder, .mcap or .db3), a video file or a folder of images')
    p.add_argument('-o', '--out', default=None, help='output bag or folder (default: SOURCE_labelled beside it)')
    p.add_argument('--params', default=None, help="the node's params file (default: config/seg_node.yaml)")
    p.add_argument('-p', '--param', action='append', default=[], metavar='NAME:=VALUE',
                   help='override one node parameter (the value read as YAML), e.g. -p model_path:=my.onnx')
    p.add_argument('--outputs', nargs='+', choices=OUTPUT_NAMES, default=None,
                   help='outputs to write (default: mask for bags; mask and overlay for folders and videos)')
    p.add_argument('--topic', action='append', default=[],
                   help='camera topic of a bag to label (repeatable; default: every Image/CompressedImage topic)')
    p.add_argument('--overwrite', action='store_true', help='replace OUT if it exists (never the input)')
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from seg_node.inference import ModelError
    from seg_node.model_metadata import MetadataError
    from seg_node.package_files import config_file
    from seg_node.params import ParamError
    from seg_node.pipeline import FrameSettings, Outputs
    from segtool.bags import BagError, is_bag
    from segtool.labelling import NAMED_SKIPS, Labeller, LabelError, default_output, prepare_output
    from segtool.node_params import node_pipeline, parse_assignment, read_params_file

    source = Path(args.source)
    out = Path(args.out) if args.out else default_output(source)
    outputs = args.outputs or (['mask'] if is_bag(source) else ['mask', 'overlay'])
    try:
        params = Path(args.params) if args.params else config_file('seg_node.yaml')
        overrides = {**read_params_file(params), **dict(parse_assignment(a) for a in args.param)}
        prepare_output(source, out, args.overwrite)
        pipeline, values = node_pipeline(overrides)
        want = Outputs(**{name: name in outputs for name in OUTPUT_NAMES})
        labeller = Labeller(pipeline, FrameSettings.from_values(values), want)
        report = labeller.label(source, out, tuple(args.topic))
    except (LabelError, BagError, ParamError, ModelError, MetadataError) as err:
        print(f'segtool label: error: {err}', file=sys.stderr)
        return 1
    rate = report.frames / report.seconds if report.seconds else 0.0
    print(f'label: {report.frames} frames of {source} labelled in {report.seconds:.1f} s ({rate:.1f} frames/s) '
          f'-> {out}')
    for target, count in report.written.items():
        print(f'  {target}: {count}')
    for note in report.notes:
        print(f'  note: {note}')
    failed = False
    if report.skipped:
        named = '; '.join(report.skipped[:NAMED_SKIPS])
        print(f'segtool label: error: {len(report.skipped)} frames could not be labelled: {named}', file=sys.stderr)
        failed = True
    if report.damage:
        print(f'segtool label: error: {report.damage}; the {report.frames} frames before it are labelled in {out}',
              file=sys.stderr)
        failed = True
    return 1 if failed else 0
