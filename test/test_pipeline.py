"""The pipeline without ROS: every model layout the node claims, pixel for pixel, letterbox and channel order."""
from dataclasses import replace

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

import model_factory as mf
from seg_node.image_codec import Frame
from seg_node.inference import InferenceEngine, ModelError
from seg_node.params import ParamError
from seg_node.pipeline import (FrameSettings, Outputs, build_pipeline, check_against_model, default_values,
                               model_defaults)
from seg_node.label_sets import voc_palette
from seg_node.postprocessing import argmax_channels
from seg_node.preprocessing import Geometry

ALL = Outputs(mask=True, color_mask=True, overlay=True, confidence=True)
SETTINGS = FrameSettings.defaults()


def pipeline(path, **overrides):
    engine = InferenceEngine(path, ['cpu'])
    return build_pipeline(engine, {**default_values(engine), **overrides})


@pytest.mark.parametrize('kwargs', [
    dict(), dict(layout='NHWC'), dict(out_layout='NHWC'), dict(layout='NHWC', out_layout='NCHW'),
    dict(output='probabilities'), dict(output='labels'), dict(dtype=np.float16), dict(size=(48, 64)),
    dict(layout='NHWC', dtype=np.float16, size=(48, 64)), dict(scale=2), dict(metadata=False),
], ids=lambda kw: '-'.join(f'{k}={getattr(v, "__name__", v)}' for k, v in kw.items()) or 'default')
def test_every_layout_gives_the_exact_mask(tmp_path, kwargs):
    pipe = pipeline(mf.save(tmp_path, **kwargs))
    rgb = mf.random_blocks(48, 64, 8, seed=1)
    for frame in (Frame(rgb, bgr=False), Frame(np.ascontiguousarray(rgb[:, :, ::-1]), bgr=True)):
        result = pipe.run(frame, ALL, SETTINGS)
        np.testing.assert_array_equal(result.labels, mf.expected_labels(rgb))
        assert result.labels.dtype == np.uint8
        assert result.color_mask.shape == result.overlay.shape == (48, 64, 3)


def test_sigmoid_model_is_binary_with_confidence(tmp_path):
    pipe = pipeline(mf.save(tmp_path, output='sigmoid'))
    rgb = mf.random_blocks(32, 32, 4, seed=2)
    result = pipe.run(Frame(rgb, False), ALL, SETTINGS)
    np.testing.assert_array_equal(result.labels, (rgb[:, :, 0] > 127).astype(np.uint8))
    probability = 1 / (1 + np.exp(-(8 * rgb[:, :, 0].astype(float) / 255 - 4)))
    expected = np.round(np.maximum(probability, 1 - probability) * 255)
    assert np.abs(result.confidence.astype(int) - expected).max() <= 1


def test_confidence_is_the_softmax_of_the_winner(tmp_path):
    pipe = pipeline(mf.save(tmp_path))
    rgb = mf.random_blocks(16, 16, 4, seed=3)
    result = pipe.run(Frame(rgb, False), ALL, SETTINGS)
    logits = 10 * rgb.astype(np.float64) / 255
    softmax = np.exp(logits - logits.max(-1, keepdims=True))
    expected = np.round(255 * (softmax / softmax.sum(-1, keepdims=True)).max(-1))
    assert np.abs(result.confidence.astype(int) - expected).max() <= 1


def test_channel_order_mixup_would_fail(tmp_path):
    """Feeding BGR pixels as RGB swaps red and blue: the expected mask must then differ."""
    pipe = pipeline(mf.save(tmp_path))
    rgb = mf.random_blocks(32, 32, 8, seed=4)
    wrong = pipe.run(Frame(np.ascontiguousarray(rgb[:, :, ::-1]), bgr=False), ALL, SETTINGS).labels
    assert (wrong != mf.expected_labels(rgb)).any()
    right = pipe.run(Frame(np.ascontiguousarray(rgb[:, :, ::-1]), bgr=True), ALL, SETTINGS).labels
    np.testing.assert_array_equal(right, mf.expected_labels(rgb))


@pytest.mark.parametrize('camera, model_hw', [((48, 64), (32, 32)), ((64, 32), (32, 32)), ((48, 64), (24, 32))])
def test_letterbox_is_undone_exactly(tmp_path, camera, model_hw):
    pipe = pipeline(mf.save(tmp_path, size=model_hw), resize_mode='letterbox')
    rgb = mf.random_blocks(*camera, 8, seed=5)
    result = pipe.run(Frame(rgb, False), ALL, SETTINGS)
    assert result.labels.shape == camera
    np.testing.assert_array_equal(result.labels, mf.expected_labels(rgb))


def test_letterbox_geometry():
    g = Geometry.plan((480, 640), (320, 320), 'letterbox')
    assert (g.top, g.left, g.height, g.width) == (40, 0, 240, 320)
    g = Geometry.plan((720, 360), (256, 256), 'letterbox')
    assert (g.top, g.left, g.height, g.width) == (0, 64, 256, 128)
    assert Geometry.plan((480, 640), (256, 512), 'stretch').content == (slice(0, 256), slice(0, 512))
    with pytest.raises(ValueError, match='zoom'):
        Geometry.plan((1, 1), (1, 1), 'zoom')


def test_stretch_to_a_smaller_model_resizes_labels_back(tmp_path):
    pipe = pipeline(mf.save(tmp_path, size=(24, 32)))
    rgb = mf.random_blocks(48, 64, 8, seed=6)
    np.testing.assert_array_equal(pipe.run(Frame(rgb, False), ALL, SETTINGS).labels, mf.expected_labels(rgb))


def test_outputs_not_wanted_are_not_computed(tmp_path):
    pipe = pipeline(mf.save(tmp_path))
    result = pipe.run(Frame(mf.random_blocks(16, 16, 4), False), Outputs(mask=True), SETTINGS)
    assert result.color_mask is None and result.overlay is None and result.confidence is None


def test_overlay_blends_with_alpha(tmp_path):
    pipe = pipeline(mf.save(tmp_path))
    rgb = mf.random_blocks(16, 16, 4, seed=7)
    overlay = pipe.run(Frame(rgb, False), ALL, replace(SETTINGS, overlay_alpha=0.3)).overlay
    colours = np.array(mf.PALETTE, float)[mf.expected_labels(rgb)]
    assert np.abs(overlay - (0.7 * rgb + 0.3 * colours)).max() <= 1.0


def test_argmax_channels_matches_numpy_including_ties():
    rng = np.random.default_rng(0)
    scores = rng.integers(0, 4, (7, 20, 30)).astype(np.float32)  # many ties
    labels, best = argmax_channels(scores)
    np.testing.assert_array_equal(labels, np.argmax(scores, axis=0))
    np.testing.assert_array_equal(best, scores.max(axis=0))
    many = rng.normal(size=(300, 4, 5)).astype(np.float32)
    labels, _ = argmax_channels(many)
    assert labels.dtype == np.uint16
    np.testing.assert_array_equal(labels, np.argmax(many, axis=0))


def test_default_palette_is_distinct():
    palette = voc_palette(256)
    assert len({tuple(c) for c in palette}) == 256 and tuple(palette[0]) == (0, 0, 0)


def test_parameters_must_agree_with_the_model(tmp_path):
    engine = InferenceEngine(mf.save(tmp_path, size=(32, 32)), ['cpu'])
    values = model_defaults(engine.spec, engine.metadata)
    assert values['class_names'] == list(mf.CLASS_NAMES) and values['input_size'] == [32, 32]
    with pytest.raises(ParamError, match="'class_names': 4 names but the model outputs 3 classes"):
        check_against_model(engine.spec, {**values, 'class_names': list('abcd')})
    with pytest.raises(ParamError, match="'palette': 2 colours for 3 classes"):
        check_against_model(engine.spec, {**values, 'palette': [1, 2, 3, 4, 5, 6]})
    with pytest.raises(ParamError, match=r"'input_size': \[64, 64\] but the model's input is fixed at \[32, 32\]"):
        check_against_model(engine.spec, {**values, 'input_size': [64, 64]})


def graph_model(tmp_path, nodes, inputs, outputs):
    model = helper.make_model(helper.make_graph(nodes, 'g', inputs, outputs),
                              opset_imports=[helper.make_opsetid('', 17)])
    model.ir_version = 8
    path = tmp_path / 'g.onnx'
    onnx.save(model, path)
    return str(path)


def vi(name, shape, elem=TensorProto.FLOAT):
    return helper.make_tensor_value_info(name, elem, shape)


@pytest.mark.parametrize('in_shape, out_shape, message', [
    ([1, 4, 'h', 'w'], [1, 4, 'h', 'w'], 'cannot tell the input layout'),
    ([1, 3, 'h', 'w'], [1, 'c', 'h', 'w'], 'a trial run on zeros of shape [1, 3, 64, 64] failed'),
    ([1, 3, 8, 8], [1, 3, 8, 8, 1], 'expected [1,C,H,W], [1,H,W,C] or [1,H,W]'),
    ([1, 3], [1, 3], 'expected a 4-D image tensor'),
])
def test_unusable_models_are_refused_with_a_reason(tmp_path, in_shape, out_shape, message):
    """The output's shape comes from a second input, so only its declared shape is known."""
    nodes = [helper.make_node('Reshape', ['x', 'shape'], ['y'])]
    inputs = [vi('x', in_shape), vi('shape', [len(out_shape)], TensorProto.INT64)]
    path = graph_model(tmp_path, nodes, inputs, [vi('y', out_shape)])
    with pytest.raises(ModelError) as err:
        InferenceEngine(path, ['cpu'])
    assert message in str(err.value)


def test_unknown_provider_is_refused(tmp_path):
    with pytest.raises(ModelError, match="unknown provider 'tpu'"):
        InferenceEngine(mf.save(tmp_path), ['tpu'])


def test_provider_chain_keeps_what_the_build_has_and_ends_on_cpu(tmp_path):
    from seg_node.inference import provider_chain
    cpu_only = ['CPUExecutionProvider']
    assert provider_chain(['tensorrt', 'cuda', 'cpu'], cpu_only, str(tmp_path)) == cpu_only
    gpu = ['TensorrtExecutionProvider', 'CUDAExecutionProvider', 'CPUExecutionProvider']
    chain = provider_chain(['tensorrt', 'cuda'], gpu, str(tmp_path / 'trt'))
    assert chain[0] == ('TensorrtExecutionProvider', {'trt_fp16_enable': True, 'trt_engine_cache_enable': True,
                                                      'trt_engine_cache_path': str(tmp_path / 'trt')})
    assert chain[1:] == ['CUDAExecutionProvider', 'CPUExecutionProvider'] and (tmp_path / 'trt').is_dir()
    assert provider_chain(['cuda', 'cuda'], gpu, str(tmp_path)) == ['CUDAExecutionProvider', 'CPUExecutionProvider']


def test_a_class_axis_the_model_does_not_declare_is_found_by_a_trial_run(tmp_path):
    """ONNX export by torch leaves the class axis symbolic after a Resize: the node runs the model once to see it."""
    model = onnx.load_from_string(mf.colour_model())
    dims = model.graph.output[0].type.tensor_type.shape.dim
    dims[1].dim_param = 'Resizelogits_dim_1'
    path = tmp_path / 'symbolic.onnx'
    onnx.save(model, path)
    engine = InferenceEngine(str(path), ['cpu'])
    assert (engine.spec.output_layout, engine.spec.num_classes) == ('NCHW', 3)
    rgb = mf.random_blocks(32, 48, 8)
    np.testing.assert_array_equal(
        build_pipeline(engine, default_values(engine)).run(Frame(rgb, False), ALL, SETTINGS).labels,
        mf.expected_labels(rgb))


def test_frames_of_several_cameras_run_as_one_batch_when_the_batch_axis_is_dynamic(tmp_path):
    pipe = pipeline(mf.save(tmp_path, batch='batch'))
    calls = []
    run = pipe.engine.run
    pipe.engine.run = lambda tensor: calls.append(tensor.shape[0]) or run(tensor)
    pictures = [mf.random_blocks(48, 64, 8, seed=s) for s in (21, 22, 23)] + [mf.random_blocks(32, 32, 8, seed=24)]
    wants = [ALL, Outputs(mask=True), ALL, Outputs(mask=True, overlay=True)]
    results = pipe.run_batch([Frame(p, False) for p in pictures], wants, SETTINGS, [None] * 4)
    assert sorted(calls) == [1, 3]  # the three 48x64 frames together, the 32x32 one alone
    assert [r.batch_size for r in results] == [3, 3, 3, 1]
    for picture, want, result in zip(pictures, wants, results):
        np.testing.assert_array_equal(result.labels, mf.expected_labels(picture))
        assert (result.color_mask is not None) == want.color_mask and (result.overlay is not None) == want.overlay
        np.testing.assert_array_equal(result.labels, pipe.run(Frame(picture, False), want, SETTINGS).labels)


def test_a_fixed_batch_model_runs_frames_one_by_one(tmp_path):
    pipe = pipeline(mf.save(tmp_path))
    assert not pipe.engine.spec.dynamic_batch
    pictures = [mf.random_blocks(16, 16, 4, seed=s) for s in (25, 26)]
    results = pipe.run_batch([Frame(p, False) for p in pictures], [ALL, ALL], SETTINGS, [None, None])
    assert [r.batch_size for r in results] == [1, 1]
    for picture, result in zip(pictures, results):
        np.testing.assert_array_equal(result.labels, mf.expected_labels(picture))
