"""The one path a camera message takes, for the node, the benchmark and offline labelling alike.

message -> decoded frame -> pipeline -> output messages carrying the input's header, timed per stage, under one
snapshot of the runtime parameters: what is measured and what is labelled is what ships.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable

from sensor_msgs.msg import CompressedImage, Image

from seg_node.image_codec import Frame, decode_compressed, decode_image
from seg_node.pipeline import FrameSettings, Outputs, Result, SegmentationPipeline
from seg_node.publishing import image_message, output_images
from seg_node.refine.temporal import CameraStream


def decoder_for(message_type: type) -> Callable[[Any], Frame]:
    """Return the decoder of a sensor_msgs Image or CompressedImage class."""
    return decode_compressed if message_type is CompressedImage else decode_image


@dataclass
class Processed:
    """One frame's outputs: the pipeline's arrays, the messages of the outputs asked for, seconds per stage."""

    result: Result
    messages: dict[str, Image]
    timings: dict[str, float]


def process_frame(pipeline: SegmentationPipeline, message, decode: Callable[[Any], Frame], want: Outputs,
                  settings: FrameSettings, stream: CameraStream | None = None) -> Processed:
    """Segment one camera message; ImageError if it cannot be decoded.

    ``messages`` holds one sensor_msgs/Image per output in ``want`` (keys as in :class:`Outputs`), each with
    ``message.header``; ``timings`` has decode, preprocess, inference, postprocess and message. ``stream`` is the
    state of the camera the message comes from, told the message's stamp and frame_id (temporal smoothing).
    """
    start = time.perf_counter()
    frame = decode(message)
    if stream is not None:
        stamp = message.header.stamp
        stream.start(stamp.sec * 1_000_000_000 + stamp.nanosec, message.header.frame_id)
    decoded = time.perf_counter()
    result = pipeline.run(frame, want, settings, stream)
    segmented = time.perf_counter()
    messages = {name: image_message(pixels, encoding, message.header)
                for name, (pixels, encoding) in output_images(result, frame.bgr).items() if getattr(want, name)}
    timings = {'decode': decoded - start, **result.timings, 'message': time.perf_counter() - segmented}
    return Processed(result, messages, timings)
