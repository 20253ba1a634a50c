"""``segtool quantize``: INT8 (QDQ, per-channel, calibrated through the node's preprocessing) and FP16 models."""
import json

import cv2
import numpy as np
import onnx
import pytest
from onnx import numpy_helper

import model_factory as mf
from segtool import cli as segtool
from segtool.quantization import FP16_MIN_SAME_CLASS


@pytest.fixture(scope='module')
def picture_set(tmp_path_factory):
    """Write a folder layout (test split) of block pictures labelled with the colour model's answer."""
    root = tmp_path_factory.mktemp('blocks')
    (root / 'classes.txt').write_text('red 255 0 0\ngreen 0 255 0\nblue 0 0 255\n')
    for name in ('images', 'masks'):
        (root / 'test' / name).mkdir(parents=True)
    for i in range(6):
        rgb = mf.random_blocks(60, 80, 10, seed=i)
        cv2.imwrite(str(root / 'test' / 'images' / f'{i}.png'), rgb[:, :, ::-1])
        cv2.imwrite(str(root / 'test' / 'masks' / f'{i}.png'), mf.expected_labels(rgb))
    return root


def test_int8_keeps_the_description_and_the_answers(tmp_path, picture_set, capsys):
    source = mf.save(tmp_path, 'colour.onnx', size=(60, 80))
    out, report = tmp_path / 'colour_int8.onnx', tmp_path / 'report.json'
    assert segtool.main(['quantize', source, '-o', str(out), '--calibration', str(picture_set / 'test' / 'images'),
                         '--count', '6', '--evaluate', '--dataset', f'folder:{picture_set}', '--repeats', '5',
                         '--report', str(report)]) == 0
    printed = capsys.readouterr().out
    assert 'INT8); seg_node detects: input image NCHW float32 60x80; output NCHW logits, 3 classes' in printed
    assert 'on the 6 calibration frames' in printed and '| **mIoU** |' in printed

    original, quantized = onnx.load(source), onnx.load(str(out))
    assert list(quantized.metadata_props) == list(original.metadata_props)
    ops = [n.op_type for n in quantized.graph.node]
    assert 'QuantizeLinear' in ops and 'DequantizeLinear' in ops
    weights = {i.name: numpy_helper.to_array(i) for i in quantized.graph.initializer}
    int8 = [v for v in weights.values() if v.dtype == np.int8 and v.ndim == 4]  # the weights, not zero points
    assert int8 and int8[0].shape == (3, 3, 1, 1)
    scales = [weights[n.input[1]] for n in quantized.graph.node
              if n.op_type == 'DequantizeLinear' and weights.get(n.input[0]) is not None
              and weights[n.input[0]].ndim == 4]
    assert scales and scales[0].shape == (3,)  # one scale per output channel

    result = json.loads(report.read_text())
    assert result['agreement']['same_class'] > 0.99 and result['images'] == 6
    rows = result['models']
    assert set(rows) == {'original', 'converted'} and rows['converted']['path'] == str(out)
    assert rows['original']['mean_iou'] == 1.0 and rows['converted']['mean_iou'] > 0.99
    assert all(r['latency']['p50_ms'] > 0 for r in rows.values())


def test_fp16_keeps_float32_input_and_output(tmp_path, capsys):
    source = mf.save(tmp_path, 'colour.onnx')
    out = tmp_path / 'colour_fp16.onnx'
    assert segtool.main(['quantize', source, '-o', str(out), '--fp16', '--count', '3']) == 0
    assert 'FP16); seg_node detects: input image NCHW float32 dynamic size; output NCHW logits' in \
        capsys.readouterr().out
    model = onnx.load(str(out))
    assert [i.type.tensor_type.elem_type for i in (*model.graph.input, *model.graph.output)] == \
        [onnx.TensorProto.FLOAT, onnx.TensorProto.FLOAT]
    assert {numpy_helper.to_array(i).dtype for i in model.graph.initializer} == {np.dtype(np.float16)}
    assert list(model.metadata_props) == list(onnx.load(source).metadata_props)


def test_an_fp16_model_that_changes_the_answers_is_an_error(tmp_path, capsys):
    """Class scores 1000 and 1000.2 (half of float16's step at 1000) tie in float16 where float32 tells them apart."""
    height, width = 24, 32
    near_tie = np.zeros((3, height, width), np.float32)
    near_tie[0], near_tie[1] = 1000.0, 1000.2
    source = tmp_path / 'near_tie.onnx'
    source.write_bytes(mf.colour_model(size=(height, width), noise=near_tie))
    grey = tmp_path / 'grey'  # red = green: float32 says green (1000.2), float16 ties and says red
    grey.mkdir()
    for i in range(3):
        cv2.imwrite(str(grey / f'{i}.png'), np.full((height, width, 3), 40 * i, np.uint8))
    out = tmp_path / 'near_tie_fp16.onnx'
    assert segtool.main(['quantize', str(source), '-o', str(out), '--fp16', '--calibration', str(grey),
                         '--count', '3']) == 1
    printed = capsys.readouterr().out
    assert 'same class on 0.000 % of the pixels' in printed
    assert (f'segtool quantize: error: the FP16 model {out} keeps the class on only 0.000 % of the pixels '
            f'(at least {100 * FP16_MIN_SAME_CLASS:g} % expected)') in printed


def test_an_unreadable_calibration_source_is_named(tmp_path, capsys):
    source = mf.save(tmp_path, 'colour.onnx')
    assert segtool.main(['quantize', source, '-o', str(tmp_path / 'q.onnx'), '--calibration', 'nowhere/']) == 1
    assert "frame source 'nowhere/' is neither 'street', 'scenes', a folder nor a video file" in capsys.readouterr().out
