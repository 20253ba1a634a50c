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


def describe(trial) -> str:
    """Return the report of a ``model_trial.Trial``."""
    spec, meta, values = trial.engine.spec, trial.engine.metadata, trial.values
    stated = [key for key, value in vars(meta).items() if value is not None]

    def origin(key: str, fallback: str) -> str:
        return 'metadata' if getattr(meta, key) is not None else fallback

    if spec.input_hw:
        size_origin = 'fixed by the model'
    else:
        size_origin = 'metadata' if meta.input_size else 'none: the node runs at the camera resolution'
    lines = [
        f'detected   {spec.describe()}',
        f'trial run  a {trial.frame_hw[0]}x{trial.frame_hw[1]} frame gave output shape {list(trial.output_shape)}',
        f'provider   {trial.engine.provider}',
        'metadata   ' + (', '.join(stated) if stated else 'none (docs/model_metadata.md; segtool annotate writes it)'),
        f'input_size {values["input_size"]} ({size_origin})',
        f'mean       {values["mean"]} ({origin("mean", "ImageNet fallback")})',
        f'std        {values["std"]} ({origin("std", "ImageNet fallback")})',
        f'classes    {len(values["class_names"])} (names: {origin("class_names", "class_<id> fallback")}; colours: '
        f'{origin("palette", "VOC colour map fallback")})',
    ]
    palette = values['palette']
    width = max(len(n) for n in values['class_names'])
    lines += [f'  {i:>4}  {name:<{width}}  {tuple(palette[3 * i:3 * i + 3])}'
              for i, name in enumerate(values['class_names'])]
    return '\n'.join(lines)


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
    print(describe(trial))
    return 0
