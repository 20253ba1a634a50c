"""Ways to take the class decision against the node's, taking turns.

Run from the repository root: ``.venv/bin/python docs/eval/class_decision_variants.py``. First, on (1, 11, 360,
480) random logits: whether each variant gives the node's labels (ties to the lower class id; the logits hold
two-way ties) and each one's median milliseconds (ONNX Runtime on one thread). Then the default street model on
its shipped street frames as a 640x480 camera: the model followed by the node's decision, against the model with
ONNX Runtime's ArgMax appended to its graph (the model's own threads), both with the nearest resize back to the
camera; whether every frame's mask agrees, and the median of the paired differences.
"""
import cv2
import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper

from seg_node.image_codec import Frame
from seg_node.inference import InferenceEngine
from seg_node.pipeline import build_pipeline, default_values
from seg_node.postprocessing import argmax_channels
from segtool.bench.timing import seconds, take_turns
from segtool.frame_sources import image_files, read_rgb, street_frames

CLASSES, HEIGHT, WIDTH = 11, 360, 480
MODEL = 'models/camvid_fastscnn.onnx'
CAMERA_HW = (480, 640)


def argmax_nodes(scores: str, mask: str) -> list:
    """Return the nodes that take the class decision on NCHW ``scores`` (ties to the lower id) as uint8 ``mask``."""
    return [helper.make_node('ArgMax', [scores], ['argmax'], axis=1, keepdims=0),
            helper.make_node('Cast', ['argmax'], [mask], to=TensorProto.UINT8)]


def session(model: onnx.ModelProto, threads: int = 0) -> ort.InferenceSession:
    """Open a CPU session as the node does (``threads`` 0: ONNX Runtime's default)."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.add_session_config_entry('session.intra_op.allow_spinning', '0')
    return ort.InferenceSession(model.SerializeToString(), options, providers=['CPUExecutionProvider'])


def print_medians(times: dict, baseline: str | None = None) -> None:
    """Each row's median milliseconds, and with ``baseline`` the median of its paired differences to that row."""
    for name, samples in times.items():
        line = f'{name}: {np.median(samples) * 1e3:.3f} ms'
        if baseline:
            line += f', paired median {np.median(np.subtract(samples, times[baseline])) * 1e3:+.3f} ms'
        print(line)


logits = np.random.default_rng(0).standard_normal((1, CLASSES, HEIGHT, WIDTH)).astype(np.float32)
logits[0, 7, :20] = logits[0, 4, :20]
scores = logits[0]
graph = helper.make_graph(
    argmax_nodes('x', 'm'), 'argmax',
    [helper.make_tensor_value_info('x', TensorProto.FLOAT, [1, CLASSES, HEIGHT, WIDTH])],
    [helper.make_tensor_value_info('m', TensorProto.UINT8, [1, HEIGHT, WIDTH])])
argmax_alone = session(helper.make_model(graph, opset_imports=[helper.make_opsetid('', 17)]), threads=1)


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
         'onnxruntime ArgMax': lambda: argmax_alone.run(None, {'x': logits})[0][0],
         'numpy argmax': lambda: scores.argmax(0).astype(np.uint8),
         'cv2.reduceArgMax': lambda: cv2.reduceArgMax(scores.reshape(CLASSES, -1), 0).reshape(HEIGHT, WIDTH)
         .astype(np.uint8),
         'numpy maximum, then equality': maximum_then_equality,
         'running maximum, 45 rows at a time': lambda: rows_at_a_time(45),
         'running maximum, 90 rows at a time': lambda: rows_at_a_time(90)}
node = calls['OpenCV running maximum (node)']()
for name, call in calls.items():
    print(f'{name}: same labels as the node: {np.array_equal(call(), node)}')
print_medians(take_turns({name: lambda _, call=call: seconds(call) for name, call in calls.items()}, 60, 1, 0))

engine = InferenceEngine(MODEL, ['cpu'])
pipeline = build_pipeline(engine, default_values(engine))
geometry = pipeline.geometry(CAMERA_HW)
model = onnx.load(MODEL)
model.graph.node.extend(argmax_nodes(model.graph.output[0].name, 'mask'))
model.graph.output.append(helper.make_tensor_value_info('mask', TensorProto.UINT8, None))
appended = session(model)
post = pipeline.postprocess


def node_mask(tensor: np.ndarray) -> np.ndarray:
    """Run the node's path after the preprocessing: the model, the running maximum, the resize back."""
    return post.to_camera(post.decide(engine.run(tensor), False)[0], geometry, CAMERA_HW)


def appended_mask(tensor: np.ndarray) -> np.ndarray:
    """Run the model with ArgMax appended, then the same resize back."""
    return post.to_camera(appended.run(['mask'], {engine.spec.input_name: tensor})[0][0], geometry, CAMERA_HW)


tensors = [pipeline.preprocess(Frame(cv2.resize(read_rgb(path), CAMERA_HW[::-1]), False), geometry)
           for path in image_files(street_frames())]
same = sum(np.array_equal(node_mask(tensor), appended_mask(tensor)) for tensor in tensors)
print(f'street model, {len(tensors)} street frames as a 640x480 camera: {same} masks identical')
steps = {'model, then the node decision': node_mask, 'model with ArgMax appended': appended_mask}
# a turn's two calls take the same frame
print_medians(take_turns({name: lambda call, step=step: seconds(lambda: step(tensors[(call - 1) // 2 % len(tensors)]))
                          for name, step in steps.items()}, 300, 1, 0), 'model, then the node decision')
