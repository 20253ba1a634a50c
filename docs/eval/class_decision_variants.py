"""ONNX Runtime's ArgMax against the node's OpenCV class decision on (1, 11, 360, 480) logits, taking turns.

Run from the repository root: ``.venv/bin/python docs/eval/argmax_ort_vs_opencv.py``; prints whether both give the
same labels and each one's median milliseconds (ONNX Runtime on one thread).
"""
import numpy as np
import onnxruntime as ort
from onnx import TensorProto, helper

from seg_node.postprocessing import argmax_channels
from segtool.bench.timing import seconds, take_turns

CLASSES, HEIGHT, WIDTH = 11, 360, 480
logits = np.random.default_rng(0).standard_normal((1, CLASSES, HEIGHT, WIDTH)).astype(np.float32)
graph = helper.make_graph(
    [helper.make_node('ArgMax', ['x'], ['a'], axis=1, keepdims=0),
     helper.make_node('Cast', ['a'], ['m'], to=TensorProto.UINT8)], 'argmax',
    [helper.make_tensor_value_info('x', TensorProto.FLOAT, [1, CLASSES, HEIGHT, WIDTH])],
    [helper.make_tensor_value_info('m', TensorProto.UINT8, [1, HEIGHT, WIDTH])])
options = ort.SessionOptions()
options.intra_op_num_threads = 1
session = ort.InferenceSession(helper.make_model(graph, opset_imports=[helper.make_opsetid('', 17)])
                               .SerializeToString(), options, providers=['CPUExecutionProvider'])
print('same labels:', np.array_equal(session.run(None, {'x': logits})[0][0], argmax_channels(logits[0])[0]))
calls = {'onnxruntime ArgMax': lambda: session.run(None, {'x': logits}),
         'OpenCV running maximum (node)': lambda: argmax_channels(logits[0]),
         'numpy argmax': lambda: logits[0].argmax(0).astype(np.uint8)}
times = take_turns({name: lambda _, call=call: seconds(call) for name, call in calls.items()}, 60, 1, 0)
for name, samples in times.items():
    print(f'{name}: {np.median(samples) * 1e3:.3f} ms')
