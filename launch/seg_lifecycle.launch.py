"""Launch the managed node: ``ros2 launch seg_node seg_lifecycle.launch.py [autostart:=false] [image:=...]``.

seg_node.launch.py with ``lifecycle:=true``: the same arguments; launch configures and activates the node unless
``autostart:=false`` leaves that to a lifecycle manager (e.g. Nav2's lifecycle_manager).
"""
from launch import LaunchDescription
from launch.actions import IncludeLaunchDescription
from launch.launch_description_sources import PythonLaunchDescriptionSource
from launch.substitutions import PathJoinSubstitution
from launch_ros.substitutions import FindPackageShare


def generate_launch_description():
    seg_node_launch = PathJoinSubstitution([FindPackageShare('seg_node'), 'launch', 'seg_node.launch.py'])
    return LaunchDescription([IncludeLaunchDescription(PythonLaunchDescriptionSource(seg_node_launch),
                                                       launch_arguments={'lifecycle': 'true'}.items())])
