"""Label sets: the class names and colours of the datasets models are trained on.

This is the one place these tables live: dataset loaders, the scene generator, the node's fallback palette and
``segtool`` all read them from here.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Label value of a pixel that belongs to no class (unlabelled, ignored in losses and metrics).
IGNORE_INDEX = 255


def voc_palette(count: int) -> np.ndarray:
    """Build the Pascal VOC colour map: (count, 3) uint8 RGB, the bits of each id spread over R, G and B; id 0 black."""
    ids = np.arange(count, dtype=np.uint32)
    palette = np.zeros((count, 3), np.uint8)
    for bit in range(8):
        for channel in range(3):
            palette[:, channel] |= (((ids >> (3 * bit + channel)) & 1) << (7 - bit)).astype(np.uint8)
    return palette


@dataclass(frozen=True)
class LabelSet:
    """Class names in id order and one RGB colour per class."""

    name: str
    class_names: tuple[str, ...]
    palette: tuple[tuple[int, int, int], ...]

    def __post_init__(self) -> None:
        if len(self.palette) != len(self.class_names):
            raise ValueError(f'label set {self.name}: {len(self.palette)} colours for {len(self.class_names)} names')

    def subset(self, name: str, class_names: tuple[str, ...]) -> LabelSet:
        """Return the label set of ``class_names`` only, in the order given, with their colours."""
        return LabelSet(name, class_names, tuple(self.palette[self.class_names.index(n)] for n in class_names))


#: Cityscapes' 19 evaluation classes (trainIds 0..18) with the official colours.
CITYSCAPES = LabelSet('cityscapes', (
    'road', 'sidewalk', 'building', 'wall', 'fence', 'pole', 'traffic light', 'traffic sign', 'vegetation',
    'terrain', 'sky', 'person', 'rider', 'car', 'truck', 'bus', 'train', 'motorcycle', 'bicycle',
), (
    (128, 64, 128), (244, 35, 232), (70, 70, 70), (102, 102, 156), (190, 153, 153), (153, 153, 153),
    (250, 170, 30), (220, 220, 0), (107, 142, 35), (152, 251, 152), (70, 130, 180), (220, 20, 60), (255, 0, 0),
    (0, 0, 142), (0, 0, 70), (0, 60, 100), (0, 80, 100), (0, 0, 230), (119, 11, 32),
))

_VOC_NAMES = ('background', 'aeroplane', 'bicycle', 'bird', 'boat', 'bottle', 'bus', 'car', 'cat', 'chair', 'cow',
              'diningtable', 'dog', 'horse', 'motorbike', 'person', 'pottedplant', 'sheep', 'sofa', 'train',
              'tvmonitor')
#: Pascal VOC 2012: background and 20 object classes, in the VOC colour map.
PASCAL_VOC = LabelSet('pascal_voc', _VOC_NAMES, tuple(tuple(int(v) for v in c) for c in voc_palette(len(_VOC_NAMES))))

#: CamVid's 11 classes as SegNet's version of the dataset uses them (class 11, unlabelled, is ignored).
CAMVID = LabelSet('camvid', (
    'sky', 'building', 'pole', 'road', 'pavement', 'tree', 'sign', 'fence', 'car', 'pedestrian', 'bicyclist',
), (
    (128, 128, 128), (128, 0, 0), (192, 192, 128), (128, 64, 128), (60, 40, 222), (128, 128, 0), (192, 128, 128),
    (64, 64, 128), (64, 0, 128), (64, 64, 0), (0, 128, 192),
))

#: The classes of the procedural road scenes and the shipped road model: Cityscapes classes and colours.
ROAD = CITYSCAPES.subset('road', ('road', 'sidewalk', 'building', 'vegetation', 'sky', 'person', 'car'))

LABEL_SETS = {s.name: s for s in (CITYSCAPES, PASCAL_VOC, CAMVID, ROAD)}
