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
input always. Depth topics of a bag (16UC1/32FC1 images, compressedDepth, 16-bit greyscale PNG) are skipped and
named: they are not cameras.

Several inputs (or --ray): OUT is a folder, each input labelled into OUT/<name>_labelled exactly as alone; an
input that fails is named with its reason while the others are labelled (exit code 1), and a re-run skips the
outputs already there. --ray runs them on a Ray cluster (extra "ray"): a local one on this machine when no
ADDRESS is given, else the cluster at ADDRESS ("auto" on a node of the cluster; ray://HEAD:10001 through Ray
Client). This machine and every worker must have seg_node installed and see the inputs, OUT and the model at
the same paths (a shared file system): run it on the head node (ray exec, docs/toolchain.md).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from seg_node.pipeline import OUTPUT_NAMES


def add_parser(subparsers) -> None:
    p = subparsers.add_parser('label', help='segment a bag, a video or an image folder offline, like the node',
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('sources', nargs='+', metavar='SOURCE',
                   help='a rosbag2 bag (folder, .mcap or .db3), a video file or a folder of images; several: see below')
    p.add_argument('-o', '--out', default=None,
                   help='output bag or folder (default: SOURCE_labelled beside it); with several inputs or --ray the '
                        'folder that gets one output per input (required)')
    p.add_argument('--params', default=None, help="the node's params file (default: config/seg_node.yaml)")
    p.add_argument('-p', '--param', action='append', default=[], metavar='NAME:=VALUE',
                   help='override one node parameter (the value read as YAML), e.g. -p model_path:=my.onnx')
    p.add_argument('--outputs', nargs='+', choices=OUTPUT_NAMES, default=None,
                   help='outputs to write (default: mask for bags; mask and overlay for folders and videos)')
    p.add_argument('--topic', action='append', default=[],
                   help='camera topic of a bag to label (repeatable; default: every Image/CompressedImage topic)')
    p.add_argument('--overwrite', action='store_true',
                   help='replace OUT if it exists (never the input); several inputs: label again those already done')
    ray = p.add_argument_group('Ray (several inputs at once)')
    ray.add_argument('--ray', nargs='?', const='', default=None, metavar='ADDRESS',
                     help='label on a Ray cluster: a local one when no ADDRESS follows (write --ray=ADDRESS or put '
                          'it after the inputs)')
    ray.add_argument('--workers', type=int, default=None,
                     help='inputs labelled at once (default: as many as the cluster has CPUs for)')
    ray.add_argument('--worker-cpus', type=float, default=1.0,
                     help='CPUs Ray reserves per input; ONNX Runtime threads unless num_threads is set (default 1)')
    ray.add_argument('--worker-gpus', type=float, default=0.0,
                     help='GPUs Ray reserves per input (e.g. 1 with -p providers:=[cuda,cpu]; default 0)')
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from seg_node.inference import ModelError
    from seg_node.model_metadata import MetadataError
    from seg_node.params import ParamError
    from segtool.bags import BagError
    from segtool.labelling import LabelError

    try:
        if len(args.sources) > 1 or args.ray is not None:
            return _label_many(args)
        return _label_one(args)
    except (LabelError, BagError, ParamError, ModelError, MetadataError) as err:
        print(f'segtool label: error: {err}', file=sys.stderr)
        return 1


def _overrides(args: argparse.Namespace) -> dict:
    """Return the node's parameters: the params file's, then each ``-p``."""
    from seg_node.package_files import config_file
    from segtool.node_params import parse_assignment, read_params_file

    params = Path(args.params) if args.params else config_file('seg_node.yaml')
    return {**read_params_file(params), **dict(parse_assignment(a) for a in args.param)}


def _label_one(args: argparse.Namespace) -> int:
    from seg_node.pipeline import FrameSettings, Outputs
    from segtool.bags import is_bag
    from segtool.labelling import Labeller, default_output, prepare_output
    from segtool.node_params import node_pipeline

    source = Path(args.sources[0])
    out = Path(args.out) if args.out else default_output(source)
    outputs = args.outputs or (['mask'] if is_bag(source) else ['mask', 'overlay'])
    overrides = _overrides(args)
    prepare_output(source, out, args.overwrite)
    pipeline, values = node_pipeline(overrides)
    want = Outputs(**{name: name in outputs for name in OUTPUT_NAMES})
    report = Labeller(pipeline, FrameSettings.from_values(values), want).label(source, out, tuple(args.topic))
    rate = report.frames / report.seconds if report.seconds else 0.0
    print(f'label: {report.frames} frames of {source} labelled in {report.seconds:.1f} s ({rate:.1f} frames/s) '
          f'-> {out}')
    for target, count in report.written.items():
        print(f'  {target}: {count}')
    for note in report.notes:
        print(f'  note: {note}')
    errors = report.errors(out)
    for error in errors:
        print(f'segtool label: error: {error}', file=sys.stderr)
    return 1 if errors else 0


def _label_many(args: argparse.Namespace) -> int:
    from seg_node.package_files import resolve_model_path
    from segtool.fleet_labelling import FleetLabelling, LabelSettings
    from segtool.labelling import LabelError
    from segtool.node_params import node_pipeline

    if not args.out:
        raise LabelError('several inputs (or --ray) need -o OUT_DIR: the folder that gets one output per input')
    if args.workers is not None and args.workers < 1:
        raise LabelError(f'--workers {args.workers}: at least 1')
    overrides = _overrides(args)
    _, values = node_pipeline(overrides)  # refuse bad parameters or a bad model here, before any worker starts
    overrides['model_path'] = resolve_model_path(values['model_path'])  # the same file wherever a worker runs
    settings = LabelSettings(overrides, tuple(args.outputs) if args.outputs else None, tuple(args.topic))
    fleet = FleetLabelling(args.sources, Path(args.out), settings, args.overwrite)
    if args.ray is None:
        fleet.run_here()
    else:
        fleet.run_on_ray(args.ray or None, args.workers, args.worker_cpus, args.worker_gpus)
    print(fleet.summary())
    for outcome in fleet.failed():
        print(f'segtool label: error: {outcome.source}: {"; ".join(outcome.errors)}', file=sys.stderr)
    return 1 if fleet.failed() else 0
