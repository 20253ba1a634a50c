"""Compare the architectures: parameters, FLOPs, ONNX Runtime CPU latency and validation mIoU (``segtool compare``).

The mIoU is taken after the same training-time budget for every architecture.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch
from torch.utils.flop_counter import FlopCounterMode

from segtool.training.checkpoint import load_checkpoint, model_from_checkpoint
from segtool.training.config import TrainConfig
from segtool.training.export import export_onnx
from segtool.training.trainer import train


def onnx_latency_ms(onnx_path: Path, size: tuple[int, int], threads: int = 2, runs: int = 30) -> float:
    """Median ONNX Runtime CPU latency of one (1, 3, H, W) inference, after warm-up."""
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
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model.eval()(torch.randn(1, 3, *size))
    return counter.get_total_flops() / 1e9


def compare(models: list[str], minutes: float, size: tuple[int, int], latency_size: tuple[int, int],
            threads: int, out_dir: Path) -> list[dict]:
    """Train each of ``models`` for ``minutes`` on the road scenes, export it and measure it; one row per model."""
    rows = []
    for name in models:
        out = out_dir / name
        cfg = TrainConfig(model=name, out_dir=str(out), size=list(size), epochs=100, epoch_size=400,
                          max_minutes=minutes, threads=threads)
        result = train(cfg)
        model = model_from_checkpoint(load_checkpoint(out / 'best.pt'))
        export_onnx(out / 'best.pt', out / f'{name}.onnx')
        rows.append({'model': name, 'params_m': sum(p.numel() for p in model.parameters()) / 1e6,
                     'gflops_train_size': gflops(model, size), 'gflops_latency_size': gflops(model, latency_size),
                     'latency_ms': onnx_latency_ms(out / f'{name}.onnx', latency_size),
                     'val_miou': result['best_miou'], 'steps': load_checkpoint(out / 'last.pt')['step'],
                     'minutes': minutes})
        print(json.dumps(rows[-1]), flush=True)
    return rows


def markdown_table(rows: list[dict], size: tuple[int, int], latency_size: tuple[int, int], minutes: float) -> str:
    """Format the comparison as the Markdown table docs/toolchain.md shows."""
    h, w = latency_size
    lines = [f'| model | params (M) | GFLOPs {size[0]}x{size[1]} | GFLOPs {h}x{w} | CPU latency {h}x{w} (ms) | '
             f'training steps in {minutes:g} min | val mIoU |', '| --- | ---: | ---: | ---: | ---: | ---: | ---: |']
    lines += [f'| {r["model"]} | {r["params_m"]:.2f} | {r["gflops_train_size"]:.2f} | {r["gflops_latency_size"]:.1f} '
              f'| {r["latency_ms"]:.1f} | {r["steps"]} | {r["val_miou"]:.3f} |' for r in rows]
    return '\n'.join(lines)
