"""``segtool describe``: what seg_node would detect in an ONNX model, read by the node's own code."""
from __future__ import annotations

import argparse
from pathlib import Path

DESCRIPTION = """\
Print what seg_node would make of MODEL: the input layout, type and size, the output layout and kind, the number
of classes (from a trial run on one frame, as the node runs it), the seg_node metadata the file carries (see
docs/model_metadata.md), and the class names, colours, normalisation and input size the node would use, each with
where it comes from (the model's shapes, its metadata, or the node's fallback). Exit code 1 if the node would
refuse the model, with its reason."""


def add_parser(subparsers) -> None:
    p = subparsers.add_parser('describe', help='print what seg_node would detect in an ONNX model',
                              description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('model', help='ONNX file')
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from seg_node.inference import ModelError
    from seg_node.params import ParamError
    from segtool.model_trial import trial_run
    try:
        trial = trial_run(args.model)
    except (ModelError, ParamError) as err:
        print(f'segtool describe: seg_node would refuse {args.model}: {err}')
        return 1
    print(f'{args.model} ({Path(args.model).stat().st_size / 1e6:.2f} MB)')
    print(trial.report())
    return 0
