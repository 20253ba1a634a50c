"""Ways to take the class decision on (1, 11, 360, 480) logits against the node's, taking turns.

Run from the repository root: ``.venv/bin/python docs/eval/class_decision_variants.py``; prints whether each
variant gives the node's labels (ties to the lower class id; the logits hold two-way ties) and each one's median
milliseconds (ONNX Runtime on one thread).
"""
import cv2
import numpy as np
import onnxruntime as ort
from onnx import TensorProto, helper

from seg_node.postprocessing import argmax_channels
from segtool.bench.timing import seconds, take_turns

CLASSES, HEIGHT, WIDTH = 11, 360, 480
logits = np.random.default_rng(0).standard_normal((1, CLASSES, HEIGHT, WIDTH)).astype(np.float32)
logits[0, 7, :20] = logits[0, 4, :20]
scores = logits[0]
graph = helper.make_graph(
    [helper.make_node('ArgMax', ['x'], ['a'], axis=1, keepdims=0),
     helper.make_node('Cast', ['a'], ['m'], to=TensorProto.UINT8)], 'argmax',
    [helper.make_tensor_value_info('x', TensorProto.FLOAT, [1, CLASSES, HEIGHT, WIDTH])],
    [helper.make_tensor_value_info('m', TensorProto.UINT8, [1, HEIGHT, WIDTH])])
options = ort.SessionOptions()
options.intra_op_num_threads = 1
session = ort.InferenceSession(helper.make_model(graph, opset_imports=[helper.make_opsetid('', 17)])
                               .SerializeToString(), options, providers=['CPUExecutionProvider'])


def rows_at_a_time(rows: int) -> np.ndarray:
    """Run the node's running maximum over blocks of ``rows`` rows, so that the running best stays in cache."""
    return np.vstack([argmax_channels(scores[:, top:top + rows])[0] for top in range(0, HEIGHT, rows)])


def maximum_then_equality() -> np.ndarray:
    """Take the maximum over classes first (numpy), then each class's pixels equal to it, the highest id first."""
    best = scores.max(0)
    labels = np.zeros((HEIGHT, WIDTH), np.uint8)
    for class_id in range(CLASSES - 1, -1, -1):
        labels[cv2.compare(scores[class_id], best, cv2.CMP_EQ) > 0] = class_id
    return labels


calls = {'OpenCV running maximum (node)': lambda: argmax_channels(scores)[0],
         'onnxruntime ArgMax': lambda: session.run(None, {'x': logits})[0][0],
         'numpy argmax': lambda: scores.argmax(0).astype(np.uint8),
         'cv2.reduceArgMax': lambda: cv2.reduceArgMax(scores.reshape(CLASSES, -1), 0).reshape(HEIGHT, WIDTH)
         .astype(np.uint8),
         'numpy maximum, then equality': maximum_then_equality,
         'running maximum, 45 rows at a time': lambda: rows_at_a_time(45),
         'running maximum, 90 rows at a time': lambda: rows_at_a_time(90)}
node = calls['OpenCV running maximum (node)']()
for name, call in calls.items():
    print(f'{name}: same labels as the node: {np.array_equal(call(), node)}')
times = take_turns({name: lambda _, call=call: seconds(call) for name, call in calls.items()}, 60, 1, 0)
for name, samples in times.items():
    print(f'{name}: {np.median(samples) * 1e3:.3f} ms')
