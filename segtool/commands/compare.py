"""``segtool compare``."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from segtool.training.registry import MODELS

DESCRIPTION = """\
Compare the architectures on the generated road scenes: each is trained for the same time budget, exported to
ONNX and measured: parameters, GFLOPs at the training and the latency size, ONNX Runtime CPU latency (2 threads)
and the best validation mIoU. Prints one JSON line per model, then a Markdown table; OUT_DIR/compare.json keeps
the rows (docs/toolchain.md)."""


def add_parser(subparsers) -> None:
    p = subparsers.add_parser('compare', help='train every architecture for the same time and compare them',
                              description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--models', nargs='+', default=list(MODELS), choices=list(MODELS), help='default: all')
    p.add_argument('--minutes', type=float, default=3.0, help='training-time budget per model (default %(default)s)')
    p.add_argument('--size', type=int, nargs=2, default=[240, 320], metavar=('H', 'W'), help='training size')
    p.add_argument('--latency-size', type=int, nargs=2, default=[480, 640], metavar=('H', 'W'),
                   help='size of the latency and GFLOPs measurement (default %(default)s)')
    p.add_argument('--threads', type=int, default=2, help='torch CPU threads for training (default %(default)s)')
    p.add_argument('--out-dir', default='runs/compare', help='default %(default)s')
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from segtool.training.compare import compare, markdown_table
    size, latency_size, out = tuple(args.size), tuple(args.latency_size), Path(args.out_dir)
    rows = compare(args.models, args.minutes, size, latency_size, args.threads, out)
    (out / 'compare.json').write_text(json.dumps(rows, indent=2) + '\n')
    print(markdown_table(rows, size, latency_size, args.minutes))
    return 0
