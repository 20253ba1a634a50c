"""``segtool quantize``: an INT8 (CPU) or FP16 (GPU) version of an ONNX model, checked and measured."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

DESCRIPTION = """\
Write OUTPUT, a faster version of MODEL that the node runs unchanged (same input, output and metadata):

  INT8 (default): ONNX Runtime static quantization, QDQ format, per-channel int8 weights, uint8 activations
  calibrated on --count frames from --calibration: "road" (generated training scenes) or an image folder or
  video, each taken through the node's own preprocessing for this model.
  --fp16: float16 weights and arithmetic for TensorRT / CUDA, float32 input and output.

The written model is loaded the way the node loads it, and compared with MODEL on the calibration frames (largest
|difference| of the outputs, share of pixels with the same class). An FP16 model that changes the class of more
pixels than float16 rounding of near-ties explains is an error (exit code 1, the bound named; the file stays for
a look). With --evaluate, both models are measured side by side in one run: bare latency (the node's ONNX
Runtime session on a ready input, the two models taking turns call by call) and mIoU / per-class IoU on
--eval-count images of --dataset/--split (segtool eval's evaluator); the table is printed and, with --report,
written as JSON (docs/quantization.md)."""


def add_parser(subparsers) -> None:
    p = subparsers.add_parser('quantize', help='INT8 or FP16 version of an ONNX model, with its speed and accuracy',
                              description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('model', type=Path, help='ONNX model (float32)')
    p.add_argument('-o', '--output', type=Path, required=True, help='ONNX file to write')
    p.add_argument('--fp16', action='store_true', help='convert to float16 (GPU targets) instead of INT8')
    p.add_argument('--calibration', default='road', help='road, or an image folder or video (default %(default)s)')
    p.add_argument('--count', type=int, default=100, help='calibration frames (default %(default)s)')
    p.add_argument('--evaluate', action='store_true', help='measure latency and accuracy of both side by side')
    p.add_argument('--dataset', default='road', help='evaluation dataset, road or LAYOUT:ROOT (default %(default)s)')
    p.add_argument('--split', default='test', help='evaluation split (default %(default)s)')
    p.add_argument('--eval-count', type=int, default=200, help='road: scenes evaluated (default %(default)s)')
    p.add_argument('--threads', type=int, default=2, help='ONNX Runtime threads for latency (default %(default)s)')
    p.add_argument('--providers', nargs='+', default=['cpu'], help='providers for latency (default: cpu)')
    p.add_argument('--repeats', type=int, default=60, help='timed calls per model (default %(default)s)')
    p.add_argument('--report', type=Path, help='write the side-by-side result as JSON')
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from seg_node.inference import ModelError
    from seg_node.params import ParamError
    from segtool.frame_sources import SourceError
    from segtool.model_trial import trial_run
    from segtool.quantization import (FP16_MIN_SAME_CLASS, agreement, calibration_tensors, convert_fp16,
                                      markdown_table, quantize_int8, side_by_side)
    try:
        input_name, tensors = calibration_tensors(args.model, args.calibration, args.count)
    except (ModelError, ParamError, SourceError) as err:
        print(f'segtool quantize: {err}')
        return 1
    args.output.parent.mkdir(parents=True, exist_ok=True)
    if args.fp16:
        convert_fp16(args.model, args.output)
    else:
        quantize_int8(args.model, args.output, input_name, tensors)
    try:
        trial = trial_run(str(args.output))
    except (ModelError, ParamError) as err:
        print(f'segtool quantize: seg_node would refuse the written {args.output}: {err}')
        return 1
    check = agreement(args.model, args.output, input_name, tensors)
    print(f'wrote {args.output} ({args.output.stat().st_size / 1e6:.2f} MB, {"FP16" if args.fp16 else "INT8"}); '
          f'seg_node detects: {trial.engine.spec.describe()}')
    print(f'against {args.model} on the {check["frames"]} calibration frames: max |output difference| '
          f'{check["max_abs_diff"]:.3g}, same class on {100 * check["same_class"]:.3f} % of the pixels')
    if args.fp16 and check['same_class'] < FP16_MIN_SAME_CLASS:
        print(f'segtool quantize: error: the FP16 model {args.output} keeps the class on only '
              f'{100 * check["same_class"]:.3f} % of the pixels (at least {100 * FP16_MIN_SAME_CLASS:g} % expected): '
              f'float16 changes this model\'s answers; keep the float model')
        return 1
    if not args.evaluate:
        return 0
    result = side_by_side({'original': args.model, 'converted': args.output}, tensors[0], args.dataset, args.split,
                          args.eval_count, args.threads, args.providers, args.repeats)
    result['agreement'] = check
    print(markdown_table(result))
    if args.report:
        args.report.parent.mkdir(parents=True, exist_ok=True)
        args.report.write_text(json.dumps(result, indent=2) + '\n')
        print(f'report {args.report}')
    return 0
