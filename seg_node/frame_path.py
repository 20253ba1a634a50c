"""The one path a camera message takes, for the node, the benchmark and offline labelling alike.

message -> decoded frame -> pipeline -> output messages carrying the input's header, timed per stage, under one
snapshot of the runtime parameters: what is measured and what is labelled is what ships.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable

from sensor_msgs.msg import CompressedImage, Image

from seg_node.compression import CODECS, compressed_message
from seg_node.image_codec import Frame, ImageError, decode_compressed, decode_image
from seg_node.pipeline import OUTPUT_NAMES, FrameSettings, Outputs, Result, SegmentationPipeline
from seg_node.publishing import image_message, is_compressed, output_images, output_name
from seg_node.refine.temporal import CameraStream


def decoder_for(message_type: type) -> Callable[[Any], Frame]:
    """Return the decoder of a sensor_msgs Image or CompressedImage class."""
    return decode_compressed if message_type is CompressedImage else decode_image


@dataclass
class Processed:
    """One frame's outputs: the pipeline's arrays, the messages of the topics asked for, seconds per stage."""

    result: Result
    messages: dict[str, Image | CompressedImage]
    timings: dict[str, float]


@dataclass(frozen=True)
class Job:
    """A camera message to segment: how to decode it, which outputs it needs and which messages to build.

    ``topics`` are keys of ``publishing.output_topic`` ('mask', 'mask/compressed', ...); None builds the raw
    image of each output in ``want``.
    """

    message: Any
    decode: Callable[[Any], Frame]
    want: Outputs
    stream: CameraStream | None = None  # the camera's state across frames (temporal smoothing)
    topics: frozenset[str] | None = None

    @classmethod
    def for_topics(cls, message, decode: Callable[[Any], Frame], topics: frozenset[str],
                   stream: CameraStream | None = None) -> Job:
        """Return the job that builds the messages of ``topics``, computing only the outputs they carry."""
        names = {output_name(key) for key in topics}
        return cls(message, decode, Outputs(**{name: name in names for name in OUTPUT_NAMES}), stream, topics)

    def topic_keys(self) -> list[str]:
        """Return the topic keys whose messages this job builds."""
        if self.topics is None:
            return [name for name in OUTPUT_NAMES if getattr(self.want, name)]
        return sorted(self.topics)


def process_frames(pipeline: SegmentationPipeline, jobs: list[Job],
                   settings: FrameSettings) -> list[Processed | ImageError]:
    """Segment several cameras' messages together (one inference where the model batches); one outcome per job.

    A message that cannot be decoded gives its ImageError in its place; the others are served. Each
    ``Processed.messages`` holds one message per topic key of the job (:meth:`Job.topic_keys`), each with the job
    message's header: a sensor_msgs/Image, or for ``<name>/compressed`` a CompressedImage (``compression``);
    ``timings`` has decode, preprocess, inference (its batch's), postprocess, message and, where a compressed
    image was built, compress. A job's ``stream`` is told the message's stamp and frame_id.
    """
    outcomes: list[Processed | ImageError | None] = [None] * len(jobs)
    decoded, decode_seconds = [], {}
    for index, job in enumerate(jobs):
        start = time.perf_counter()
        try:
            decoded.append((index, job.decode(job.message)))
        except ImageError as err:
            outcomes[index] = err
        else:
            if job.stream is not None:
                stamp = job.message.header.stamp
                job.stream.start(stamp.sec * 1_000_000_000 + stamp.nanosec, job.message.header.frame_id)
        decode_seconds[index] = time.perf_counter() - start
    results = pipeline.run_batch([frame for _, frame in decoded], [jobs[i].want for i, _ in decoded], settings,
                                 [jobs[i].stream for i, _ in decoded])
    for (index, frame), result in zip(decoded, results):
        start = time.perf_counter()
        header = jobs[index].message.header
        images = output_images(result, frame.bgr)
        keys = jobs[index].topic_keys()
        messages = {key: image_message(*images[key], header) for key in keys if key in images}
        timings = {'decode': decode_seconds[index], **result.timings, 'message': time.perf_counter() - start}
        compressed = [key for key in keys if is_compressed(key) and output_name(key) in images]
        if compressed:
            start = time.perf_counter()
            for key in compressed:
                name = output_name(key)
                messages[key] = compressed_message(*images[name], CODECS[name], header, settings.jpeg_quality)
            timings['compress'] = time.perf_counter() - start
        outcomes[index] = Processed(result, messages, timings)
    return outcomes


def process_frame(pipeline: SegmentationPipeline, message, decode: Callable[[Any], Frame], want: Outputs,
                  settings: FrameSettings, stream: CameraStream | None = None,
                  topics: frozenset[str] | None = None) -> Processed:
    """Segment one camera message (:func:`process_frames` for one); ImageError if it cannot be decoded.

    ``topics`` (keys of ``publishing.output_topic``): the messages to build, and then the outputs they carry are
    computed whatever ``want`` says; without them, the raw image of each output in ``want``.
    """
    job = Job(message, decode, want, stream) if topics is None else Job.for_topics(message, decode, topics, stream)
    outcome = process_frames(pipeline, [job], settings)[0]
    if isinstance(outcome, ImageError):
        raise outcome
    return outcome
