"""``segtool import``: bring a model made elsewhere in as an ONNX file the node loads untouched."""
from __future__ import annotations

import argparse
from pathlib import Path

from seg_node.package_files import SOURCE_ROOT
from segtool.importers import mediapipe_selfie


def add_parser(subparsers) -> None:
    p = subparsers.add_parser('import', help='convert a model made elsewhere to ONNX with seg_node metadata',
                              description=__doc__.split(': ', 1)[1])
    kinds = p.add_subparsers(dest='kind', required=True, metavar='KIND')
    selfie = kinds.add_parser('mediapipe-selfie', help="MediaPipe's selfie segmentation (models/person_selfie.md)",
                              description=mediapipe_selfie.__doc__,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    selfie.add_argument('--wheel', type=Path, help='the mediapipe 0.10.14 cp311 wheel (default: pip download it)')
    selfie.add_argument('--variant', choices=list(mediapipe_selfie.VARIANTS), default='general')
    selfie.add_argument('--out-dir', type=Path, default=SOURCE_ROOT / 'models', help='default %(default)s')
    selfie.add_argument('--mediapipe-python', help='a python interpreter with mediapipe installed')
    selfie.add_argument('--check', action='store_true', help='fail unless the committed ONNX is reproduced exactly')
    selfie.set_defaults(func=_run_selfie)


def _run_selfie(args: argparse.Namespace) -> int:
    return mediapipe_selfie.import_model(args.variant, args.wheel, args.out_dir, args.mediapipe_python, args.check)
