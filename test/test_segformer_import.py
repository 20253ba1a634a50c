"""``segtool import segformer``: a small randomly initialised SegFormer, built from a config, into the node over DDS.

Nothing is downloaded: the checkpoint directory is written by transformers' own ``save_pretrained``, as a user's
download from the hub looks. The tests skip where transformers (the ``segformer`` extra) is not installed.
"""
from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from seg_node.label_sets import CITYSCAPES, voc_palette
from segtool import cli as segtool

MEAN, STD = (0.5, 0.4, 0.3), (0.2, 0.25, 0.3)
INPUT_HW = (64, 96)


def write_checkpoint(directory, names, preprocessor: dict | None):
    """Save a SegFormer with random weights (big enough to separate the classes) and its preprocessor config."""
    transformers = pytest.importorskip('transformers', reason='transformers (extra segformer) is not installed')
    torch = pytest.importorskip('torch')
    config = transformers.SegformerConfig(
        depths=[1, 1, 1, 1], hidden_sizes=[8, 16, 24, 32], num_attention_heads=[1, 1, 1, 1],
        decoder_hidden_size=32, initializer_range=0.2, id2label=dict(enumerate(names)),
        label2id={n: i for i, n in enumerate(names)})
    torch.manual_seed(0)
    model = transformers.SegformerForSemanticSegmentation(config).eval()
    model.save_pretrained(directory)
    if preprocessor is not None:
        (directory / 'preprocessor_config.json').write_text(json.dumps(preprocessor))
    return model


def hub_preprocessor(mean=MEAN, std=STD, size=INPUT_HW) -> dict:
    """Return a preprocessor config as SegformerImageProcessor writes it."""
    return {'image_processor_type': 'SegformerImageProcessor', 'do_resize': True, 'do_rescale': True,
            'rescale_factor': 1 / 255, 'do_normalize': True, 'image_mean': list(mean), 'image_std': list(std),
            'size': {'height': size[0], 'width': size[1]}}


@pytest.fixture(scope='module')
def cityscapes_segformer(tmp_path_factory):
    """Import a Cityscapes-class SegFormer (names as the hub's configs spell them); (model, onnx path)."""
    directory = tmp_path_factory.mktemp('segformer_cityscapes')
    model = write_checkpoint(directory, [n if n != 'traffic light' else 'traffic light ' for n in
                                         CITYSCAPES.class_names], hub_preprocessor())
    out = directory / 'segformer.onnx'
    assert segtool.main(['import', 'segformer', str(directory), '-o', str(out)]) == 0
    return model, out


def reference_labels(model, rgb: np.ndarray) -> np.ndarray:
    """Class ids at camera size the way transformers' users compute them, fed the node's resize and normalisation."""
    import torch
    small = cv2.resize(rgb, INPUT_HW[::-1], interpolation=cv2.INTER_LINEAR)
    x = ((small / 255.0 - np.array(MEAN)) / np.array(STD)).transpose(2, 0, 1)[None].astype(np.float32)
    with torch.no_grad():
        logits = model(pixel_values=torch.from_numpy(x)).logits[0].numpy()
    labels = logits.argmax(0).astype(np.uint8)
    return cv2.resize(labels, rgb.shape[1::-1], interpolation=cv2.INTER_NEAREST)


def test_import_states_cityscapes_and_matches_transformers(cityscapes_segformer):
    import onnxruntime as ort
    import torch
    from seg_node.model_metadata import ModelMetadata

    model, path = cityscapes_segformer
    session = ort.InferenceSession(str(path), providers=['CPUExecutionProvider'])
    meta = ModelMetadata.from_props(session.get_modelmeta().custom_metadata_map)
    assert (meta.class_names, meta.palette) == (CITYSCAPES.class_names, CITYSCAPES.palette)
    assert meta.mean == pytest.approx(MEAN) and meta.std == pytest.approx(STD)
    assert (meta.input_size, meta.output_kind) == (INPUT_HW, 'logits')
    for size in (INPUT_HW, (77, 131)):
        x = torch.randn(1, 3, *size, generator=torch.Generator().manual_seed(size[0]))
        with torch.no_grad():
            expected = model(pixel_values=x).logits.numpy()
        got = session.run(None, {'input': x.numpy()})[0]
        assert got.shape == expected.shape == (1, 19, -(-size[0] // 4), -(-size[1] // 4))
        assert np.abs(got - expected).max() <= 1e-3 and np.abs(expected).max() > 1.0


def test_upsampled_logits_unknown_names_and_processor_defaults(tmp_path, capsys):
    import onnxruntime as ort
    import torch
    import torch.nn.functional as F
    from seg_node.model_metadata import ModelMetadata
    from transformers import SegformerImageProcessor

    model = write_checkpoint(tmp_path, ['floor', 'obstacle', 'ramp'], None)
    out = tmp_path / 'up.onnx'
    assert segtool.main(['import', 'segformer', str(tmp_path), '-o', str(out), '--upsample']) == 0
    printed = capsys.readouterr().out
    assert 'colours from the VOC colour map (the names match no built-in label set)' in printed
    assert 'normalisation and input size from SegformerImageProcessor defaults' in printed
    session = ort.InferenceSession(str(out), providers=['CPUExecutionProvider'])
    meta = ModelMetadata.from_props(session.get_modelmeta().custom_metadata_map)
    assert meta.class_names == ('floor', 'obstacle', 'ramp') and meta.input_size == (512, 512)
    assert meta.palette == tuple(tuple(int(v) for v in c) for c in voc_palette(3))
    defaults = SegformerImageProcessor()
    assert meta.mean == tuple(defaults.image_mean) and meta.std == tuple(defaults.image_std)
    x = torch.randn(1, 3, 50, 70)
    with torch.no_grad():
        expected = F.interpolate(model(pixel_values=x).logits, size=(50, 70), mode='bilinear', align_corners=False)
    got = session.run(None, {'input': x.numpy()})[0]
    assert got.shape == (1, 3, 50, 70) and np.abs(got - expected.numpy()).max() <= 1e-3


def test_unscaled_processor_normalisation_is_converted(tmp_path):
    pytest.importorskip('transformers', reason='transformers (extra segformer) is not installed')
    from segtool.importers.segformer import preprocessing
    (tmp_path / 'preprocessor_config.json').write_text(json.dumps(
        {'do_rescale': False, 'image_mean': [127.5, 127.5, 127.5], 'image_std': [51.0, 51.0, 51.0], 'size': 256}))
    mean, std, size, _ = preprocessing(tmp_path)
    assert mean == pytest.approx((0.5, 0.5, 0.5)) and std == pytest.approx((0.2, 0.2, 0.2)) and size == (256, 256)


@pytest.mark.parametrize('files, reason', [
    ({}, 'no config.json (expected a Hugging Face checkpoint directory)'),
    ({'config.json': '{"model_type": "bert"}'}, "model_type is 'bert', not 'segformer'"),
])
def test_a_directory_that_is_no_segformer_is_refused(tmp_path, capsys, files, reason):
    pytest.importorskip('transformers', reason='transformers (extra segformer) is not installed')
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    assert segtool.main(['import', 'segformer', str(tmp_path), '-o', str(tmp_path / 'x.onnx')]) == 1
    assert reason in capsys.readouterr().out and not (tmp_path / 'x.onnx').exists()


def test_the_node_runs_it_with_cityscapes_names_and_colours_and_no_parameter(cityscapes_segformer, tmp_path):
    rclpy = pytest.importorskip('rclpy')
    from rcl_interfaces.srv import GetParameters
    from ros_harness import NodeProcess, Peer, image_msg, pixels_of, write_params

    model, path = cityscapes_segformer
    rclpy.init()
    peer = Peer(topics=('mask', 'color_mask'))
    process = NodeProcess(tmp_path, write_params(tmp_path, model_path=str(path)))
    try:
        peer.wait_connected(process)
        client = peer.node.create_client(GetParameters, '/seg_node/get_parameters')
        peer.wait_for_service(client)
        future = client.call_async(GetParameters.Request(names=['class_names', 'palette', 'input_size']))
        assert peer.spin_until(future.done, 10)
        names, palette, size = future.result().values
        assert list(names.string_array_value) == list(CITYSCAPES.class_names)
        assert list(palette.integer_array_value) == [v for c in CITYSCAPES.palette for v in c]
        assert list(size.integer_array_value) == list(INPUT_HW)

        rgb = np.random.default_rng(5).integers(0, 256, (120, 200, 3), dtype=np.uint8)
        rgb = cv2.GaussianBlur(rgb, (0, 0), 6)  # regions rather than pixel noise
        mask = peer.send_until_answered(image_msg(rgb), 42)
        assert peer.spin_until(lambda: any(m.header.stamp.sec == 42 for m in peer.received['color_mask']))
        colours = next(m for m in peer.received['color_mask'] if m.header.stamp.sec == 42)
        for reply in (mask, colours):
            assert (reply.header.stamp.sec, reply.header.stamp.nanosec, reply.header.frame_id) == (42, 123, 'camera')
            assert (reply.height, reply.width) == (120, 200)
        labels = pixels_of(mask)
        assert mask.encoding == 'mono8' and labels.max() < 19 and len(np.unique(labels)) > 1
        np.testing.assert_array_equal(pixels_of(colours), np.array(CITYSCAPES.palette)[labels])
        assert (labels == reference_labels(model, rgb)).mean() > 0.99  # float rounding may flip near-ties
    finally:
        peer.close()
        assert process.stop() == 0
        rclpy.try_shutdown()
