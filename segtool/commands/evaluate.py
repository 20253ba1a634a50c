"""``segtool eval``."""
from __future__ import annotations

import argparse
from pathlib import Path

from seg_node.label_sets import IGNORE_INDEX
from segtool.node_eval import add_refinement_options

DESCRIPTION = """\
Evaluate MODEL on a dataset split: mIoU, per-class IoU and Dice, pixel accuracy and the confusion matrix,
written to a JSON report, with a per-class IoU bar chart (PNG). MODEL is a training checkpoint (.pt), an ONNX
file (.onnx, classes and normalisation from its metadata) or "row-prior", the baseline that labels each row
with its most frequent class in the training split. Images and masks are resized to the model's input size
(masks nearest). On the road dataset the splits are seeded apart: train 0.., val 10,000,000.., test
20,000,000.. (never used in training)."""


def add_parser(subparsers) -> None:
    p = subparsers.add_parser('eval', help='evaluate a checkpoint or ONNX model (JSON report, IoU chart)',
                              description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('model', help='checkpoint .pt, model .onnx, or row-prior')
    p.add_argument('--dataset', default='road', help='road or LAYOUT:ROOT (default %(default)s)')
    p.add_argument('--split', default='test', help='default %(default)s')
    p.add_argument('--count', type=int, default=200, help='road dataset: scenes to evaluate (default %(default)s)')
    p.add_argument('--size', type=int, nargs=2, metavar=('H', 'W'),
                   help='evaluation size (default: the model\'s input size; required for dynamic models without '
                        'one)')
    p.add_argument('--batch-size', type=int, default=8, help='default %(default)s')
    p.add_argument('--ignore-index', type=int, default=IGNORE_INDEX, help='default %(default)s')
    p.add_argument('--baseline-train', type=int, default=500,
                   help='row-prior: training scenes the prior is counted on (road; default %(default)s)')
    p.add_argument('--out', default='eval/report.json', help='JSON report (default %(default)s)')
    p.add_argument('--chart', default=None, help='IoU bar chart PNG (default: the report path with .png)')
    p.add_argument('--examples', type=int, default=0, metavar='N',
                   help='also write a PNG of the first N images: image | truth | prediction (default none)')
    p.add_argument('--examples-png', default=None,
                   help='where the examples go (default: the report path with _examples.png)')
    p.add_argument('--threads', type=int, default=2, help='torch CPU threads (default %(default)s)')
    p.add_argument('--camera-size', type=int, nargs=2, metavar=('H', 'W'),
                   help='ONNX model: run the node\'s pipeline on images of this size and score at it (the road '
                        'dataset is generated at it)')
    add_refinement_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from seg_node.pipeline import FrameSettings
    from segtool.node_eval import settings_from_args
    settings = settings_from_args(args)
    if args.camera_size or settings != FrameSettings.defaults():
        if not args.model.endswith('.onnx'):
            raise SystemExit('segtool eval: --camera-size and the refinement options need an ONNX model')
        return run_node_pipeline(args, settings)
    from segtool.datasets import open_dataset
    from segtool.training.evaluate import OnnxPredictor, RowPrior, TorchPredictor, evaluate, example_grid
    if args.model == 'row-prior':
        size = tuple(args.size or (240, 320))
        predictor = RowPrior(open_dataset(args.dataset, 'train', size, args.baseline_train), size)
    elif args.model.endswith('.onnx'):
        predictor = OnnxPredictor(Path(args.model))
    else:
        import torch
        torch.set_num_threads(args.threads)
        predictor = TorchPredictor(Path(args.model))
    size = tuple(args.size or predictor.meta['input_size'] or ())
    if len(size) != 2:
        raise SystemExit('segtool eval: the model states no input size; pass --size H W')
    dataset = open_dataset(args.dataset, args.split, size, args.count)
    cm = evaluate(predictor, dataset, size, args.batch_size, args.ignore_index)
    report = cm.report(predictor.meta['class_names'])
    report.update(model=args.model, dataset=args.dataset, split=args.split, images=len(dataset), size=list(size))
    _write(args, report, predictor.meta['palette'])
    if args.examples:
        examples = Path(args.examples_png or Path(args.out).with_name(Path(args.out).stem + '_examples.png'))
        example_grid(predictor, dataset, size, args.examples, examples)
        print(f'examples {examples}')
    return 0


def run_node_pipeline(args: argparse.Namespace, settings) -> int:
    """Evaluate through the node's pipeline at camera resolution under ``settings``."""
    from dataclasses import asdict

    from segtool.datasets import open_dataset
    from segtool.node_eval import BOUNDARY_TOLERANCE, node_pipeline, score_dataset
    pipeline = node_pipeline(args.model)
    size = tuple(args.camera_size or args.size or pipeline.input_hw or ())
    if len(size) != 2:
        raise SystemExit('segtool eval: the model states no input size; pass --camera-size H W')
    dataset = open_dataset(args.dataset, args.split, size, args.count)
    score = score_dataset(pipeline, settings, dataset, args.ignore_index)
    report = score.report(pipeline.class_names)
    report.update(model=args.model, dataset=args.dataset, split=args.split, images=len(dataset), camera_size=list(size),
                  settings=asdict(settings))
    print(f'through the node pipeline at {size[0]}x{size[1]}: boundary F-score ({BOUNDARY_TOLERANCE}-pixel '
          f'tolerance) {report["boundary_f"]:.4f}, {report["ms_median"]:.1f} ms a frame (median)')
    _write(args, report, pipeline.palette.tolist())
    return 0


def _write(args: argparse.Namespace, report: dict, palette: list[list[int]]) -> None:
    """Write the JSON report and IoU chart, print the summary."""
    from segtool.training.evaluate import write_report
    chart = Path(args.chart) if args.chart else Path(args.out).with_suffix('.png')
    write_report(report, Path(args.out), chart, palette,
                 f'{Path(args.model).name} on {args.dataset}/{args.split} ({report["images"]} images)')
    print(f'mIoU {report["mean_iou"]:.4f}  pixel accuracy {report["pixel_accuracy"]:.4f}')
    for name in report['class_names']:
        iou = report['iou'][name]
        print(f'  {name:<16} IoU {"n/a" if iou is None else f"{iou:.4f}"}')
    print(f'report {args.out}, chart {chart}')
