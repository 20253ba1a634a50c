"""The node's parameters, declared once: type, default, range or choices, description, runtime-settable.

The ROS node builds its parameter descriptors from :data:`PARAMS`, validates every value with
:func:`check`, and the README's parameter table is generated from it (``python -m seg_node.params``).
Parameters whose default is :data:`FROM_MODEL` take the ONNX file's own metadata when it has it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from seg_node.inference import PROVIDERS
from seg_node.package_files import STREET_MODEL
from seg_node.preprocessing import RESIZE_MODES
from seg_node.refine.upsample import UPSAMPLE_MODES

NODE_NAME = 'seg_node'
DEFAULT_MODEL = STREET_MODEL
_CAMERA_NAME = re.compile(r'/?[A-Za-z_][A-Za-z0-9_]*(/[A-Za-z_][A-Za-z0-9_]*)*')
FROM_MODEL = None


class ParamError(ValueError):
    """An invalid parameter value; the text names the parameter, the value and what is allowed."""


@dataclass(frozen=True)
class Param:
    """One parameter: its type is the type of ``example`` (``default`` may be FROM_MODEL)."""

    name: str
    default: Any
    description: str
    example: Any = None
    dynamic: bool = False
    choices: tuple = ()
    low: float | None = None
    high: float | None = None

    @property
    def type(self) -> type:
        """bool, int, float, str or list (of the example's element type)."""
        return type(self.default if self.default is not FROM_MODEL else self.example)


PARAMS: tuple[Param, ...] = (
    Param('model_path', DEFAULT_MODEL, 'ONNX model file; a relative path is looked up in the working directory, '
          "then in the package's models/."),
    Param('providers', ['cuda', 'cpu'], 'Execution providers in order of preference (tensorrt, cuda, cpu); '
          'the ones this onnxruntime build lacks are skipped, CPU is always the last resort.',
          choices=tuple(PROVIDERS)),
    Param('class_names', FROM_MODEL, 'Name of each class id. Default: the model metadata, else class_<id>.',
          example=['road']),
    Param('palette', FROM_MODEL, 'Colour of each class id, flat [r, g, b, r, g, b, ...]. Default: the model '
          'metadata, else a fixed generated palette.', example=[0], low=0, high=255),
    Param('mean', FROM_MODEL, 'Per-channel RGB mean on pixel/255 (torchvision convention). Default: the model '
          'metadata, else ImageNet [0.485, 0.456, 0.406].', example=[0.0]),
    Param('std', FROM_MODEL, 'Per-channel RGB std on pixel/255. Default: the model metadata, else ImageNet '
          '[0.229, 0.224, 0.225].', example=[1.0]),
    Param('input_size', FROM_MODEL, 'Model input [height, width]. Default: the fixed size of the model, else the '
          'metadata, else the camera resolution ([0, 0]). A fixed-size model cannot be given another size.',
          example=[0], low=0, high=8192),
    Param('resize_mode', 'stretch', 'How the camera picture fits the model input: stretch, or letterbox '
          '(aspect kept, padding undone exactly so the mask aligns with the camera).', choices=RESIZE_MODES),
    Param('input_transport', 'raw', "raw: subscribe 'image' (sensor_msgs/Image); compressed: subscribe "
          "'image/compressed' (sensor_msgs/CompressedImage, jpeg or png).", choices=('raw', 'compressed')),
    Param('qos_reliability', 'auto', 'Reliability of the image subscription. auto: reliable when every publisher '
          'of the topic offers reliable (most camera drivers do), else best effort; decided again as publishers '
          'come and go. best_effort, reliable: fixed.', choices=('auto', 'best_effort', 'reliable')),
    Param('cameras', [], "Camera namespaces served with one model session: camera NAME subscribes 'NAME/image' "
          "(or 'NAME/image/compressed') and publishes 'NAME/segmentation/*'. Empty: one camera, 'image' in the "
          "node's namespace.", example=['front']),
    Param('qos_depth', 2, 'History depth of the image subscription (the node keeps only the newest frame).',
          low=1, high=100),
    Param('output_qos_depth', 50, 'History depth of the outputs (reliable, keep last): the frames a publisher '
          'keeps for a reliable subscriber until it has acknowledged them. Fast DDS repairs a lost sample after '
          'its heartbeat period (3 s by default), so this should cover 3 s of frames (docs/performance.md).',
          low=1, high=200),
    Param('publish_mask', True, "Publish 'segmentation/mask' (mono8 class ids, mono16 above 256 classes) and "
          "'segmentation/mask/compressed' (the same as lossless PNG).", dynamic=True),
    Param('publish_color_mask', True, "Publish 'segmentation/color_mask' (rgb8 class colours) and "
          "'segmentation/color_mask/compressed' (JPEG).", dynamic=True),
    Param('publish_overlay', True, "Publish 'segmentation/overlay' (the input blended with the colours) and "
          "'segmentation/overlay/compressed' (JPEG).", dynamic=True),
    Param('publish_confidence', True, "Publish 'segmentation/confidence' (mono8, winning class probability x "
          '255; the same header as the mask, for an exact-time synchronizer).', dynamic=True),
    Param('jpeg_quality', 80, "JPEG quality (1-100) of 'segmentation/color_mask/compressed' and "
          "'segmentation/overlay/compressed' (sensor_msgs/CompressedImage, encoded only while subscribed; "
          "'segmentation/mask/compressed' is lossless PNG).", dynamic=True, low=1, high=100),
    Param('overlay_alpha', 0.5, 'Weight of the class colours in the overlay.', dynamic=True, low=0.0, high=1.0),
    Param('max_frame_age_ms', 0, 'Frames older than this on arrival (header stamp vs. now) are dropped and '
          'counted; 0 = off.', dynamic=True, low=0, high=60000),
    Param('num_threads', 0, 'ONNX Runtime intra-op threads; 0 = its default (all cores).', low=0, high=256),
    Param('crf_iterations', 0, 'Dense CRF after the network: mean-field iterations at model resolution; 0 = off '
          '(docs/postprocessing.md).', dynamic=True, low=0, high=20),
    Param('crf_spatial_sigma', 40.0, 'Dense CRF appearance kernel: position sigma, in pixels at model resolution.',
          dynamic=True, low=1.0, high=1000.0),
    Param('crf_color_sigma', 13.0, 'Dense CRF appearance kernel: colour sigma, in 8-bit RGB levels.',
          dynamic=True, low=1.0, high=255.0),
    Param('crf_appearance_weight', 5.0, 'Dense CRF: weight of the appearance kernel (log-odds a unanimous '
          'neighbourhood of like colour adds).', dynamic=True, low=0.0, high=100.0),
    Param('crf_smoothness_weight', 3.0, 'Dense CRF: weight of the smoothness kernel (position only).',
          dynamic=True, low=0.0, high=100.0),
    Param('crf_smoothness_sigma', 1.0, 'Dense CRF smoothness kernel: position sigma, in pixels at model '
          'resolution.', dynamic=True, low=0.3, high=20.0),
    Param('temporal_smoothing', 0.0, 'Weight of the past in the moving average of class probabilities across '
          "consecutive frames of the camera; 0 = off. Starts over when the resolution or frame_id changes or "
          'the stream pauses longer than temporal_reset_ms.', dynamic=True, low=0.0, high=0.99),
    Param('temporal_reset_ms', 500, 'Temporal smoothing starts over after a gap this long between header stamps '
          '(or a stamp going back).', dynamic=True, low=1, high=60000),
    Param('min_region_px', 0, 'Connected regions smaller than this, in camera pixels, take the label of their '
          'surroundings\' majority; 0 = off.', dynamic=True, low=0, high=1000000),
    Param('upsample', 'nearest', 'How class decisions reach camera resolution: nearest (labels decided at model '
          'resolution, resized), or bilinear (argmax of the bilinearly interpolated scores, computed only near '
          'boundaries).', dynamic=True, choices=UPSAMPLE_MODES),
    Param('class_groups', '', 'Class groups as a YAML flow mapping from group name to class names, e.g. '
          "'{drivable: [road], obstacle: [person, car]}'. When set, 'segmentation/group_mask' carries mono8 group "
          'ids in this order (unlisted classes 255) and the names are latched on '
          "'segmentation/group_label_info'; empty = off."),
    Param('publish_group_mask', True, "Publish 'segmentation/group_mask' (mono8 group ids; needs class_groups).",
          dynamic=True),
)
BY_NAME = {p.name: p for p in PARAMS}


def with_defaults(values: dict) -> dict:
    """Return ``values`` completed with the declared default of every parameter they lack."""
    return {**{p.name: p.default for p in PARAMS}, **values}


def check(name: str, value: Any) -> Any:
    """``value`` if valid for parameter ``name`` (ints accepted for floats), else ParamError."""
    param = BY_NAME[name]
    expected = param.type
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if expected is list:
        value = list(value) if isinstance(value, (list, tuple)) else value
    if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
        raise ParamError(f"parameter '{name}': {value!r} is not {_type_name(param)[0]}")
    items = value if expected is list else [value]
    for item in items:
        if param.choices and item not in param.choices:
            raise ParamError(f"parameter '{name}': {item!r} is not one of {', '.join(param.choices)}")
        if param.low is not None and not param.low <= item <= param.high:
            raise ParamError(f"parameter '{name}': {item!r} is outside {param.low}..{param.high}")
    _check_shape(name, value)
    return value


def _check_shape(name: str, value: Any) -> None:
    """Constraints on a whole list value."""
    problem = None
    if name in ('providers', 'class_names', 'palette') and not value:
        problem = 'must not be empty'
    elif name == 'class_names' and not all(value):
        problem = 'has an empty name'
    elif name == 'palette' and len(value) % 3:
        problem = 'must be a flat list of r, g, b triples'
    elif name in ('mean', 'std') and len(value) != 3:
        problem = 'needs 3 values (R, G, B)'
    elif name == 'std' and any(v <= 0 for v in value):
        problem = 'needs values > 0'
    elif name == 'input_size' and (len(value) != 2 or (0 in value and value != [0, 0])):
        problem = 'needs [height, width], both > 0, or [0, 0]'
    elif name == 'cameras' and (len(set(value)) != len(value) or not all(map(_CAMERA_NAME.fullmatch, value))):
        problem = 'needs distinct namespaces of letters, digits, _ and / (not starting with a digit)'
    if problem:
        raise ParamError(f"parameter '{name}': {value!r} {problem}")


_TYPE_WORDS = {bool: ('a boolean', 'bool'), int: ('an integer', 'int'), float: ('a number', 'double'),
               str: ('a string', 'string')}


def _type_name(param: Param) -> tuple[str, str]:
    """(words for an error message, ROS type for the docs)."""
    if param.type is list:
        element = type(param.example[0] if param.example else param.default[0])
        return f'a list of {_TYPE_WORDS[element][1]}', f'{_TYPE_WORDS[element][1]}[]'
    return _TYPE_WORDS[param.type]


def markdown_table() -> str:
    """Build the README's parameter table."""
    rows = ['| parameter | type | default | runtime | description |', '|---|---|---|---|---|']
    for p in PARAMS:
        default = 'from model' if p.default is FROM_MODEL else f'`{p.default!r}`'
        extra = f" Choices: {', '.join(p.choices)}." if p.choices and p.type is str else ''
        if p.low is not None and p.type is not list:
            extra += f' Range {p.low}..{p.high}.'
        rows.append(f"| `{p.name}` | {_type_name(p)[1]} | {default} | "
                    f"{'yes' if p.dynamic else 'no'} | {p.description}{extra} |")
    return '\n'.join(rows)


if __name__ == '__main__':
    print(markdown_table())
