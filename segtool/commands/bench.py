"""``segtool bench``."""
from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from segtool.bench import SIZES

DESCRIPTION = """\

Rows, all on the same model file and frames:
  bare        onnxruntime ``run`` on a ready input tensor (the floor);
  pipeline    the node's in-process stages (decode, preprocess, inference, postprocess, message build, compress):
              mask only, all four raw outputs, all + the three compressed ones, the compressed ones alone;
  bytes       per frame, of each raw and compressed output message (the JPEG ones also at quality 50 and 95);
  encode      each compressed output's encoder alone (PNG mask, JPEG colour mask and overlay);
  reference   a seed-style pipeline (numpy normalize, full-resolution logits, numpy argmax, palette, blend);
  relay       frames through a do-nothing node and back: the DDS floor for a Python node;
  node        ``seg_node`` in its own process: publish -> mask received (closed loop), mask only / all outputs;
  node fused  (--fused) the same on the model fused for the camera size, in the mask-only loop;
  camera      a 30 Hz open-loop camera: output rate vs. the bare model rate, latency p99, drops.
Rows that are compared take turns, so drift in the machine's speed moves them alike: pipeline and reference in
blocks of 10 frames (each warm, as if it ran alone), bare, relay and node frame by frame (the node's DDS hops
always follow its own inference, so the relay's follow other work too).
"""


def add_parser(subparsers) -> None:
    p = subparsers.add_parser('bench', help='measure the node against the bare model (docs/performance.md)',
                              description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--model', default=None, help='ONNX model (default: config/seg_node.yaml model_path)')
    p.add_argument('--frames', type=int, default=100, help='timed frames per row (default %(default)s)')
    p.add_argument('--sizes', nargs='+', default=['VGA', 'HD'], choices=list(SIZES), help='camera resolutions')
    p.add_argument('--skip-dds', action='store_true', help='only the in-process rows')
    p.add_argument('--fused', action='store_true',
                   help='also a node on the model fused for each camera size (segtool fuse), paired in the mask loop')
    p.add_argument('--scaling', action='store_true', help='also the resolution and class-count curves')
    p.add_argument('--cameras', type=int, nargs='+', default=[], metavar='N',
                   help='also N cameras at 30 Hz into one batched node vs N single nodes, for each N given '
                        '(e.g. --cameras 1 2 4; the first --sizes resolution)')
    p.add_argument('--camera-seconds', type=float, default=10.0, help='seconds per --cameras row (default %(default)s)')
    p.add_argument('--versus', nargs='+', default=[], metavar='MODEL',
                   help='also bare inference of these models, each at its own default input size, taking turns '
                        'with --model\'s (ratio to it)')
    p.add_argument('--out', default='bench_out', help='folder for results.json and plots (default %(default)s)')
    p.set_defaults(func=run)


def default_model() -> str:
    """Return the model config/seg_node.yaml names, resolved like the node does."""
    from seg_node.package_files import config_file, resolve_model_path
    from seg_node.params import DEFAULT_MODEL
    from segtool.node_params import read_params_file

    return resolve_model_path(read_params_file(config_file('seg_node.yaml')).get('model_path', DEFAULT_MODEL))


def run(args: argparse.Namespace) -> int:
    from segtool.bench.report import plot, report, summarize
    from segtool.bench.rows import camera_rows, dds_rows, in_process_rows, scaling_rows, versus_rows
    from segtool.dds import loopback
    from segtool.road_scenes import generate_scene

    loopback()

    model = args.model or default_model()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    frames = {size: generate_scene(7, *SIZES[size])[0] for size in args.sizes}
    results = {'model': model, 'frames': args.frames, 'cpu': f'{os.cpu_count()} cores',
               'in_process': in_process_rows(model, frames, args.frames)}
    if not args.skip_dds:
        results['dds'] = dds_rows(model, frames, args.frames, out, args.fused)
    if args.versus:
        results['versus'] = versus_rows([model, *args.versus], args.frames)
    if args.scaling:
        results['scaling'] = scaling_rows(model, args.frames)
    if args.cameras:
        results['cameras'] = camera_rows(model, next(iter(frames.values())), args.cameras, args.camera_seconds, out)
    results['summary'] = summarize(results)
    (out / 'results.json').write_text(json.dumps(results, indent=2) + '\n')
    plot(results, out)
    print(report(results))
    print(f'bench: wrote {out}/results.json and {out}/*.png')
    return 0
