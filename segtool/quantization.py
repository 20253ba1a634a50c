"""INT8 and FP16 versions of an ONNX model the node runs unchanged, and what they gain in speed and cost in accuracy.

- INT8: ONNX Runtime static quantization, QDQ format, int8 weights per output channel, uint8 activations whose
  ranges are calibrated (min/max) on frames taken through the node's own preprocessing (``seg_node.pipeline``: the
  model's defaults, resize, normalisation, layout), so calibration sees exactly the tensors the node will feed.
- FP16: weights and arithmetic in float16 for GPU targets (TensorRT, CUDA), inputs and outputs kept float32, so the
  node feeds and reads the model as before.

Both keep the model's seg_node metadata. :func:`side_by_side` measures the original and the converted model in one
run: bare latency taking turns call by call, and mIoU / per-class IoU on a dataset split with ``segtool eval``'s
evaluator.
"""
from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from seg_node.image_codec import Frame
from seg_node.inference import InferenceEngine
from seg_node.pipeline import build_pipeline, default_values
from segtool.datasets import ROAD_SEEDS
from segtool.frame_sources import SCENES, load_frames

#: Camera frame size calibration frames are drawn at before the node's preprocessing resizes them (VGA).
FRAME_HW = (480, 640)
#: Least share of calibration pixels whose class an FP16 model must keep: float16 rounding may flip near-ties only.
FP16_MIN_SAME_CLASS = 0.999


def calibration_tensors(model_path: Path, source: str, count: int, frame_hw=FRAME_HW) -> tuple[str, list]:
    """Return (input name, ``count`` input tensors) from ``road`` (training scenes), an image folder or a video.

    Each frame goes through the node's pipeline set up as the node sets it up for this model.
    """
    engine = InferenceEngine(str(model_path), ['cpu'])
    pipeline = build_pipeline(engine, default_values(engine))
    frames = load_frames(SCENES if source == 'road' else source, *frame_hw, count, seed=ROAD_SEEDS['train'])
    return engine.spec.input_name, [pipeline.preprocess(Frame(f, False), pipeline.geometry(f.shape[:2]))
                                    for f in frames]


def quantize_int8(source: Path, target: Path, input_name: str, tensors: list) -> None:
    """Write the INT8 (QDQ, per-channel) model of ``source``, calibrated on ``tensors``."""
    import onnx
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.pending = iter(tensors)

        def get_next(self) -> dict | None:
            tensor = next(self.pending, None)
            return None if tensor is None else {input_name: tensor}

    with tempfile.TemporaryDirectory() as tmp:
        prepared = Path(tmp, 'prepared.onnx')
        quant_pre_process(str(source), str(prepared))  # shape inference and graph optimisation first, as advised
        quantize_static(str(prepared), str(target), Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)
    _keep_description(onnx.load(str(source)), target)


def convert_fp16(source: Path, target: Path) -> None:
    """Write the FP16 model of ``source`` with float32 inputs and outputs."""
    import onnx
    from onnxruntime.transformers.float16 import convert_float_to_float16

    model = onnx.load(str(source))
    onnx.save(convert_float_to_float16(model, keep_io_types=True), str(target))
    _keep_description(model, target)


def _keep_description(original, target: Path) -> None:
    """Give ``target`` the metadata_props and doc string of the ``original`` model."""
    import onnx

    model = onnx.load(str(target))
    del model.metadata_props[:]
    model.metadata_props.extend(original.metadata_props)
    model.doc_string = original.doc_string
    onnx.save(model, str(target))


def agreement(original: Path, converted: Path, input_name: str, tensors: list) -> dict:
    """Compare the outputs: largest |difference|, share of pixels whose class (argmax) is the same."""
    import onnxruntime as ort

    sessions = [ort.InferenceSession(str(p), providers=['CPUExecutionProvider']) for p in (original, converted)]
    diff, same, total = 0.0, 0, 0
    for tensor in tensors:
        a, b = (s.run(None, {input_name: tensor})[0] for s in sessions)
        diff = max(diff, float(np.abs(a.astype(np.float32) - b.astype(np.float32)).max()))
        same += int((a.argmax(1) == b.argmax(1)).sum())
        total += a[:, 0].size
    return {'max_abs_diff': diff, 'same_class': same / total, 'frames': len(tensors)}


def side_by_side(models: dict[str, Path], tensor: np.ndarray, dataset: str, split: str, count: int,
                 threads: int, providers: list[str], repeats: int) -> dict:
    """Measure latency and accuracy of each model in ``models`` (name -> path) in one run.

    Latency: the node's engine (``providers``, ``threads``), one ready input tensor, the models taking turns call by
    call. Accuracy: mIoU, per-class IoU and pixel accuracy on ``count`` images of ``dataset``/``split``.
    """
    from segtool.bench.timing import percentiles, seconds, take_turns
    from segtool.datasets import open_dataset
    from segtool.training.evaluate import OnnxPredictor, evaluate

    engines = {name: InferenceEngine(str(path), providers, threads) for name, path in models.items()}
    samples = take_turns({name: (lambda call, e=engine: seconds(lambda: e.run(tensor)))
                          for name, engine in engines.items()}, repeats, block=1, block_warmup=0)
    rows, images = {}, 0
    for name, path in models.items():
        predictor = OnnxPredictor(path)
        size = tuple(predictor.meta['input_size'] or tensor.shape[-2:])
        data = open_dataset(dataset, split, size, count)
        images = len(data)  # evaluated in batches of 1, as the node runs (fixed-batch models too)
        report = evaluate(predictor, data, size, batch_size=1, progress=False).report(
            predictor.meta['class_names'])
        rows[name] = {'path': str(path), 'bytes': Path(path).stat().st_size, 'provider': engines[name].provider,
                      'latency': percentiles(samples[name]), 'mean_iou': report['mean_iou'], 'iou': report['iou'],
                      'pixel_accuracy': report['pixel_accuracy']}
    return {'dataset': dataset, 'split': split, 'images': images, 'threads': threads, 'repeats': repeats,
            'input_shape': list(tensor.shape), 'models': rows}


def markdown_table(result: dict) -> str:
    """Format the side-by-side result as a Markdown table: one column per model, the first the reference."""
    names = list(result['models'])
    rows = [result['models'][n] for n in names]
    first = rows[0]
    lines = ['| | ' + ' | '.join(f'`{Path(r["path"]).name}`' for r in rows) + ' |',
             '| --- |' + ' ---: |' * len(rows),
             '| file size (MB) | ' + ' | '.join(f'{r["bytes"] / 1e6:.2f}' for r in rows) + ' |',
             '| bare latency p50 / p99 (ms) | ' + ' | '.join(
                 f'{r["latency"]["p50_ms"]:.1f} / {r["latency"]["p99_ms"]:.1f}' for r in rows) + ' |',
             f'| speed vs `{Path(first["path"]).name}` (p50 ratio) | ' + ' | '.join(
                 f'{first["latency"]["p50_ms"] / r["latency"]["p50_ms"]:.2f}×' for r in rows) + ' |',
             '| **mIoU** | ' + ' | '.join(f'**{r["mean_iou"]:.4f}**' for r in rows) + ' |',
             '| pixel accuracy | ' + ' | '.join(f'{r["pixel_accuracy"]:.4f}' for r in rows) + ' |']
    for cls in first['iou']:
        lines.append(f'| {cls} | ' + ' | '.join('n/a' if r['iou'][cls] is None else f'{r["iou"][cls]:.4f}'
                                                for r in rows) + ' |')
    return '\n'.join(lines)
