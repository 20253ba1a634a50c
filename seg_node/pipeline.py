"""One frame through the whole pipeline, without ROS: preprocess -> infer -> postprocess.

:func:`model_defaults` and :func:`check_against_model` reconcile the model's own description with the
user's parameters; :class:`SegmentationPipeline` turns a decoded frame into the requested outputs.
:func:`open_engine` and :func:`build_pipeline` turn parameter values into a pipeline, for the node and for
everything that must answer like it (offline labelling).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field, fields
from typing import Mapping

import cv2
import numpy as np

from seg_node.image_codec import Frame
from seg_node.inference import CameraInput, InferenceEngine, ModelSpec
from seg_node.label_sets import voc_palette
from seg_node.model_metadata import ModelMetadata
from seg_node.package_files import resolve_model_path
from seg_node.params import ParamError, with_defaults
from seg_node.postprocessing import Postprocessor, argmax_channels, blend, softmax
from seg_node.preprocessing import IMAGENET_MEAN, IMAGENET_STD, Geometry, Preprocessor
from seg_node.refine.crf import dense_crf
from seg_node.refine.groups import ClassGroups
from seg_node.refine.regions import remove_small_regions
from seg_node.refine.temporal import CameraStream
from seg_node.refine.upsample import bilinear_labels


def model_defaults(spec: ModelSpec, metadata: ModelMetadata) -> dict:
    """Values for the parameters that default to the model: its metadata, its shapes, else fallbacks."""
    classes = spec.num_classes if spec.num_classes and spec.num_classes > 1 else 2
    names = list(metadata.class_names or [f'class_{i}' for i in range(classes)])
    palette = np.asarray(metadata.palette) if metadata.palette else voc_palette(len(names))
    size = spec.input_hw or metadata.input_size or (0, 0)
    return {
        'class_names': names,
        'palette': [int(v) for v in palette.reshape(-1)],
        'mean': [float(v) for v in metadata.mean or IMAGENET_MEAN],
        'std': [float(v) for v in metadata.std or IMAGENET_STD],
        'input_size': [int(v) for v in size],
    }


def check_against_model(spec: ModelSpec, values: Mapping) -> None:
    """Raise ParamError where the parameters contradict the model file."""
    names, palette, size = values['class_names'], values['palette'], tuple(values['input_size'])
    classes = spec.num_classes if spec.num_classes and spec.num_classes > 1 else None
    if spec.num_classes == 1 and len(names) != 2:
        raise ParamError(f"parameter 'class_names': the model has one sigmoid channel, so 2 names "
                         f'(background, foreground), got {len(names)}')
    if classes and len(names) != classes:
        raise ParamError(f"parameter 'class_names': {len(names)} names but the model outputs {classes} classes")
    if len(palette) < 3 * len(names):
        raise ParamError(f"parameter 'palette': {len(palette) // 3} colours for {len(names)} classes")
    if spec.input_hw and size != spec.input_hw:
        raise ParamError(f"parameter 'input_size': {list(size)} but the model's input is fixed at "
                         f'{list(spec.input_hw)}')
    values = with_defaults(values)
    if spec.camera:
        _check_fused(spec, values)
    refinements = FrameSettings.from_values(values).score_refinements()
    if spec.output_kind == 'labels' and refinements:
        name = refinements[0]
        raise ParamError(f"parameter '{name}': {values[name]!r} needs class scores, but the model outputs class ids")
    ClassGroups.parse(values['class_groups'], list(names))


def _check_fused(spec: ModelSpec, values: Mapping) -> None:
    """Raise ParamError where a parameter asks for what a fused model's graph does otherwise."""
    baked = {'resize_mode': spec.camera.resize_mode, 'mean': list(spec.camera.mean), 'std': list(spec.camera.std),
             'input_size': list(spec.input_hw or (0, 0))}
    for name, value in baked.items():
        given = list(values[name]) if isinstance(value, list) else values[name]
        if given != value:
            raise ParamError(f"parameter '{name}': {given!r}, but the fused model does {value!r} inside its graph "
                             f'(segtool fuse the model again, or run the unfused one)')


def open_engine(values: Mapping) -> InferenceEngine:
    """Load the model ``values['model_path']`` names (resolved like the node does) on the preferred providers."""
    return InferenceEngine(resolve_model_path(values['model_path']), values['providers'], values['num_threads'])


def build_pipeline(engine: InferenceEngine, values: Mapping) -> SegmentationPipeline:
    """Build the pipeline of ``engine`` under every parameter; ParamError where they contradict the model."""
    check_against_model(engine.spec, values)
    return SegmentationPipeline(engine, values, values['resize_mode'])


def default_values(engine: InferenceEngine) -> dict:
    """Return every parameter's value for ``engine`` when none is set: the model's own, else the declared default."""
    return with_defaults(model_defaults(engine.spec, engine.metadata))


class CameraFeed:
    """A fused model's input: the decoded picture itself, batch of one, in the colour order the model takes."""

    def __init__(self, camera: CameraInput) -> None:
        self.camera = camera

    def __call__(self, frame: Frame, geometry: Geometry) -> np.ndarray:
        """Return ``frame`` as the (1, H, W, 3) uint8 the graph takes (a copy only to swap the colour order)."""
        size = self.camera.frame_hw
        if size is not None and frame.shape != size:
            raise ValueError(f'the fused model takes {size[1]}x{size[0]} pictures only, got '
                             f'{frame.shape[1]}x{frame.shape[0]} (segtool fuse --dynamic takes any size)')
        pixels = frame.pixels
        if frame.bgr != self.camera.bgr:
            pixels = cv2.cvtColor(pixels, cv2.COLOR_BGR2RGB)
        return np.ascontiguousarray(pixels)[None]


@dataclass(frozen=True)
class FrameSettings:
    """The runtime-settable parameters a frame is processed under: one snapshot, so a change never applies half-way."""

    overlay_alpha: float
    crf_iterations: int
    crf_spatial_sigma: float
    crf_color_sigma: float
    crf_appearance_weight: float
    crf_smoothness_weight: float
    crf_smoothness_sigma: float
    temporal_smoothing: float
    temporal_reset_ms: int
    min_region_px: int
    upsample: str
    jpeg_quality: int

    def score_refinements(self) -> list[str]:
        """Return the parameters that switch on a refinement working on class scores (none: labels as always)."""
        switches = {'crf_iterations': self.crf_iterations > 0, 'temporal_smoothing': self.temporal_smoothing > 0,
                    'upsample': self.upsample != 'nearest'}
        return [name for name, on in switches.items() if on]

    @classmethod
    def from_values(cls, values: Mapping) -> FrameSettings:
        """Snapshot a node's parameter values."""
        return cls(**{f.name: values[f.name] for f in fields(cls)})

    @classmethod
    def defaults(cls) -> FrameSettings:
        """Return the parameters' declared defaults."""
        return cls.from_values(with_defaults({}))


@dataclass(frozen=True)
class Outputs:
    """Which outputs to compute (only those someone subscribes to)."""

    mask: bool = True
    color_mask: bool = False
    overlay: bool = False
    confidence: bool = False
    group_mask: bool = False

    def any(self) -> bool:
        """Whether there is anything to compute."""
        return any(getattr(self, name) for name in OUTPUT_NAMES)


#: The node's image outputs by name: each is published on ``segmentation/<name>`` (``publishing.output_topic``).
OUTPUT_NAMES = tuple(f.name for f in fields(Outputs))


@dataclass
class Result:
    """A frame's outputs at camera resolution (None where not asked for) and seconds spent per stage."""

    labels: np.ndarray
    color_mask: np.ndarray | None = None
    overlay: np.ndarray | None = None
    confidence: np.ndarray | None = None
    group_mask: np.ndarray | None = None
    timings: dict[str, float] = field(default_factory=dict)
    batch_size: int = 1  # frames that went through the model together with this one (itself included)


class SegmentationPipeline:
    """Decoded frame -> labels, colours, overlay, confidence and group ids at the frame's resolution."""

    def __init__(self, engine: InferenceEngine, values: Mapping, resize_mode: str) -> None:
        spec = engine.spec
        self.engine = engine
        self.resize_mode = resize_mode
        self.input_hw = tuple(values['input_size']) if 0 not in values['input_size'] else None
        self.class_names = list(values['class_names'])
        palette = np.asarray(values['palette'], np.uint8).reshape(-1, 3)
        self.palette = palette[:len(self.class_names)]
        if spec.camera:
            self.preprocess = CameraFeed(spec.camera)
        else:
            self.preprocess = Preprocessor(values['mean'], values['std'], spec.input_layout, spec.input_dtype)
        self.postprocess = Postprocessor(spec, len(self.class_names), palette)
        self.groups = ClassGroups.parse(with_defaults(values)['class_groups'], self.class_names)
        self._geometries: dict[tuple[int, int], Geometry] = {}

    def geometry(self, frame_hw: tuple[int, int]) -> Geometry:
        """Return where frames of this size sit in the model input (planned once per size)."""
        if frame_hw not in self._geometries:
            self._geometries[frame_hw] = Geometry.plan(frame_hw, self.input_hw or frame_hw, self.resize_mode)
        return self._geometries[frame_hw]

    def run(self, frame: Frame, want: Outputs, settings: FrameSettings, stream: CameraStream | None = None) -> Result:
        """Segment one frame; labels are always computed, the rest as ``want`` says.

        ``stream`` is the state of the camera the frame comes from (temporal smoothing needs it; without one the
        frame is smoothed with nothing).
        """
        return self.run_batch([frame], [want], settings, [stream])[0]

    def run_batch(self, frames: list[Frame], wants: list[Outputs], settings: FrameSettings,
                  streams: list[CameraStream | None]) -> list[Result]:
        """Segment frames of several cameras, one inference per batch of frames whose input tensors match.

        Frames batch only where the model's batch axis is dynamic; otherwise each runs alone. Each result's
        ``inference`` time is its batch's, ``batch_size`` the frames in it. ``streams`` holds each frame's camera
        state (or None).
        """
        starts, geometries, tensors, preprocessed = [], [], [], []
        for frame in frames:
            starts.append(time.perf_counter())
            geometries.append(self.geometry(frame.shape))
            tensors.append(self.preprocess(frame, geometries[-1]))
            preprocessed.append(time.perf_counter() - starts[-1])
        outputs, inference, sizes = [None] * len(frames), [0.0] * len(frames), [1] * len(frames)
        for batch in self._batches(tensors):
            start = time.perf_counter()
            tensor = np.concatenate([tensors[i] for i in batch]) if len(batch) > 1 else tensors[batch[0]]
            names = self._fused_outputs([wants[i] for i in batch], settings)
            if names:
                raw = dict(zip(names, self.engine.run_outputs(tensor, names)))
            else:
                raw = self.engine.run(tensor)
            seconds = time.perf_counter() - start
            for row, index in enumerate(batch):
                outputs[index] = ({name: array[row] for name, array in raw.items()} if names
                                  else raw[row:row + 1])
                inference[index], sizes[index] = seconds, len(batch)
        results = []
        for index, (frame, geometry, want, stream) in enumerate(zip(frames, geometries, wants, streams)):
            start = time.perf_counter()
            result = self._finish(outputs[index], frame, geometry, want, settings, stream)
            result.timings = {'preprocess': preprocessed[index], 'inference': inference[index],
                              'postprocess': time.perf_counter() - start}
            result.batch_size = sizes[index]
            results.append(result)
        return results

    def _fused_outputs(self, wants: list[Outputs], settings: FrameSettings) -> list[str]:
        """Return the fused model's outputs that answer ``wants``; none (run the scores through today's path).

        A refinement working on class scores, or a confidence map the graph does not make, takes the wrapped model's
        ``scores`` output and the same postprocessing as an unfused model.
        """
        camera = self.engine.spec.camera
        if camera is None:
            return []
        confidence = any(want.confidence for want in wants)
        if settings.score_refinements() or (confidence and 'confidence' not in camera.outputs
                                            and 'scores' in camera.outputs):
            return ['scores']
        return ['mask', 'confidence'] if confidence and 'confidence' in camera.outputs else ['mask']

    def _batches(self, tensors: list[np.ndarray]) -> list[list[int]]:
        """Group the indices of ``tensors`` that can run as one batch."""
        if not self.engine.spec.dynamic_batch:
            return [[index] for index in range(len(tensors))]
        groups: dict[tuple, list[int]] = {}
        for index, tensor in enumerate(tensors):
            groups.setdefault(tensor.shape, []).append(index)
        return list(groups.values())

    def _finish(self, raw: np.ndarray | dict, frame: Frame, geometry: Geometry, want: Outputs,
                settings: FrameSettings, stream: CameraStream | None) -> Result:
        """Turn one frame's model output (batch of one; a fused model's by name) into its outputs at camera size."""
        if isinstance(raw, dict) and 'scores' in raw:
            raw = raw['scores'][None]
        if isinstance(raw, dict):  # the fused graph's mask (and confidence), at camera size already
            result = Result(raw['mask'], confidence=raw.get('confidence') if want.confidence else None)
        elif settings.score_refinements():
            result = self._refined(raw, frame, geometry, want.confidence, settings, stream)
        else:
            labels, confidence = self.postprocess.decide(raw, want.confidence)
            result = Result(self.postprocess.to_camera(labels, geometry, frame.shape))
            if confidence is not None:
                result.confidence = self.postprocess.to_camera(confidence, geometry, frame.shape, smooth=True)
        if settings.min_region_px:
            result.labels = remove_small_regions(result.labels, settings.min_region_px)
        if want.group_mask and self.groups is not None:
            result.group_mask = self.groups.apply(result.labels)
        if want.color_mask:
            result.color_mask = self.postprocess.colorize(result.labels)
        if want.overlay:
            reuse = result.color_mask is not None and not frame.bgr
            colors = result.color_mask if reuse else self.postprocess.colorize(result.labels, bgr=frame.bgr)
            result.overlay = blend(frame.pixels, colors, settings.overlay_alpha)
        return result

    def _refined(self, raw: np.ndarray, frame: Frame, geometry: Geometry, want_confidence: bool,
                 settings: FrameSettings, stream: CameraStream | None) -> Result:
        """Labels (and confidence) at camera resolution through the refinements that work on class scores."""
        scores, are_probabilities = self.postprocess.scores(raw, geometry)
        if settings.temporal_smoothing > 0 or settings.crf_iterations > 0 or want_confidence:
            if not are_probabilities:
                scores, are_probabilities = softmax(scores), True
        if settings.temporal_smoothing > 0 and stream is not None:
            scores = stream.smooth(scores, frame.shape, settings.temporal_smoothing, settings.temporal_reset_ms)
        if settings.crf_iterations > 0:
            guide = cv2.resize(frame.pixels, scores.shape[:0:-1], interpolation=cv2.INTER_AREA)
            scores = dense_crf(scores, guide, settings.crf_iterations, settings.crf_spatial_sigma,
                               settings.crf_color_sigma, settings.crf_appearance_weight,
                               settings.crf_smoothness_weight, settings.crf_smoothness_sigma)
        labels, best = argmax_channels(scores)
        labels = labels.astype(self.postprocess.label_dtype, copy=False)
        if settings.upsample == 'bilinear':
            result = Result(bilinear_labels(scores, labels, frame.shape))
        else:
            result = Result(self.postprocess.resize(labels, frame.shape))
        if want_confidence:
            result.confidence = self.postprocess.resize(cv2.convertScaleAbs(best, alpha=255.0), frame.shape,
                                                        smooth=True)
        return result
