"""Nav2's semantic segmentation layer gets what it needs from the node as shipped, over DDS.

The node runs with the default config (config/seg_node.yaml, the shipped road model) and the Fast DDS profile,
as the launch file starts it; the camera publishes 640x480 frames with the profile, as the README asks of camera
drivers. The layer's side is ``segtool nav2-check`` in a process of its own with Fast DDS defaults, like a Nav2
container: it subscribes after the node started, mask and confidence best effort, LabelInfo reliable + transient
local, and pairs mask and confidence by identical stamp.
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from builtin_interfaces.msg import Time

import model_factory as mf
from ros_harness import NodeProcess, Peer, image_msg, write_params
from seg_node import publishing
from seg_node.label_sets import CAMVID, ROAD
from seg_node.package_files import config_file
from segtool.bench.nav2_qos import diagnostic_value, start_check
from segtool.nav2_layer import MIN_PAIRED, LayerReport
from segtool.frame_sources import STREET, load_frames

FRAMES, RATE = 40, 10.0
#: Type hashes of upstream vision_msgs 4.1.1 (test/msg_packages/vision_msgs/README.md).
TYPE_HASHES = {
    'LabelInfo': 'RIHS01_3d37df4015cdf660cc851c51897f2acd957e1ca6205ba0a99aebffb9406b0783',
    'VisionClass': 'RIHS01_1e4a11f0fed50b5623cb8ff26ca0e37952a48a9c074d16f804b44e9164c2037a',
}


pytestmark = pytest.mark.usefixtures('ros')


def test_layer_gets_the_class_table_and_a_pair_for_every_frame(tmp_path):
    pytest.importorskip('vision_msgs.msg',
                        reason='vision_msgs is built into the venv by make test (test/msg_packages/vision_msgs)')
    camera = Peer(topics=())
    process = NodeProcess(tmp_path, config_file('seg_node.yaml'))
    try:
        camera.wait_connected(process)
        check = start_check(FRAMES / RATE + 3.0, tmp_path / 'check.log')
        frame = image_msg(load_frames(STREET, 480, 640, 1)[0])
        start = time.monotonic()
        for index in range(FRAMES):
            camera.send(frame, 500 + index)
            camera.spin_until(lambda: False, start + (index + 1) / RATE - time.monotonic())
        output = check.communicate(timeout=60)[0]
        camera.spin_until(lambda: False, 1.5)  # the node's last /diagnostics
        arrived, published, replaced = (diagnostic_value(camera.diagnostics, key)
                                        for key in ('frames in', 'frames out', 'dropped (replaced)'))
    finally:
        camera.close()
        assert process.stop() == 0, process.log()
    assert check.returncode == 0, output
    report = json.loads(output.splitlines()[-1])
    assert report['problems'] == []
    assert report['classes'] == [list(c) for c in enumerate(CAMVID.class_names)]  # the default model's
    assert report['encodings'] == {'mask': ['mono8'], 'confidence': ['mono8']}
    assert report['sizes'] == [[640, 480]]
    # Every frame reaches the node (the camera's and the node's processes have the profile); each is published
    # unless a newer one replaced it while the node was busy (a slower machine publishes fewer: counted, not lost).
    assert arrived >= MIN_PAIRED * FRAMES and published + replaced == arrived and published > 0, \
        f'{arrived} of {FRAMES} frames reached the node, {published} published, {replaced} replaced:\n{process.log()}'
    assert report['pairs'] >= MIN_PAIRED * published, f'{report} of {published} published'
    print(f"{FRAMES} sent, {arrived} reached the node, {published} published, {replaced} replaced, "
          f"{report['pairs']} pairs")


def test_without_vision_msgs_the_node_says_so_once_and_serves(tmp_path, monkeypatch):
    hidden = tmp_path / 'hide' / 'vision_msgs'
    hidden.mkdir(parents=True)
    (hidden / '__init__.py').write_text("raise ImportError('vision_msgs hidden by the test')\n")
    monkeypatch.setenv('PYTHONPATH', str(hidden.parent), prepend=os.pathsep)  # a sourced ROS install's stays
    peer = Peer(topics=('mask',))
    process = NodeProcess(tmp_path, write_params(tmp_path, model_path=mf.save(tmp_path)))
    try:
        peer.wait_connected(process)
        peer.send_until_answered(image_msg(mf.random_blocks(24, 32, 4, seed=4)), 9)
        assert peer.node.count_publishers(f'/{publishing.LABEL_INFO_TOPIC}') == 0
    finally:
        peer.close()
        assert process.stop() == 0, process.log()
    assert process.log().count('vision_msgs not installed') == 1, process.log()


def test_label_info_message_is_the_upstream_type():
    msg_module = pytest.importorskip('vision_msgs.msg', reason='vision_msgs is built into the venv by make test')
    # PREFIX/lib/pythonX.Y/site-packages/vision_msgs/msg/__init__.py -> PREFIX/share/vision_msgs
    share = Path(msg_module.__file__).parents[5] / 'share' / 'vision_msgs'
    for name, type_hash in TYPE_HASHES.items():
        description = json.loads((share / 'msg' / f'{name}.json').read_text())
        assert description['type_hashes'][0] == {'type_name': f'vision_msgs/msg/{name}', 'hash_string': type_hash}
    msg = publishing.label_info_message(list(ROAD.class_names), Time(sec=5))
    assert isinstance(msg, msg_module.LabelInfo) and msg.header.stamp.sec == 5 and msg.threshold == 0.5
    assert [(c.class_id, c.class_name) for c in msg.class_map] == list(enumerate(ROAD.class_names))


def test_layer_report_names_what_the_layer_could_not_use():
    good = LayerReport(classes=[(0, 'road'), (1, 'car')])
    good.images['mask'] = {s: ('mono8', 64, 48) for s in range(20)}
    good.images['confidence'] = {s: ('mono8', 64, 48) for s in range(20)}
    assert good.problems() == [] and good.summary()['pairs'] == 20
    bad = LayerReport(classes=[(0, 'road'), (2, 'car')])
    bad.images['mask'] = {s: ('mono16', 64, 48) for s in range(20)}
    bad.images['confidence'] = {s: ('mono8', 32, 24) for s in range(2, 20)}
    assert bad.problems() == [
        "LabelInfo ids are not 0..1 with a name each: [(0, 'road'), (2, 'car')]",
        "mask encodings ['mono16']: the layer reads mono8",
        '18 pairs whose mask and confidence sizes differ',
        'only 18 of 20 frames came as a mask/confidence pair (masks 20, confidences 18)',
    ]
    assert LayerReport().problems() == ['no LabelInfo on segmentation/label_info (reliable, transient local)',
                                        'no mask or confidence came']
