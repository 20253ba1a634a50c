"""launch_testing: ``ros2 launch seg_node seg_node.launch.py`` exits non-zero when seg_node fails, 0 on Ctrl-C.

Two ``ros2 launch`` processes, as a user starts them: one with a model file that does not exist (seg_node exits 1,
the launch file shuts launch down with that reason), one with a good model that gets a SIGINT once the node is up.
Needs a ROS 2 install with seg_node built (``colcon test``); where launch_testing is missing, conftest.py
reports it as one skipped test with the reason.
"""
import os
import signal
import sys
import tempfile
import time
import unittest
from pathlib import Path

import launch
import launch_testing.actions
import launch_testing.asserts
import launch_testing.markers
import pytest
import rclpy

from segtool.dds import loopback

sys.path.insert(0, str(Path(__file__).parent))
import model_factory as mf  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
PROFILE = f"fastdds_profile:={ROOT / 'config' / 'fastdds_localhost.xml'}"
loopback()  # launch_test runs this module without conftest.py


def ros2_launch(*arguments: str) -> launch.actions.ExecuteProcess:
    """``ros2 launch seg_node seg_node.launch.py ARGUMENTS`` as a process of the test."""
    return launch.actions.ExecuteProcess(
        cmd=['ros2', 'launch', 'seg_node', 'seg_node.launch.py', PROFILE, *arguments], output='screen')


@pytest.mark.launch_test
@launch_testing.markers.keep_alive  # both processes end during the tests: that is what they check
def generate_test_description():
    model = Path(tempfile.mkdtemp()) / 'colour.onnx'
    model.write_bytes(mf.colour_model())
    failing = ros2_launch('model_path:=nope.onnx', 'image:=/launch_exit/failing')
    stopped = ros2_launch(f'model_path:={model}', 'image:=/launch_exit/stopped', 'namespace:=stopped')
    return (launch.LaunchDescription([failing, stopped, launch_testing.actions.ReadyToTest()]),
            {'failing': failing, 'stopped': stopped})


class TestExits(unittest.TestCase):

    def test_failing_node_ends_launch(self, proc_info, failing):
        proc_info.assertWaitForShutdown(process=failing, timeout=60)

    def test_ctrl_c_ends_launch(self, proc_info, stopped):
        rclpy.init()
        node = rclpy.create_node('launch_exit_probe')
        try:  # Ctrl-C once seg_node is up: it has subscribed to its camera
            end = time.monotonic() + 60
            while not node.count_subscribers('/launch_exit/stopped') and time.monotonic() < end:
                rclpy.spin_once(node, timeout_sec=0.2)
            self.assertTrue(node.count_subscribers('/launch_exit/stopped'), 'seg_node never subscribed')
        finally:
            node.destroy_node()
            rclpy.shutdown()
        os.kill(proc_info[stopped].pid, signal.SIGINT)
        proc_info.assertWaitForShutdown(process=stopped, timeout=30)


@launch_testing.post_shutdown_test()
class TestExitCodes(unittest.TestCase):

    def test_node_failure_is_a_launch_failure_with_the_reason(self, proc_info, proc_output, failing):
        launch_testing.asserts.assertExitCodes(proc_info, [1], process=failing)
        for line in ("model file not found: 'nope.onnx'", 'exited with code 1'):  # the node's, then launch's
            launch_testing.asserts.assertInStdout(proc_output, line, failing)

    def test_ctrl_c_exits_0(self, proc_info, stopped):
        launch_testing.asserts.assertExitCodes(proc_info, [0], process=stopped)
