"""The ONNX metadata schema: round trip through a real ONNX file, and malformed values named."""
import onnx
import pytest
from onnx import helper

from seg_node.model_metadata import MetadataError, ModelMetadata, write_metadata

FULL = ModelMetadata(class_names=('road', 'car'), palette=((128, 64, 128), (0, 0, 142)), mean=(0.5, 0.5, 0.5),
                     std=(0.25, 0.25, 0.25), input_size=(256, 512), output_kind='logits')


def test_round_trip_through_an_onnx_file(tmp_path):
    model = helper.make_model(helper.make_graph([], 'empty', [], []))
    model.metadata_props.add(key='author', value='someone')
    write_metadata(model, FULL)
    write_metadata(model, FULL)  # rewriting replaces, never duplicates
    onnx.save(model, tmp_path / 'm.onnx')
    props = {p.key: p.value for p in onnx.load(tmp_path / 'm.onnx').metadata_props}
    assert props['author'] == 'someone' and props['seg_node.schema'] == '1'
    assert len(onnx.load(tmp_path / 'm.onnx').metadata_props) == 8
    assert ModelMetadata.from_props(props) == FULL


def test_missing_keys_stay_unstated():
    assert ModelMetadata.from_props({}) == ModelMetadata()
    assert ModelMetadata.from_props({'class_names': '["a"]'}).class_names == ('a',)


@pytest.mark.parametrize('props, message', [
    ({'class_names': '[road]'}, 'class_names: not JSON'),
    ({'palette': '[[1, 2]]'}, 'palette: [1, 2] is not an [r, g, b]'),
    ({'std': '[1, 0, 1]'}, 'std: every value must be > 0'),
    ({'mean': '[1, 2]'}, 'mean: expected 3 numbers'),
    ({'input_size': '[256]'}, 'input_size: expected [height, width]'),
    ({'output_kind': '"scores"'}, "output_kind: 'scores' is not one of"),
    ({'seg_node.schema': '2'}, 'version 2 is not supported'),
    ({'class_names': '["a", "b"]', 'palette': '[[0, 0, 0]]'}, 'palette: 1 colours for 2 classes'),
])
def test_malformed_values_are_named(props, message):
    with pytest.raises(MetadataError) as err:
        ModelMetadata.from_props(props)
    assert message in str(err.value)
