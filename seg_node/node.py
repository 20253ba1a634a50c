"""The ROS 2 node: a thin shell that feeds camera messages to the pipeline and publishes what it returns.

The subscription callback only keeps the newest frame; one worker thread decodes, segments and publishes
it. A frame that arrives while the worker is busy replaces the waiting one and is counted as dropped.
"""
from __future__ import annotations

import sys
import threading
import time
from types import MappingProxyType

from diagnostic_msgs.msg import DiagnosticStatus
from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor, SetParametersResult
from rclpy.node import Node
from rclpy.parameter import Parameter
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import CompressedImage, Image

from seg_node import publishing
from seg_node.diagnostics import PipelineStats
from seg_node.entry_point import run
from seg_node.frame_path import decoder_for, process_frame
from seg_node.image_codec import ImageError
from seg_node.inference import InferenceEngine, ModelError
from seg_node.model_metadata import MetadataError
from seg_node.package_files import resolve_model_path
from seg_node.params import FROM_MODEL, PARAMS, ParamError, check
from seg_node.pipeline import (OUTPUT_NAMES, FrameSettings, Outputs, SegmentationPipeline, check_against_model,
                               model_defaults)
from seg_node.refine.groups import UNKNOWN_GROUP
from seg_node.refine.temporal import CameraStream

STARTUP_ERRORS = (ModelError, ParamError, MetadataError)
_PARAM_TYPES = {bool: Parameter.Type.BOOL, int: Parameter.Type.INTEGER, float: Parameter.Type.DOUBLE,
                str: Parameter.Type.STRING}


class LatestFrame:
    """A one-message mailbox: ``put`` replaces what is waiting, ``take`` blocks until there is something."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._message = None
        self._closed = False

    def put(self, message) -> bool:
        """Store ``message``; True if it replaced one that was never taken."""
        with self._condition:
            replaced = self._message is not None
            self._message = message
            self._condition.notify()
        return replaced

    def take(self):
        """Return the waiting message, or None once closed."""
        with self._condition:
            while self._message is None and not self._closed:
                self._condition.wait()
            message, self._message = self._message, None
            return message

    def close(self) -> None:
        """Wake the taker for good."""
        with self._condition:
            self._closed = True
            self._condition.notify_all()


def _descriptor(param, value) -> ParameterDescriptor:
    kind = type(value)
    if kind is list:
        element = type(value[0]) if value else str
        ros_type = {int: Parameter.Type.INTEGER_ARRAY, float: Parameter.Type.DOUBLE_ARRAY,
                    str: Parameter.Type.STRING_ARRAY}[element]
    else:
        ros_type = _PARAM_TYPES[kind]
    descriptor = ParameterDescriptor(description=param.description, type=ros_type.value,
                                     read_only=not param.dynamic)
    if param.choices:
        descriptor.additional_constraints = f"one of: {', '.join(param.choices)}"
    if param.low is not None and kind is float:
        descriptor.floating_point_range = [FloatingPointRange(from_value=float(param.low), to_value=float(param.high))]
    elif param.low is not None and kind is int:
        descriptor.integer_range = [IntegerRange(from_value=int(param.low), to_value=int(param.high), step=1)]
    return descriptor


class SegNode(Node):
    """Subscribes ``image`` (or ``image/compressed``), publishes ``segmentation/*`` and ``/diagnostics``."""

    def __init__(self, **kwargs) -> None:
        super().__init__('seg_node', **kwargs)
        values = {p.name: self._declare(p, p.default) for p in PARAMS if p.default is not FROM_MODEL}
        model_file = resolve_model_path(values['model_path'])
        self.engine = InferenceEngine(model_file, values['providers'], values['num_threads'])
        spec = self.engine.spec
        defaults = model_defaults(spec, self.engine.metadata)
        values.update({p.name: self._declare(p, defaults[p.name]) for p in PARAMS if p.default is FROM_MODEL})
        check_against_model(spec, values)
        # Read-only and replaced whole on every change: the worker takes one snapshot per frame.
        self.values = MappingProxyType(values)
        self.pipeline = SegmentationPipeline(self.engine, values, values['resize_mode'])
        self.stream = CameraStream()  # the camera's state across frames (temporal smoothing)
        self.add_on_set_parameters_callback(self._on_set_parameters)
        self.get_logger().info(f'model {model_file}: {spec.describe()}; '
                               f'execution provider {self.engine.provider}')

        depth = self.values['qos_depth']
        reliability = (ReliabilityPolicy.BEST_EFFORT if self.values['qos_reliability'] == 'best_effort'
                       else ReliabilityPolicy.RELIABLE)
        out_qos = QoSProfile(depth=depth, reliability=ReliabilityPolicy.RELIABLE)
        self._outputs = {name: self.create_publisher(Image, publishing.output_topic(name), out_qos)
                         for name in OUTPUT_NAMES if name != 'group_mask' or self.pipeline.groups}
        self._publish_label_info()
        self.diagnostics = self.create_publisher(publishing.DiagnosticArray, '/diagnostics', 10)
        self.stats = PipelineStats()
        self._mailbox = LatestFrame()
        compressed = self.values['input_transport'] == 'compressed'
        message_type = CompressedImage if compressed else Image
        self._decode = decoder_for(message_type)
        self.create_subscription(message_type, 'image/compressed' if compressed else 'image', self._on_image,
                                 QoSProfile(depth=depth, reliability=reliability))
        self.create_timer(1.0, self._publish_diagnostics)
        self._worker = threading.Thread(target=self._work, name='seg_node_worker', daemon=True)
        self._worker.start()

    def _declare(self, param, default):
        """Declare ``param`` (an override from YAML or the command line wins over ``default``) and check it."""
        try:
            value = self.declare_parameter(param.name, default, _descriptor(param, default)).value
        except Exception as err:  # rclpy raises several exception types for a bad override
            raise ParamError(f"parameter '{param.name}': {err}") from None
        return check(param.name, value)

    def _on_set_parameters(self, parameters: list[Parameter]) -> SetParametersResult:
        try:
            checked = {p.name: check(p.name, p.value) for p in parameters}
            check_against_model(self.engine.spec, {**self.values, **checked})
        except (ParamError, KeyError) as err:
            return SetParametersResult(successful=False, reason=str(err))
        self.values = MappingProxyType({**self.values, **checked})
        return SetParametersResult(successful=True)

    def _publish_label_info(self) -> None:
        stamp = self.get_clock().now().to_msg()
        message = publishing.label_info_message(self.pipeline.class_names, stamp)
        if message is None:
            self.get_logger().info('vision_msgs not installed: label metadata only as parameters class_names/palette'
                                   ' (group names: class_groups)')
            return
        latched = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE,
                             durability=DurabilityPolicy.TRANSIENT_LOCAL)
        self._label_info_pubs = [self.create_publisher(type(message), publishing.LABEL_INFO_TOPIC, latched)]
        self._label_info_pubs[0].publish(message)
        if self.pipeline.groups:
            groups = publishing.label_info_message(list(self.pipeline.groups.names), stamp, unknown_id=UNKNOWN_GROUP)
            self._label_info_pubs.append(self.create_publisher(type(groups), publishing.GROUP_INFO_TOPIC, latched))
            self._label_info_pubs[1].publish(groups)

    def _on_image(self, message) -> None:
        self.stats.count('in')
        max_age = self.values['max_frame_age_ms']
        if max_age:
            stamp = message.header.stamp
            age_ms = (self.get_clock().now().nanoseconds - (stamp.sec * 10**9 + stamp.nanosec)) / 1e6
            if age_ms > max_age:
                self.stats.drop('stale')
                return
        if self._mailbox.put((message, time.perf_counter())):
            self.stats.drop('replaced')

    def _wanted(self, values) -> Outputs:
        pubs = self._outputs
        return Outputs(**{name: values[f'publish_{name}'] and pubs[name].get_subscription_count() > 0
                          for name in pubs})

    def _work(self) -> None:
        while (item := self._mailbox.take()) is not None:
            message, arrived = item
            values = self.values
            want = self._wanted(values)
            if not want.any():
                self.stats.count('idle')
                continue
            try:
                self._process(message, arrived, want, FrameSettings.from_values(values))
            except ImageError as err:
                self.stats.drop('malformed')
                self.get_logger().warn(f'skipping malformed image: {err}', throttle_duration_sec=1.0)
            except Exception as err:  # keep serving: one bad frame must not stop the node
                self.stats.drop('failed')
                self.get_logger().error(f'frame failed: {type(err).__name__}: {err}', throttle_duration_sec=1.0)

    def _process(self, message, arrived: float, want: Outputs, settings: FrameSettings) -> None:
        start = time.perf_counter()
        processed = process_frame(self.pipeline, message, self._decode, want, settings, self.stream)
        built = time.perf_counter()
        for name, output in processed.messages.items():
            self._outputs[name].publish(output)
        done = time.perf_counter()
        self.stats.record({'queued': start - arrived, **processed.timings, 'publish': done - built,
                           'total': done - arrived})
        self.stats.count('out')

    def _publish_diagnostics(self) -> None:
        values, period = self.stats.snapshot()
        values['execution provider'] = self.engine.provider
        problems = [k for k in ('dropped_malformed', 'dropped_failed') if period[k]]
        level = DiagnosticStatus.WARN if problems else DiagnosticStatus.OK
        message = ', '.join(f'{period[k]} {k.split("_")[1]} frames' for k in problems) or 'ok'
        self.diagnostics.publish(publishing.diagnostics_message(
            self.get_clock().now().to_msg(), 'seg_node: segmentation', self.engine.provider, level, message, values))

    def close(self) -> None:
        """Stop the worker (it finishes the frame in hand)."""
        self._mailbox.close()
        self._worker.join(timeout=5.0)


def main(args: list[str] | None = None) -> int:
    """Run the node until Ctrl-C/SIGTERM; a startup fault prints one line and returns 1."""
    return run('seg_node', SegNode, STARTUP_ERRORS, args)


if __name__ == '__main__':
    sys.exit(main())
