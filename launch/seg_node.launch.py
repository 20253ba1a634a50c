"""Launch seg_node: ``ros2 launch seg_node seg_node.launch.py image:=/camera/image_raw [model_path:=...]``.

``lifecycle:=true`` starts the managed node ``seg_lifecycle_node`` instead (``seg_lifecycle.launch.py`` does it),
configured and then activated by launch unless ``autostart:=false`` leaves that to a lifecycle manager.

Also points Fast DDS (through the variable its version reads) at the package's shared-memory profile so that
camera-sized frames arrive; the camera driver's process needs the same profile (README, "Camera-sized frames").
When seg_node exits with an error (a startup fault: its one line says which), launch shuts down with that reason
and ``ros2 launch`` exits non-zero; a Ctrl-C still ends it with 0.
"""
from launch import LaunchDescription
from launch.actions import (DeclareLaunchArgument, EmitEvent, OpaqueFunction, RegisterEventHandler,
                            SetEnvironmentVariable)
from launch.event_handlers import OnProcessExit
from launch.events import matches_action
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import LifecycleNode, Node
from launch_ros.event_handlers import OnStateTransition
from launch_ros.events.lifecycle import ChangeState
from launch_ros.substitutions import FindPackageShare
from lifecycle_msgs.msg import Transition

from seg_node.package_files import profile_variable


class NodeFailed(RuntimeError):
    """seg_node exited with an error while launch was running: launch reports it and returns non-zero."""


def _fail_on_error_exit(event, context):
    """Raise when seg_node exits non-zero and launch is not already shutting down (Ctrl-C)."""
    if event.returncode != 0 and not context.is_shutdown:
        raise NodeFailed(f'{event.process_name} exited with code {event.returncode}; see its error line above')


def _seg_node(context):
    image = LaunchConfiguration('image').perform(context)
    parameters = [LaunchConfiguration('params_file').perform(context)]
    model_path = LaunchConfiguration('model_path').perform(context)
    if model_path:
        parameters.append({'model_path': model_path})
    options = dict(package='seg_node', name='seg_node', namespace=LaunchConfiguration('namespace').perform(context),
                   parameters=parameters, remappings=[('image', image), ('image/compressed', f'{image}/compressed')],
                   output='screen', emulate_tty=True)
    if LaunchConfiguration('lifecycle').perform(context).lower() != 'true':
        node = Node(executable='seg_node', **options)
        return [node, RegisterEventHandler(OnProcessExit(target_action=node, on_exit=_fail_on_error_exit))]
    node = LifecycleNode(executable='seg_lifecycle_node', **options)
    actions = [node, RegisterEventHandler(OnProcessExit(target_action=node, on_exit=_fail_on_error_exit))]
    if LaunchConfiguration('autostart').perform(context).lower() == 'true':
        def change(transition: int) -> EmitEvent:
            return EmitEvent(event=ChangeState(lifecycle_node_matcher=matches_action(node), transition_id=transition))
        actions += [RegisterEventHandler(OnStateTransition(target_lifecycle_node=node, goal_state='inactive',
                                                           entities=[change(Transition.TRANSITION_ACTIVATE)])),
                    change(Transition.TRANSITION_CONFIGURE)]
    return actions


def generate_launch_description():
    share = FindPackageShare('seg_node')
    return LaunchDescription([
        DeclareLaunchArgument('image', default_value='/camera/image_raw', description='camera image topic'),
        DeclareLaunchArgument('params_file', default_value=PathJoinSubstitution([share, 'config', 'seg_node.yaml']),
                              description='parameters YAML'),
        DeclareLaunchArgument('model_path', default_value='',
                              description='ONNX model; overrides the params file (relative: package models/)'),
        DeclareLaunchArgument('namespace', default_value='', description='namespace of the node and its topics'),
        DeclareLaunchArgument('lifecycle', default_value='false',
                              description='true: the managed node seg_lifecycle_node instead of seg_node'),
        DeclareLaunchArgument('autostart', default_value='true',
                              description='with lifecycle: configure and activate it at once (false: a manager does)'),
        DeclareLaunchArgument('fastdds_profile',
                              default_value=PathJoinSubstitution([share, 'config', 'fastdds_shm.xml']),
                              description='Fast DDS XML profile (large shared-memory segment)'),
        SetEnvironmentVariable(profile_variable(), LaunchConfiguration('fastdds_profile')),
        OpaqueFunction(function=_seg_node),
    ])
