"""``segtool export``."""
from __future__ import annotations

import argparse
from pathlib import Path

DESCRIPTION = """\
Export a training checkpoint to ONNX (input "input" NCHW float32, output "logits" NCHW; batch, height and width
dynamic unless --static), store the model's description in the ONNX metadata_props (class_names, palette, mean,
std, input_size, output_kind; see docs/model_metadata.md), then run ONNX Runtime and torch on random inputs and
fail (exit 1) if their outputs differ by more than --tolerance. SegNet is checked on classes instead (99.9 % of the
pixels must agree): where two values of a pooling window tie within rounding, the runtimes may keep different
ones, and its output jumps there."""


def add_parser(subparsers) -> None:
    p = subparsers.add_parser('export', help='checkpoint -> ONNX with metadata, verified against torch',
                              description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('checkpoint', help='checkpoint .pt (e.g. runs/road/best.pt)')
    p.add_argument('-o', '--output', required=True, help='ONNX file to write')
    p.add_argument('--opset', type=int, default=17, help='ONNX opset (default %(default)s)')
    p.add_argument('--static', action='store_true', help='fix height and width to the training size')
    p.add_argument('--tolerance', type=float, default=1e-3,
                   help='largest allowed |onnxruntime - torch| on the logits (default %(default)s)')
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from segtool.training.export import ParityError, export_onnx
    try:
        result = export_onnx(Path(args.checkpoint), Path(args.output), args.opset, not args.static, args.tolerance)
    except ParityError as err:
        print(f'segtool export: parity check failed: {err}')
        return 1
    for size, diff, same in zip(result['sizes'], result['max_abs_diff'], result['same_class']):
        print(f'parity at {size[0]}x{size[1]}: max |onnxruntime - torch| = {diff:.2e}, same class on '
              f'{100 * same:.3f} % of the pixels')
    print(f"checked on the {result['checked_on']}")
    print(f'wrote {result["onnx"]} ({result["bytes"] / 1e6:.2f} MB)')
    return 0
