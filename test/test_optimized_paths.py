"""Every fast path against the plain computation it replaces."""
import numpy as np
import pytest

import model_factory as mf
from segtool.bench.rows import reference_pipeline
from seg_node.image_codec import Frame
from seg_node.inference import InferenceEngine
from seg_node.pipeline import FrameSettings, Outputs, build_pipeline, default_values
from seg_node.postprocessing import Postprocessor, blend
from seg_node.preprocessing import IMAGENET_MEAN, IMAGENET_STD, Geometry, Preprocessor

MEAN, STD = IMAGENET_MEAN, IMAGENET_STD
SETTINGS = FrameSettings.defaults()


@pytest.mark.parametrize('layout', ['NCHW', 'NHWC'])
@pytest.mark.parametrize('bgr', [False, True])
def test_lookup_table_normalization_equals_numpy(layout, bgr):
    rgb = np.random.default_rng(0).integers(0, 256, (20, 30, 3), np.uint8)
    frame = Frame(np.ascontiguousarray(rgb[:, :, ::-1]) if bgr else rgb, bgr)
    tensor = Preprocessor(MEAN, STD, layout, np.float32)(frame, Geometry.plan((20, 30), (20, 30), 'stretch'))
    plain = (rgb / 255.0 - np.array(MEAN)) / np.array(STD)
    plain = plain.transpose(2, 0, 1) if layout == 'NCHW' else plain
    np.testing.assert_allclose(tensor[0], plain, atol=1e-6)


@pytest.mark.parametrize('layout', ['NCHW', 'NHWC'])
def test_bgr_and_rgb_frames_give_the_same_tensor_letterboxed(layout):
    rgb = np.random.default_rng(4).integers(0, 256, (30, 40, 3), np.uint8)
    geometry = Geometry.plan((30, 40), (32, 32), 'letterbox')
    preprocess = Preprocessor(MEAN, STD, layout, np.float32)
    from_rgb = preprocess(Frame(rgb, False), geometry)
    np.testing.assert_array_equal(preprocess(Frame(np.ascontiguousarray(rgb[:, :, ::-1]), True), geometry), from_rgb)
    border = from_rgb[0, :, 0, 0] if layout == 'NCHW' else from_rgb[0, 0, 0]
    assert geometry.top > 0 and np.abs(border).max() < 0.01  # the pad is the mean colour: about zero once normalized


def test_lookup_table_colours_equal_palette_indexing(tmp_path):
    engine = InferenceEngine(mf.save(tmp_path), ['cpu'])
    palette = np.random.default_rng(1).integers(0, 256, (3, 3), np.uint8)
    post = Postprocessor(engine.spec, 3, palette)
    labels = np.random.default_rng(2).integers(0, 3, (15, 25)).astype(np.uint8)
    np.testing.assert_array_equal(post.colorize(labels), palette[labels])
    np.testing.assert_array_equal(post.colorize(labels, bgr=True), palette[labels][:, :, ::-1])
    picture = np.random.default_rng(3).integers(0, 256, (15, 25, 3), np.uint8)
    plain = 0.6 * picture + 0.4 * palette[labels]
    assert np.abs(blend(picture, palette[labels], 0.4) - plain).max() <= 0.5 + 1e-9


def test_node_matches_the_reference_pipeline_at_model_resolution(tmp_path):
    """Same resolution in and out: argmax before or after upsampling is the same, so masks are equal."""
    engine = InferenceEngine(mf.save(tmp_path, size=(48, 64)), ['cpu'])
    values = default_values(engine)
    rgb = np.random.default_rng(4).integers(0, 256, (48, 64, 3), np.uint8)
    node = build_pipeline(engine, values).run(Frame(rgb, False), Outputs(mask=True), SETTINGS)
    labels, _, _ = reference_pipeline(rgb, engine.session, 'image', (48, 64), values['mean'], values['std'],
                                      np.reshape(values['palette'], (-1, 3)), 0.5)
    np.testing.assert_array_equal(node.labels, labels)


def test_low_resolution_argmax_costs_only_boundary_pixels(tmp_path):
    """Argmax at model resolution then nearest upsampling differs from upsampled logits only near edges."""
    engine = InferenceEngine(mf.save(tmp_path, size=(60, 80)), ['cpu'])
    values = default_values(engine)
    rgb = mf.random_blocks(480, 640, 24, seed=5)
    node = build_pipeline(engine, values).run(Frame(rgb, False), Outputs(mask=True), SETTINGS)
    labels, _, _ = reference_pipeline(rgb, engine.session, 'image', (60, 80), values['mean'], values['std'],
                                      np.reshape(values['palette'], (-1, 3)), 0.5)
    agreement = (node.labels == labels).mean()
    assert agreement > 0.97, agreement
    centres = (slice(12, None, 24), slice(12, None, 24))  # block centres are far from any edge
    np.testing.assert_array_equal(node.labels[centres], mf.expected_labels(rgb)[centres])
