"""The model's own description, stored in the ONNX file's ``metadata_props``.

This is the one place the schema is defined (documented in ``docs/model_metadata.md``). Every value is a
JSON string under its key, so any ONNX tool can read it:

==================  ==========================================  ======================================
key                 JSON value                                  meaning
==================  ==========================================  ======================================
``seg_node.schema`` ``1``                                       schema version
``class_names``     ``["road", "sidewalk", ...]``               one name per class id
``palette``         ``[[128, 64, 128], ...]``                   RGB colour per class id
``mean``            ``[0.485, 0.456, 0.406]``                   RGB, on pixel/255
``std``             ``[0.229, 0.224, 0.225]``                   RGB, on pixel/255
``input_size``      ``[256, 512]``                              height, width the model was trained at
``output_kind``     ``"logits"``                                logits | probabilities | sigmoid | labels
``input_kind``      ``"camera_uint8"``                          tensor (absent) | camera_uint8 (fused)
``channel_order``   ``"rgb"``                                   a fused model's camera colour order
``resize_mode``     ``"stretch"``                               how a fused model fits the picture
==================  ==========================================  ======================================

A fused model (``input_kind`` camera_uint8, written by ``segtool fuse``) takes the camera picture itself, uint8
(N, H, W, 3) in ``channel_order``, and does the node's pre- and postprocessing in its graph; its outputs are named
(``FUSED_OUTPUTS``): ``mask`` (class ids at camera size), ``confidence`` (optional) and ``scores`` (the wrapped
model's own output, of ``output_kind``; absent when that is labels).

Every key is optional on reading; the node fills what is missing from its parameters or defaults.
Writers (``segtool export``, the MediaPipe import) always write all of them.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, fields
from typing import Mapping

SCHEMA_KEY = 'seg_node.schema'
SCHEMA_VERSION = 1
OUTPUT_KINDS = ('logits', 'probabilities', 'sigmoid', 'labels')
INPUT_KINDS = ('tensor', 'camera_uint8')
CHANNEL_ORDERS = ('rgb', 'bgr')
#: The outputs of a fused (camera_uint8) model, by name: mask at camera size, its confidence, the wrapped model's own.
FUSED_OUTPUTS = ('mask', 'confidence', 'scores')
RESIZE_MODES = ('stretch', 'letterbox')


class MetadataError(ValueError):
    """A metadata value that does not fit the schema; the message names the key."""


@dataclass(frozen=True)
class ModelMetadata:
    """What a segmentation model says about itself; ``None`` means not stated."""

    class_names: tuple[str, ...] | None = None
    palette: tuple[tuple[int, int, int], ...] | None = None
    mean: tuple[float, float, float] | None = None
    std: tuple[float, float, float] | None = None
    input_size: tuple[int, int] | None = None
    output_kind: str | None = None
    input_kind: str | None = None
    channel_order: str | None = None
    resize_mode: str | None = None

    @property
    def fused(self) -> bool:
        """Whether the model takes the camera picture and returns the mask at camera size (``segtool fuse``)."""
        return self.input_kind == 'camera_uint8'

    def __post_init__(self) -> None:
        if self.class_names is not None and not all(isinstance(n, str) and n for n in self.class_names):
            raise MetadataError('class_names: every entry must be a non-empty string')
        if self.palette is not None:
            for colour in self.palette:
                if len(colour) != 3 or not all(isinstance(c, int) and 0 <= c <= 255 for c in colour):
                    raise MetadataError(f'palette: {list(colour)} is not an [r, g, b] of integers 0..255')
        for key in ('mean', 'std'):
            value = getattr(self, key)
            if value is not None and (len(value) != 3 or not all(isinstance(v, (int, float)) for v in value)):
                raise MetadataError(f'{key}: expected 3 numbers (RGB), got {list(value)}')
        if self.std is not None and any(v <= 0 for v in self.std):
            raise MetadataError(f'std: every value must be > 0, got {list(self.std)}')
        if self.input_size is not None and (
                len(self.input_size) != 2 or not all(isinstance(v, int) and v > 0 for v in self.input_size)):
            raise MetadataError(f'input_size: expected [height, width] > 0, got {list(self.input_size)}')
        if self.output_kind is not None and self.output_kind not in OUTPUT_KINDS:
            raise MetadataError(f'output_kind: {self.output_kind!r} is not one of {", ".join(OUTPUT_KINDS)}')
        for key, allowed in (('input_kind', INPUT_KINDS), ('channel_order', CHANNEL_ORDERS),
                             ('resize_mode', RESIZE_MODES)):
            value = getattr(self, key)
            if value is not None and value not in allowed:
                raise MetadataError(f'{key}: {value!r} is not one of {", ".join(allowed)}')
        if self.fused and None in (self.channel_order, self.resize_mode, self.class_names, self.mean, self.std):
            raise MetadataError('input_kind camera_uint8 needs channel_order, resize_mode, class_names, mean and std')
        if self.class_names is not None and self.palette is not None and len(self.palette) < len(self.class_names):
            raise MetadataError(
                f'palette: {len(self.palette)} colours for {len(self.class_names)} classes')

    def to_props(self) -> dict[str, str]:
        """Return the ``metadata_props`` entries for this description (stated fields only)."""
        props = {SCHEMA_KEY: str(SCHEMA_VERSION)}
        for field in fields(self):
            value = getattr(self, field.name)
            if value is not None:
                props[field.name] = json.dumps(value)
        return props

    @classmethod
    def from_props(cls, props: Mapping[str, str]) -> ModelMetadata:
        """Read the schema's keys from ``props`` (other keys are ignored); raise MetadataError if malformed."""
        version = props.get(SCHEMA_KEY)
        if version is not None and version != str(SCHEMA_VERSION):
            raise MetadataError(f'{SCHEMA_KEY}: version {version} is not supported (this is {SCHEMA_VERSION})')
        values = {}
        for field in fields(cls):
            if field.name not in props:
                continue
            try:
                value = json.loads(props[field.name])
            except json.JSONDecodeError as err:
                raise MetadataError(f'{field.name}: not JSON ({err}): {props[field.name]!r}') from None
            values[field.name] = _freeze(value)
        return cls(**values)


def write_metadata(model, metadata: ModelMetadata) -> None:
    """Store ``metadata`` in an ``onnx.ModelProto``'s ``metadata_props``, replacing the schema's keys."""
    props = metadata.to_props()
    kept = [p for p in model.metadata_props if p.key not in props and p.key not in _FIELD_NAMES]
    del model.metadata_props[:]
    model.metadata_props.extend(kept)
    for key, value in props.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value


def _freeze(value):
    """JSON lists to tuples (nested), so the dataclass stays hashable and comparable."""
    if isinstance(value, list):
        return tuple(_freeze(v) for v in value)
    return value


_FIELD_NAMES = frozenset(f.name for f in fields(ModelMetadata))
