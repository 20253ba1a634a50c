"""Tiny ONNX segmentation models built with onnx.helper, whose answer is a known function of pixel colour.

The "colour" model is a 1x1 convolution with identity weights: with mean 0 and std 1, the score of class
c (red, green, blue) is channel c of the RGB pixel / 255, so a pixel's class is its dominant channel.
A BGR/RGB mix-up swaps classes 0 and 2.
"""
from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from seg_node.model_metadata import ModelMetadata, write_metadata

CLASS_NAMES = ('red', 'green', 'blue')
PALETTE = ((255, 0, 0), (0, 255, 0), (0, 0, 255))
_ELEM = {np.float32: TensorProto.FLOAT, np.float16: TensorProto.FLOAT16}


def expected_labels(rgb: np.ndarray) -> np.ndarray:
    """Return the colour model's answer for an (H, W, 3) uint8 RGB picture: index of the largest channel."""
    return np.argmax(rgb, axis=-1).astype(np.uint8)


def colour_model(layout: str = 'NCHW', output: str = 'logits', dtype=np.float32,
                 size: tuple[int, int] | None = None, metadata: bool = True, out_layout: str | None = None,
                 scale: int = 1, batch: int | str = 1, noise: np.ndarray | None = None) -> bytes:
    """Build a serialized model: ``output`` in logits | probabilities | sigmoid | labels; ``size`` None = dynamic.

    ``scale`` > 1 makes the output that many times smaller than the input (a strided model); ``batch`` a name
    makes the batch axis dynamic. ``noise`` (3, H, W), for a fixed ``size``, is added to the class scores: a model
    whose raw argmax is noisy in a known way.
    """
    out_layout = out_layout or layout
    h, w = size if size else ('height', 'width')
    in_shape = [batch, 3, h, w] if layout == 'NCHW' else [batch, h, w, 3]
    nodes, inits = [], []
    x = 'image'
    if layout == 'NHWC':
        nodes.append(helper.make_node('Transpose', [x], ['x_nchw'], perm=[0, 3, 1, 2]))
        x = 'x_nchw'
    if dtype == np.float16:
        nodes.append(helper.make_node('Cast', [x], ['x_f32'], to=TensorProto.FLOAT))
        x = 'x_f32'
    if output == 'sigmoid':
        weight = np.array([[[[8.0]], [[0.0]], [[0.0]]]], np.float32)  # 8 * (R - 0.5)
        bias = np.array([-4.0], np.float32)
    else:
        weight = np.eye(3, dtype=np.float32).reshape(3, 3, 1, 1) * 10.0
        bias = np.zeros(3, np.float32)
    inits += [numpy_helper.from_array(weight, 'w'), numpy_helper.from_array(bias, 'b')]
    nodes.append(helper.make_node('Conv', [x, 'w', 'b'], ['scores'], strides=[scale, scale]))
    y = 'scores'
    if noise is not None:
        inits.append(numpy_helper.from_array(noise[None].astype(np.float32), 'noise'))
        nodes.append(helper.make_node('Add', [y, 'noise'], ['noisy']))
        y = 'noisy'
    if output == 'sigmoid':
        nodes.append(helper.make_node('Sigmoid', [y], ['probs']))
        y = 'probs'
    elif output == 'probabilities':
        nodes.append(helper.make_node('Softmax', [y], ['probs'], axis=1))
        y = 'probs'
    if output == 'labels':
        nodes.append(helper.make_node('ArgMax', [y], ['labels'], axis=1, keepdims=0))
        y = 'labels'
        out_type, out_shape = TensorProto.INT64, [batch, 'oh', 'ow']
    else:
        channels = 1 if output == 'sigmoid' else 3
        if dtype == np.float16:
            nodes.append(helper.make_node('Cast', [y], ['y_f16'], to=TensorProto.FLOAT16))
            y = 'y_f16'
        if out_layout == 'NHWC':
            nodes.append(helper.make_node('Transpose', [y], ['y_nhwc'], perm=[0, 2, 3, 1]))
            y = 'y_nhwc'
        out_type = _ELEM[dtype]
        oh, ow = (h // scale, w // scale) if size else ('oh', 'ow')
        out_shape = [batch, channels, oh, ow] if out_layout == 'NCHW' else [batch, oh, ow, channels]
    nodes.append(helper.make_node('Identity', [y], ['output']))
    graph = helper.make_graph(nodes, 'colour', [helper.make_tensor_value_info('image', _ELEM[dtype], in_shape)],
                              [helper.make_tensor_value_info('output', out_type, out_shape)], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid('', 17)])
    model.ir_version = 8
    if metadata:
        names = ('background', 'red') if output == 'sigmoid' else CLASS_NAMES
        write_metadata(model, ModelMetadata(class_names=names, palette=PALETTE[:len(names)], mean=(0.0, 0.0, 0.0),
                                            std=(1.0, 1.0, 1.0), output_kind=output))
    onnx.checker.check_model(model)
    return model.SerializeToString()


def slow_model(channels: int = 48, layers: int = 6) -> bytes:
    """Serialize a deliberately heavy model (3x3 convolutions of ``channels`` channels, dynamic batch and size).

    Its answer means nothing; it keeps a frame in flight long enough for a test to act during inference.
    """
    rng = np.random.default_rng(0)
    nodes, inits, x, cin = [], [], 'image', 3
    for layer in range(layers):
        cout = 3 if layer == layers - 1 else channels
        inits.append(numpy_helper.from_array(rng.normal(0, 0.1, (cout, cin, 3, 3)).astype(np.float32), f'w{layer}'))
        nodes.append(helper.make_node('Conv', [x, f'w{layer}'], [f'y{layer}'], pads=[1, 1, 1, 1]))
        x, cin = f'y{layer}', cout
    nodes.append(helper.make_node('Identity', [x], ['output']))
    shape = ['batch', 3, 'h', 'w']
    graph = helper.make_graph(nodes, 'slow', [helper.make_tensor_value_info('image', TensorProto.FLOAT, shape)],
                              [helper.make_tensor_value_info('output', TensorProto.FLOAT, shape)], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid('', 17)])
    model.ir_version = 8
    return model.SerializeToString()


def save(tmp_path, name: str = 'colour.onnx', **kwargs) -> str:
    """Write a colour model into tmp_path and return its path."""
    path = tmp_path / name
    path.write_bytes(colour_model(**kwargs))
    return str(path)


def logit_noise(size: tuple[int, int], fraction: float, amplitude: float, seed: int = 0) -> np.ndarray:
    """Return (3, H, W) score noise: ``amplitude`` added to one random class at a random ``fraction`` of pixels."""
    rng = np.random.default_rng(seed)
    noise = np.zeros((3, *size), np.float32)
    rows, cols = np.nonzero(rng.random(size) < fraction)
    noise[rng.integers(0, 3, rows.size), rows, cols] = amplitude
    return noise


def random_blocks(height: int, width: int, block: int, seed: int = 0) -> np.ndarray:
    """Make an RGB picture of ``block``-sized squares of random colours with a clear dominant channel."""
    rng = np.random.default_rng(seed)
    rows, cols = -(-height // block), -(-width // block)
    dominant = rng.integers(0, 3, (rows, cols))
    colours = rng.integers(0, 90, (rows, cols, 3))
    colours[np.arange(rows)[:, None], np.arange(cols)[None, :], dominant] = rng.integers(160, 256, (rows, cols))
    picture = np.repeat(np.repeat(colours, block, 0), block, 1)[:height, :width]
    return np.ascontiguousarray(picture, dtype=np.uint8)
