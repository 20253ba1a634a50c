"""``segtool adjust-logits``."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from seg_node.label_sets import IGNORE_INDEX

DESCRIPTION = """\
Take back part of a checkpoint's class weighting: add -TAU * log(w_c) to its logits, w_c the class weights it
was trained with (Menon et al., "Long-tail learning via logit adjustment", ICLR 2021). Weighted training makes
rare classes over-predicted; this trades some of their recall for precision. The shift is folded into the bias of
the layer that makes the logits, so the exported model costs the same.

Choose TAU on a split the model was not trained on: with --dataset, every value of --taus is scored on it in one
pass and the best mIoU wins (the table is printed, and written with --report). With --tau, a TAU chosen before
(e.g. on an earlier model of the same recipe that left val out) is applied. -o writes the adjusted checkpoint,
ready for "segtool export"; it records tau and the shift under "logit_adjustment"."""


def add_parser(subparsers) -> None:
    p = subparsers.add_parser('adjust-logits', help='undo part of the class weighting in the output bias',
                              description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('checkpoint', help='checkpoint .pt trained with --class-weights')
    how = p.add_mutually_exclusive_group(required=True)
    how.add_argument('--tau', type=float, help='apply this TAU')
    how.add_argument('--dataset', help='choose TAU on this dataset (LAYOUT:ROOT)')
    p.add_argument('--split', default='val', help='--dataset: the split TAU is chosen on (default %(default)s)')
    p.add_argument('--taus', type=float, nargs='+', default=[round(0.05 * i, 2) for i in range(21)],
                   help='--dataset: the candidates (default 0 to 1 by 0.05)')
    p.add_argument('--report', help='--dataset: JSON file for the table')
    p.add_argument('-o', '--output', help='adjusted checkpoint to write (default: none, only the table)')
    p.add_argument('--batch-size', type=int, default=8, help='default %(default)s')
    p.add_argument('--threads', type=int, default=2, help='torch CPU threads (default %(default)s)')
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import torch
    from segtool.training.checkpoint import load_checkpoint
    torch.set_num_threads(args.threads)
    checkpoint = load_checkpoint(Path(args.checkpoint))
    weights = checkpoint['config'].get('class_weights')
    if not weights:
        raise SystemExit(f'segtool adjust-logits: {args.checkpoint} was trained without class weights; '
                         'there is nothing to take back')
    if 'logit_adjustment' in checkpoint:
        raise SystemExit(f'segtool adjust-logits: {args.checkpoint} is adjusted already '
                         f'(tau {checkpoint["logit_adjustment"]["tau"]}); adjust the original')
    try:
        return _adjust(args, checkpoint, weights)
    except ValueError as err:  # classes that differ, or a net whose logits no bias moves directly
        raise SystemExit(f'segtool adjust-logits: {err}') from err


def _adjust(args: argparse.Namespace, checkpoint: dict, weights: list[float]) -> int:
    from segtool.training.checkpoint import model_from_checkpoint, save_checkpoint
    from segtool.training.logit_adjustment import fold_into_output_bias, logit_shift
    model = model_from_checkpoint(checkpoint)
    tau = args.tau if args.tau is not None else _choose_tau(args, model, checkpoint['meta'], weights)
    if args.output:
        shift = logit_shift(weights, tau)
        layer = fold_into_output_bias(model, shift)
        state = {key: value for key, value in checkpoint.items() if key not in ('model', 'config', 'meta', 'optimizer')}
        save_checkpoint(Path(args.output), model, checkpoint['config'], checkpoint['meta'], **state,
                        logit_adjustment={'tau': tau, 'shift': shift.tolist(), 'layer': layer})
        print(f'wrote {args.output}: tau {tau} folded into {layer}.bias')
    return 0


def _choose_tau(args: argparse.Namespace, model, meta: dict, weights: list[float]) -> float:
    """Score every --taus on --dataset --split, print the table (and write --report); the best mIoU's tau."""
    from segtool.datasets import open_dataset
    from segtool.training.logit_adjustment import logit_shift, sweep
    size = tuple(meta['input_size'])
    dataset = open_dataset(args.dataset, args.split, size)
    scores = sweep(model, meta, dataset, size, {t: logit_shift(weights, t) for t in args.taus}, args.batch_size,
                   IGNORE_INDEX)
    rows = [{'tau': t, 'mean_iou': cm.mean_iou(), 'pixel_accuracy': cm.pixel_accuracy(),
             'iou': dict(zip(meta['class_names'], cm.iou().round(4).tolist()))} for t, cm in scores.items()]
    for row in rows:
        print(f"tau {row['tau']:5.2f}  mIoU {row['mean_iou']:.4f}  pixel accuracy {row['pixel_accuracy']:.4f}")
    tau = max(rows, key=lambda row: row['mean_iou'])['tau']
    print(f'best on {args.dataset} {args.split} ({len(dataset)} images): tau {tau}')
    if args.report:
        Path(args.report).parent.mkdir(parents=True, exist_ok=True)
        Path(args.report).write_text(json.dumps({
            'checkpoint': args.checkpoint, 'dataset': args.dataset, 'split': args.split, 'images': len(dataset),
            'size': list(size), 'class_weights': weights, 'best_tau': tau, 'rows': rows}, indent=2) + '\n')
    return tau
