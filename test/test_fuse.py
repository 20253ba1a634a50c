"""segtool fuse: a fused model's mask equals the node's own pipeline's, model by model, size by size."""
from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

import model_factory as mf
from seg_node.image_codec import Frame
from seg_node.inference import InferenceEngine, ModelError
from seg_node.model_metadata import MetadataError, ModelMetadata
from seg_node.package_files import resolve_model_path
from seg_node.params import DEFAULT_MODEL, ParamError
from seg_node.pipeline import FrameSettings, Outputs, build_pipeline, default_values
from seg_node.postprocessing import Postprocessor, nearest_indices
from segtool.cli import main
from segtool.fusion import FuseError, fuse
from segtool.datasets import ROAD_SEEDS
from segtool.frame_sources import STREET, load_frames
from segtool.road_scenes import generate_scene

ROAD = resolve_model_path('road_fastscnn.onnx')
WANT = Outputs(mask=True, confidence=True)


def fused_pair(tmp_path, path: str, camera_hw=None, bgr=False, mode='stretch', confidence=True, **values):
    """(unfused pipeline, fused pipeline) of the model at ``path``, both under the same parameters."""
    engine = InferenceEngine(path, ['cpu'])
    settings = {**default_values(engine), 'resize_mode': mode, **values}
    out = tmp_path / f'fused_{len(list(tmp_path.iterdir()))}.onnx'
    onnx.save(fuse(onnx.load(path), engine.spec, settings, camera_hw, bgr, mode, confidence), out)
    fused = InferenceEngine(str(out), ['cpu'])
    return build_pipeline(engine, settings), build_pipeline(fused, {**default_values(fused), 'resize_mode': mode})


def assert_same(unfused, fused, frame: Frame, want: Outputs = WANT, settings=None):
    """Assert the masks are equal, the confidence maps within 1 (float rounding of the softmax, OpenCV's upscaling)."""
    settings = settings or FrameSettings.defaults()
    expected, got = unfused.run(frame, want, settings), fused.run(frame, want, settings)
    assert got.labels.dtype == expected.labels.dtype
    np.testing.assert_array_equal(got.labels, expected.labels)
    if want.confidence and expected.confidence is not None:
        difference = np.abs(got.confidence.astype(int) - expected.confidence.astype(int))
        assert difference.max() <= 1
    return got


@pytest.mark.parametrize('mode', ['stretch', 'letterbox'])
@pytest.mark.parametrize('bgr', [False, True])
def test_road_model_fused_for_any_size_answers_like_the_node(tmp_path, mode, bgr):
    unfused, fused = fused_pair(tmp_path, ROAD, None, bgr, mode)
    for index, (height, width) in enumerate([(480, 640), (375, 500), (720, 1280), (240, 320)]):
        rgb = generate_scene(ROAD_SEEDS['test'] + index, height, width)[0]
        # the picture in the order the model takes, and in the other one (the node swaps it at a copy)
        for frame_bgr in (False, True):
            assert_same(unfused, fused, Frame(np.ascontiguousarray(rgb[:, :, ::-1]) if frame_bgr else rgb, frame_bgr))


@pytest.mark.parametrize('camera_hw', [(480, 640), (360, 480), (1080, 1920)])
def test_road_model_fused_for_one_camera_size_at_the_new_default_input(tmp_path, camera_hw):
    """360 x 480 is the input of the CamVid model about to become the default: 640 x 480 scales by 3/4 into it."""
    unfused, fused = fused_pair(tmp_path, ROAD, camera_hw, input_size=[360, 480])
    rgb = generate_scene(ROAD_SEEDS['test'], *camera_hw)[0]
    assert_same(unfused, fused, Frame(rgb, False))
    with pytest.raises(ValueError, match=r'takes 640x480|takes 480x360|takes 1920x1080'):
        fused.run(Frame(rgb[:-2], False), WANT, FrameSettings.defaults())


def test_the_default_street_model_fused_answers_like_the_node_on_the_shipped_street_frames(tmp_path):
    """All 40 shipped street frames, at the model's 480x360 and as a 640x480 camera: 0 differing mask pixels."""
    unfused, fused = fused_pair(tmp_path, resolve_model_path(DEFAULT_MODEL))
    for native, camera in zip(load_frames(STREET, 360, 480, 40), load_frames(STREET, 480, 640, 40), strict=True):
        assert_same(unfused, fused, Frame(native, False))
        assert_same(unfused, fused, Frame(camera, False))


TIES = np.repeat(np.repeat(np.array([[[90, 90, 90], [200, 200, 10], [10, 200, 200], [200, 10, 200]]], np.uint8),
                           8, 0), 8, 1)  # grey and two-way ties: the lower class id wins


@pytest.mark.parametrize('kwargs', [
    dict(), dict(output='probabilities'), dict(output='sigmoid'), dict(output='labels'), dict(layout='NHWC'),
    dict(out_layout='NHWC'), dict(dtype=np.float16), dict(scale=2), dict(size=(24, 32)), dict(batch='batch'),
    dict(size=(24, 32), scale=2)])
@pytest.mark.parametrize('mode', ['stretch', 'letterbox'])
def test_every_kind_of_model_fused_answers_like_the_node(tmp_path, kwargs, mode):
    path = mf.save(tmp_path, **kwargs)
    confidence = kwargs.get('output') != 'labels'
    unfused, fused = fused_pair(tmp_path, path, None, False, mode, confidence)
    pictures = [mf.random_blocks(48, 64, 4, seed=1), mf.random_blocks(37, 53, 3, seed=2), TIES]
    for picture in pictures:
        for frame in (Frame(picture, False), Frame(np.ascontiguousarray(picture[:, :, ::-1]), True)):
            assert_same(unfused, fused, frame)


def test_mask_is_uint16_above_256_classes(tmp_path):
    classes = 300
    weights = np.random.default_rng(3).normal(size=(classes, 3, 1, 1)).astype(np.float32)
    graph = helper.make_graph([helper.make_node('Conv', ['x', 'w'], ['y'])], 'many',
                              [helper.make_tensor_value_info('x', TensorProto.FLOAT, [1, 3, 16, 16])],
                              [helper.make_tensor_value_info('y', TensorProto.FLOAT, [1, classes, 16, 16])],
                              [numpy_helper.from_array(weights, 'w')])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid('', 17)])
    model.ir_version = 8
    path = tmp_path / 'many.onnx'
    onnx.save(model, path)
    unfused, fused = fused_pair(tmp_path, str(path))
    got = assert_same(unfused, fused, Frame(mf.random_blocks(40, 56, 2, seed=4), False))
    assert got.labels.dtype == np.uint16 and got.labels.max() > 255


def test_refinements_and_a_missing_confidence_take_the_scores_through_todays_path(tmp_path):
    unfused, fused = fused_pair(tmp_path, mf.save(tmp_path, size=(24, 32)), confidence=False)
    frame = Frame(mf.random_blocks(48, 64, 3, seed=5), False)
    bilinear = FrameSettings.from_values({**FrameSettings.defaults().__dict__, 'upsample': 'bilinear'})
    for settings in (FrameSettings.defaults(), bilinear):
        expected, got = unfused.run(frame, WANT, settings), fused.run(frame, WANT, settings)
        np.testing.assert_array_equal(got.labels, expected.labels)
        np.testing.assert_array_equal(got.confidence, expected.confidence)  # same scores, same code


def test_parameters_the_graph_contradicts_are_refused(tmp_path):
    unfused, fused = fused_pair(tmp_path, mf.save(tmp_path), input_size=[24, 32])  # dynamic, fused at 24 x 32
    values = default_values(fused.engine)
    for name, value in (('resize_mode', 'letterbox'), ('mean', [0.5, 0.5, 0.5]), ('input_size', [48, 64])):
        with pytest.raises(ParamError, match=f"parameter '{name}'"):
            build_pipeline(fused.engine, {**values, name: value})
    with pytest.raises(FuseError, match='fused already'):
        fuse(onnx.load(fused.engine.path), fused.engine.spec, values, None, False, 'stretch', False)


def test_fused_metadata_is_checked():
    with pytest.raises(MetadataError, match='input_kind'):
        ModelMetadata(input_kind='camera')
    with pytest.raises(MetadataError, match='needs channel_order'):
        ModelMetadata(input_kind='camera_uint8', class_names=('a',), mean=(0, 0, 0), std=(1, 1, 1))


def test_a_fused_model_without_a_mask_output_is_refused(tmp_path):
    path = tmp_path / 'bad.onnx'
    model = onnx.load_from_string(mf.colour_model())
    from seg_node.model_metadata import write_metadata
    write_metadata(model, ModelMetadata(class_names=mf.CLASS_NAMES, mean=(0, 0, 0), std=(1, 1, 1),
                                        input_kind='camera_uint8', channel_order='rgb', resize_mode='stretch'))
    onnx.save(model, path)
    with pytest.raises(ModelError, match='takes uint8'):
        InferenceEngine(str(path), ['cpu'])


@pytest.mark.parametrize('source, target', [(240, 375), (320, 500), (240, 1080), (360, 480), (239, 100)])
def test_nearest_resize_follows_pixel_centres(source, target):
    """Pick the rows of the pixel-centre rule (OpenCV 5.1's INTER_NEAREST_EXACT picks others for some sizes)."""
    plane = np.arange(source, dtype=np.uint16)[:, None].repeat(7, 1)
    resized = Postprocessor.resize(plane, (target, 7))
    np.testing.assert_array_equal(resized[:, 0], nearest_indices(source, target))
    assert np.array_equal(nearest_indices(source, target),
                          np.floor((np.arange(target) + 0.5) * source / target).clip(0, source - 1))


def test_cli_writes_a_model_the_node_describes(tmp_path, capsys):
    out = tmp_path / 'fused.onnx'
    assert main(['fuse', mf.save(tmp_path), '-o', str(out), '--camera-size', '48', '64', '--order', 'bgr']) == 0
    assert 'fused: takes bgr uint8 camera pictures of 48x64' in capsys.readouterr().out
    assert main(['describe', str(out)]) == 0
    assert 'fused: takes bgr uint8 camera pictures of 48x64' in capsys.readouterr().out
    assert main(['fuse', mf.save(tmp_path, output='labels'), '-o', str(out), '--dynamic', '--confidence']) == 1
    assert 'no confidence' in capsys.readouterr().out


#: The operators the fused wrapper may use: each supported by TensorRT 10's ONNX parser (onnx-tensorrt
#: docs/operators.md) for the types used here (float32, int32, int64, bool; uint8 only where a Cast meets the
#: network input or output), with every axes input an initializer.
TENSORRT_OPS = frozenset((
    'Add', 'ArgMax', 'Cast', 'Concat', 'Div', 'Exp', 'Floor', 'Gather', 'Greater', 'GreaterOrEqual', 'Identity',
    'Less', 'LessOrEqual', 'Max', 'Min', 'Mul', 'Neg', 'Or', 'Pad', 'Range', 'ReduceMax', 'ReduceSum', 'Round',
    'Shape', 'Slice', 'Squeeze', 'Sub', 'Transpose', 'Unsqueeze', 'Where'))


@pytest.mark.parametrize('kwargs', [dict(), dict(output='sigmoid'), dict(output='probabilities'),
                                    dict(output='labels'), dict(out_layout='NHWC', dtype=np.float16)])
def test_the_wrapper_uses_tensorrt_operators_only(tmp_path, kwargs):
    path = mf.save(tmp_path, **kwargs)
    engine = InferenceEngine(path, ['cpu'])
    inner = len(onnx.load(path).graph.node)
    for mode in ('stretch', 'letterbox'):
        fused = fuse(onnx.load(path), engine.spec, default_values(engine), None, True, mode,
                     kwargs.get('output') != 'labels')
        wrapper = [n for n in fused.graph.node if n.name.startswith('fuse/')]
        assert len(fused.graph.node) - len(wrapper) == inner
        assert {n.op_type for n in wrapper} <= TENSORRT_OPS
        uint8 = [n for n in wrapper if any(a.name == 'to' and a.i == TensorProto.UINT8 for a in n.attribute)
                 or 'image' in n.input]
        assert all(n.op_type == 'Cast' for n in uint8)
        assert all(n.output[0] in ('mask', 'confidence') for n in uint8 if 'image' not in n.input)
