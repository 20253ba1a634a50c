"""Compare the architectures: parameters, FLOPs, ONNX Runtime CPU latency and validation mIoU after the same
training-time budget. ``python -m seg_node.training.compare --help``."""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np


def onnx_latency_ms(onnx_path: Path, size: tuple[int, int], threads: int = 2, runs: int = 30) -> float:
    """Median ONNX Runtime CPU latency of one (1, 3, H, W) inference, after warm-up."""
    import onnxruntime as ort
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    session = ort.InferenceSession(str(onnx_path), options, providers=['CPUExecutionProvider'])
    x = np.random.default_rng(0).standard_normal((1, 3, *size)).astype(np.float32)
    name = session.get_inputs()[0].name
    for _ in range(3):
        session.run(None, {name: x})
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        session.run(None, {name: x})
        times.append(time.perf_counter() - start)
    return float(np.median(times) * 1e3)


def gflops(model, size: tuple[int, int]) -> float:
    """Forward GFLOPs (multiply-add = 2) of one (1, 3, H, W) image, counted by torch's FlopCounterMode."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model.eval()(torch.randn(1, 3, *size))
    return counter.get_total_flops() / 1e9


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('``')[0].strip())
    parser.add_argument('--models', nargs='+', default=['fcn', 'unet', 'deeplabv3plus', 'fastscnn'])
    parser.add_argument('--minutes', type=float, default=3.0, help='training-time budget per model')
    parser.add_argument('--size', type=int, nargs=2, default=[240, 320], metavar=('H', 'W'))
    parser.add_argument('--latency-size', type=int, nargs=2, default=[480, 640], metavar=('H', 'W'))
    parser.add_argument('--threads', type=int, default=2, help='torch CPU threads for training')
    parser.add_argument('--out-dir', default='runs/compare')
    args = parser.parse_args(argv)

    from .checkpoint import load_checkpoint, model_from_checkpoint
    from .config import TrainConfig
    from .export import export_onnx
    from .trainer import train
    rows = []
    for name in args.models:
        out = Path(args.out_dir) / name
        cfg = TrainConfig(model=name, out_dir=str(out), size=list(args.size), epochs=100, epoch_size=400,
                          max_minutes=args.minutes, threads=args.threads)
        result = train(cfg)
        model = model_from_checkpoint(load_checkpoint(out / 'best.pt'))
        export_onnx(out / 'best.pt', out / f'{name}.onnx')
        rows.append({'model': name, 'params_m': sum(p.numel() for p in model.parameters()) / 1e6,
                     'gflops_train_size': gflops(model, tuple(args.size)),
                     'gflops_latency_size': gflops(model, tuple(args.latency_size)),
                     'latency_ms': onnx_latency_ms(out / f'{name}.onnx', tuple(args.latency_size)),
                     'val_miou': result['best_miou'], 'steps': load_checkpoint(out / 'last.pt')['step'],
                     'minutes': args.minutes})
        print(json.dumps(rows[-1]), flush=True)
    (Path(args.out_dir) / 'compare.json').write_text(json.dumps(rows, indent=2) + '\n')
    h, w = args.latency_size
    print(f'| model | params (M) | GFLOPs {args.size[0]}x{args.size[1]} | GFLOPs {h}x{w} | '
          f'CPU latency {h}x{w} (ms) | training steps in {args.minutes:g} min | val mIoU |')
    print('| --- | ---: | ---: | ---: | ---: | ---: | ---: |')
    for r in rows:
        print(f'| {r["model"]} | {r["params_m"]:.2f} | {r["gflops_train_size"]:.2f} | {r["gflops_latency_size"]:.1f} '
              f'| {r["latency_ms"]:.1f} | {r["steps"]} | {r["val_miou"]:.3f} |')
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
