"""launch_testing: the launch files start the node, which answers a frame on the remapped topic.

Run twice: ``seg_node.launch.py`` (the plain node) and ``seg_lifecycle.launch.py`` (the managed node, which launch
configures and activates by itself: it must reach ``active``). launch_testing is not on PyPI, so on a plain venv
conftest.py reports this module as one skipped test with the reason; on a ROS 2 install run it with ``colcon
test`` or ``launch_test test/test_launch.py``. test_node.py and test_lifecycle.py cover the same behaviour here,
over DDS.
"""
import sys
import tempfile
import time
import unittest
from pathlib import Path

import launch
import launch_testing
import launch_testing.actions
import launch_testing.asserts
import numpy as np
import pytest
import rclpy
from launch.launch_description_sources import PythonLaunchDescriptionSource
from lifecycle_msgs.msg import State
from lifecycle_msgs.srv import GetState
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import Image

from segtool.dds import loopback

sys.path.insert(0, str(Path(__file__).parent))
import model_factory as mf  # noqa: E402
from ros_harness import image_msg, pixels_of  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
loopback()  # launch_test runs this module without conftest.py


@pytest.mark.launch_test
@launch_testing.parametrize('launch_file', ['seg_node.launch.py', 'seg_lifecycle.launch.py'])
def generate_test_description(launch_file):
    model = Path(tempfile.mkdtemp()) / 'colour.onnx'
    model.write_bytes(mf.colour_model())
    include = launch.actions.IncludeLaunchDescription(
        PythonLaunchDescriptionSource(str(ROOT / 'launch' / launch_file)),
        launch_arguments={'image': '/launch_test/image_raw', 'model_path': str(model),
                          'fastdds_profile': str(ROOT / 'config' / 'fastdds_localhost.xml')}.items())
    return launch.LaunchDescription([include, launch_testing.actions.ReadyToTest()]), {}


class TestSegNodeLaunch(unittest.TestCase):

    def test_mask_comes_back_on_the_remapped_topic(self, launch_file):
        rclpy.init()
        node = rclpy.create_node('launch_test_peer')
        try:
            masks = []
            node.create_subscription(Image, '/segmentation/mask', masks.append, 10)
            publisher = node.create_publisher(Image, '/launch_test/image_raw',
                                              QoSProfile(depth=1, reliability=ReliabilityPolicy.BEST_EFFORT))
            rgb = mf.random_blocks(48, 64, 8)
            end = time.monotonic() + 60
            while not masks and time.monotonic() < end:
                publisher.publish(image_msg(rgb))
                rclpy.spin_once(node, timeout_sec=0.5)
            self.assertTrue(masks, f'no mask came back ({launch_file})')
            np.testing.assert_array_equal(pixels_of(masks[0]), mf.expected_labels(rgb))
            if launch_file == 'seg_lifecycle.launch.py':  # launch configured and activated it by itself
                client = node.create_client(GetState, '/seg_node/get_state')
                self.assertTrue(client.wait_for_service(timeout_sec=10))
                end = time.monotonic() + 1.0  # let the response topic match too (ros_harness.Peer.wait_for_service)
                while time.monotonic() < end:
                    rclpy.spin_once(node, timeout_sec=0.1)
                future = client.call_async(GetState.Request())
                rclpy.spin_until_future_complete(node, future, timeout_sec=10)
                self.assertEqual(future.result().current_state.id, State.PRIMARY_STATE_ACTIVE)
        finally:
            node.destroy_node()
            rclpy.shutdown()


@launch_testing.post_shutdown_test()
class TestShutdown(unittest.TestCase):

    def test_exit_code(self, proc_info):
        launch_testing.asserts.assertExitCodes(proc_info)
