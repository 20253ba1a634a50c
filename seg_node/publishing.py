"""ROS messages out of pipeline results: images with the input's header, label metadata, diagnostics."""
from __future__ import annotations

import numpy as np
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from sensor_msgs.msg import CompressedImage, Image

from seg_node.compression import CODECS
from seg_node.image_codec import fill_image

try:  # vision_msgs is optional: Nav2's semantic_segmentation_layer reads its LabelInfo
    from vision_msgs.msg import LabelInfo, VisionClass
except ImportError:
    LabelInfo = VisionClass = None

LABEL_INFO_TOPIC = 'segmentation/label_info'
#: The names of the group ids in ``segmentation/group_mask`` (latched LabelInfo, where vision_msgs is installed).
GROUP_INFO_TOPIC = 'segmentation/group_label_info'


#: The last part of the topic of an output's compressed twin, as image_transport names it.
COMPRESSED = 'compressed'


def output_topic(key: str) -> str:
    """Return the topic of output ``key``, relative to the node's namespace.

    A key is an output's name (one of ``pipeline.OUTPUT_NAMES``: its sensor_msgs/Image) or ``<name>/compressed``
    (its CompressedImage, for the outputs in ``compression.CODECS``).
    """
    return f'segmentation/{key}'


def output_name(key: str) -> str:
    """Return the output a topic key carries: ``mask`` for both ``mask`` and ``mask/compressed``."""
    return key.split('/', 1)[0]


def is_compressed(key: str) -> bool:
    """Whether topic key ``key`` carries a CompressedImage."""
    return key.endswith(f'/{COMPRESSED}')


def topic_types(names: list[str]) -> dict[str, type]:
    """Return the topic key and message type of each of ``names``' topics: the raw image, and a compressed twin."""
    types = {}
    for name in names:
        types[name] = Image
        if name in CODECS:
            types[f'{name}/{COMPRESSED}'] = CompressedImage
    return types


def image_message(pixels: np.ndarray, encoding: str, header) -> Image:
    """Build an Image of ``pixels`` (already in ``encoding``'s layout) carrying ``header`` unchanged."""
    msg = Image()
    msg.header = header
    fill_image(msg, pixels, encoding)
    return msg


def mask_encoding(labels: np.ndarray) -> str:
    """mono8 for up to 256 classes, mono16 beyond."""
    return 'mono8' if labels.dtype == np.uint8 else 'mono16'


def output_images(result, bgr: bool) -> dict[str, tuple]:
    """Each computed output of a ``pipeline.Result`` as (pixels, encoding), keyed like ``pipeline.Outputs``."""
    candidates = {
        'mask': (result.labels, mask_encoding(result.labels)),
        'color_mask': (result.color_mask, 'rgb8'),
        'overlay': (result.overlay, 'bgr8' if bgr else 'rgb8'),
        'confidence': (result.confidence, 'mono8'),
        'group_mask': (result.group_mask, 'mono8'),
    }
    return {name: image for name, image in candidates.items() if image[0] is not None}


def label_info_message(class_names: list[str], stamp, threshold: float = 0.5, unknown_id: int | None = None):
    """Return a vision_msgs/LabelInfo listing every class id and name, or None where vision_msgs is absent.

    ``unknown_id`` adds the id of pixels of no listed class, named 'unknown'.
    """
    if LabelInfo is None:
        return None
    msg = LabelInfo()
    msg.header.stamp = stamp
    msg.class_map = [VisionClass(class_id=i, class_name=name) for i, name in enumerate(class_names)]
    if unknown_id is not None:
        msg.class_map.append(VisionClass(class_id=unknown_id, class_name='unknown'))
    msg.threshold = threshold
    return msg


def diagnostics_status(name: str, hardware_id: str, level: bytes, message: str,
                       values: dict[str, str]) -> DiagnosticStatus:
    """Build one DiagnosticStatus (``level``: DiagnosticStatus.OK, WARN, ERROR) with ``values`` as key/value pairs."""
    return DiagnosticStatus(level=level, name=name, message=message, hardware_id=hardware_id,
                            values=[KeyValue(key=k, value=v) for k, v in values.items()])


def diagnostics_array(stamp, statuses: list[DiagnosticStatus]) -> DiagnosticArray:
    """Bundle ``statuses`` into the DiagnosticArray published on /diagnostics."""
    array = DiagnosticArray(status=statuses)
    array.header.stamp = stamp
    return array
