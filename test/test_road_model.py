"""The road model as README promises it: config/seg_node.yaml with model_path road_fastscnn.onnx, camera-sized frames.

The node runs in its own process; held-out generated scenes (seeds training never drew) go in at 640x480 and the
masks that come back are scored against the generator's exact labels.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ros_harness import NodeProcess, Peer, image_msg, pixels_of
from seg_node.label_sets import ROAD
from seg_node.package_files import ROAD_MODEL
from segtool import road_scenes
from segtool.datasets import ROAD_SEEDS
from segtool.training.metrics import ConfusionMatrix

CONFIG = Path(__file__).resolve().parents[1] / 'config' / 'seg_node.yaml'
SCENES = 6


pytestmark = pytest.mark.usefixtures('ros')


def test_default_config_and_road_model_segment_held_out_scenes(tmp_path):
    peer = Peer(reliable=True)
    process = NodeProcess(tmp_path, CONFIG, '-p', f'model_path:={ROAD_MODEL}')
    try:
        peer.wait_connected(process, timeout=60)
        assert ROAD_MODEL in process.log()
        scores = ConfusionMatrix(len(ROAD.class_names))
        for index in range(SCENES):
            rgb, train_ids = road_scenes.generate_scene(ROAD_SEEDS['test'] + index, 480, 640)
            reply = peer.send_until_answered(image_msg(rgb), 100 + index)
            mask = pixels_of(reply)
            assert mask.shape == (480, 640) and reply.encoding == 'mono8'
            scores.update(mask, road_scenes.trainid_to_index(train_ids))
            colours, overlay = peer.replies(100 + index, 'color_mask', 'overlay')
            np.testing.assert_array_equal(pixels_of(colours), np.asarray(ROAD.palette, np.uint8)[mask])
            assert (overlay.height, overlay.width) == (480, 640)
        report = scores.report(list(ROAD.class_names))
        assert report['pixel_accuracy'] >= 0.97, report
        assert report['mean_iou'] >= 0.90, report['iou']
    finally:
        peer.close()
        assert process.stop() == 0, process.log()
