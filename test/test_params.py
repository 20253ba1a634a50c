"""Parameter table: validation of every kind of value, and the README documents every parameter."""
from pathlib import Path

import pytest

from seg_node.params import PARAMS, ParamError, check, markdown_table


@pytest.mark.parametrize('name, value', [
    ('overlay_alpha', 0.0), ('overlay_alpha', 1), ('resize_mode', 'letterbox'), ('providers', ['tensorrt', 'cpu']),
    ('palette', [0, 0, 0, 255, 255, 255]), ('input_size', [0, 0]), ('input_size', [256, 512]),
    ('std', [0.5, 0.5, 0.5]), ('max_frame_age_ms', 100), ('publish_mask', False),
    ('cameras', ['front', 'rear/left', '/robot/cam_2']), ('qos_reliability', 'auto'),
])
def test_valid_values_pass(name, value):
    assert check(name, value) == value


@pytest.mark.parametrize('name, value, message', [
    ('overlay_alpha', 1.5, "'overlay_alpha': 1.5 is outside 0.0..1.0"),
    ('overlay_alpha', 'half', "'overlay_alpha': 'half' is not a number"),
    ('qos_depth', True, "'qos_depth': True is not an integer"),
    ('qos_depth', 0, 'is outside 1..100'),
    ('resize_mode', 'zoom', 'is not one of stretch, letterbox'),
    ('providers', [], 'must not be empty'),
    ('providers', ['cuda', 'npu'], "'npu' is not one of tensorrt, cuda, cpu"),
    ('palette', [1, 2], 'triples'),
    ('palette', [0, 0, 300], 'is outside 0..255'),
    ('class_names', ['road', ''], 'has an empty name'),
    ('mean', [0.5, 0.5], 'needs 3 values'),
    ('std', [1.0, 0.0, 1.0], 'needs values > 0'),
    ('input_size', [0, 512], 'both > 0, or [0, 0]'),
    ('cameras', ['front', 'front'], 'needs distinct namespaces'),
    ('cameras', ['2nd'], 'not starting with a digit'),
    ('cameras', ['front/'], 'needs distinct namespaces'),
    ('qos_reliability', 'sometimes', 'is not one of auto, best_effort, reliable'),
    ('input_type_typo', 1, None),
])
def test_invalid_values_name_the_parameter(name, value, message):
    if message is None:
        with pytest.raises(KeyError):
            check(name, value)
        return
    with pytest.raises(ParamError) as err:
        check(name, value)
    assert f"parameter '{name}'" in str(err.value) and message in str(err.value)


def test_readme_documents_every_parameter():
    readme = (Path(__file__).resolve().parents[1] / 'README.md').read_text()
    assert markdown_table() in readme, 'README parameter table is stale: python -m seg_node.params'
    assert {p.name for p in PARAMS} <= {line.split('`')[1] for line in markdown_table().splitlines()[2:]}
