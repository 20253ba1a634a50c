"""Evaluate a checkpoint, an ONNX model or the row-prior baseline on a dataset: metrics, JSON report, bar chart."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from tqdm import tqdm

from seg_node.model_metadata import ModelMetadata
from seg_node.preprocessing import IMAGENET_MEAN, IMAGENET_STD
from segtool.training.metrics import ConfusionMatrix
from segtool.training.transforms import Transform


class OnnxPredictor:
    """An ONNX model (NCHW float input) run by ONNX Runtime; classes and normalisation from its metadata."""

    def __init__(self, path: Path) -> None:
        import onnxruntime as ort
        self.session = ort.InferenceSession(str(path), providers=['CPUExecutionProvider'])
        meta = ModelMetadata.from_props(self.session.get_modelmeta().custom_metadata_map)
        if meta.class_names is None:
            raise ValueError(f'{path}: no class_names in the ONNX metadata (see docs/model_metadata.md)')
        self.output_kind = meta.output_kind or 'logits'
        self.meta = {'class_names': list(meta.class_names), 'palette': [list(c) for c in meta.palette or ()],
                     'mean': list(meta.mean or IMAGENET_MEAN), 'std': list(meta.std or IMAGENET_STD),
                     'input_size': list(meta.input_size) if meta.input_size else None}
        self.input_name = self.session.get_inputs()[0].name

    def predict(self, batch: np.ndarray) -> np.ndarray:
        out = self.session.run(None, {self.input_name: batch})[0]
        if self.output_kind == 'labels':
            return out.reshape(batch.shape[0], *batch.shape[2:])
        if self.output_kind == 'sigmoid':
            return (out[:, 0] > 0.5).astype(np.int64)
        return out.argmax(1)


class TorchPredictor:
    """A training checkpoint run by torch on the CPU."""

    def __init__(self, path: Path) -> None:
        import torch
        from segtool.training.checkpoint import load_checkpoint, model_from_checkpoint
        checkpoint = load_checkpoint(path)
        self.torch, self.model, self.meta = torch, model_from_checkpoint(checkpoint), checkpoint['meta']

    def predict(self, batch: np.ndarray) -> np.ndarray:
        with self.torch.no_grad():
            return self.model(self.torch.from_numpy(batch)).argmax(1).numpy()


class RowPrior:
    """Baseline: every pixel of a row gets the class most frequent on that row in the training masks."""

    def __init__(self, train_dataset, size: tuple[int, int], progress: bool = True) -> None:
        classes = len(train_dataset.class_names)
        counts = np.zeros((size[0], classes + 1), np.int64)
        transform = Transform(size)
        for i in tqdm(range(len(train_dataset)), desc='row prior', disable=not progress):
            _, mask = transform(*train_dataset[i])
            mask = np.where(mask < classes, mask, classes)  # ignored pixels to an extra bin
            for c in range(classes):
                counts[:, c] += (mask == c).sum(1)
        self.rows = counts[:, :classes].argmax(1)
        self.meta = {'class_names': list(train_dataset.class_names), 'palette': train_dataset.palette,
                     'mean': list(IMAGENET_MEAN), 'std': list(IMAGENET_STD), 'input_size': list(size)}

    def predict(self, batch: np.ndarray) -> np.ndarray:
        return np.broadcast_to(self.rows[None, :, None], (batch.shape[0], len(self.rows), batch.shape[3]))


def evaluate(predictor, dataset, size: tuple[int, int], batch_size: int = 8, ignore_index: int = 255,
             progress: bool = True) -> ConfusionMatrix:
    """Compute the confusion matrix of ``predictor`` over ``dataset``, both resized to ``size`` (masks nearest)."""
    cm = ConfusionMatrix(len(predictor.meta['class_names']), ignore_index)
    for images, masks in batches(dataset, predictor.meta, size, batch_size, progress):
        cm.update(predictor.predict(images), masks)
    return cm


def batches(dataset, meta: dict, size: tuple[int, int], batch_size: int, progress: bool = True):
    """Yield ``dataset`` as (images NCHW float32, masks NHW) batches at ``size``, normalized as ``meta`` says.

    Raises ValueError, before the first batch, if the dataset's classes are not those of the model ``meta`` describes.
    """
    if list(dataset.class_names) != list(meta['class_names']):
        raise ValueError(f'dataset classes {dataset.class_names} differ from the model\'s {meta["class_names"]}')
    transform = Transform(size, tuple(meta['mean']), tuple(meta['std']))
    for start in tqdm(range(0, len(dataset), batch_size), desc='evaluate', disable=not progress):
        pairs = [transform(*dataset[i]) for i in range(start, min(start + batch_size, len(dataset)))]
        yield np.stack([p[0] for p in pairs]), np.stack([p[1] for p in pairs])


def example_grid(predictor, dataset, size: tuple[int, int], count: int, path: Path) -> None:
    """Write a PNG with one row per example: the image, its true labels and the prediction.

    Labels are drawn in class colours (ignored pixels black).
    """
    import cv2
    meta = predictor.meta
    colours = np.zeros((256, 3), np.uint8)
    colours[:len(meta['palette'])] = meta['palette']
    transform = Transform(size, tuple(meta['mean']), tuple(meta['std']))
    rows = []
    for i in range(min(count, len(dataset))):
        image, mask = dataset[i]
        x, target = transform(image, mask)
        shown = cv2.resize(image, size[::-1], interpolation=cv2.INTER_LINEAR)
        predicted = predictor.predict(x[None])[0]
        gap = np.full((size[0], 4, 3), 255, np.uint8)
        rows.append(np.hstack([shown, gap, colours[target.astype(np.uint8)], gap, colours[predicted]]))
    grid = np.vstack([np.vstack([r, np.full((4, r.shape[1], 3), 255, np.uint8)]) for r in rows])[:-4]
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), cv2.cvtColor(grid, cv2.COLOR_RGB2BGR))


def write_report(report: dict, json_path: Path, chart_path: Path | None, palette: list[list[int]],
                 title: str) -> None:
    """Write ``report`` as JSON and, if ``chart_path``, a per-class IoU bar chart in the class colours."""
    json_path = Path(json_path)
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(report, indent=2) + '\n')
    if chart_path is None:
        return
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    names = report['class_names']
    values = [report['iou'][n] or 0.0 for n in names]
    colours = [np.array(c) / 255 for c in palette] if len(palette) >= len(names) else None
    fig, ax = plt.subplots(figsize=(7, 0.35 * len(names) + 1.2))
    ax.barh(names[::-1], values[::-1], color=colours[::-1] if colours else None, edgecolor='black')
    ax.axvline(report['mean_iou'], color='black', linestyle='--', label=f'mIoU {report["mean_iou"]:.3f}')
    for y, v in enumerate(values[::-1]):
        ax.text(min(v, 1.0) + 0.01, y, f'{v:.3f}', va='center', fontsize=8)
    ax.set_xlim(0, 1.12)
    ax.set_xlabel('IoU')
    ax.set_title(title, fontsize=10)
    ax.legend(loc='lower right')
    fig.tight_layout()
    fig.savefig(chart_path, dpi=100)
    plt.close(fig)
