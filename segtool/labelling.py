"""Offline labelling (``segtool label``): a bag, a video or an image folder through the node's own frame path.

Every frame takes :func:`seg_node.frame_path.process_frame` with the pipeline the node builds from the same
params file, so a labelled frame is what the node would have published for it.

Bags: a new MCAP bag holds each labelled camera topic, copied byte for byte, and beside it the outputs asked
for on ``<camera namespace>/segmentation/<output>``, where the node's outputs are when it runs in the camera's
namespace (``/front/image_raw`` -> ``/front/segmentation/mask``; a ``.../compressed`` topic counts as the image
topic it compresses). Each output carries its input's header and is logged at its input's log time. Depth topics
(:mod:`segtool.depth_images`) are skipped and named in a note: not labelled, not copied, not failures.

Folders and videos: one PNG per frame and output in ``<out>/<output>/`` (masks hold class ids: mono8, or
16-bit above 256 classes), named after the image (a video's frames: ``frame_000000.png``, ...), and for a
video with overlays also ``<out>/overlay.mp4``.
"""
from __future__ import annotations

import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import cv2
import numpy as np
from rclpy.serialization import deserialize_message, serialize_message
from sensor_msgs.msg import CompressedImage, Image
from std_msgs.msg import Header
from tqdm import tqdm

from seg_node.frame_path import decoder_for, process_frame
from seg_node.image_codec import decode_image
from seg_node.pipeline import OUTPUT_NAMES, FrameSettings, Outputs, SegmentationPipeline
from seg_node.publishing import image_message, output_images, output_topic
from segtool.bags import BagError, BagReader, McapBagWriter, canonical_cdr, is_bag
from segtool.depth_images import depth_kind
from segtool.frame_sources import SourceError, VideoReader, image_files, read_rgb

IMAGE_TYPE = 'sensor_msgs/msg/Image'
IMAGE_TYPES = {IMAGE_TYPE: Image, 'sensor_msgs/msg/CompressedImage': CompressedImage}
#: How many skipped frames a report names one by one.
NAMED_SKIPS = 5


class LabelError(RuntimeError):
    """Labelling cannot start or go on; the text says why."""


@dataclass
class LabelReport:
    """What a labelling run did: frames labelled, frames skipped (and why), messages or files written."""

    frames: int = 0
    skipped: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    written: dict[str, int] = field(default_factory=dict)
    damage: str | None = None
    seconds: float = 0.0

    def skip(self, reason: str) -> None:
        """Count a frame that could not be labelled."""
        self.skipped.append(reason)

    def errors(self, out: Path) -> list[str]:
        """Say what went wrong, one line per fault (frames not labelled, damage); empty when nothing did."""
        errors = []
        if self.skipped:
            named = '; '.join(self.skipped[:NAMED_SKIPS])
            errors.append(f'{len(self.skipped)} frames could not be labelled: {named}')
        if self.damage:
            errors.append(f'{self.damage}; the {self.frames} frames before it are labelled in {out}')
        return errors


def default_output(source: Path) -> Path:
    """``<source>_labelled`` beside the source (its suffix dropped)."""
    source = Path(source)
    return source.with_name(f'{source.stem}_labelled')


def prepare_output(source: Path, out: Path, overwrite: bool) -> None:
    """Refuse a missing input, and an output that is, holds or lies in the input.

    An output that exists is refused too, unless ``overwrite``: then it is removed.
    """
    if not Path(source).exists():
        raise LabelError(f'input {source} does not exist')
    source_path, out_path = Path(source).resolve(), Path(out).resolve()
    if out_path == source_path or source_path.is_relative_to(out_path) or out_path.is_relative_to(source_path):
        raise LabelError(f'output {out} would write over the input {source}: choose another --out')
    if out_path.exists() or out_path.is_symlink():
        if not overwrite:
            raise LabelError(f'output {out} exists: choose another --out, or --overwrite to replace it')
        if out_path.is_dir() and not out_path.is_symlink():
            shutil.rmtree(out_path)
        else:
            out_path.unlink()


def output_namespace(topic: str, msgtype: str) -> str:
    """Return the namespace of a camera topic: its parent, after a CompressedImage's ``/compressed``."""
    if msgtype != IMAGE_TYPE and topic.endswith('/compressed'):
        topic = topic[:-len('/compressed')]
    return topic.rsplit('/', 1)[0] if '/' in topic else ''


def progress(total: int | None) -> tqdm:
    """Return a progress bar (frames/s, and the ETA when ``total`` is known) on a terminal's stderr."""
    return tqdm(total=total, unit='frame', desc='label', disable=None, dynamic_ncols=True)


class Labeller:
    """Labels bags, videos and folders with one pipeline, one settings snapshot and the outputs in ``want``."""

    def __init__(self, pipeline: SegmentationPipeline, settings: FrameSettings, want: Outputs) -> None:
        self.pipeline, self.settings, self.want = pipeline, settings, want

    def label(self, source: Path, out: Path, topics: tuple[str, ...] = ()) -> LabelReport:
        """Label ``source`` (a bag, a folder of images or a video file) into ``out``, which must be new."""
        source = Path(source)
        start = time.perf_counter()
        if is_bag(source):
            report = self._bag(source, Path(out), topics)
        elif topics:
            raise LabelError(f'--topic applies to bags; {source} is not one')
        elif source.is_dir():
            report = self._folder(source, Path(out))
        else:
            report = self._video(source, Path(out))
        report.seconds = time.perf_counter() - start
        return report

    def _bag(self, source: Path, out: Path, topics: tuple[str, ...]) -> LabelReport:
        reader = BagReader(source)
        report = LabelReport()
        if reader.damage:
            report.notes.append(f'the index of {source} cannot be used ({reader.damage}): read record by record')
        chosen = set(topics)
        if reader.topics:
            _check_topics(source, reader.topics, chosen)

        def wanted(topic: str, msgtype: str) -> bool:
            return msgtype in IMAGE_TYPES and (topic in chosen if chosen else True)

        total = sum(count for topic, (msgtype, count) in reader.topics.items() if wanted(topic, msgtype))
        owners: dict[str, str] = {}  # output namespace -> the camera topic labelled into it
        depth: dict[str, str] = {}  # depth topic -> what it holds
        writer = McapBagWriter(out)
        try:
            with progress(total or None) as bar:
                for message in reader.messages(wanted):
                    bar.update()
                    if message.topic in depth:
                        continue
                    image = self._deserialize(message, report)
                    if image is not None and (kind := depth_kind(image)):
                        depth[message.topic] = kind
                        report.notes.append(f'{message.topic} skipped: {kind}, not a camera')
                        continue
                    namespace = output_namespace(message.topic, message.msgtype)
                    owner = owners.setdefault(namespace, message.topic)
                    if owner != message.topic:
                        note = (f'{message.topic} not labelled: its outputs would go to '
                                f'{namespace}/segmentation/ with those of {owner} (choose with --topic)')
                        if note not in report.notes:
                            report.notes.append(note)
                        continue
                    writer.write(message.topic, message.msgtype, message.log_time, message.data)
                    if image is not None:
                        self._bag_frame(image, message, namespace, writer, report)
        except BagError as err:
            report.damage = str(err)
        finally:
            writer.close()
        report.written = dict(writer.counts)
        unread = chosen - set(owners.values()) - set(depth)
        report.notes += [f'{topic}: no image message read' for topic in sorted(unread)]
        if not owners and not report.damage:
            shutil.rmtree(out)
            skipped = f' (depth topics skipped: {", ".join(sorted(depth))})' if depth else ''
            raise LabelError(f'{source} holds no camera image message on '
                             f'{", ".join(sorted(chosen)) or "any topic"}{skipped}')
        return report

    @staticmethod
    def _deserialize(message, report: LabelReport):
        """Return a bag message's Image or CompressedImage, or None after counting it as skipped."""
        try:
            return deserialize_message(message.data, IMAGE_TYPES[message.msgtype])
        except Exception as err:  # rclpy raises its RMWError for bytes that are not this type
            report.skip(f'{message.topic} at log time {message.log_time}: not a {message.msgtype}: {err}')
            return None

    def _bag_frame(self, image, message, namespace: str, writer: McapBagWriter, report: LabelReport) -> None:
        processed = self._process(image, decoder_for(type(image)), f'{message.topic} at {message.log_time}', report)
        if processed is None:
            return
        for name, output in processed.messages.items():
            writer.write(f'{namespace}/{output_topic(name)}', IMAGE_TYPE, message.log_time,
                         canonical_cdr(serialize_message(output), IMAGE_TYPE))
        report.frames += 1

    def _process(self, message, decode: Callable, where: str, report: LabelReport):
        """Return the frame path's result for ``message``, or None after counting it as skipped."""
        try:
            return process_frame(self.pipeline, message, decode, self.want, self.settings)
        except Exception as err:  # like the node: a frame that fails is counted and skipped, the next is served
            report.skip(f'{where}: {type(err).__name__}: {err}')
            return None

    def _folder(self, source: Path, out: Path) -> LabelReport:
        files = image_files(source)
        if not files:
            raise LabelError(f'{source} is neither a bag nor a folder holding images')
        stems: dict[str, Path] = {}
        for path in files:
            if (other := stems.setdefault(path.stem, path)) != path:
                raise LabelError(f'{other.name} and {path.name} would both be labelled {path.stem}.png: rename one')
        frames = ((path.stem, lambda path=path: (read_rgb(path), 'rgb8')) for path in files)
        return self._pictures(source, frames, len(files), out, None)

    def _video(self, source: Path, out: Path) -> LabelReport:
        try:
            video = VideoReader(source)
        except SourceError as err:
            raise LabelError(f'{source} is neither a bag, a folder nor a video that OpenCV can read ({err})') from None
        frames = ((f'frame_{index:06d}', lambda pixels=pixels: (pixels, 'bgr8')) for index, pixels in enumerate(video))
        return self._pictures(source, frames, video.frame_count, out, video.fps)

    def _pictures(self, source: Path, frames: Iterator[tuple[str, Callable]], total: int | None, out: Path,
                  fps: float | None) -> LabelReport:
        """Write a PNG per output (and the overlay video when ``fps`` is given) of each frame ``load()`` gives."""
        report = LabelReport()
        names = [name for name in OUTPUT_NAMES if getattr(self.want, name)]
        for name in names:
            (out / name).mkdir(parents=True)
        movie = None
        try:
            with progress(total) as bar:
                for stem, load in frames:
                    bar.update()
                    try:
                        pixels, encoding = load()
                    except (OSError, ValueError) as err:
                        report.skip(f'{stem}: {err}')
                        continue
                    message = image_message(pixels, encoding, Header(frame_id=stem))
                    processed = self._process(message, decode_image, stem, report)
                    if processed is None:
                        continue
                    pictures = output_images(processed.result, encoding == 'bgr8')
                    for name in names:
                        _write_png(out / name / f'{stem}.png', *pictures[name])
                    if fps and 'overlay' in names:
                        if movie is None:
                            movie = _open_movie(out / 'overlay.mp4', fps, pixels.shape)
                        movie.write(_for_opencv(*pictures['overlay']))
                    report.frames += 1
        finally:
            if movie is not None:
                movie.release()
        if not report.frames and not report.skipped:
            raise LabelError(f'no frame could be read from {source}')
        report.written = {f'{out / name}/': report.frames for name in names}
        if movie is not None:
            report.written[str(out / 'overlay.mp4')] = report.frames
        return report


def _check_topics(source: Path, topics: dict[str, tuple[str, int]], chosen: set[str]) -> None:
    """Refuse, before anything is written, chosen topics the bag lacks or that are not images."""
    images = sorted(t for t, (msgtype, _) in topics.items() if msgtype in IMAGE_TYPES)
    if not images:
        listing = ', '.join(f'{t} ({msgtype})' for t, (msgtype, _) in sorted(topics.items())) or 'none'
        raise LabelError(f'{source} has no sensor_msgs/Image or CompressedImage topic; its topics: {listing}')
    wrong = sorted(chosen - set(images))
    if wrong:
        raise LabelError(f"--topic {', '.join(wrong)}: not an image topic of {source}; its image topics: "
                         f"{', '.join(images)}")


def _for_opencv(pixels: np.ndarray, encoding: str) -> np.ndarray:
    """Return an output picture in OpenCV's order: rgb8 turned to BGR, the rest as it is."""
    return cv2.cvtColor(pixels, cv2.COLOR_RGB2BGR) if encoding == 'rgb8' else pixels


def _write_png(path: Path, pixels: np.ndarray, encoding: str) -> None:
    if not cv2.imwrite(str(path), _for_opencv(pixels, encoding)):
        raise LabelError(f'cannot write {path}')


def _open_movie(path: Path, fps: float, shape: tuple[int, ...]) -> cv2.VideoWriter:
    movie = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*'mp4v'), fps, (shape[1], shape[0]))
    if not movie.isOpened():
        raise LabelError(f'cannot write {path}: this OpenCV build has no MP4 encoder')
    return movie
