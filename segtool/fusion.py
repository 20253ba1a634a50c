"""``segtool fuse``: wrap a model so that its own graph runs the node's whole frame path.

The fused graph takes the camera picture as it arrives (uint8 N x H x W x 3, RGB or BGR) and returns what the
node publishes: the node's preprocessing (bilinear resize with OpenCV's pixel-centre convention, rounded to uint8
like OpenCV, stretch or letterbox, normalization, layout), the wrapped model, and its postprocessing (argmax, ties
to the lower class id; the confidence map; the letterbox crop and the nearest resize back to camera size) in ONNX
operators that ONNX Runtime's TensorRT provider runs (docs/performance.md#the-whole-frame-in-one-graph). The
geometry is computed inside the graph with the same integer arithmetic as ``seg_node.preprocessing.Geometry``.
"""
from __future__ import annotations

from typing import Mapping

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper, version_converter

from seg_node.inference import ModelSpec
from seg_node.model_metadata import FUSED_OUTPUTS, ModelMetadata, write_metadata

#: The lowest opset the wrapper's operators are written for (Resize, Pad, Slice, Squeeze and ReduceSum with inputs).
MIN_OPSET = 13
_INPUT = 'image'
_RESERVED = frozenset((_INPUT, *FUSED_OUTPUTS))


class FuseError(ValueError):
    """A model that cannot be fused; the text says why."""


class _Graph:
    """The wrapper's nodes and constants: tensors named ``fuse/<n>`` (or an output's name), nodes ``fuse/<output>``."""

    def __init__(self, opset: int) -> None:
        self.opset = opset
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []

    def _name(self) -> str:
        return f'fuse/{len(self.nodes) + len(self.initializers)}'

    def const(self, values, dtype=np.int64) -> str:
        """Return the name of a constant tensor holding ``values`` (a 1-D vector unless already an array)."""
        name = self._name()
        self.initializers.append(numpy_helper.from_array(np.asarray(values, dtype), name))
        return name

    def op(self, op_type: str, *inputs: str, output: str | None = None, **attributes) -> str:
        """Append a node with one output; return that output's name."""
        output = output or self._name()
        self.nodes.append(helper.make_node(op_type, list(inputs), [output], name=f'fuse/{output}', **attributes))
        return output

    def reduce(self, op_type: str, x: str, axis: int, keepdims: int) -> str:
        """ReduceMax/ReduceSum over one axis (axes an attribute or an input, as the opset wants)."""
        if op_type == 'ReduceSum' or self.opset >= 18:
            return self.op(op_type, x, self.const([axis]), keepdims=keepdims)
        return self.op(op_type, x, axes=[axis], keepdims=keepdims)

    def scaled(self, length: str, numerator: str, denominator: str) -> str:
        """``length * numerator / denominator`` rounded half up, as ``seg_node.preprocessing.scaled``."""
        two = self.const([2])
        top = self.op('Add', self.op('Mul', self.op('Mul', two, length), numerator), denominator)
        return self.op('Div', top, self.op('Mul', two, denominator))


def fuse(model: onnx.ModelProto, spec: ModelSpec, values: Mapping, camera_hw: tuple[int, int] | None,
         bgr: bool, resize_mode: str, confidence: bool) -> onnx.ModelProto:
    """Return ``model`` wrapped to take camera pictures (``camera_hw`` None: any size) and return the mask.

    ``spec`` is the node's reading of ``model`` and ``values`` the parameters it would run it under (class names,
    palette, mean, std, input_size): the fused graph does what the node would do with them.
    """
    if spec.camera:
        raise FuseError('the model is fused already')
    if spec.output_kind == 'labels' and confidence:
        raise FuseError('the model outputs class ids: there is no confidence to compute')
    model = _at_least(model, MIN_OPSET)
    graph = _Graph(next(o.version for o in model.opset_import if o.domain in ('', 'ai.onnx')))
    inner = model.graph
    _rename(inner, {name: f'inner/{name}' for name in _RESERVED})
    if len(inner.input) - len(inner.initializer) > 1:
        raise FuseError('the model has more than one input')
    model_input = next(i for i in inner.input if i.name not in {t.name for t in inner.initializer})
    batch_dim = model_input.type.tensor_type.shape.dim[0]
    batch = batch_dim.dim_value if batch_dim.HasField('dim_value') else 'batch'
    input_hw = tuple(values['input_size']) if 0 not in values['input_size'] else None

    pixels = graph.op('Cast', _INPUT, to=TensorProto.INT32)  # TensorRT takes uint8 at a Cast only
    shape = graph.op('Shape', pixels)
    frame_h, frame_w = (graph.op('Slice', shape, graph.const([i]), graph.const([i + 1])) for i in (1, 2))
    in_h, in_w = (graph.const([v]) for v in input_hw) if input_hw else (frame_h, frame_w)
    top, left, height, width = _geometry(graph, frame_h, frame_w, in_h, in_w, resize_mode, input_hw is not None)
    tensor = _preprocess(graph, pixels, (frame_h, frame_w), (top, left, height, width), (in_h, in_w), values, bgr,
                         input_hw is not None)
    if spec.input_layout == 'NHWC':
        tensor = graph.op('Transpose', tensor, perm=[0, 2, 3, 1])
    if spec.input_dtype == np.float16:
        tensor = graph.op('Cast', tensor, to=TensorProto.FLOAT16)
    graph.op('Identity', tensor, output=model_input.name)
    preprocessing = len(graph.nodes)

    raw = inner.output[0].name
    decision, score = _decide(graph, raw, spec, confidence)
    out_h, out_w = _output_hw(graph, raw, spec)
    rows = (graph.scaled(top, out_h, in_h), graph.scaled(graph.op('Add', top, height), out_h, in_h))
    cols = (graph.scaled(left, out_w, in_w), graph.scaled(graph.op('Add', left, width), out_w, in_w))
    classes = len(values['class_names'])
    label_type = TensorProto.UINT8 if classes <= 256 else TensorProto.UINT16
    # whole rows are gathered (a copy each): columns as rows of the transposed crop, then the rows
    labels = graph.op('Transpose', _crop(graph, decision, rows, cols), perm=[0, 2, 1])
    labels = graph.op('Gather', labels, _nearest_indices(graph, graph.op('Sub', cols[1], cols[0]), frame_w), axis=1)
    labels = graph.op('Transpose', labels, perm=[0, 2, 1])
    labels = graph.op('Gather', labels, _nearest_indices(graph, graph.op('Sub', rows[1], rows[0]), frame_h), axis=1)
    graph.op('Cast', labels, to=label_type, output='mask')
    frame_dims = list(camera_hw) if camera_hw else ['height', 'width']
    outputs = [helper.make_tensor_value_info('mask', label_type, [batch, *frame_dims])]
    if score is not None:
        crop_hw = (graph.op('Sub', rows[1], rows[0]), graph.op('Sub', cols[1], cols[0]))
        columns_first = graph.op('Transpose', _crop(graph, score, rows, cols), perm=[0, 2, 1])
        smooth = _resize_like_opencv(graph, columns_first, 3, crop_hw, (frame_h, frame_w))
        graph.op('Cast', smooth, to=TensorProto.UINT8, output='confidence')
        outputs.append(helper.make_tensor_value_info('confidence', TensorProto.UINT8, [batch, *frame_dims]))
    if spec.output_kind != 'labels':
        scores = graph.op('Transpose', raw, perm=[0, 3, 1, 2]) if spec.output_layout == 'NHWC' else raw
        graph.op('Identity', scores, output='scores')
        channels = spec.num_classes if spec.output_layout != 'NHW' else None
        dims = [batch, *([channels] if channels else []), 'scores_height', 'scores_width']
        elem = inner.output[0].type.tensor_type.elem_type
        outputs.append(helper.make_tensor_value_info('scores', elem, dims))

    image = helper.make_tensor_value_info(_INPUT, TensorProto.UINT8, [batch, *frame_dims, 3])
    nodes = graph.nodes[:preprocessing] + list(inner.node) + graph.nodes[preprocessing:]
    wrapped = helper.make_graph(nodes, f'fused_{inner.name or "model"}', [image], outputs,
                                graph.initializers + list(inner.initializer))
    fused = helper.make_model(wrapped, opset_imports=list(model.opset_import), producer_name='segtool fuse')
    fused.ir_version = model.ir_version
    fused.metadata_props.extend(model.metadata_props)
    names = tuple(values['class_names'])
    write_metadata(fused, ModelMetadata(
        class_names=names, palette=tuple(tuple(int(c) for c in rgb) for rgb in
                                         np.reshape(values['palette'], (-1, 3))[:len(names)]),
        mean=tuple(float(v) for v in values['mean']), std=tuple(float(v) for v in values['std']),
        input_size=input_hw, output_kind=spec.output_kind, input_kind='camera_uint8',
        channel_order='bgr' if bgr else 'rgb', resize_mode=resize_mode))
    onnx.checker.check_model(fused)
    return fused


def _at_least(model: onnx.ModelProto, opset: int) -> onnx.ModelProto:
    """Return ``model`` converted to ``opset`` if its default-domain opset is older."""
    version = next((o.version for o in model.opset_import if o.domain in ('', 'ai.onnx')), None)
    if version is None:
        raise FuseError('the model imports no ONNX operator set')
    return version_converter.convert_version(model, opset) if version < opset else model


def _rename(graph: onnx.GraphProto, renames: dict[str, str]) -> None:
    """Rename the tensors of ``graph`` listed in ``renames`` (so the wrapper's names stay free)."""
    for node in graph.node:
        node.input[:] = [renames.get(name, name) for name in node.input]
        node.output[:] = [renames.get(name, name) for name in node.output]
    for entries in (graph.input, graph.output, graph.value_info, graph.initializer):
        for entry in entries:
            entry.name = renames.get(entry.name, entry.name)


def _geometry(graph: _Graph, frame_h: str, frame_w: str, in_h: str, in_w: str, mode: str,
              resized: bool) -> tuple[str, str, str, str]:
    """Where the picture lies in the model input (top, left, height, width), as ``Geometry.plan`` puts it."""
    if mode == 'stretch' or not resized:
        zero = graph.const([0])
        return zero, zero, in_h, in_w
    one, two = graph.const([1]), graph.const([2])
    height_limits = graph.op('LessOrEqual', graph.op('Mul', in_h, frame_w), graph.op('Mul', in_w, frame_h))
    free_h = graph.op('Min', in_h, graph.op('Max', one, graph.scaled(frame_h, in_w, frame_w)))
    free_w = graph.op('Min', in_w, graph.op('Max', one, graph.scaled(frame_w, in_h, frame_h)))
    height = graph.op('Where', height_limits, in_h, free_h)
    width = graph.op('Where', height_limits, free_w, in_w)
    top = graph.op('Div', graph.op('Sub', in_h, height), two)
    left = graph.op('Div', graph.op('Sub', in_w, width), two)
    return top, left, height, width


def _preprocess(graph: _Graph, pixels: str, frame_hw: tuple[str, str], box: tuple[str, str, str, str],
                input_hw: tuple[str, str], values: Mapping, bgr: bool, resized: bool) -> str:
    """Turn the camera picture (int32 N, H, W, 3) into the normalized (N, 3, h, w) RGB input, as ``Preprocessor``."""
    top, left, height, width = box
    in_h, in_w = input_hw
    if resized:
        planes = graph.op('Transpose', pixels, perm=[0, 3, 2, 1])
        picture = _resize_like_opencv(graph, planes, 4, frame_hw, (height, width))
    else:
        picture = graph.op('Transpose', graph.op('Cast', pixels, to=TensorProto.FLOAT), perm=[0, 3, 1, 2])
    if bgr:
        picture = graph.op('Gather', picture, graph.const([2, 1, 0]), axis=1)
    mean = np.asarray(values['mean'], np.float32).reshape(1, 3, 1, 1)
    std = np.asarray(values['std'], np.float32).reshape(1, 3, 1, 1)
    if resized:  # letterbox bands of the mean colour: padded with 0 around the picture less that colour
        fill = graph.const(np.clip(np.round(mean * 255.0), 0, 255), np.float32)
        zero = graph.const([0])
        bottom = graph.op('Sub', graph.op('Sub', in_h, height), top)
        right = graph.op('Sub', graph.op('Sub', in_w, width), left)
        pads = graph.op('Concat', zero, zero, top, left, zero, zero, bottom, right, axis=0)
        picture = graph.op('Add', graph.op('Pad', graph.op('Sub', picture, fill), pads), fill)
    scaled = graph.op('Div', picture, graph.const(np.float32(255.0), np.float32))
    return graph.op('Div', graph.op('Sub', scaled, graph.const(mean, np.float32)), graph.const(std, np.float32))


def _resize_like_opencv(graph: _Graph, columns_first: str, rank: int, source_hw: tuple[str, str],
                        target_hw: tuple[str, str]) -> str:
    """Resize a uint8-valued (..., W, H) tensor, columns first, to (..., h, w) float as cv2.resize INTER_LINEAR does.

    OpenCV resizes uint8 pictures in fixed point: 11-bit weights at pixel centres, a horizontal pass in integers,
    then a vertical pass that drops 4 bits before each weighting and rounds the sum (its SIMD path, which serves
    whole rows). The same integer steps here, in int32 (the divisions by powers of two are its shifts); each pass
    gathers whole rows (a copy each; one element at a time is several times slower on a CPU).
    """
    columns = _linear_taps(graph, source_hw[1], target_hw[1])
    rows = _linear_taps(graph, source_hw[0], target_hw[0])
    picture = graph.op('Cast', columns_first, to=TensorProto.INT32)
    across = graph.op('Add', *(graph.op('Mul', graph.op('Gather', picture, index, axis=-2), _unsqueeze(graph, weight))
                               for index, weight in columns))
    across = graph.op('Transpose', across, perm=[*range(rank - 2), rank - 1, rank - 2])
    sixteen, big = graph.const([16], np.int32), graph.const([65536], np.int32)
    down = [graph.op('Div', graph.op('Mul', graph.op('Div', graph.op('Gather', across, index, axis=-2), sixteen),
                                     _unsqueeze(graph, weight)), big)
            for index, weight in rows]
    total = graph.op('Add', graph.op('Add', *down), graph.const([2], np.int32))
    return graph.op('Cast', graph.op('Div', total, graph.const([4], np.int32)), to=TensorProto.FLOAT)


def _unsqueeze(graph: _Graph, weight: str) -> str:
    """Shape a weight per position along the second-last axis as a column that multiplies whole rows."""
    return graph.op('Unsqueeze', weight, graph.const([1]))


def _linear_taps(graph: _Graph, source: str, target: str) -> list[tuple[str, str]]:
    """Return OpenCV's two taps per output pixel along one axis: (source index, 11-bit weight), left and right.

    The source coordinate ``(d + 0.5) * source / target - 0.5`` is the float32 nearest the exact ratio, as OpenCV
    rounds its double; coordinates before the first pixel or past the last take that pixel alone.
    """
    positions = graph.op('Range', graph.const(0), graph.op('Squeeze', target, graph.const([0])), graph.const(1))
    two, one = graph.const([2]), graph.const([1])
    numerator = graph.op('Sub', graph.op('Mul', graph.op('Add', graph.op('Mul', two, positions), one), source), target)
    coordinate = graph.op('Div', graph.op('Cast', numerator, to=TensorProto.FLOAT),
                          graph.op('Cast', graph.op('Mul', two, target), to=TensorProto.FLOAT))
    floor = graph.op('Floor', coordinate)
    last = graph.op('Cast', graph.op('Sub', source, one), to=TensorProto.FLOAT)
    zero = graph.const(np.float32(0.0), np.float32)
    outside = graph.op('Or', graph.op('Less', floor, zero), graph.op('GreaterOrEqual', floor, last))
    fraction = graph.op('Where', outside, zero, graph.op('Sub', coordinate, floor))
    first = graph.op('Min', graph.op('Max', floor, zero), last)
    second = graph.op('Min', graph.op('Add', first, graph.const(np.float32(1.0), np.float32)), last)
    scale = graph.const(np.float32(2048.0), np.float32)
    right = graph.op('Round', graph.op('Mul', fraction, scale))
    rest = graph.op('Sub', graph.const(np.float32(1.0), np.float32), fraction)
    left = graph.op('Round', graph.op('Mul', rest, scale))
    return [(graph.op('Cast', first, to=TensorProto.INT64), graph.op('Cast', left, to=TensorProto.INT32)),
            (graph.op('Cast', second, to=TensorProto.INT64), graph.op('Cast', right, to=TensorProto.INT32))]


def _decide(graph: _Graph, raw: str, spec: ModelSpec, confidence: bool) -> tuple[str, str | None]:
    """(N, h, w) float class ids and, if asked, the winner's probability x 255 rounded, as ``Postprocessor.decide``."""
    if spec.output_kind == 'labels':
        plane = _plane(graph, raw, spec.output_layout)
        return graph.op('Cast', plane, to=TensorProto.FLOAT), None
    scores = graph.op('Cast', raw, to=TensorProto.FLOAT)
    if spec.num_classes == 1:
        plane = _plane(graph, scores, spec.output_layout)
        one = graph.const(np.float32(1.0), np.float32)
        if spec.output_kind == 'logits':
            plane = graph.op('Div', one, graph.op('Add', one, graph.op('Exp', graph.op('Neg', plane))))
        labels = graph.op('Cast', graph.op('Greater', plane, graph.const(np.float32(0.5), np.float32)),
                          to=TensorProto.FLOAT)
        best = graph.op('Max', plane, graph.op('Sub', one, plane)) if confidence else None
    else:
        axis = 3 if spec.output_layout == 'NHWC' else 1
        labels = graph.op('Cast', graph.op('ArgMax', scores, axis=axis, keepdims=0, select_last_index=0),
                          to=TensorProto.FLOAT)
        best = None
        if confidence:
            top = graph.reduce('ReduceMax', scores, axis, keepdims=1)
            if spec.output_kind == 'probabilities':
                best = graph.op('Squeeze', top, graph.const([axis]))
            else:  # 1 / sum_c exp(score_c - best)
                total = graph.reduce('ReduceSum', graph.op('Exp', graph.op('Sub', scores, top)), axis, keepdims=0)
                best = graph.op('Div', graph.const(np.float32(1.0), np.float32), total)
    if best is not None:  # as cv2.convertScaleAbs(best, alpha=255): rounded to nearest, ties to even
        best = graph.op('Round', graph.op('Mul', best, graph.const(np.float32(255.0), np.float32)))
    return labels, best


def _plane(graph: _Graph, raw: str, layout: str) -> str:
    """Return the (N, h, w) plane of a one-channel output."""
    if layout == 'NHW':
        return raw
    return graph.op('Squeeze', raw, graph.const([1 if layout == 'NCHW' else 3]))


def _output_hw(graph: _Graph, raw: str, spec: ModelSpec) -> tuple[str, str]:
    """Return the model output's height and width, read from its shape."""
    shape = graph.op('Shape', raw)
    first = 2 if spec.output_layout == 'NCHW' else 1
    return tuple(graph.op('Slice', shape, graph.const([a]), graph.const([a + 1])) for a in (first, first + 1))


def _nearest_indices(graph: _Graph, source: str, target: str) -> str:
    """``seg_node.postprocessing.nearest_indices`` in the graph: floor((2i + 1) * source / (2 * target))."""
    positions = graph.op('Range', graph.const(0), graph.op('Squeeze', target, graph.const([0])), graph.const(1))
    two = graph.const([2])
    odd = graph.op('Add', graph.op('Mul', two, positions), graph.const([1]))
    index = graph.op('Div', graph.op('Mul', odd, source), graph.op('Mul', two, target))
    return graph.op('Min', index, graph.op('Sub', source, graph.const([1])))


def _crop(graph: _Graph, plane: str, rows: tuple[str, str], cols: tuple[str, str]) -> str:
    """Return the picture's part of an (N, h, w) plane."""
    starts = graph.op('Concat', rows[0], cols[0], axis=0)
    ends = graph.op('Concat', rows[1], cols[1], axis=0)
    return graph.op('Slice', plane, starts, ends, graph.const([1, 2]))
