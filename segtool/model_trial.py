"""A model file as the node would take it: loaded by its engine, described by its defaults, run on one frame.

``segtool describe``, ``segtool annotate`` and the importers check models through :func:`trial_run`, so what they
report is what ``seg_node`` itself detects (``seg_node.inference``, ``seg_node.pipeline``), not a second reading.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from seg_node.image_codec import Frame
from seg_node.inference import InferenceEngine
from seg_node.pipeline import FrameSettings, Outputs, SegmentationPipeline, check_against_model, model_defaults

#: Frame size of the trial run when the model states none (dynamic input, no metadata).
TRIAL_HW = (64, 64)


@dataclass
class Trial:
    """What the node makes of a model: its engine (spec, metadata), parameter defaults and one frame's answer."""

    engine: InferenceEngine
    values: dict
    frame_hw: tuple[int, int]
    output_shape: tuple[int, ...]
    labels: np.ndarray

    @property
    def classes(self) -> int | None:
        """Size of the output's class axis on the trial frame (1 for a single sigmoid plane; None for labels)."""
        spec = self.engine.spec
        if spec.output_kind == 'labels':
            return None
        return {'NCHW': self.output_shape[1], 'NHWC': self.output_shape[-1]}.get(spec.output_layout, 1)


def trial_run(path: str) -> Trial:
    """Load ``path`` with the node's engine (CPU) and segment one noise frame at its input size with its pipeline.

    Raises ``seg_node.inference.ModelError`` or ``seg_node.params.ParamError`` (its metadata contradicts its shapes)
    for a model the node refuses, with the node's reason.
    """
    engine = InferenceEngine(path, ['cpu'])
    values = model_defaults(engine.spec, engine.metadata)
    check_against_model(engine.spec, values)
    pipeline = SegmentationPipeline(engine, values, 'stretch')
    frame_hw = tuple(values['input_size']) if 0 not in values['input_size'] else TRIAL_HW
    frame = Frame(np.random.default_rng(0).integers(0, 256, (*frame_hw, 3), dtype=np.uint8), bgr=False)
    raw = engine.run(pipeline.preprocess(frame, pipeline.geometry(frame_hw)))
    labels = pipeline.run(frame, Outputs(), FrameSettings.defaults()).labels
    return Trial(engine, values, frame_hw, tuple(raw.shape), labels)
