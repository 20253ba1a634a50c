"""Refinements after the network (seg_node.refine) without ROS: each checked against a direct computation."""
from dataclasses import replace

import cv2
import numpy as np
import pytest
import yaml

import model_factory as mf
from seg_node.image_codec import Frame
from seg_node.inference import InferenceEngine
from seg_node.label_sets import CAMVID
from seg_node.package_files import ROAD_MODEL, config_file, resolve_model_path
from seg_node.params import ParamError
from seg_node.pipeline import (FrameSettings, Outputs, build_pipeline, check_against_model, default_values,
                               model_defaults)
from seg_node.postprocessing import softmax
from seg_node.refine.crf import AppearanceMessage, SmoothnessMessage, dense_crf, mean_field_step
from seg_node.refine.groups import UNKNOWN_GROUP, ClassGroups
from seg_node.refine.regions import remove_small_regions
from seg_node.refine.temporal import CameraStream
from seg_node.refine.upsample import bilinear_labels


def exact_message(kernel: np.ndarray, q: np.ndarray) -> np.ndarray:
    """M_i(l) = sum_{j != i} k(i, j) Q_j(l) / sum_{j != i} k(i, j), written out pixel by pixel."""
    classes, h, w = q.shape
    flat = q.reshape(classes, -1)
    out = np.zeros_like(flat)
    for i in range(h * w):
        weights = [(kernel[i, j], j) for j in range(h * w) if j != i]
        total = sum(k for k, _ in weights)
        for label in range(classes):
            out[label, i] = sum(k * flat[label, j] for k, j in weights) / total
    return out.reshape(q.shape)


def kernel_matrix(h: int, w: int, spatial_sigma: float, image: np.ndarray | None = None,
                  color_sigma: float = 1.0, radius: int | None = None) -> np.ndarray:
    """k(i, j) for every pair of pixels: Gaussian in position (zero beyond ``radius`` per axis), times colour."""
    kernel = np.zeros((h * w, h * w))
    for i in range(h * w):
        for j in range(h * w):
            (yi, xi), (yj, xj) = divmod(i, w), divmod(j, w)
            if radius is not None and (abs(yi - yj) > radius or abs(xi - xj) > radius):
                continue
            energy = ((yi - yj) ** 2 + (xi - xj) ** 2) / (2 * spatial_sigma ** 2)
            if image is not None:
                difference = image[yi, xi].astype(float) - image[yj, xj]
                energy += (difference ** 2).sum() / (2 * color_sigma ** 2)
            kernel[i, j] = np.exp(-energy)
    return kernel


def test_mean_field_update_matches_the_equations_by_hand():
    """One update: Q_i(l) = exp(log P_i(l) + sum_m w_m M^m_i(l)) / Z_i with every message summed by hand."""
    rng = np.random.default_rng(0)
    h, w, classes = 4, 5, 3
    p = rng.random((classes, h, w)).astype(np.float32) + 0.05
    p /= p.sum(axis=0)
    q = rng.random((classes, h, w)).astype(np.float32)
    q /= q.sum(axis=0)
    image = rng.integers(0, 256, (h, w, 3)).astype(np.uint8)
    appearance = kernel_matrix(h, w, 2.0, image, 60.0)
    smoothness = kernel_matrix(h, w, 1.0, radius=3)  # the smoothness filter stops at 3 sigma

    def by_hand(q_in):
        energy = np.log(p) + 4.0 * exact_message(appearance, q_in) + 2.0 * exact_message(smoothness, q_in)
        return np.exp(energy) / np.exp(energy).sum(axis=0)

    smooth_message = SmoothnessMessage((h, w), 1.0)
    np.testing.assert_allclose(smooth_message(q), exact_message(smoothness, q), atol=1e-5)
    messages = [(4.0, lambda x: exact_message(appearance, x).astype(np.float32)), (2.0, smooth_message)]
    step = mean_field_step(np.log(p), q, messages)
    np.testing.assert_allclose(step, by_hand(q), atol=1e-5)
    np.testing.assert_allclose(step.sum(axis=0), 1.0, atol=1e-6)


def test_appearance_grid_approximates_the_exact_kernel():
    """The bilateral-grid message stays close to the exact appearance message on a small picture."""
    rng = np.random.default_rng(1)
    h, w = 12, 16
    image = cv2.resize(rng.integers(0, 256, (3, 4, 3)).astype(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST)
    image = np.clip(image + rng.normal(0, 4, image.shape), 0, 255).astype(np.uint8)
    q = softmax(cv2.resize(rng.normal(0, 2, (3, 4, 4)).astype(np.float32), (w, h)).transpose(2, 0, 1).copy())
    exact = exact_message(kernel_matrix(h, w, 6.0, image, 20.0), q)
    approximate = AppearanceMessage(image, 6.0, 20.0)(q)
    assert np.abs(approximate - exact).mean() < 0.05
    assert np.corrcoef(approximate.ravel(), exact.ravel())[0, 1] > 0.95


def test_appearance_grid_without_the_packed_sort_gives_the_same_message(monkeypatch):
    """Keys too large to carry the pixel index (a huge input, tiny sigmas) take the plain argsort."""
    rng = np.random.default_rng(2)
    image = rng.integers(0, 256, (6, 7, 3)).astype(np.uint8)
    q = softmax(rng.normal(size=(3, 6, 7)).astype(np.float32))
    packed = AppearanceMessage(image, 2.0, 30.0)(q)
    monkeypatch.setattr(np, 'iinfo', lambda dtype: type('Info', (), {'max': 0})())
    np.testing.assert_allclose(AppearanceMessage(image, 2.0, 30.0)(q), packed, atol=1e-6)


def noisy_scores(seed: int = 3) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(probabilities (3, H, W), picture, truth): blocks of colour, class scores with sparse strong noise."""
    picture = mf.random_blocks(48, 64, 8, seed=seed)
    truth = mf.expected_labels(picture)
    logits = 10.0 * picture.transpose(2, 0, 1).astype(np.float32) / 255 + mf.logit_noise((48, 64), 0.1, 8.0, seed)
    return softmax(logits), picture, truth


def test_crf_and_cleanup_bring_a_noisy_argmax_closer_to_the_truth():
    probabilities, picture, truth = noisy_scores()
    raw_wrong = (probabilities.argmax(axis=0) != truth).sum()
    assert raw_wrong > 100
    refined = dense_crf(probabilities, picture, 5, 20.0, 13.0, 10.0, 5.0, 1.0)
    assert (refined.argmax(axis=0) != truth).sum() < 0.2 * raw_wrong
    cleaned = remove_small_regions(probabilities.argmax(axis=0).astype(np.uint8), 10)
    assert (cleaned != truth).sum() < 0.2 * raw_wrong


def test_small_regions_take_the_majority_around_them():
    labels = np.zeros((8, 10), np.uint8)
    labels[:, 6:] = 1
    labels[2, 2] = 2                      # an island in 0
    labels[5, 5:7] = 2                    # two pixels touching 0 and 1: the majority around them decides
    labels[6:8, 0:2] = 3                  # four pixels in a corner: kept at min_px 4
    out = remove_small_regions(labels, 4)
    expected = labels.copy()
    expected[2, 2] = 0
    around = np.r_[labels[4, 4:8], labels[6, 4:8], labels[5, 4], labels[5, 7]]
    expected[5, 5:7] = np.bincount(around[around != 2]).argmax()
    np.testing.assert_array_equal(out, expected)
    assert remove_small_regions(expected, 4) is expected  # nothing small left: the input comes back


@pytest.mark.parametrize('model_hw, camera_hw', [
    ((60, 80), (480, 640)), ((37, 53), (480, 640)), ((24, 32), (24, 32)), ((1, 9), (5, 40))])
def test_bilinear_band_equals_the_full_interpolation(model_hw, camera_hw):
    rng = np.random.default_rng(4)
    scores = np.stack([cv2.GaussianBlur(rng.normal(size=model_hw).astype(np.float32), (0, 0), 3)
                       for _ in range(5)])
    labels = scores.argmax(axis=0).astype(np.uint8)
    full = np.stack([cv2.resize(s, camera_hw[::-1], interpolation=cv2.INTER_LINEAR) for s in scores]).argmax(0)
    out = bilinear_labels(scores, labels, camera_hw)
    assert out.dtype == np.uint8
    assert (out == full).mean() > 0.9995  # OpenCV rounds its weights to fixed point; ties may differ


def test_temporal_average_and_its_reset_rules():
    stream = CameraStream()
    ones, zeros = np.ones((2, 3, 4), np.float32), np.zeros((2, 3, 4), np.float32)

    def frame(probabilities, stamp_ms, frame_id='cam', hw=(30, 40)):
        stream.start(stamp_ms * 1_000_000, frame_id)
        return float(stream.smooth(probabilities, hw, 0.75, 500)[0, 0, 0])

    assert frame(ones, 0) == 1.0
    assert frame(zeros, 33) == 0.75                       # 0.75 * 1 + 0.25 * 0
    assert frame(zeros, 66) == pytest.approx(0.5625)
    assert frame(ones, 566) == pytest.approx(0.671875)     # a gap of exactly reset_ms still continues
    assert frame(zeros, 1067) == 0.0                      # a longer pause starts over
    assert frame(ones, 1100, frame_id='other') == 1.0     # another frame_id starts over
    assert frame(zeros, 1133, frame_id='other', hw=(60, 80)) == 0.0  # another camera resolution starts over
    assert frame(ones, 1000, frame_id='other', hw=(60, 80)) == 1.0  # a stamp going back (bag replay) too
    assert frame(zeros, 1033, frame_id='other', hw=(60, 80)) == 0.75


def test_temporal_average_of_camera_sized_score_planes():
    """(C, H, W) scores as wide as a camera (640 columns, past OpenCV 5's 128-channel limit) blend plane by plane."""
    rng = np.random.default_rng(4)
    first, second = rng.random((2, 3, 48, 640), np.float32)
    stream = CameraStream()
    stream.start(0, 'cam')
    stream.smooth(first, (480, 640), 0.8, 500)
    stream.start(33_000_000, 'cam')
    np.testing.assert_allclose(stream.smooth(second, (480, 640), 0.8, 500), 0.8 * first + 0.2 * second, rtol=1e-6)
    stream.start(66_000_000, 'cam')
    strided = np.asfortranarray(second)  # any memory layout a refinement hands over
    np.testing.assert_allclose(stream.smooth(strided, (480, 640), 0.5, 500),
                               0.5 * (0.8 * first + 0.2 * second) + 0.5 * second, rtol=1e-6)


def test_class_groups_keep_their_order_and_name_what_is_wrong():
    names = ['road', 'sidewalk', 'person', 'car', 'sky']
    groups = ClassGroups.parse('{drivable: [road], obstacle: [person, car], other: sky}', names)
    assert groups.names == ('drivable', 'obstacle', 'other')
    labels = np.array([[0, 1, 2], [3, 4, 0]], np.uint8)
    np.testing.assert_array_equal(groups.apply(labels), [[0, UNKNOWN_GROUP, 1], [1, 2, 0]])
    np.testing.assert_array_equal(groups.apply(labels.astype(np.uint16)), groups.apply(labels))
    assert ClassGroups.parse('', names) is None
    for text, message in [('{drivable: [road], obstacle: [persn]}', "unknown class 'persn' in group 'obstacle'"),
                          ('{a: [road], b: [road]}', "class 'road' is in groups 'a' and 'b'"),
                          ('[road, car]', 'is not a mapping'), ('{a: []}', "group 'a' needs a list"),
                          ('{a: [road}', 'not YAML')]:
        with pytest.raises(ParamError, match=message):
            ClassGroups.parse(text, names)


def test_the_class_groups_example_of_the_default_config_fits_the_street_model():
    """config/seg_node.yaml's commented class_groups line parses against the CamVid classes (docs/nav2.md)."""
    config = config_file('seg_node.yaml').read_text()
    example = next(line for line in config.splitlines() if line.strip().startswith('# class_groups:'))
    text = yaml.safe_load(example.split('#', 1)[1])['class_groups']
    groups = ClassGroups.parse(text, list(CAMVID.class_names))
    assert groups.names == ('drivable', 'obstacle')
    labels = np.array([[CAMVID.class_names.index(n) for n in ('road', 'pavement', 'car', 'pedestrian', 'sky')]],
                      np.uint8)
    np.testing.assert_array_equal(groups.apply(labels), [[0, 0, 1, 1, UNKNOWN_GROUP]])


def pipeline_of(tmp_path, **kwargs):
    engine = InferenceEngine(mf.save(tmp_path, **kwargs), ['cpu'])
    return build_pipeline(engine, default_values(engine))


def test_refinements_change_nothing_on_a_clean_picture(tmp_path):
    """Every refinement on, a picture whose classes are clear: the exact mask, groups and confidence as before."""
    pipe = pipeline_of(tmp_path)
    rgb = mf.random_blocks(48, 64, 8, seed=6)
    on = replace(FrameSettings.defaults(), crf_iterations=3, temporal_smoothing=0.5, min_region_px=5,
                 upsample='bilinear')
    every = Outputs(mask=True, confidence=True, group_mask=True)
    plain = pipe.run(Frame(rgb, False), every, FrameSettings.defaults())
    refined = pipe.run(Frame(rgb, False), every, on, CameraStream())
    np.testing.assert_array_equal(refined.labels, mf.expected_labels(rgb))
    np.testing.assert_array_equal(plain.labels, refined.labels)
    assert plain.group_mask is None  # no class groups
    assert np.abs(plain.confidence.astype(int) - refined.confidence).max() <= 30


def test_bilinear_upsampling_in_the_pipeline_with_a_strided_model(tmp_path):
    """A model answering at half resolution: bilinear decides the camera pixels between its outputs."""
    pipe = pipeline_of(tmp_path, scale=2)
    rgb = mf.random_blocks(48, 64, 6, seed=7)
    settings = replace(FrameSettings.defaults(), upsample='bilinear')
    labels = pipe.run(Frame(rgb, False), Outputs(mask=True), settings).labels
    scores = 10.0 * rgb[::2, ::2].transpose(2, 0, 1).astype(np.float32) / 255
    np.testing.assert_array_equal(labels, bilinear_labels(scores, scores.argmax(0).astype(np.uint8), (48, 64)))


def test_a_model_that_outputs_class_ids_refuses_score_refinements(tmp_path):
    engine = InferenceEngine(mf.save(tmp_path, output='labels'), ['cpu'])
    values = model_defaults(engine.spec, engine.metadata)
    check_against_model(engine.spec, {**values, 'min_region_px': 10})
    with pytest.raises(ParamError, match="'crf_iterations': 5 needs class scores, but the model outputs class ids"):
        check_against_model(engine.spec, {**values, 'crf_iterations': 5})


def test_segtool_eval_scores_the_node_pipeline_with_refinements(tmp_path):
    """``segtool eval --crf-iterations N``: the node's pipeline at camera size, the settings in the report."""
    import json

    from segtool.cli import main

    out = tmp_path / 'report.json'
    model = resolve_model_path(ROAD_MODEL)
    assert main(['eval', model, '--count', '2', '--camera-size', '96', '128',
                 '--crf-iterations', '1', '--upsample', 'bilinear', '--out', str(out)]) == 0
    report = json.loads(out.read_text())
    assert report['camera_size'] == [96, 128] and report['images'] == 2
    assert report['settings']['crf_iterations'] == 1 and report['settings']['upsample'] == 'bilinear'
    assert 0.5 < report['mean_iou'] <= 1 and 0 < report['boundary_f'] <= 1
    with pytest.raises(SystemExit, match="'crf_iterations': 50 is outside 0..20"):
        main(['eval', model, '--crf-iterations', '50'])


def test_segtool_refine_eval_writes_every_row(tmp_path):
    from segtool.cli import main
    from segtool.commands.refine_eval import CONFIGS, MODEL_RESOLUTION, SEQUENCE_CONFIGS

    out = tmp_path / 'refine'
    assert main(['refine-eval', '--count', '1', '--camera-size', '96', '128', '--sequences', '1',
                 '--sequence-frames', '2', '--out', str(out)]) == 0
    tables = out.with_suffix('.md').read_text()
    for row in (*CONFIGS, MODEL_RESOLUTION, *SEQUENCE_CONFIGS):
        assert f'| {row} |' in tables
    assert out.with_suffix('.png').stat().st_size > 0 and '**person**' in tables
