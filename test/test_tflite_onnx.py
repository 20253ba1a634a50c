"""segtool.tflite_onnx, op by op, then the shipped model against MediaPipe's runtime.

Each op: tiny TFLite flatbuffers built here, converted, run with onnxruntime and compared with numpy
implementations of TFLite's kernels.
"""
from __future__ import annotations

import os
from pathlib import Path

import flatbuffers
import numpy as np
import onnxruntime as ort
import pytest
import tflite

from segtool.tflite_onnx import ConversionError, convert

REPO = Path(__file__).resolve().parents[1]
SAME, VALID = tflite.Padding.SAME, tflite.Padding.VALID
RELU, RELU6 = tflite.ActivationFunctionType.RELU, tflite.ActivationFunctionType.RELU6
OP = tflite.BuiltinOperator
OPTIONS = tflite.BuiltinOptions


class TinyModel:
    """A one-subgraph TFLite flatbuffer, built with the ``tflite`` package's generated builders."""

    def __init__(self) -> None:
        self.tensors: list[tuple[tuple[int, ...], int, int]] = []  # shape, TensorType, buffer
        self.buffers: list[bytes] = [b'']
        self.codes: list[int | str] = []
        self.ops: list[tuple] = []
        self.inputs: list[int] = []

    def _tensor(self, shape, tensor_type=tflite.TensorType.FLOAT32, data: bytes = b'') -> int:
        self.buffers.append(data)
        self.tensors.append((tuple(shape), tensor_type, len(self.buffers) - 1))
        return len(self.tensors) - 1

    def input(self, shape) -> int:
        self.inputs.append(self._tensor(shape))
        return self.inputs[-1]

    def const(self, value: np.ndarray) -> int:
        types = {np.float32: tflite.TensorType.FLOAT32, np.float16: tflite.TensorType.FLOAT16,
                 np.int32: tflite.TensorType.INT32}
        return self._tensor(value.shape, types[value.dtype.type], value.astype(value.dtype.newbyteorder('<')).tobytes())

    def op(self, code: int | str, inputs: list[int], out_shape, options=None, custom: bytes = b'') -> int:
        """Add an operator (builtin code or custom name); ``options`` is (BuiltinOptions type, fields dict)."""
        if code not in self.codes:
            self.codes.append(code)
        out = self._tensor(out_shape)
        self.ops.append((self.codes.index(code), inputs, out, options, custom))
        return out

    def build(self, outputs: list[int]) -> bytes:
        b = flatbuffers.Builder(1024)

        def vector(start, items, add):
            start(b, len(items))
            for item in reversed(items):
                add(item)
            return b.EndVector()

        def ints(start, values):
            return vector(start, values, b.PrependInt32)

        buffers = []
        for data in self.buffers:
            blob = vector(tflite.BufferStartDataVector, list(data), b.PrependUint8) if data else None
            tflite.BufferStart(b)
            if blob is not None:
                tflite.BufferAddData(b, blob)
            buffers.append(tflite.BufferEnd(b))
        tensors = []
        for i, (shape, tensor_type, buffer) in enumerate(self.tensors):
            name, dims = b.CreateString(f't{i}'), ints(tflite.TensorStartShapeVector, list(shape))
            tflite.TensorStart(b)
            tflite.TensorAddShape(b, dims)
            tflite.TensorAddType(b, tensor_type)
            tflite.TensorAddBuffer(b, buffer)
            tflite.TensorAddName(b, name)
            tensors.append(tflite.TensorEnd(b))
        ops = []
        for code_index, inputs, out, options, custom in self.ops:
            ins, outs = ints(tflite.OperatorStartInputsVector, inputs), ints(tflite.OperatorStartOutputsVector, [out])
            table = None
            if options:
                kind, fields = options
                class_name = next(k for k, v in vars(OPTIONS).items() if v == kind)
                getattr(tflite, f'{class_name}Start')(b)
                for field, value in fields.items():
                    getattr(tflite, f'{class_name}Add{field}')(b, value)
                table = getattr(tflite, f'{class_name}End')(b)
            raw = vector(tflite.OperatorStartCustomOptionsVector, list(custom), b.PrependUint8) if custom else None
            tflite.OperatorStart(b)
            tflite.OperatorAddOpcodeIndex(b, code_index)
            tflite.OperatorAddInputs(b, ins)
            tflite.OperatorAddOutputs(b, outs)
            if table is not None:
                tflite.OperatorAddBuiltinOptionsType(b, options[0])
                tflite.OperatorAddBuiltinOptions(b, table)
            if raw is not None:
                tflite.OperatorAddCustomOptions(b, raw)
            ops.append(tflite.OperatorEnd(b))
        codes = []
        for code in self.codes:
            custom_name = b.CreateString(code) if isinstance(code, str) else None
            builtin = OP.CUSTOM if custom_name else code
            tflite.OperatorCodeStart(b)
            tflite.OperatorCodeAddDeprecatedBuiltinCode(b, min(builtin, 127))
            tflite.OperatorCodeAddBuiltinCode(b, builtin)
            if custom_name:
                tflite.OperatorCodeAddCustomCode(b, custom_name)
            codes.append(tflite.OperatorCodeEnd(b))
        tensor_vec = vector(tflite.SubGraphStartTensorsVector, tensors, b.PrependUOffsetTRelative)
        op_vec = vector(tflite.SubGraphStartOperatorsVector, ops, b.PrependUOffsetTRelative)
        in_vec, out_vec = ints(tflite.SubGraphStartInputsVector, self.inputs), ints(
            tflite.SubGraphStartOutputsVector, outputs)
        tflite.SubGraphStart(b)
        tflite.SubGraphAddTensors(b, tensor_vec)
        tflite.SubGraphAddOperators(b, op_vec)
        tflite.SubGraphAddInputs(b, in_vec)
        tflite.SubGraphAddOutputs(b, out_vec)
        subgraph = tflite.SubGraphEnd(b)
        code_vec = vector(tflite.ModelStartOperatorCodesVector, codes, b.PrependUOffsetTRelative)
        subgraph_vec = vector(tflite.ModelStartSubgraphsVector, [subgraph], b.PrependUOffsetTRelative)
        buffer_vec = vector(tflite.ModelStartBuffersVector, buffers, b.PrependUOffsetTRelative)
        tflite.ModelStart(b)
        tflite.ModelAddVersion(b, 3)
        tflite.ModelAddOperatorCodes(b, code_vec)
        tflite.ModelAddSubgraphs(b, subgraph_vec)
        tflite.ModelAddBuffers(b, buffer_vec)
        b.Finish(tflite.ModelEnd(b), file_identifier=b'TFL3')
        return bytes(b.Output())


def run(model: TinyModel, outputs: list[int], *inputs: np.ndarray) -> np.ndarray:
    """Convert, run with onnxruntime on NHWC ``inputs`` (fed as NCHW) and return the first output as NHWC."""
    onnx_model = convert(model.build(outputs))
    session = ort.InferenceSession(onnx_model.SerializeToString(), providers=['CPUExecutionProvider'])
    feeds = {i.name: x.transpose(0, 3, 1, 2) for i, x in zip(session.get_inputs(), inputs)}
    return session.run(None, feeds)[0].transpose(0, 2, 3, 1)


# numpy references, NHWC, following TFLite's reference kernels
def tf_same_pads(size: int, kernel: int, stride: int, dilation: int = 1) -> tuple[int, int]:
    """Return the pads (before, after) of TensorFlow's documented SAME rule.

    out = ceil(in / stride), the odd padded pixel goes at the end.
    """
    total = max((-(-size // stride) - 1) * stride + (kernel - 1) * dilation + 1 - size, 0)
    return total // 2, total - total // 2


def ref_windows(x, kernel, stride, dilation, padding, fill=0.0):
    """Yield (ky, kx, window [N, OH, OW, C]) over the padded input, plus the padded-cell mask as 4th value."""
    pads = [tf_same_pads(s, k, st, d) if padding == SAME else (0, 0)
            for s, k, st, d in zip(x.shape[1:3], kernel, stride, dilation)]
    xp = np.pad(x, ((0, 0), *pads, (0, 0)), constant_values=fill)
    valid = np.pad(np.ones_like(x[..., :1]), ((0, 0), *pads, (0, 0)))
    out_h, out_w = ((xp.shape[1 + a] - (kernel[a] - 1) * dilation[a] - 1) // stride[a] + 1 for a in (0, 1))
    for ky in range(kernel[0]):
        for kx in range(kernel[1]):
            rows = slice(ky * dilation[0], ky * dilation[0] + (out_h - 1) * stride[0] + 1, stride[0])
            cols = slice(kx * dilation[1], kx * dilation[1] + (out_w - 1) * stride[1] + 1, stride[1])
            yield ky, kx, xp[:, rows, cols], valid[:, rows, cols]


def ref_conv(x, w, b, stride=(1, 1), dilation=(1, 1), padding=SAME):
    """CONV_2D with OHWI weights."""
    out = sum(win @ w[:, ky, kx, :].T for ky, kx, win, _ in ref_windows(x, w.shape[1:3], stride, dilation, padding))
    return out + b


def ref_depthwise(x, w, b, stride=(1, 1), padding=SAME):
    """DEPTHWISE_CONV_2D with [1, KH, KW, C * multiplier] weights: output channel c * m + j reads input c."""
    multiplier = w.shape[3] // x.shape[3]
    out = sum(np.repeat(win, multiplier, axis=3) * w[0, ky, kx]
              for ky, kx, win, _ in ref_windows(x, w.shape[1:3], stride, (1, 1), padding))
    return out + b


def ref_average_pool(x, kernel, stride, padding):
    """AVERAGE_POOL_2D: padded cells are not counted."""
    windows = list(ref_windows(x, kernel, stride, (1, 1), padding))
    return sum(win for *_, win, _ in windows) / sum(valid for *_, valid in windows)


def ref_resize_bilinear(x, size, align_corners=False, half_pixel_centers=False):
    """Resize as TFLite's RESIZE_BILINEAR does (reference kernel's coordinate rules)."""
    def axis(out_size, in_size):
        if align_corners and out_size > 1:
            pos = np.arange(out_size) * ((in_size - 1) / (out_size - 1))
        elif half_pixel_centers:
            pos = (np.arange(out_size) + 0.5) * (in_size / out_size) - 0.5
        else:
            pos = np.arange(out_size) * (in_size / out_size)
        low = np.floor(pos).astype(int)
        frac = pos - np.maximum(low, 0)
        return np.maximum(low, 0), np.minimum(np.ceil(pos).astype(int), in_size - 1), frac
    y0, y1, fy = axis(size[0], x.shape[1])
    x0, x1, fx = axis(size[1], x.shape[2])
    fy, fx = fy[None, :, None, None], fx[None, None, :, None]
    top = x[:, y0][:, :, x0] * (1 - fx) + x[:, y0][:, :, x1] * fx
    bottom = x[:, y1][:, :, x0] * (1 - fx) + x[:, y1][:, :, x1] * fx
    return top * (1 - fy) + bottom * fy


def ref_transpose_conv_bias(x, w, b, stride, same: bool):
    """Run MediaPipe's Convolution2DTransposeBias: scatter each input pixel through the OHWI kernel, crop, add bias."""
    _, h, wd, _ = x.shape
    _, kh, kw, _ = w.shape
    crop = [max(0, k - (s - 1) % st - 1) if same else 0 for s, k, st in ((h, kh, stride[0]), (wd, kw, stride[1]))]
    out_h, out_w = stride[0] * (h - 1) + kh - crop[0], stride[1] * (wd - 1) + kw - crop[1]
    full = np.zeros((x.shape[0], stride[0] * (h - 1) + kh, stride[1] * (wd - 1) + kw, w.shape[0]))
    for iy in range(h):
        for ix in range(wd):
            full[:, iy * stride[0]:iy * stride[0] + kh, ix * stride[1]:ix * stride[1] + kw] += np.einsum(
                'nc,ohwc->nhwo', x[:, iy, ix], w)
    top, left = crop[0] // 2, crop[1] // 2
    return full[:, top:top + out_h, left:left + out_w] + b


def hard_swish(x):
    return x * np.clip(x + 3, 0, 6) / 6


def rand(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def conv_options(padding, stride, activation=0, dilation=(1, 1), multiplier=None):
    fields = {'Padding': padding, 'StrideH': stride[0], 'StrideW': stride[1], 'FusedActivationFunction': activation,
              'DilationHFactor': dilation[0], 'DilationWFactor': dilation[1]}
    if multiplier is None:
        return OPTIONS.Conv2DOptions, fields
    return OPTIONS.DepthwiseConv2DOptions, {**fields, 'DepthMultiplier': multiplier}


def test_same_padding_puts_the_odd_pixel_after():
    """Worked by hand: 2x2 ones kernel, stride 1, SAME on [[1, 2], [3, 4]] pads one row/column at the end."""
    m = TinyModel()
    x = m.input((1, 2, 2, 1))
    y = m.op(OP.CONV_2D, [x, m.const(np.ones((1, 2, 2, 1), np.float32)), m.const(np.zeros(1, np.float32))],
             (1, 2, 2, 1), conv_options(SAME, (1, 1)))
    got = run(m, [y], np.array([[1, 2], [3, 4]], np.float32).reshape(1, 2, 2, 1))
    np.testing.assert_array_equal(got[0, ..., 0], [[10, 6], [7, 4]])


@pytest.mark.parametrize('size, kernel, stride, dilation, padding, activation', [
    ((9, 8), (3, 3), (2, 2), (1, 1), SAME, 0),       # odd total padding: asymmetric
    ((8, 7), (3, 2), (1, 2), (1, 1), SAME, RELU),
    ((7, 7), (3, 3), (1, 1), (2, 2), SAME, RELU6),   # dilation
    ((9, 8), (3, 3), (2, 2), (1, 1), VALID, 0),
    ((6, 6), (1, 1), (1, 1), (1, 1), SAME, 0),
])
def test_conv_2d(size, kernel, stride, dilation, padding, activation):
    x_val, w, b = rand(1, *size, 3), rand(5, *kernel, 3, seed=1), rand(5, seed=2)
    expected = ref_conv(x_val, w, b, stride, dilation, padding)
    expected = {0: expected, RELU: np.maximum(expected, 0), RELU6: np.clip(expected, 0, 6)}[activation]
    m = TinyModel()
    x = m.input(x_val.shape)
    y = m.op(OP.CONV_2D, [x, m.const(w), m.const(b)], expected.shape,
             conv_options(padding, stride, activation, dilation))
    np.testing.assert_allclose(run(m, [y], x_val), expected, atol=1e-5)


@pytest.mark.parametrize('size, kernel, stride, multiplier, padding', [
    ((9, 8), (3, 3), (2, 2), 1, SAME),
    ((8, 8), (5, 5), (1, 1), 2, SAME),
    ((9, 9), (3, 3), (2, 2), 1, VALID),
])
def test_depthwise_conv_2d(size, kernel, stride, multiplier, padding):
    x_val, w, b = rand(1, *size, 4), rand(1, *kernel, 4 * multiplier, seed=1), rand(4 * multiplier, seed=2)
    expected = ref_depthwise(x_val, w, b, stride, padding)
    m = TinyModel()
    x = m.input(x_val.shape)
    y = m.op(OP.DEPTHWISE_CONV_2D, [x, m.const(w), m.const(b)], expected.shape,
             conv_options(padding, stride, multiplier=multiplier))
    np.testing.assert_allclose(run(m, [y], x_val), expected, atol=1e-5)


def test_dequantized_float16_weights_are_folded_exactly():
    x_val, w, b = rand(1, 5, 5, 3), rand(2, 3, 3, 3, seed=1).astype(np.float16), rand(2, seed=2).astype(np.float16)
    m = TinyModel()
    x = m.input(x_val.shape)
    w_t = m.op(OP.DEQUANTIZE, [m.const(w)], w.shape)
    b_t = m.op(OP.DEQUANTIZE, [m.const(b)], b.shape)
    y = m.op(OP.CONV_2D, [x, w_t, b_t], (1, 5, 5, 2), conv_options(SAME, (1, 1)))
    expected = ref_conv(x_val, w.astype(np.float32), b.astype(np.float32))
    np.testing.assert_allclose(run(m, [y], x_val), expected, atol=1e-5)


@pytest.mark.parametrize('size, kernel, stride, padding', [
    ((16, 16), (16, 16), (16, 16), VALID),   # the global pools of the selfie model
    ((7, 6), (3, 3), (2, 2), SAME),          # padded cells excluded from the average
])
def test_average_pool_2d(size, kernel, stride, padding):
    x_val = rand(1, *size, 3)
    expected = ref_average_pool(x_val, kernel, stride, padding)
    m = TinyModel()
    x = m.input(x_val.shape)
    y = m.op(OP.AVERAGE_POOL_2D, [x], expected.shape, (OPTIONS.Pool2DOptions, {
        'Padding': padding, 'StrideH': stride[0], 'StrideW': stride[1],
        'FilterHeight': kernel[0], 'FilterWidth': kernel[1]}))
    np.testing.assert_allclose(run(m, [y], x_val), expected, atol=1e-5)


@pytest.mark.parametrize('code, numpy_op', [(OP.ADD, np.add), (OP.MUL, np.multiply)])
def test_binary_ops_broadcast_channels_and_fuse_relu(code, numpy_op):
    """A [1, 1, 1, C] activation (squeeze-excite gate) against [1, H, W, C], and a constant [C] vector."""
    a_val, g_val, c = rand(1, 4, 5, 3), rand(1, 1, 1, 3, seed=1), rand(3, seed=2)
    options = OPTIONS.AddOptions if code == OP.ADD else OPTIONS.MulOptions
    m = TinyModel()
    a, g = m.input(a_val.shape), m.input(g_val.shape)
    y1 = m.op(code, [a, g], a_val.shape, (options, {'FusedActivationFunction': RELU}))
    y2 = m.op(code, [y1, m.const(c)], a_val.shape, (options, {}))
    expected = numpy_op(np.maximum(numpy_op(a_val, g_val), 0), c)
    np.testing.assert_allclose(run(m, [y2], a_val, g_val), expected, atol=1e-6)


@pytest.mark.parametrize('code, reference', [
    (OP.HARD_SWISH, hard_swish), (OP.RELU, lambda x: np.maximum(x, 0)), (OP.LOGISTIC, lambda x: 1 / (1 + np.exp(-x))),
])
def test_unary_ops(code, reference):
    x_val = rand(1, 4, 4, 8) * 4
    m = TinyModel()
    x = m.input(x_val.shape)
    np.testing.assert_allclose(run(m, [m.op(code, [x], x_val.shape)], x_val), reference(x_val), atol=1e-6)


@pytest.mark.parametrize('size, align_corners, half_pixel', [
    ((8, 10), False, True), ((9, 7), True, False), ((8, 10), False, False), ((3, 4), False, True),
])
def test_resize_bilinear(size, align_corners, half_pixel):
    x_val = rand(1, 4, 5, 2)
    expected = ref_resize_bilinear(x_val, size, align_corners, half_pixel)
    m = TinyModel()
    x = m.input(x_val.shape)
    y = m.op(OP.RESIZE_BILINEAR, [x, m.const(np.array(size, np.int32))], expected.shape,
             (OPTIONS.ResizeBilinearOptions, {'AlignCorners': align_corners, 'HalfPixelCenters': half_pixel}))
    np.testing.assert_allclose(run(m, [y], x_val), expected, atol=1e-5)


def test_mean_over_height_and_width():
    x_val = rand(1, 6, 5, 4)
    m = TinyModel()
    x = m.input(x_val.shape)
    y = m.op(OP.MEAN, [x, m.const(np.array([1, 2], np.int32))], (1, 1, 1, 4),
             (OPTIONS.ReducerOptions, {'KeepDims': True}))
    np.testing.assert_allclose(run(m, [y], x_val), x_val.mean(axis=(1, 2), keepdims=True), atol=1e-6)


@pytest.mark.parametrize('size, kernel, stride, same', [
    ((16, 16), (2, 2), (2, 2), True),   # the selfie model's last layer
    ((4, 5), (3, 3), (2, 2), True),     # odd crop on one axis, even on the other
    ((4, 5), (3, 2), (2, 1), False),
])
def test_convolution_2d_transpose_bias(size, kernel, stride, same):
    x_val, w, b = rand(1, *size, 3), rand(2, *kernel, 3, seed=1), rand(2, seed=2)
    expected = ref_transpose_conv_bias(x_val, w, b, stride, same)
    m = TinyModel()
    x = m.input(x_val.shape)
    raw = np.array([1 if same else 2, stride[1], stride[0]], '<i4').tobytes()  # padding, stride_w, stride_h
    y = m.op('Convolution2DTransposeBias', [x, m.const(w), m.const(b)], expected.shape, custom=raw)
    np.testing.assert_allclose(run(m, [y], x_val), expected, atol=1e-5)


def test_unsupported_operator_is_named():
    m = TinyModel()
    x = m.input((1, 2, 2, 1))
    y = m.op(OP.TANH, [x], (1, 2, 2, 1))
    with pytest.raises(ConversionError, match='TANH is not supported'):
        convert(m.build([y]))


def test_declared_shape_mismatch_is_caught():
    """A wrong output shape in the flatbuffer (e.g. a padding mistake) fails the conversion."""
    m = TinyModel()
    x = m.input((1, 5, 5, 1))
    y = m.op(OP.CONV_2D, [x, m.const(rand(1, 3, 3, 1)), m.const(rand(1))], (1, 5, 5, 1), conv_options(VALID, (1, 1)))
    with pytest.raises(ConversionError, match='converted shape'):
        convert(m.build([y]))


def test_shipped_model_matches_mediapipe_runtime():
    """The committed ONNX against MediaPipe's own TFLite runtime on real photos (max abs diff of probabilities)."""
    from segtool.importers import mediapipe_selfie as script
    mediapipe_python = os.environ.get('MEDIAPIPE_PYTHON')
    if mediapipe_python is None and not script.mediapipe_available():
        pytest.skip('mediapipe is not importable (mediapipe==0.10.14 needs numpy<2, unlike this venv); set '
                    'MEDIAPIPE_PYTHON to the python of a venv that has it to run this check')
    pytest.importorskip('skimage', reason='scikit-image (test extra) provides the photos')
    variant = script.VARIANTS['general']
    images = script.verification_images(variant.input_size)
    ours = script.onnx_masks((REPO / 'models' / variant.onnx).read_bytes(), images)
    theirs = script.reference_masks(images, variant, mediapipe_python)
    assert np.abs(ours - theirs).max() <= script.TOLERANCE
