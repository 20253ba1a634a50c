"""``segtool gpu-check``: bare model, TensorRT start-up and the node end to end on each provider, side by side."""
from __future__ import annotations

import argparse
from pathlib import Path

from segtool.bench.gpu_check import __doc__ as DESCRIPTION


def add_parser(subparsers) -> None:
    p = subparsers.add_parser('gpu-check', help='measure the GPU paths (CPU vs CUDA vs TensorRT fp16) in one run',
                              description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--model', default=None, help="ONNX model (default: the node's, config/seg_node.yaml)")
    p.add_argument('--out', type=Path, default=Path('gpu_check_out'),
                   help='folder for gpu_check.json, gpu_check.md and the logs (default %(default)s)')
    p.add_argument('--repeats', type=int, default=300, help='timed bare calls per row (default %(default)s)')
    p.add_argument('--node-seconds', type=float, default=15.0,
                   help='seconds of 30 Hz camera per node row (default %(default)s)')
    p.add_argument('--skip-node', action='store_true', help='only the in-process rows')
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from segtool.bench.gpu_check import run_check, table
    from segtool.commands.bench import default_model

    results = run_check(args.model or default_model(), args.out, args.repeats, args.node_seconds, not args.skip_node)
    print(table(results))
    print(f'gpu-check: wrote {args.out}/gpu_check.json and {args.out}/gpu_check.md')
    return 0
