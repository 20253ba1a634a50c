"""Score the node's own pipeline (seg_node.pipeline) at camera resolution: IoU, boundary F-score and time.

What ``segtool eval`` (with refinement options) and ``segtool refine-eval`` measure is what the node runs: a frame
goes through :class:`seg_node.pipeline.SegmentationPipeline` under a :class:`FrameSettings` snapshot, exactly as
in the node's worker.
"""
from __future__ import annotations

import argparse
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import cv2
import numpy as np

from seg_node.image_codec import Frame
from seg_node.inference import InferenceEngine
from seg_node.params import BY_NAME, ParamError, check
from seg_node.pipeline import FrameSettings, Outputs, SegmentationPipeline, build_pipeline, default_values
from seg_node.postprocessing import content_slices
from seg_node.refine.temporal import CameraStream
from segtool.training.metrics import ConfusionMatrix

#: The refinements a single-frame evaluation can set (temporal smoothing needs a sequence: segtool refine-eval).
FRAME_REFINEMENTS = ('crf_iterations', 'crf_spatial_sigma', 'crf_color_sigma', 'crf_appearance_weight',
                     'crf_smoothness_weight', 'crf_smoothness_sigma', 'min_region_px', 'upsample')
#: Tolerance of the boundary F-score, in pixels: a boundary pixel counts as found within this distance.
BOUNDARY_TOLERANCE = 2


def add_refinement_options(parser: argparse.ArgumentParser) -> None:
    """Add one option per refinement parameter (``--crf-iterations`` ...), typed and described as the node's."""
    group = parser.add_argument_group('refinements after the network (the node parameters of the same names)')
    for name in FRAME_REFINEMENTS:
        param = BY_NAME[name]
        group.add_argument(f'--{name.replace("_", "-")}', type=param.type, default=param.default,
                           choices=param.choices or None, help=f'{param.description} (default %(default)s)')


def settings_from_args(args: argparse.Namespace) -> FrameSettings:
    """Return the node's default settings with the refinement options of ``args``, checked as the node checks them."""
    try:
        changes = {name: check(name, getattr(args, name)) for name in FRAME_REFINEMENTS}
    except ParamError as err:
        raise SystemExit(f'segtool: {err}') from None
    return replace(FrameSettings.defaults(), **changes)


def node_pipeline(model: str | Path) -> SegmentationPipeline:
    """Build the node's pipeline for an ONNX model with the node's defaults (CPU, stretch)."""
    engine = InferenceEngine(str(model), ['cpu'])
    return build_pipeline(engine, default_values(engine))


def boundaries(labels: np.ndarray) -> np.ndarray:
    """Pixels whose right or lower neighbour has another label, as uint8 0/1."""
    edge = np.zeros(labels.shape, np.uint8)
    edge[:, :-1] |= labels[:, :-1] != labels[:, 1:]
    edge[:-1, :] |= labels[:-1, :] != labels[1:, :]
    return edge


def boundary_counts(predicted: np.ndarray, truth: np.ndarray, tolerance: int = BOUNDARY_TOLERANCE) -> np.ndarray:
    """[predicted boundary pixels near a true one, predicted boundary pixels, true ones near a predicted one, true]."""
    disk = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * tolerance + 1, 2 * tolerance + 1))
    found, true = boundaries(predicted), boundaries(truth)
    return np.array([(found & cv2.dilate(true, disk)).sum(), found.sum(), (true & cv2.dilate(found, disk)).sum(),
                     true.sum()], np.int64)


def boundary_f(counts: np.ndarray) -> float:
    """F-score of boundary precision and recall from summed :func:`boundary_counts`."""
    precision = counts[0] / max(counts[1], 1)
    recall = counts[2] / max(counts[3], 1)
    return float(2 * precision * recall / (precision + recall)) if precision + recall else 0.0


@dataclass
class Score:
    """What one configuration scored over a set of frames."""

    matrix: ConfusionMatrix
    boundary: np.ndarray = field(default_factory=lambda: np.zeros(4, np.int64))
    seconds: list[float] = field(default_factory=list)
    changed: list[float] = field(default_factory=list)  # fraction of pixels whose label changed since last frame

    def add(self, labels: np.ndarray, truth: np.ndarray, seconds: float, previous: np.ndarray | None) -> None:
        """Count one frame's labels against its truth."""
        self.matrix.update(labels, truth)
        self.boundary += boundary_counts(labels, truth)
        self.seconds.append(seconds)
        if previous is not None:
            self.changed.append(float((labels != previous).mean()))

    def report(self, class_names: list[str]) -> dict:
        """JSON-ready: the confusion-matrix report, boundary F-score, median ms per frame, label changes."""
        report = self.matrix.report(class_names)
        report.update(boundary_f=boundary_f(self.boundary), ms_median=1000 * float(np.median(self.seconds)),
                      frames=len(self.seconds))
        if self.changed:
            report['changed_per_frame'] = float(np.mean(self.changed))
        return report


def segment(pipeline: SegmentationPipeline, rgb: np.ndarray, settings: FrameSettings,
            stream: CameraStream | None = None) -> tuple[np.ndarray, float]:
    """Return the node's mask of an RGB picture and the seconds ``pipeline.run`` took."""
    start = time.perf_counter()
    labels = pipeline.run(Frame(rgb, bgr=False), Outputs(mask=True), settings, stream).labels
    return labels, time.perf_counter() - start


def model_resolution_labels(pipeline: SegmentationPipeline, rgb: np.ndarray) -> tuple[np.ndarray, float]:
    """Return the pipeline's class decision at the model's resolution, before any resize, and the seconds taken."""
    start = time.perf_counter()
    geometry = pipeline.geometry(rgb.shape[:2])
    raw = pipeline.engine.run(pipeline.preprocess(Frame(rgb, bgr=False), geometry))
    labels, _ = pipeline.postprocess.decide(raw, False)
    return labels[content_slices(geometry, labels.shape)], time.perf_counter() - start


def resize_nearest(labels: np.ndarray, hw: tuple[int, int]) -> np.ndarray:
    """Resize a label map to ``hw`` (nearest)."""
    return cv2.resize(labels, (hw[1], hw[0]), interpolation=cv2.INTER_NEAREST_EXACT)


def score_dataset(pipeline: SegmentationPipeline, settings: FrameSettings, dataset, ignore_index: int) -> Score:
    """Score ``settings`` on every (image, mask) of ``dataset``, at the dataset's resolution."""
    score = Score(ConfusionMatrix(len(pipeline.class_names), ignore_index))
    for i in range(len(dataset)):
        image, truth = dataset[i]
        labels, seconds = segment(pipeline, image, settings)
        score.add(labels, truth, seconds, None)
    return score
