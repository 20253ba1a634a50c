"""Output messages: images keep the input header; LabelInfo lists every class where vision_msgs exists."""
import numpy as np
import pytest
from builtin_interfaces.msg import Time
from std_msgs.msg import Header

from seg_node import publishing


def test_image_message_keeps_the_header_and_layout():
    header = Header(frame_id='camera_optical', stamp=Time(sec=12, nanosec=345))
    labels = np.arange(12, dtype=np.uint8).reshape(3, 4)
    msg = publishing.image_message(labels, publishing.mask_encoding(labels), header)
    assert msg.header == header and (msg.height, msg.width, msg.step, msg.encoding) == (3, 4, 4, 'mono8')
    np.testing.assert_array_equal(np.frombuffer(msg.data, np.uint8).reshape(3, 4), labels)
    wide = np.full((2, 2), 300, np.uint16)
    assert publishing.mask_encoding(wide) == 'mono16'
    assert publishing.image_message(wide, 'mono16', header).step == 4


def test_label_info_lists_every_class(monkeypatch):
    vision_msgs = pytest.importorskip('vision_msgs.msg', reason='vision_msgs is built into the venv by make test')
    msg = publishing.label_info_message(['road', 'car'], Time(sec=5))
    assert isinstance(msg, vision_msgs.LabelInfo)
    assert [(c.class_id, c.class_name) for c in msg.class_map] == [(0, 'road'), (1, 'car')]
    assert msg.header.stamp.sec == 5 and msg.threshold == 0.5
    monkeypatch.setattr(publishing, 'LabelInfo', None)  # as where vision_msgs does not import
    assert publishing.label_info_message(['road'], Time()) is None


def test_output_images_name_each_computed_output_with_its_encoding():
    from seg_node.pipeline import Result
    labels = np.zeros((2, 2), np.uint8)
    colours = np.zeros((2, 2, 3), np.uint8)
    images = publishing.output_images(Result(labels, overlay=colours), bgr=True)
    assert {name: encoding for name, (_, encoding) in images.items()} == {'mask': 'mono8', 'overlay': 'bgr8'}
    assert publishing.output_images(Result(labels, overlay=colours), bgr=False)['overlay'][1] == 'rgb8'
