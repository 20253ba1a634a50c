"""``segtool annotate``: write the metadata seg_node reads into an ONNX model made anywhere."""
from __future__ import annotations

import argparse

from seg_node.label_sets import LABEL_SETS
from seg_node.model_metadata import OUTPUT_KINDS

DESCRIPTION = f"""\
Write into MODEL the description seg_node reads (class names, palette, mean, std, input size, output kind;
docs/model_metadata.md), so that model_path alone runs it. First the bare model runs on one frame the way the node
runs it; the size of its output's class axis must match the label set, else nothing is written and the reason is
printed (exit code 1). The written file is then loaded once more as the node will load it, and described.

--labels is a built-in set ({', '.join(LABEL_SETS)}) or a names/colours file: a text file with one class a line,
"name" or "name r g b", or a Mapillary Vistas-style config.json ({{"labels": [{{"readable": ..., "color": [r, g, b]}},
...]}}); a class without a colour gets the VOC colour of its id.

Unstated values keep what MODEL's metadata says, else: mean and std ImageNet's (the torchvision convention, RGB on
pixel/255), input size the model's fixed size (a dynamic model without one runs at the camera resolution), output
kind what the node detects ({', '.join(OUTPUT_KINDS)})."""


def add_parser(subparsers) -> None:
    p = subparsers.add_parser('annotate', help='write seg_node metadata into an ONNX model (class count checked)',
                              description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('model', help='ONNX file to describe')
    p.add_argument('-o', '--output', required=True, help='ONNX file to write (may be MODEL itself)')
    p.add_argument('--labels', required=True, help='built-in label set or names/colours file')
    p.add_argument('--mean', type=float, nargs=3, metavar=('R', 'G', 'B'), help='per-channel mean on pixel/255')
    p.add_argument('--std', type=float, nargs=3, metavar=('R', 'G', 'B'), help='per-channel std on pixel/255')
    p.add_argument('--input-size', type=int, nargs=2, metavar=('H', 'W'), help='input size the model expects')
    p.add_argument('--output-kind', choices=OUTPUT_KINDS, help='what the output holds (default: as detected)')
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import onnx

    from seg_node.inference import ModelError
    from seg_node.label_sets import resolve_label_set
    from seg_node.model_metadata import MetadataError
    from seg_node.params import ParamError
    from segtool.annotation import AnnotationError, annotate
    try:
        labels = resolve_label_set(args.labels)
    except ValueError as err:
        print(f'segtool annotate: {err}')
        return 1
    try:
        model = onnx.load(args.model)
    except Exception as err:  # protobuf and OS errors alike: the file is not a readable ONNX model
        print(f'segtool annotate: cannot read {args.model} as ONNX: {str(err).strip() or type(err).__name__}')
        return 1
    try:
        trial = annotate(model, args.output, labels, args.mean, args.std, args.input_size, args.output_kind)
    except (AnnotationError, MetadataError, ModelError, ParamError) as err:
        print(f'segtool annotate: refused, nothing written: {err}')
        return 1
    print(f"wrote {args.output}: label set '{labels.name}' ({len(labels.class_names)} classes)")
    print(trial.report())
    return 0
