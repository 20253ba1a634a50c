"""The ONNX Runtime session: provider choice, and what the model's input and output look like.

:func:`inspect_model` reads the model's declared shapes and types and tells how to feed it and how to
read its answer; a model whose layout cannot be told is refused with :class:`ModelError`.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from seg_node.model_metadata import FUSED_OUTPUTS, MetadataError, ModelMetadata

PROVIDERS = {
    'tensorrt': 'TensorrtExecutionProvider',
    'cuda': 'CUDAExecutionProvider',
    'cpu': 'CPUExecutionProvider',
}
_FLOAT_TYPES = {'tensor(float)': np.float32, 'tensor(float16)': np.float16}
_LABEL_TYPES = ('tensor(int64)', 'tensor(int32)', 'tensor(uint8)', 'tensor(int8)', 'tensor(uint16)')


class OutputInfo(NamedTuple):
    """An output's name, ONNX type and shape, like onnxruntime's NodeArg."""

    name: str
    type: str
    shape: list


class ModelError(RuntimeError):
    """The model file cannot be used; the text names the file and the reason."""


@dataclass(frozen=True)
class CameraInput:
    """How a fused model (``segtool fuse``) takes camera pictures and what its graph already does to them."""

    bgr: bool                          # the colour order it takes
    frame_hw: tuple[int, int] | None   # the one camera size it takes; None: any
    resize_mode: str
    mean: tuple[float, ...]
    std: tuple[float, ...]
    outputs: tuple[str, ...]           # which of model_metadata.FUSED_OUTPUTS the graph has


@dataclass(frozen=True)
class ModelSpec:
    """How to feed the model and how to read its first output."""

    input_name: str
    input_layout: str            # NCHW | NHWC
    input_dtype: np.dtype
    input_hw: tuple[int, int] | None   # None: dynamic height/width
    output_layout: str           # NCHW | NHWC | NHW
    output_kind: str             # logits | probabilities | sigmoid | labels
    num_classes: int | None      # None: integer labels, count unknown from shapes
    dynamic_batch: bool = False  # the batch axis takes any size: frames of several cameras run as one batch
    camera: CameraInput | None = None  # a fused model: fed camera pictures, its output_* describe its scores

    def describe(self) -> str:
        """One line for the log."""
        size = 'dynamic size' if self.input_hw is None else f'{self.input_hw[0]}x{self.input_hw[1]}'
        classes = '' if self.num_classes is None else f', {self.num_classes} classes'
        text = (f'input {self.input_name} {self.input_layout} {np.dtype(self.input_dtype).name} {size}; '
                f'output {self.output_layout} {self.output_kind}{classes}')
        if self.camera:
            camera = self.camera
            frame = 'any size' if camera.frame_hw is None else f'{camera.frame_hw[0]}x{camera.frame_hw[1]}'
            text += (f'; fused: takes {"bgr" if camera.bgr else "rgb"} uint8 camera pictures of {frame}, '
                     f'{camera.resize_mode}, outputs {", ".join(camera.outputs)}')
        return text


def _dim(value) -> int | None:
    """Return a fixed dimension as is, or None for a symbolic/unknown one."""
    return value if isinstance(value, int) and value > 0 else None


def _input_layout(shape: list) -> str:
    first, last = _dim(shape[1]), _dim(shape[3])
    if first == 3 and last != 3:
        return 'NCHW'
    if last == 3 and first != 3:
        return 'NHWC'
    raise ModelError(f'cannot tell the input layout from shape {shape}: expected [1,3,H,W] or [1,H,W,3]')


def _output_layout(shape: list, input_layout: str, input_hw: tuple[int, int] | None) -> tuple[str, int | None]:
    """(layout, classes) of a rank-4 output: the channel axis is the fixed one whose other two are spatial."""
    first, last = _dim(shape[1]), _dim(shape[3])
    if first and not last:
        return 'NCHW', first
    if last and not first:
        return 'NHWC', last
    if not first:
        raise ModelError(f'cannot tell the class axis of output shape {shape}: its channel size is not fixed')
    if input_hw:  # fixed size everywhere: the spatial axes keep the input's aspect ratio
        in_h, in_w = input_hw
        nchw = shape[2] * in_w == shape[3] * in_h
        nhwc = shape[1] * in_w == shape[2] * in_h
        if nchw != nhwc:
            return ('NCHW', first) if nchw else ('NHWC', last)
    return input_layout, first if input_layout == 'NCHW' else last


def inspect_model(inputs: list, outputs: list, metadata: ModelMetadata) -> ModelSpec:
    """Describe a session's first input and output (``session.get_inputs()``/``get_outputs()`` entries)."""
    model_input, output = inputs[0], outputs[0]
    if len(model_input.shape) != 4:
        raise ModelError(f'input {model_input.name} has shape {model_input.shape}: expected a 4-D image tensor')
    if model_input.type not in _FLOAT_TYPES:
        raise ModelError(f'input {model_input.name} is {model_input.type}: expected float or float16')
    layout = _input_layout(model_input.shape)
    hw_axes = (2, 3) if layout == 'NCHW' else (1, 2)
    height, width = (_dim(model_input.shape[a]) for a in hw_axes)
    input_hw = (height, width) if height and width else None
    batch = _dim(model_input.shape[0]) is None

    shape = output.shape
    if output.type in _LABEL_TYPES:
        if len(shape) == 4 and 1 in (_dim(shape[1]), _dim(shape[3])):
            out_layout = 'NCHW' if _dim(shape[1]) == 1 else 'NHWC'
        elif len(shape) == 3:
            out_layout = 'NHW'
        else:
            raise ModelError(f'output {output.name} holds integer labels of shape {shape}: expected [1,H,W]')
        return ModelSpec(model_input.name, layout, _FLOAT_TYPES[model_input.type], input_hw, out_layout,
                         'labels', None, batch)
    if output.type not in _FLOAT_TYPES:
        raise ModelError(f'output {output.name} is {output.type}: expected float scores or integer labels')
    if len(shape) == 3:
        out_layout, classes = 'NHW', 1
    elif len(shape) == 4:
        out_layout, classes = _output_layout(shape, layout, input_hw)
    else:
        raise ModelError(f'output {output.name} has shape {shape}: expected [1,C,H,W], [1,H,W,C] or [1,H,W]')
    if classes == 1:
        kind = 'sigmoid' if metadata.output_kind in (None, 'sigmoid', 'probabilities') else 'logits'
    else:
        kind = metadata.output_kind or 'logits'
        if kind in ('sigmoid', 'labels'):
            raise ModelError(f'metadata says output_kind {kind!r} but output {output.name} has {classes} channels')
    return ModelSpec(model_input.name, layout, _FLOAT_TYPES[model_input.type], input_hw, out_layout, kind, classes,
                     batch)


def inspect_fused(inputs: list, outputs: list, metadata: ModelMetadata) -> ModelSpec:
    """Describe a fused model: uint8 (N, H, W, 3) camera input, outputs named as model_metadata.FUSED_OUTPUTS."""
    model_input = inputs[0]
    shape = model_input.shape
    if model_input.type != 'tensor(uint8)' or len(shape) != 4 or _dim(shape[3]) != 3:
        raise ModelError(f'input {model_input.name} is {model_input.type} {shape}: a fused model (metadata '
                         f'input_kind camera_uint8) takes uint8 [N, H, W, 3]')
    named = {output.name: output for output in outputs}
    mask = named.get('mask')
    if mask is None or mask.type not in ('tensor(uint8)', 'tensor(uint16)') or len(mask.shape) != 3:
        raise ModelError('a fused model needs an output named mask, uint8 or uint16 [N, H, W]')
    size = metadata.input_size
    if 'scores' in named:  # described as the wrapped model's own output, fed an NCHW float tensor
        tensor = OutputInfo('tensor', 'tensor(float)', [shape[0], 3, *(size or ('height', 'width'))])
        spec = inspect_model([tensor], [named['scores']], metadata)
    else:
        spec = ModelSpec('tensor', 'NCHW', np.float32, size, 'NHW', 'labels', None)
    frame_hw = (_dim(shape[1]), _dim(shape[2]))
    camera = CameraInput(metadata.channel_order == 'bgr', frame_hw if None not in frame_hw else None,
                         metadata.resize_mode, metadata.mean, metadata.std,
                         tuple(name for name in FUSED_OUTPUTS if name in named))
    return ModelSpec(model_input.name, 'NHWC', np.uint8, size, spec.output_layout, spec.output_kind,
                     spec.num_classes, _dim(shape[0]) is None, camera)


def provider_chain(requested: list[str], available: list[str], cache_dir: str) -> list:
    """ONNX Runtime providers for the requested order, keeping those this build has, CPU always last."""
    chain, chosen = [], set()
    for name in requested:
        if name not in PROVIDERS:
            raise ModelError(f"unknown provider '{name}' (choose from {', '.join(PROVIDERS)})")
        ort_name = PROVIDERS[name]
        if ort_name not in available or ort_name in chosen:
            continue
        chosen.add(ort_name)
        if name == 'tensorrt':
            os.makedirs(cache_dir, exist_ok=True)
            chain.append((ort_name, {'trt_fp16_enable': True, 'trt_engine_cache_enable': True,
                                     'trt_engine_cache_path': cache_dir}))
        else:
            chain.append(ort_name)
    if 'CPUExecutionProvider' not in chosen:
        chain.append('CPUExecutionProvider')
    return chain


class InferenceEngine:
    """An ONNX Runtime session over one model file, with its :class:`ModelSpec` and metadata."""

    def __init__(self, path: str, providers: list[str], num_threads: int = 0, cache_dir: str = '') -> None:
        import onnxruntime as ort

        if not os.path.isfile(path):
            raise ModelError(f'model file not found: {path}')
        self.path = path
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if num_threads > 0:
            options.intra_op_num_threads = num_threads
        # Idle intra-op threads sleep instead of spinning, leaving the cores to DDS and the other processes.
        options.add_session_config_entry('session.intra_op.allow_spinning', '0')
        chain = provider_chain(providers, ort.get_available_providers(),
                               cache_dir or os.path.join(os.path.expanduser('~'), '.cache', 'seg_node', 'trt'))
        try:
            self.session = ort.InferenceSession(path, options, providers=chain)
        except Exception as err:  # onnxruntime raises its own exception types per failure
            raise ModelError(f'cannot load {path} as an ONNX model: {str(err).strip().splitlines()[0]}') from None
        try:
            self.metadata = ModelMetadata.from_props(self.session.get_modelmeta().custom_metadata_map)
        except MetadataError as err:
            raise ModelError(f'{path}: bad seg_node metadata: {err}') from None
        inputs, outputs = self.session.get_inputs(), self.session.get_outputs()
        self._output = outputs[0].name
        if self.metadata.fused:
            self.spec = inspect_fused(inputs, outputs, self.metadata)
        else:
            shape = outputs[0].shape
            if len(shape) == 4 and not (_dim(shape[1]) or _dim(shape[3])):  # e.g. torch export after a Resize
                outputs = [OutputInfo(outputs[0].name, outputs[0].type, self._probe_class_axis(inputs[0]))]
            self.spec = inspect_model(inputs, outputs, self.metadata)
        self.provider = self.session.get_providers()[0]

    def _probe_class_axis(self, model_input) -> list:
        """Find the output shape, class axis fixed, from one run on zeros (spatial axes stay symbolic)."""
        layout = _input_layout(model_input.shape)
        hw_axes = (2, 3) if layout == 'NCHW' else (1, 2)
        probe_hw = tuple(_dim(model_input.shape[a]) or v for a, v in zip(hw_axes, self.metadata.input_size or (64, 64)))
        shape = [1, 3, *probe_hw] if layout == 'NCHW' else [1, *probe_hw, 3]
        zeros = np.zeros(shape, _FLOAT_TYPES.get(model_input.type, np.float32))
        try:
            result = self.session.run([self._output], {model_input.name: zeros})[0]
        except Exception as err:  # onnxruntime raises its own exception types per failure
            reason = str(err).strip().splitlines()[0]
            raise ModelError(f'a trial run on zeros of shape {shape} failed: {reason}') from None
        if result.ndim != 4:
            raise ModelError(f'output {self._output} has shape {list(result.shape)} on a trial run: expected 4-D')
        out_layout, classes = _output_layout(list(result.shape), layout, probe_hw)
        return [1, classes, 'height', 'width'] if out_layout == 'NCHW' else [1, 'height', 'width', classes]

    def run(self, tensor: np.ndarray) -> np.ndarray:
        """Return the model's first output for one input tensor."""
        return self.session.run([self._output], {self.spec.input_name: tensor})[0]

    def run_outputs(self, tensor: np.ndarray, names: list[str]) -> list[np.ndarray]:
        """Return the outputs ``names`` for one input tensor (a fused model's, by name)."""
        return self.session.run(names, {self.spec.input_name: tensor})
