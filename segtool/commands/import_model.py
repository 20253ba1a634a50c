"""``segtool import``: bring a model made elsewhere in as an ONNX file the node loads untouched."""
from __future__ import annotations

import argparse
from pathlib import Path

from seg_node.package_files import SOURCE_ROOT
from segtool.importers import mediapipe_selfie, segformer


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
    former = kinds.add_parser('segformer', help='a Hugging Face SegFormer checkpoint directory (needs transformers)',
                              description=segformer.__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    former.add_argument('directory', type=Path, help='checkpoint directory: config.json, weights, preprocessor config')
    former.add_argument('-o', '--output', type=Path, required=True, help='ONNX file to write')
    former.add_argument('--upsample', action='store_true',
                        help='resize the logits to the input size inside the model (default: a quarter of it)')
    former.add_argument('--tolerance', type=float, default=1e-3,
                        help='largest allowed |onnxruntime - transformers| on the logits (default %(default)s)')
    former.set_defaults(func=_run_segformer)


def _run_selfie(args: argparse.Namespace) -> int:
    return mediapipe_selfie.import_model(args.variant, args.wheel, args.out_dir, args.mediapipe_python, args.check)


def _run_segformer(args: argparse.Namespace) -> int:
    from segtool.annotation import AnnotationError
    from segtool.training.export import ParityError
    try:
        result = segformer.import_segformer(args.directory, args.output, args.upsample, args.tolerance)
    except (segformer.CheckpointError, AnnotationError, ParityError) as err:
        print(f'segtool import segformer: {err}')
        return 1
    for size, diff in zip(result['sizes'], result['max_abs_diff']):
        print(f'parity at {size[0]}x{size[1]}: max |onnxruntime - transformers| = {diff:.2e}')
    print(f"wrote {result['onnx']}: {result['classes']} classes, colours from the {result['colours']}, "
          f"normalisation and input size from {result['normalisation']}")
    print(result['trial'].report())
    return 0
