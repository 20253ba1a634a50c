"""Launch seg_node: ``ros2 launch seg_node seg_node.launch.py image:=/camera/image_raw [model_path:=...]``.

Also sets FASTDDS_DEFAULT_PROFILES_FILE to the package's shared-memory profile so that camera-sized frames
arrive; the camera driver's process needs the same profile (README, "Camera-sized frames").
"""
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, OpaqueFunction, SetEnvironmentVariable
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node
from launch_ros.substitutions import FindPackageShare


def _seg_node(context):
    image = LaunchConfiguration('image').perform(context)
    parameters = [LaunchConfiguration('params_file').perform(context)]
    model_path = LaunchConfiguration('model_path').perform(context)
    if model_path:
        parameters.append({'model_path': model_path})
    return [Node(
        package='seg_node', executable='seg_node', name='seg_node', namespace=LaunchConfiguration('namespace'),
        parameters=parameters, remappings=[('image', image), ('image/compressed', f'{image}/compressed')],
        output='screen', emulate_tty=True)]


def generate_launch_description():
    share = FindPackageShare('seg_node')
    return LaunchDescription([
        DeclareLaunchArgument('image', default_value='/camera/image_raw', description='camera image topic'),
        DeclareLaunchArgument('params_file', default_value=PathJoinSubstitution([share, 'config', 'seg_node.yaml']),
                              description='parameters YAML'),
        DeclareLaunchArgument('model_path', default_value='',
                              description='ONNX model; overrides the params file (relative: package models/)'),
        DeclareLaunchArgument('namespace', default_value='', description='namespace of the node and its topics'),
        DeclareLaunchArgument('fastdds_profile',
                              default_value=PathJoinSubstitution([share, 'config', 'fastdds_shm.xml']),
                              description='Fast DDS XML profile (large shared-memory segment)'),
        SetEnvironmentVariable('FASTDDS_DEFAULT_PROFILES_FILE', LaunchConfiguration('fastdds_profile')),
        OpaqueFunction(function=_seg_node),
    ])
