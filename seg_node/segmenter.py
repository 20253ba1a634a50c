"""What the plain and the lifecycle node share: parameters, model, cameras, the worker and /diagnostics.

The node classes are thin shells over :class:`Segmenter`: ``SegNode`` configures and activates it at once,
``SegLifecycleNode`` maps the lifecycle transitions onto :meth:`~Segmenter.configure`, :meth:`~Segmenter.activate`,
:meth:`~Segmenter.deactivate` and :meth:`~Segmenter.cleanup`. Each camera's messages wait in a newest-frame
mailbox; one worker thread takes what waits, segments it with one snapshot of the parameters and publishes.
"""
from __future__ import annotations

import threading
import time
from types import MappingProxyType

import numpy as np
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor, SetParametersResult
from rclpy.node import Node
from rclpy.parameter import Parameter
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy

from seg_node import publishing
from seg_node.camera import Camera
from seg_node.diagnostics import ERROR, OK, Health, status_name
from seg_node.frame_path import Job, process_frames
from seg_node.image_codec import Frame, ImageError
from seg_node.inference import InferenceEngine, ModelError
from seg_node.mailbox import NewestFrames
from seg_node.model_metadata import MetadataError
from seg_node.params import FROM_MODEL, PARAMS, ParamError, check
from seg_node.pipeline import (OUTPUT_NAMES, FrameSettings, Outputs, SegmentationPipeline, build_pipeline,
                               check_against_model, model_defaults, open_engine)
from seg_node.refine.groups import UNKNOWN_GROUP

#: What a startup (or configure) fault raises: the node prints it as one line, the lifecycle node fails the transition.
STARTUP_ERRORS = (ModelError, ParamError, MetadataError)
_PARAM_TYPES = {bool: Parameter.Type.BOOL, int: Parameter.Type.INTEGER, float: Parameter.Type.DOUBLE,
                str: Parameter.Type.STRING}
_LEVELS = {OK: DiagnosticStatus.OK, 1: DiagnosticStatus.WARN, ERROR: DiagnosticStatus.ERROR}


def _descriptor(param, value) -> ParameterDescriptor:
    kind = param.type
    if kind is list:
        element = type(param.example[0] if param.example else value[0]) if (param.example or value) else str
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


class Segmenter:
    """The segmentation machinery of one node: declared parameters, the model, its cameras and the worker."""

    def __init__(self, node: Node) -> None:
        """Declare the parameters that do not depend on the model (a bad value raises ParamError)."""
        self.node = node
        self.values = MappingProxyType({p.name: self._declare(p, p.default) for p in PARAMS
                                        if p.default is not FROM_MODEL})
        node.add_on_set_parameters_callback(self._on_set_parameters)
        self.engine: InferenceEngine | None = None
        self.pipeline: SegmentationPipeline | None = None
        self.cameras: list[Camera] = []
        self.active = False
        self._mailbox = NewestFrames()
        self._worker: threading.Thread | None = None
        self._timer = self._diagnostics = None
        self._label_info: dict[str, object] = {}  # topic -> latched publisher

    # The lifecycle -------------------------------------------------------------------------------------------

    def configure(self) -> None:
        """Load and warm up the model, declare the parameters that default to it, create the outputs.

        Raises one of STARTUP_ERRORS, naming the fault, if the model or a parameter cannot be used.
        """
        values = dict(self.values)
        engine = open_engine(values)
        defaults = model_defaults(engine.spec, engine.metadata)
        values.update({p.name: self._declare(p, defaults[p.name]) for p in PARAMS if p.default is FROM_MODEL})
        pipeline = build_pipeline(engine, values)
        height, width = (engine.spec.camera and engine.spec.camera.frame_hw) or pipeline.input_hw or (480, 640)
        pipeline.run(Frame(np.zeros((height, width, 3), np.uint8), False), Outputs(mask=True),
                     FrameSettings.from_values(values))  # the first run allocates and optimizes
        self.values, self.engine, self.pipeline = MappingProxyType(values), engine, pipeline
        output_qos = QoSProfile(depth=values['output_qos_depth'], reliability=ReliabilityPolicy.RELIABLE)
        outputs = [name for name in OUTPUT_NAMES if name != 'group_mask' or pipeline.groups]
        self.cameras = [Camera(self.node, name, values, outputs, output_qos, lambda: self.values, self._deliver)
                        for name in values['cameras'] or ['']]
        self._diagnostics = self.node.create_publisher(DiagnosticArray, '/diagnostics', 10)
        self._timer = self.node.create_timer(1.0, self._tick)
        self.node.get_logger().info(f'model {engine.path}: {engine.spec.describe()}; '
                                    f'execution provider {engine.provider}')

    def activate(self) -> None:
        """Publish the class names (latched), subscribe to the cameras and start the worker."""
        self._publish_label_info()
        self._mailbox = NewestFrames()
        for camera in self.cameras:
            camera.subscribe()
        self._worker = threading.Thread(target=self._work, name='seg_node_worker', daemon=True)
        self._worker.start()
        self.active = True

    def deactivate(self) -> None:
        """Drop the camera subscriptions and stop the worker (it finishes the frame in hand)."""
        self.active = False
        for camera in self.cameras:
            camera.unsubscribe()
        self._mailbox.close()
        if self._worker is not None:
            self._worker.join(timeout=10.0)
            self._worker = None

    def cleanup(self) -> None:
        """Destroy the outputs and the timer, and free the model's session."""
        for camera in self.cameras:
            camera.close()
        for entity, destroy in ((self._timer, self.node.destroy_timer),
                                (self._diagnostics, self.node.destroy_publisher),
                                *((p, self.node.destroy_publisher) for p in self._label_info.values())):
            if entity is not None:
                destroy(entity)
        self.cameras, self._timer, self._diagnostics, self._label_info = [], None, None, {}
        self.engine = self.pipeline = None

    # Parameters ----------------------------------------------------------------------------------------------

    def _declare(self, param, default):
        """Declare ``param`` (an override from YAML or the command line wins over ``default``) and check it."""
        try:
            if self.node.has_parameter(param.name):  # configured before: the value stands
                value = self.node.get_parameter(param.name).value
            else:
                descriptor = _descriptor(param, default)
                # An empty list says nothing of its element type: declare the type, an override gives the value.
                declared = Parameter.Type(descriptor.type) if default == [] else default
                value = self.node.declare_parameter(param.name, declared, descriptor).value
                value = default if value is None else value
        except Exception as err:  # rclpy raises several exception types for a bad override
            raise ParamError(f"parameter '{param.name}': {err}") from None
        return check(param.name, value)

    def _on_set_parameters(self, parameters: list[Parameter]) -> SetParametersResult:
        try:
            checked = {p.name: check(p.name, p.value) for p in parameters}
            if self.engine is not None:
                check_against_model(self.engine.spec, {**self.values, **checked})
        except (ParamError, KeyError) as err:
            return SetParametersResult(successful=False, reason=str(err))
        self.values = MappingProxyType({**self.values, **checked})  # replaced whole: a frame sees one snapshot
        return SetParametersResult(successful=True)

    # Frames --------------------------------------------------------------------------------------------------

    def _deliver(self, camera: Camera, item: tuple) -> bool:
        return self._mailbox.put(camera, item)

    def _work(self) -> None:
        logger = self.node.get_logger()
        mailbox = self._mailbox
        while (taken := mailbox.take()) is not None:
            values = self.values
            cameras, jobs, arrivals = [], [], []
            try:
                for camera, (message, arrived) in taken.items():
                    topics = camera.wanted(values)
                    if not topics:
                        camera.stats.count('idle')
                        continue
                    cameras.append(camera)
                    jobs.append(Job.for_topics(message, camera.decode, topics, camera.stream))
                    arrivals.append(arrived)
                if jobs:
                    self._process(cameras, jobs, arrivals, FrameSettings.from_values(values))
            except Exception as err:  # keep serving: one bad frame must not stop the node
                if not self.node.context.ok():
                    return  # shutting down: the frames in hand are abandoned quietly
                for camera in cameras or taken:
                    camera.stats.drop('failed')
                logger.error(f'frame failed: {type(err).__name__}: {err}', throttle_duration_sec=1.0)

    def _process(self, cameras: list[Camera], jobs: list[Job], arrivals: list[float],
                 settings: FrameSettings) -> None:
        """Segment the cameras' frames together, publish each camera's outputs and record its timings."""
        start = time.perf_counter()
        outcomes = process_frames(self.pipeline, jobs, settings)
        for camera, outcome, arrived in zip(cameras, outcomes, arrivals):
            if isinstance(outcome, ImageError):
                camera.stats.drop('malformed')
                self.node.get_logger().warning(f'{camera.topic}: skipping malformed image: {outcome}',
                                               throttle_duration_sec=1.0)
                continue
            published = time.perf_counter()
            for name, output in outcome.messages.items():
                camera.outputs[name].publish(output)
            done = time.perf_counter()
            camera.stats.record({'queued': start - arrived, **outcome.timings, 'publish': done - published,
                                 'total': done - arrived})
            camera.stats.count('out')
            if outcome.result.batch_size > 1:
                camera.stats.count('batched')

    # Metadata and diagnostics --------------------------------------------------------------------------------

    def _publish_label_info(self) -> None:
        """Publish (latched) the class names and, with class_groups, the group names."""
        stamp = self.node.get_clock().now().to_msg()
        names = {publishing.LABEL_INFO_TOPIC: publishing.label_info_message(self.pipeline.class_names, stamp)}
        if self.pipeline.groups:
            names[publishing.GROUP_INFO_TOPIC] = publishing.label_info_message(
                list(self.pipeline.groups.names), stamp, unknown_id=UNKNOWN_GROUP)
        if names[publishing.LABEL_INFO_TOPIC] is None:
            self.node.get_logger().info('vision_msgs not installed: label metadata only as parameters '
                                        'class_names/palette (group names: class_groups)')
            return
        latched = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE,
                             durability=DurabilityPolicy.TRANSIENT_LOCAL)
        for topic, message in names.items():
            if topic not in self._label_info:
                self._label_info[topic] = self.node.create_publisher(type(message), topic, latched)
            self._label_info[topic].publish(message)

    def _tick(self) -> None:
        """Once a second: match each camera's subscription to its publishers, publish /diagnostics."""
        worker_alive = self._worker is not None and self._worker.is_alive()
        statuses = []
        for camera in self.cameras:
            if self.active:
                camera.subscribe()
            values, period = camera.stats.snapshot()
            values['execution provider'] = self.engine.provider
            if camera.qos is not None:
                values['input QoS'] = f'{camera.qos.name} ({camera.qos.reason})'
            subscribers = camera.subscribers()
            values['outputs subscribed'] = ', '.join(subscribers) or 'none'
            health = camera.stats.assess(period, bool(subscribers), camera.topic)
            if not self.active:
                health = Health(OK, 'inactive: not subscribed to the camera')
            elif not worker_alive:
                health = Health(ERROR, f'the worker thread stopped: no frame is processed; {health.message}')
            name = status_name(self.node.get_fully_qualified_name(), camera.name)
            statuses.append(publishing.diagnostics_status(name, self.engine.provider, _LEVELS[health.level],
                                                          health.message, values))
        try:
            self._diagnostics.publish(publishing.diagnostics_array(self.node.get_clock().now().to_msg(), statuses))
        except Exception as err:  # a signal can end the context between the timer's start and this publish
            # rclpy 9 has been seen to report the context as ok just after such a publish failed on it.
            if self.node.context.ok() and 'context is invalid' not in str(err):
                raise

    def close(self) -> None:
        """Stop everything (for shutdown)."""
        if self.active:
            self.deactivate()
