"""Give an ONNX model the metadata seg_node reads, after a trial run proves its class axis fits the label set.

``segtool annotate`` and the importers write metadata through :func:`annotate`: it runs the bare model as the node
would (``segtool.model_trial``), refuses a label set whose size does not match what the model outputs, writes the
description (``seg_node.model_metadata``), and loads the written file once more the way the node will.
"""
from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path

from seg_node.label_sets import LabelSet
from seg_node.model_metadata import ModelMetadata, write_metadata
from segtool.model_trial import Trial, trial_run


class AnnotationError(ValueError):
    """The model and the description do not fit; the text says how."""


def check_classes(trial: Trial, labels: LabelSet) -> None:
    """Raise AnnotationError unless the trial run's output has one class per name of ``labels``."""
    names, spec = len(labels.class_names), trial.engine.spec
    shape = f'output {spec.output_layout} {spec.output_kind}, shape {list(trial.output_shape)}'
    if trial.classes is None:
        top = int(trial.labels.max())
        if top >= names:
            raise AnnotationError(f"the model answered label {top} on a trial frame ({shape}) but label set "
                                  f"'{labels.name}' has only {names} classes")
    elif trial.classes == 1:
        if names != 2:
            raise AnnotationError(f"the model outputs one sigmoid channel ({shape}): the label set needs 2 names "
                                  f"(background, foreground), '{labels.name}' has {names}")
    elif trial.classes != names:
        raise AnnotationError(f"the model outputs {trial.classes} classes on its class axis ({shape}) but label set "
                              f"'{labels.name}' has {names}")


def annotate(model, output: Path, labels: LabelSet, mean=None, std=None, input_size=None,
             output_kind: str | None = None) -> Trial:
    """Write ``model`` (an ``onnx.ModelProto``, changed in place) with its description to ``output``.

    Unstated values keep what the model's metadata already says, else what the node would assume: mean and std
    ImageNet's, the input size the model's fixed one (none for a dynamic model), the output kind what it detects.
    Raises AnnotationError (nothing written) if the trial run's class axis does not fit ``labels``; returns the
    trial of the written file.
    """
    import onnx

    def stated(props) -> ModelMetadata:
        try:
            return ModelMetadata.from_props(props)
        except ValueError:  # a malformed description is replaced whole
            return ModelMetadata()

    current = stated({p.key: p.value for p in model.metadata_props})
    meta = ModelMetadata(
        class_names=None, palette=None, mean=tuple(mean) if mean else current.mean,
        std=tuple(std) if std else current.std, input_size=tuple(input_size) if input_size else current.input_size,
        output_kind=output_kind or current.output_kind)
    with tempfile.TemporaryDirectory() as tmp:
        bare = Path(tmp, 'bare.onnx')
        write_metadata(model, meta)
        onnx.save(model, str(bare))
        trial = trial_run(str(bare))
    check_classes(trial, labels)
    spec = trial.engine.spec
    meta = dataclasses.replace(meta, class_names=labels.class_names, palette=labels.palette,
                               mean=tuple(trial.values['mean']), std=tuple(trial.values['std']),
                               input_size=meta.input_size or spec.input_hw, output_kind=spec.output_kind)
    write_metadata(model, meta)
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(output))
    return trial_run(str(output))
