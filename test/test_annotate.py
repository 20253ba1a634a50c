"""``segtool annotate`` and ``segtool describe``: a bare ONNX model made runnable by the node, mismatches refused."""
import numpy as np
import onnx
import pytest

import model_factory as mf
from seg_node.image_codec import Frame
from seg_node.inference import InferenceEngine
from seg_node.model_metadata import ModelMetadata, write_metadata
from seg_node.pipeline import FrameSettings, Outputs, build_pipeline, default_values
from seg_node.preprocessing import IMAGENET_MEAN, IMAGENET_STD
from segtool import cli as segtool


@pytest.fixture
def rgb_labels(tmp_path):
    path = tmp_path / 'rgb.txt'
    path.write_text('reddish 250 0 0\ngreenish 0 250 0\nblueish 0 0 250\n')
    return path


def test_a_bare_model_runs_in_the_node_with_the_chosen_label_set(tmp_path, rgb_labels, capsys):
    bare = mf.save(tmp_path, 'bare.onnx', metadata=False)
    assert not onnx.load(bare).metadata_props
    out = tmp_path / 'annotated.onnx'
    assert segtool.main(['annotate', bare, '-o', str(out), '--labels', str(rgb_labels), '--mean', '0', '0', '0',
                         '--std', '1', '1', '1', '--input-size', '24', '32']) == 0
    printed = capsys.readouterr().out
    assert "wrote" in printed and "label set 'rgb' (3 classes)" in printed and 'greenish' in printed

    engine = InferenceEngine(str(out), ['cpu'])
    assert engine.metadata == ModelMetadata(
        class_names=('reddish', 'greenish', 'blueish'), palette=((250, 0, 0), (0, 250, 0), (0, 0, 250)),
        mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0), input_size=(24, 32), output_kind='logits')
    rgb = mf.random_blocks(48, 64, 8, seed=4)
    result = build_pipeline(engine, default_values(engine)).run(Frame(rgb, False), Outputs(color_mask=True),
                                                                FrameSettings.defaults())
    expected = mf.expected_labels(rgb)
    np.testing.assert_array_equal(result.labels, expected)
    np.testing.assert_array_equal(result.color_mask, np.array([(250, 0, 0), (0, 250, 0), (0, 0, 250)])[expected])


def test_defaults_come_from_the_model_and_the_node(tmp_path, capsys):
    fixed = mf.save(tmp_path, 'fixed.onnx', metadata=False, size=(40, 60), output='probabilities')
    out = tmp_path / 'voc.onnx'
    assert segtool.main(['annotate', fixed, '-o', str(out), '--labels', 'cityscapes']) == 1
    assert segtool.main(['annotate', fixed, '-o', str(out), '--labels', 'road']) == 1
    capsys.readouterr()
    labels = tmp_path / 'three.txt'
    labels.write_text('a\nb\nc\n')
    assert segtool.main(['annotate', fixed, '-o', str(out), '--labels', str(labels)]) == 0
    meta = InferenceEngine(str(out), ['cpu']).metadata
    assert meta.input_size == (40, 60) and meta.output_kind == 'logits'  # shapes cannot tell a softmax apart
    assert meta.mean == IMAGENET_MEAN and meta.std == IMAGENET_STD
    assert segtool.main(['annotate', str(out), '-o', str(out), '--labels', str(labels), '--output-kind',
                         'probabilities']) == 0
    again = InferenceEngine(str(out), ['cpu'])
    assert again.metadata.output_kind == again.spec.output_kind == 'probabilities'


@pytest.mark.parametrize('kwargs, labels, reason', [
    ({}, 'cityscapes', "the model outputs 3 classes on its class axis (output NCHW logits, shape [1, 3, 64, 64]) "
                       "but label set 'cityscapes' has 19"),
    ({'output': 'sigmoid'}, 'pascal_voc', "the model outputs one sigmoid channel (output NCHW sigmoid, shape "
                                          "[1, 1, 64, 64]): the label set needs 2 names (background, foreground), "
                                          "'pascal_voc' has 21"),
])
def test_a_mismatched_class_count_is_refused_and_nothing_written(tmp_path, capsys, kwargs, labels, reason):
    bare = mf.save(tmp_path, 'bare.onnx', metadata=False, **kwargs)
    out = tmp_path / 'out.onnx'
    assert segtool.main(['annotate', bare, '-o', str(out), '--labels', labels]) == 1
    assert capsys.readouterr().out.strip() == f'segtool annotate: refused, nothing written: {reason}'
    assert not out.exists()


def test_unknown_labels_and_unreadable_models_are_named(tmp_path, capsys):
    bare = mf.save(tmp_path, 'bare.onnx', metadata=False)
    assert segtool.main(['annotate', bare, '-o', str(tmp_path / 'o.onnx'), '--labels', 'kitti']) == 1
    assert "labels 'kitti': neither a built-in set" in capsys.readouterr().out
    (tmp_path / 'text.onnx').write_text('not a model')
    assert segtool.main(['annotate', str(tmp_path / 'text.onnx'), '-o', str(tmp_path / 'o.onnx'),
                         '--labels', 'road']) == 1
    assert f'cannot read {tmp_path / "text.onnx"} as ONNX' in capsys.readouterr().out


def test_describe_prints_what_the_node_detects(tmp_path, capsys):
    path = mf.save(tmp_path, 'nhwc.onnx', layout='NHWC', size=(32, 48), scale=2)
    assert segtool.main(['describe', path]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1] == 'detected   input image NHWC float32 32x48; output NHWC logits, 3 classes'
    assert lines[2] == 'trial run  a 32x48 frame gave output shape [1, 16, 24, 3]'
    assert 'metadata   class_names, palette, mean, std, output_kind' in lines
    assert 'input_size [32, 48] (fixed by the model)' in lines
    assert lines[-3:] == ['     0  red    (255, 0, 0)', '     1  green  (0, 255, 0)', '     2  blue   (0, 0, 255)']


def test_describe_says_why_the_node_would_refuse(tmp_path, capsys):
    model = onnx.load_from_string(mf.colour_model())
    write_metadata(model, ModelMetadata(class_names=('a', 'b')))
    onnx.save(model, str(tmp_path / 'two.onnx'))
    assert segtool.main(['describe', str(tmp_path / 'two.onnx')]) == 1
    assert capsys.readouterr().out.strip() == (
        f"segtool describe: seg_node would refuse {tmp_path / 'two.onnx'}: parameter 'class_names': 2 names but the "
        'model outputs 3 classes')


def test_a_label_output_beyond_the_label_set_is_refused(tmp_path, capsys):
    """Integer labels have no class axis: the trial frame's labels must stay inside the set."""
    bare = mf.save(tmp_path, 'labels.onnx', metadata=False, output='labels')
    two = tmp_path / 'two.txt'
    two.write_text('ground\nsky\n')
    assert segtool.main(['annotate', bare, '-o', str(tmp_path / 'out.onnx'), '--labels', str(two)]) == 1
    assert "the model answered label 2 on a trial frame (output NHW labels, shape [1, 64, 64]) but label set 'two' " \
           'has only 2 classes' in capsys.readouterr().out
    assert segtool.main(['annotate', bare, '-o', str(tmp_path / 'out.onnx'), '--labels', 'pascal_voc']) == 0
    assert InferenceEngine(str(tmp_path / 'out.onnx'), ['cpu']).metadata.output_kind == 'labels'
