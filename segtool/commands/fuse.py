"""``segtool fuse``: wrap a model so that its graph does the node's whole frame path."""
from __future__ import annotations

import argparse

from seg_node.model_metadata import RESIZE_MODES

DESCRIPTION = """\
Write OUTPUT: MODEL wrapped so that it takes the camera picture as it arrives (uint8 N x H x W x 3, in the colour
order of --order) and returns what the node publishes, class ids at camera size ('mask', uint8, uint16 above 256
classes), with the node's resize (stretch or letterbox), normalization, argmax and resize back inside the graph,
and optionally the confidence map ('confidence'). The wrapped model's own output stays available as 'scores' for
the refinements that need class scores. Normalization, input size and classes are what the node would use for
MODEL with no parameter set. The node runs OUTPUT as it is (model_path); docs/model_metadata.md#fused-models.
A fixed --camera-size lets ONNX Runtime and TensorRT plan every shape once; --dynamic takes any size."""


def add_parser(subparsers) -> None:
    p = subparsers.add_parser('fuse', help="wrap a model so its graph does the node's pre- and postprocessing",
                              description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('model', help='ONNX model (with seg_node metadata, or the node\'s defaults apply)')
    p.add_argument('-o', '--output', required=True, help='fused ONNX file to write')
    size = p.add_mutually_exclusive_group(required=True)
    size.add_argument('--camera-size', type=int, nargs=2, metavar=('H', 'W'), help='the camera picture size')
    size.add_argument('--dynamic', action='store_true', help='any camera size')
    p.add_argument('--order', choices=('rgb', 'bgr'), default='rgb',
                   help='colour order of the pictures (default %(default)s; the node swaps others at a copy)')
    p.add_argument('--resize-mode', choices=RESIZE_MODES, default='stretch', help='default %(default)s')
    p.add_argument('--confidence', action='store_true', help="also the 'confidence' output (computed every frame)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import onnx

    from seg_node.inference import InferenceEngine, ModelError
    from seg_node.pipeline import default_values
    from segtool.fusion import FuseError, fuse
    try:
        engine = InferenceEngine(args.model, ['cpu'])
        fused = fuse(onnx.load(args.model), engine.spec, default_values(engine),
                     tuple(args.camera_size) if args.camera_size else None, args.order == 'bgr', args.resize_mode,
                     args.confidence)
    except (FuseError, ModelError) as err:
        print(f'segtool fuse: refused, nothing written: {err}')
        return 1
    onnx.save(fused, args.output)
    described = InferenceEngine(args.output, ['cpu'])
    print(f'wrote {args.output}: {described.spec.describe()}')
    return 0
