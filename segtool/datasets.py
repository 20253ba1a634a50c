"""Datasets on disk (generic folders, Cityscapes, CamVid, Pascal VOC) and the road-scene generator.

Every dataset yields ``(image, mask)``: an RGB uint8 (H, W, 3) array and a class-index (H, W) array in which
``IGNORE_INDEX`` marks unlabelled pixels, and states its ``class_names`` and ``palette``. A dataset is named
on the command line as ``road`` or ``LAYOUT:ROOT`` (``folder``, ``cityscapes``, ``camvid``, ``voc``).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from seg_node.label_sets import CAMVID, CITYSCAPES, IGNORE_INDEX, PASCAL_VOC, ROAD, LabelSet, read_label_file
from segtool import road_scenes
from segtool.frame_sources import image_files, read_rgb

#: Seed offsets of the road-scene splits: training never draws seeds at or above ``ROAD_SEEDS['val']``.
ROAD_SEEDS = {'train': 0, 'val': 10_000_000, 'test': 20_000_000}


def read_mask(path: Path) -> np.ndarray:
    """Read a single-channel label PNG as stored (palette PNGs give their indices)."""
    from PIL import Image  # cv2 would expand palette PNGs to colour
    with Image.open(path) as mask:
        if mask.mode not in ('L', 'P', 'I', 'I;16'):
            raise ValueError(f'{path}: mask must be single-channel or palette PNG, not mode {mask.mode}')
        return np.array(mask)


class PairDataset:
    """Image/mask file pairs, with an optional lookup table from stored ids to class indices."""

    def __init__(self, pairs: list[tuple[Path, Path]], labels: LabelSet, lut: np.ndarray | None = None) -> None:
        if not pairs:
            raise FileNotFoundError('no image/mask pairs found')
        self.pairs, self.labels, self.lut = pairs, labels, lut
        self.class_names, self.palette = list(labels.class_names), [list(c) for c in labels.palette]

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        image_path, mask_path = self.pairs[i]
        mask = read_mask(mask_path)
        return read_rgb(image_path), (self.lut[mask] if self.lut is not None else mask)


def folder_dataset(root: Path, split: str) -> PairDataset:
    """Open split ``split`` of the ``folder`` layout at ``ROOT``.

    ``ROOT/classes.txt`` (one ``name [r g b]`` per line, line i = class i; read by ``label_sets.read_label_file``),
    ``ROOT/<split>/images/<stem>.*`` and ``ROOT/<split>/masks/<stem>.png`` holding class indices (255 = ignore).
    """
    labels = read_label_file(root / 'classes.txt')
    masks = root / split / 'masks'
    pairs = [(p, masks / f'{p.stem}.png') for p in image_files(root / split / 'images')]
    return PairDataset([p for p in pairs if p[1].exists()], LabelSet(root.name, labels.class_names, labels.palette))


#: Cityscapes labelId of each trainId 0..18.
CITYSCAPES_LABEL_IDS = (7, 8, 11, 12, 13, 17, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 31, 32, 33)


def cityscapes_lut() -> np.ndarray:
    """Build the labelId -> trainId lookup table (unlisted ids -> ignore)."""
    lut = np.full(256, IGNORE_INDEX, np.uint8)
    lut[list(CITYSCAPES_LABEL_IDS)] = np.arange(len(CITYSCAPES_LABEL_IDS))
    return lut


def cityscapes_dataset(root: Path, split: str) -> PairDataset:
    """Open split ``split`` of the Cityscapes layout at ``ROOT``, labelIds mapped to the 19 trainIds.

    ``ROOT/leftImg8bit/<split>/<city>/<name>_leftImg8bit.png`` with
    ``ROOT/gtFine/<split>/<city>/<name>_gtFine_labelIds.png``.
    """
    pairs = []
    for image in sorted((root / 'leftImg8bit' / split).glob('*/*_leftImg8bit.png')):
        name = image.name[:-len('_leftImg8bit.png')]
        pairs.append((image, root / 'gtFine' / split / image.parent.name / f'{name}_gtFine_labelIds.png'))
    return PairDataset(pairs, CITYSCAPES, cityscapes_lut())


def camvid_dataset(root: Path, split: str) -> PairDataset:
    """Open split ``split`` of the SegNet CamVid layout at ``ROOT``.

    ``ROOT/<split>/<name>.png`` with ``ROOT/<split>annot/<name>.png`` holding class indices 0..10; 11 (unlabelled)
    is ignored.
    """
    lut = np.full(256, IGNORE_INDEX, np.uint8)
    lut[:len(CAMVID.class_names)] = np.arange(len(CAMVID.class_names))
    pairs = [(p, root / f'{split}annot' / f'{p.stem}.png') for p in image_files(root / split)]
    return PairDataset(pairs, CAMVID, lut)


def voc_dataset(root: Path, split: str) -> PairDataset:
    """Open split ``split`` of the Pascal VOC layout at ``ROOT``.

    ``ROOT/ImageSets/Segmentation/<split>.txt`` listing ids, ``ROOT/JPEGImages/<id>.jpg`` and palette PNGs
    ``ROOT/SegmentationClass/<id>.png`` (255 = object border, ignored).
    """
    ids = (root / 'ImageSets' / 'Segmentation' / f'{split}.txt').read_text().split()
    pairs = [(root / 'JPEGImages' / f'{i}.jpg', root / 'SegmentationClass' / f'{i}.png') for i in ids]
    return PairDataset(pairs, PASCAL_VOC)


class RoadScenes:
    """Generated road scenes at ``size``: scene i of a split is the generator's seed ``ROAD_SEEDS[split] + i``."""

    class_names = list(ROAD.class_names)
    palette = [list(c) for c in ROAD.palette]

    def __init__(self, split: str, size: tuple[int, int], count: int) -> None:
        if split not in ROAD_SEEDS:
            raise ValueError(f'road split must be one of {", ".join(ROAD_SEEDS)}, not {split!r}')
        self.first_seed, self.size, self.count = ROAD_SEEDS[split], size, count

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        image, train_ids = road_scenes.generate_scene(self.first_seed + i, *self.size)
        return image, road_scenes.trainid_to_index(train_ids)


LAYOUTS = {'folder': folder_dataset, 'cityscapes': cityscapes_dataset, 'camvid': camvid_dataset,
           'voc': voc_dataset}


def open_dataset(spec: str, split: str, size: tuple[int, int], road_count: int = 1000):
    """Open the dataset named by ``spec`` (``road`` or ``LAYOUT:ROOT``); ``size`` and ``road_count`` shape ``road``.

    ``split`` may join splits of a layout on disk with ``+`` (``train+val``): their pairs in that order.
    """
    if spec == 'road':
        return RoadScenes(split, size, road_count)
    layout, _, root = spec.partition(':')
    if layout not in LAYOUTS or not root:
        raise ValueError(f'dataset {spec!r}: expected "road" or LAYOUT:ROOT with LAYOUT one of {", ".join(LAYOUTS)}')
    parts = [LAYOUTS[layout](Path(root), name) for name in split.split('+')]
    return PairDataset([pair for part in parts for pair in part.pairs], parts[0].labels, parts[0].lut)
