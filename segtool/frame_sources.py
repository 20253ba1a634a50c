"""Pictures from disk: image folders and video files, for the demo camera, datasets and offline labelling."""
from __future__ import annotations

from itertools import islice
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np

from seg_node.package_files import data_folder

IMAGE_SUFFIXES = ('.png', '.jpg', '.jpeg', '.bmp')
#: The frame source names that are not paths: real street frames shipped with the package (CamVid test frames with
#: their human annotations, data/camvid_street in the CamVid layout) and the procedural road-scene generator.
STREET, SCENES = 'street', 'scenes'
STREET_DATASET = 'camvid_street'


def street_frames() -> Path:
    """Return the folder of the shipped street frames (``data/camvid_street/test``)."""
    return data_folder(STREET_DATASET) / 'test'


class SourceError(ValueError):
    """A frame source that cannot be read; the text names it."""


def image_files(folder: Path) -> list[Path]:
    """List the image files of ``folder`` (by suffix), in name order."""
    return sorted(p for p in Path(folder).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)


def read_rgb(path: Path) -> np.ndarray:
    """Read an image file as RGB uint8."""
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise FileNotFoundError(f'cannot read image {path}')
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


class VideoReader:
    """A video file read frame by frame in OpenCV's BGR order, with its frame rate and (estimated) frame count."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._capture = cv2.VideoCapture(str(self.path))
        if not self._capture.isOpened():
            raise SourceError(f'cannot open video {self.path}')
        self.fps = self._capture.get(cv2.CAP_PROP_FPS) or 30.0
        self.frame_count = int(self._capture.get(cv2.CAP_PROP_FRAME_COUNT)) or None

    def __iter__(self) -> Iterator[np.ndarray]:
        """Yield every frame once, then release the file."""
        try:
            while (grabbed := self._capture.read())[0]:
                yield grabbed[1]
        finally:
            self._capture.release()


def load_frames(source: str, height: int, width: int, count: int, seed: int = 0) -> list[np.ndarray]:
    """Up to ``count`` RGB frames of (height, width) from ``street``, ``scenes``, an image folder or a video file."""
    if source == SCENES:
        from segtool.road_scenes import generate_scene
        return [generate_scene(seed + i, height, width)[0] for i in range(count)]
    path = street_frames() if source == STREET else Path(source).expanduser()
    if path.is_dir():
        frames = [cv2.imread(str(p), cv2.IMREAD_COLOR) for p in image_files(path)[:count]]
    elif path.is_file():
        frames = list(islice(VideoReader(path), count))
    else:
        raise SourceError(f"frame source '{source}' is neither '{STREET}', '{SCENES}', a folder nor a video file")
    frames = [f for f in frames if f is not None]
    if not frames:
        raise SourceError(f"frame source '{source}' holds no readable image")
    return [cv2.cvtColor(cv2.resize(f, (width, height), interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2RGB)
            for f in frames]
