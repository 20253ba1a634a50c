"""Convert a float TFLite model (flatbuffer bytes) into an ONNX graph, op by op, without TensorFlow.

Model-toolchain code: the runtime node never imports it (it needs the ``tflite`` and ``onnx`` packages).

Every rank-4 activation is kept in ONNX's NCHW layout, so the converted graph has no Transpose at all: a TFLite
input ``[1, H, W, C]`` becomes ONNX ``[1, C, H, W]`` and so do the outputs. Weights are transposed once at
conversion (OHWI to OIHW), float16 weights behind DEQUANTIZE are folded into float32 initializers (exactly, as
TFLite does at run time), and SAME padding is written as explicit ONNX pads computed the way TFLite computes
them (the odd pixel goes after, not before). The result is checked against the shapes the flatbuffer declares.

Supported: the builtin ops in ``_CONVERTERS`` (with fused activations) and MediaPipe's custom op
``Convolution2DTransposeBias``; anything else raises :class:`ConversionError` naming the op.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Callable

import numpy as np
import onnx
import tflite
from onnx import TensorProto, helper, numpy_helper

OPSET = 17
IR_VERSION = 8  # ONNX Runtime >= 1.10 loads it
NHWC_TO_NCHW = (0, 3, 1, 2)
_NCHW_AXIS = (0, 2, 3, 1)  # NHWC axis -> NCHW axis

_OPERATOR_NAMES = {v: k for k, v in vars(tflite.BuiltinOperator).items() if not k.startswith('_')}
_TENSOR_TYPES = {
    tflite.TensorType.FLOAT32: np.float32, tflite.TensorType.FLOAT16: np.float16,
    tflite.TensorType.INT32: np.int32, tflite.TensorType.INT64: np.int64,
}
# tflite.Padding (builtin options) and TfLitePadding (the C enum custom ops store in their raw options).
_SAME, _VALID = tflite.Padding.SAME, tflite.Padding.VALID
_C_PADDING = {1: _SAME, 2: _VALID}


class ConversionError(ValueError):
    """The model uses something this converter does not handle; the message names it."""


def same_padding(size: int, kernel: int, stride: int, dilation: int = 1) -> tuple[int, int]:
    """Compute TFLite's SAME padding (before, after) for one spatial axis of a convolution or pool."""
    out = -(-size // stride)
    total = max((out - 1) * stride + (kernel - 1) * dilation + 1 - size, 0)
    return total // 2, total - total // 2


def transpose_conv_padding(size: int, kernel: int, stride: int, padding: int) -> tuple[int, int]:
    """Cropping (before, after) of MediaPipe's Convolution2DTransposeBias for one spatial axis."""
    total = max(0, kernel - (size - 1) % stride - 1) if padding == _SAME else 0
    return total // 2, total - total // 2


@dataclass(frozen=True)
class _Tensor:
    name: str
    shape: tuple[int, ...]
    dtype: np.dtype
    data: np.ndarray | None  # constant value, in TFLite layout


class _Converter:
    """Conversion state of one subgraph: TFLite tensors on one side, ONNX nodes and initializers on the other."""

    def __init__(self, model: tflite.Model) -> None:
        if model.SubgraphsLength() != 1:
            raise ConversionError(f'expected 1 subgraph, got {model.SubgraphsLength()}')
        self.model = model
        self.graph = model.Subgraphs(0)
        self.tensors = [self._read_tensor(i) for i in range(self.graph.TensorsLength())]
        self.constants = {i: t.data for i, t in enumerate(self.tensors) if t.data is not None}
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []
        self.names: dict[int, str] = {}
        self._used_names: set[str] = set()

    def _read_tensor(self, index: int) -> _Tensor:
        t = self.graph.Tensors(index)
        if t.Type() not in _TENSOR_TYPES:
            raise ConversionError(f'tensor {t.Name().decode()!r}: TFLite type {t.Type()} is not supported')
        dtype = np.dtype(_TENSOR_TYPES[t.Type()])
        shape = tuple(int(d) for d in t.ShapeAsNumpy()) if t.ShapeLength() else ()
        raw = self.model.Buffers(t.Buffer()).DataAsNumpy()
        data = None
        if not isinstance(raw, int) and raw.size:
            data = raw.view(dtype.newbyteorder('<')).astype(dtype).reshape(shape)
        return _Tensor(t.Name().decode(), shape, dtype, data)

    def unique(self, hint: str) -> str:
        """Make a fresh ONNX name based on ``hint``."""
        name, n = hint, 1
        while name in self._used_names:
            name, n = f'{hint}_{n}', n + 1
        self._used_names.add(name)
        return name

    def output_name(self, index: int) -> str:
        """Return the ONNX name of TFLite tensor ``index`` as written by the op that produces it."""
        if index not in self.names:
            self.names[index] = self.unique(self.tensors[index].name)
        return self.names[index]

    def input_name(self, index: int) -> str:
        """Return TFLite tensor ``index``'s ONNX name as an activation input (constants become NCHW initializers)."""
        if index in self.names:
            return self.names[index]
        if index not in self.constants:
            raise ConversionError(f'tensor {self.tensors[index].name!r} is read before it is written')
        value = np.asarray(self.constants[index], np.float32)
        value = value.reshape((1,) * (4 - value.ndim) + value.shape).transpose(NHWC_TO_NCHW)
        self.names[index] = self.initializer(value, self.tensors[index].name)
        return self.names[index]

    def constant(self, index: int) -> np.ndarray:
        """Return the value of a constant TFLite tensor (weights, sizes, axes)."""
        if index not in self.constants:
            raise ConversionError(f'tensor {self.tensors[index].name!r} must be a constant')
        return self.constants[index]

    def initializer(self, value: np.ndarray, hint: str) -> str:
        name = self.unique(hint)
        self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def add(self, op_type: str, inputs: list[str], output: str, **attrs) -> None:
        self.nodes.append(helper.make_node(op_type, inputs, [output], name=output, **attrs))

    def add_activated(self, op_type: str, inputs: list[str], out_index: int, activation: int, **attrs) -> None:
        """``op_type`` followed by a TFLite fused activation, writing TFLite tensor ``out_index``."""
        output = self.output_name(out_index)
        if activation == tflite.ActivationFunctionType.NONE:
            self.add(op_type, inputs, output, **attrs)
            return
        raw = self.unique(f'{output}/pre_activation')
        self.add(op_type, inputs, raw, **attrs)
        if activation == tflite.ActivationFunctionType.RELU:
            self.add('Relu', [raw], output)
        elif activation == tflite.ActivationFunctionType.RELU6:
            self.add('Clip', [raw, self._scalar(0.0), self._scalar(6.0)], output)
        elif activation == tflite.ActivationFunctionType.RELU_N1_TO_1:
            self.add('Clip', [raw, self._scalar(-1.0), self._scalar(1.0)], output)
        elif activation == tflite.ActivationFunctionType.TANH:
            self.add('Tanh', [raw], output)
        else:
            raise ConversionError(f'fused activation {activation} is not supported')

    def _scalar(self, value: float) -> str:
        return self.initializer(np.array(value, np.float32), 'clip_bound')


def _options(op: tflite.Operator, cls: type):
    table = op.BuiltinOptions()
    options = cls()
    options.Init(table.Bytes, table.Pos)
    return options


def _spatial_pads(conv: _Converter, x: int, kernel: tuple[int, int], stride: tuple[int, int],
                  dilation: tuple[int, int], padding: int) -> list[int]:
    """ONNX ``pads`` [top, left, bottom, right] for TFLite ``padding`` on the NHWC input tensor ``x``."""
    if padding == _VALID:
        return [0, 0, 0, 0]
    height, width = conv.tensors[x].shape[1:3]
    (top, bottom), (left, right) = (same_padding(s, k, st, d) for s, k, st, d in
                                    zip((height, width), kernel, stride, dilation))
    return [top, left, bottom, right]


def _conv_2d(conv: _Converter, op: tflite.Operator, ins: list[int], out: int) -> None:
    o = _options(op, tflite.Conv2DOptions)
    weights = conv.constant(ins[1]).astype(np.float32)  # O, H, W, I
    _add_conv(conv, ins, out, weights.transpose(NHWC_TO_NCHW), 1, (o.StrideH(), o.StrideW()),
              (o.DilationHFactor(), o.DilationWFactor()), o.Padding(), o.FusedActivationFunction())


def _depthwise_conv_2d(conv: _Converter, op: tflite.Operator, ins: list[int], out: int) -> None:
    o = _options(op, tflite.DepthwiseConv2DOptions)
    weights = conv.constant(ins[1]).astype(np.float32)  # 1, H, W, C * multiplier
    groups = conv.tensors[ins[0]].shape[3]
    _add_conv(conv, ins, out, weights.transpose(3, 0, 1, 2), groups, (o.StrideH(), o.StrideW()),
              (o.DilationHFactor(), o.DilationWFactor()), o.Padding(), o.FusedActivationFunction())


def _add_conv(conv: _Converter, ins: list[int], out: int, weights: np.ndarray, groups: int,
              stride: tuple[int, int], dilation: tuple[int, int], padding: int, activation: int) -> None:
    name = conv.tensors[out].name
    inputs = [conv.input_name(ins[0]), conv.initializer(weights, f'{name}/weight')]
    if len(ins) > 2 and ins[2] >= 0:
        inputs.append(conv.initializer(conv.constant(ins[2]).astype(np.float32), f'{name}/bias'))
    kernel = weights.shape[2:]
    conv.add_activated('Conv', inputs, out, activation, kernel_shape=list(kernel), strides=list(stride),
                       dilations=list(dilation), group=groups,
                       pads=_spatial_pads(conv, ins[0], kernel, stride, dilation, padding))


def _average_pool_2d(conv: _Converter, op: tflite.Operator, ins: list[int], out: int) -> None:
    o = _options(op, tflite.Pool2DOptions)
    kernel, stride = (o.FilterHeight(), o.FilterWidth()), (o.StrideH(), o.StrideW())
    # count_include_pad=0 (ONNX's default) is TFLite's rule: padded cells are not counted.
    conv.add_activated('AveragePool', [conv.input_name(ins[0])], out, o.FusedActivationFunction(),
                       kernel_shape=list(kernel), strides=list(stride),
                       pads=_spatial_pads(conv, ins[0], kernel, stride, (1, 1), o.Padding()))


def _binary(onnx_op: str, options_cls: type) -> Callable:
    def convert(conv: _Converter, op: tflite.Operator, ins: list[int], out: int) -> None:
        activation = _options(op, options_cls).FusedActivationFunction() if op.BuiltinOptions() else 0
        conv.add_activated(onnx_op, [conv.input_name(i) for i in ins], out, activation)
    return convert


def _unary(onnx_op: str) -> Callable:
    def convert(conv: _Converter, op: tflite.Operator, ins: list[int], out: int) -> None:
        conv.add(onnx_op, [conv.input_name(ins[0])], conv.output_name(out))
    return convert


def _resize_bilinear(conv: _Converter, op: tflite.Operator, ins: list[int], out: int) -> None:
    o = _options(op, tflite.ResizeBilinearOptions)
    height, width = (int(v) for v in conv.constant(ins[1]))
    batch, _, _, channels = conv.tensors[ins[0]].shape
    sizes = conv.initializer(np.array([batch, channels, height, width], np.int64), f'{conv.tensors[out].name}/sizes')
    mode = 'align_corners' if o.AlignCorners() else 'half_pixel' if o.HalfPixelCenters() else 'asymmetric'
    conv.add('Resize', [conv.input_name(ins[0]), '', '', sizes], conv.output_name(out),
             mode='linear', coordinate_transformation_mode=mode)


def _mean(conv: _Converter, op: tflite.Operator, ins: list[int], out: int) -> None:
    if not _options(op, tflite.ReducerOptions).KeepDims():
        raise ConversionError('MEAN without keep_dims changes the rank; not supported')
    axes = sorted(_NCHW_AXIS[int(a) % 4] for a in np.atleast_1d(conv.constant(ins[1])))
    conv.add('ReduceMean', [conv.input_name(ins[0])], conv.output_name(out), axes=axes, keepdims=1)


def _dequantize(conv: _Converter, op: tflite.Operator, ins: list[int], out: int) -> None:
    value = conv.constant(ins[0])
    if value.dtype != np.float16:
        raise ConversionError(f'DEQUANTIZE of {value.dtype} (quantized weights) is not supported')
    conv.constants[out] = value.astype(np.float32)


def _transpose_conv_bias(conv: _Converter, op: tflite.Operator, ins: list[int], out: int) -> None:
    """Convert MediaPipe's transposed convolution with bias; raw options are TfLiteTransposeConvParams."""
    padding, stride_w, stride_h = struct.unpack('<iii', op.CustomOptionsAsNumpy().tobytes()[:12])
    if padding not in _C_PADDING:
        raise ConversionError(f'Convolution2DTransposeBias: padding {padding} is not SAME or VALID')
    weights = conv.constant(ins[1]).astype(np.float32)  # O, H, W, I
    _, height, width, _ = conv.tensors[ins[0]].shape
    (top, bottom), (left, right) = (
        transpose_conv_padding(s, k, st, _C_PADDING[padding])
        for s, k, st in zip((height, width), weights.shape[1:3], (stride_h, stride_w)))
    name = conv.tensors[out].name
    inputs = [conv.input_name(ins[0]), conv.initializer(weights.transpose(3, 0, 1, 2), f'{name}/weight'),
              conv.initializer(conv.constant(ins[2]).astype(np.float32), f'{name}/bias')]
    conv.add('ConvTranspose', inputs, conv.output_name(out), kernel_shape=list(weights.shape[1:3]),
             strides=[stride_h, stride_w], pads=[top, left, bottom, right])


_CONVERTERS: dict[str, Callable[[_Converter, tflite.Operator, list[int], int], None]] = {
    'CONV_2D': _conv_2d,
    'DEPTHWISE_CONV_2D': _depthwise_conv_2d,
    'AVERAGE_POOL_2D': _average_pool_2d,
    'ADD': _binary('Add', tflite.AddOptions),
    'MUL': _binary('Mul', tflite.MulOptions),
    'HARD_SWISH': _unary('HardSwish'),
    'RELU': _unary('Relu'),
    'LOGISTIC': _unary('Sigmoid'),
    'RESIZE_BILINEAR': _resize_bilinear,
    'MEAN': _mean,
    'DEQUANTIZE': _dequantize,
    'Convolution2DTransposeBias': _transpose_conv_bias,
}


def _op_name(model: tflite.Model, op: tflite.Operator) -> str:
    code = model.OperatorCodes(op.OpcodeIndex())
    builtin = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
    if builtin == tflite.BuiltinOperator.CUSTOM:
        return code.CustomCode().decode()
    return _OPERATOR_NAMES.get(builtin, str(builtin))


def _value_info(conv: _Converter, index: int, name: str) -> onnx.ValueInfoProto:
    tensor = conv.tensors[index]
    if tensor.dtype != np.float32 or len(tensor.shape) != 4:
        raise ConversionError(f'graph input/output {tensor.name!r}: expected float32 rank 4, got '
                              f'{tensor.dtype} {list(tensor.shape)}')
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, [tensor.shape[a] for a in NHWC_TO_NCHW])


def convert(tflite_model: bytes, graph_name: str = 'tflite') -> onnx.ModelProto:
    """Build the ONNX model (opset ``OPSET``, NCHW inputs and outputs) computing the same as ``tflite_model``."""
    model = tflite.Model.GetRootAsModel(tflite_model, 0)
    conv = _Converter(model)
    inputs = [int(i) for i in conv.graph.InputsAsNumpy()]
    graph_inputs = [_value_info(conv, i, conv.output_name(i)) for i in inputs]
    for k in range(conv.graph.OperatorsLength()):
        op = conv.graph.Operators(k)
        name = _op_name(model, op)
        if name not in _CONVERTERS:
            raise ConversionError(f'operator {k}: {name} is not supported')
        outs = [int(i) for i in op.OutputsAsNumpy()]
        if len(outs) != 1:
            raise ConversionError(f'operator {k}: {name} with {len(outs)} outputs is not supported')
        _CONVERTERS[name](conv, op, [int(i) for i in op.InputsAsNumpy()], outs[0])
    graph_outputs = [_value_info(conv, i, conv.input_name(i)) for i in conv.graph.OutputsAsNumpy()]
    graph = helper.make_graph(conv.nodes, graph_name, graph_inputs, graph_outputs, conv.initializers)
    onnx_model = helper.make_model(graph, opset_imports=[helper.make_opsetid('', OPSET)],
                                   producer_name='segtool.tflite_onnx')
    onnx_model.ir_version = IR_VERSION
    onnx.checker.check_model(onnx_model)
    _check_shapes(conv, onnx_model)
    return onnx_model


def _check_shapes(conv: _Converter, onnx_model: onnx.ModelProto) -> None:
    """Every converted activation must have the shape the flatbuffer declares (NCHW for rank 4)."""
    try:
        inferred = onnx.shape_inference.infer_shapes(onnx_model, strict_mode=True)
    except onnx.shape_inference.InferenceError as err:  # a graph output's declared shape disagrees
        raise ConversionError(f'converted shape differs from the TFLite one: {err}') from None
    shapes = {v.name: [d.dim_value for d in v.type.tensor_type.shape.dim]
              for v in list(inferred.graph.value_info) + list(inferred.graph.output)}
    for index, name in conv.names.items():
        tensor = conv.tensors[index]
        if name not in shapes or len(tensor.shape) != 4:
            continue
        expected = [tensor.shape[a] for a in NHWC_TO_NCHW]
        if shapes[name] != expected:
            raise ConversionError(f'{tensor.name!r}: converted shape {shapes[name]} differs from the TFLite one '
                                  f'{expected} (NCHW)')
