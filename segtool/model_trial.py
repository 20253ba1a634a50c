"""A model file as the node would take it: loaded by its engine, described by its defaults, run on one frame.

``segtool describe``, ``segtool annotate`` and the importers check models through :func:`trial_run`, so what they
report is what ``seg_node`` itself detects (``seg_node.inference``, ``seg_node.pipeline``), not a second reading.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from seg_node.image_codec import Frame
from seg_node.inference import InferenceEngine
from seg_node.pipeline import FrameSettings, Outputs, build_pipeline, default_values

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

    def report(self) -> str:
        """Describe what the node detects and would use, each value with its origin (``segtool describe``)."""
        spec, meta, values = self.engine.spec, self.engine.metadata, self.values
        stated = [key for key, value in vars(meta).items() if value is not None]

        def origin(key: str, fallback: str) -> str:
            return 'metadata' if getattr(meta, key) is not None else fallback

        if spec.input_hw:
            size_origin = 'fixed by the model'
        else:
            size_origin = 'metadata' if meta.input_size else 'none: the node runs at the camera resolution'
        no_metadata = 'none (docs/model_metadata.md; segtool annotate writes it)'
        lines = [
            f'detected   {spec.describe()}',
            f'trial run  a {self.frame_hw[0]}x{self.frame_hw[1]} frame gave output shape {list(self.output_shape)}',
            f'provider   {self.engine.provider}',
            'metadata   ' + (', '.join(stated) if stated else no_metadata),
            f'input_size {values["input_size"]} ({size_origin})',
            f'mean       {values["mean"]} ({origin("mean", "ImageNet fallback")})',
            f'std        {values["std"]} ({origin("std", "ImageNet fallback")})',
            f'classes    {len(values["class_names"])} (names: {origin("class_names", "class_<id> fallback")}; colours: '
            f'{origin("palette", "VOC colour map fallback")})',
        ]
        palette = values['palette']
        width = max(len(n) for n in values['class_names'])
        lines += [f'  {i:>4}  {name:<{width}}  {tuple(palette[3 * i:3 * i + 3])}'
                  for i, name in enumerate(values['class_names'])]
        return '\n'.join(lines)


def trial_run(path: str) -> Trial:
    """Load ``path`` with the node's engine (CPU) and segment one noise frame at its input size with its pipeline.

    Raises ``seg_node.inference.ModelError`` or ``seg_node.params.ParamError`` (its metadata contradicts its shapes)
    for a model the node refuses, with the node's reason.
    """
    engine = InferenceEngine(path, ['cpu'])
    values = default_values(engine)
    pipeline = build_pipeline(engine, values)
    frame_hw = tuple(values['input_size']) if 0 not in values['input_size'] else TRIAL_HW
    if engine.spec.camera and engine.spec.camera.frame_hw:  # a model fused for one camera size takes that size
        frame_hw = engine.spec.camera.frame_hw
    frame = Frame(np.random.default_rng(0).integers(0, 256, (*frame_hw, 3), dtype=np.uint8), bgr=False)
    raw = engine.run(pipeline.preprocess(frame, pipeline.geometry(frame_hw)))
    labels = pipeline.run(frame, Outputs(), FrameSettings.defaults()).labels
    return Trial(engine, values, frame_hw, tuple(raw.shape), labels)
