"""Label sets: the class names and colours of the datasets models are trained on.

This is the one place these tables live: dataset loaders, the scene generator, the node's fallback palette and
``segtool`` all read them from here. Built in: ``cityscapes`` (19 trainIds), ``pascal_voc`` (21), ``ade20k`` (150),
``camvid`` (SegNet's 11) and ``camvid32`` (all 32), ``road``; any other set comes from a names/colours file
(:func:`read_label_file`: text lines, or a Mapillary Vistas-style JSON).
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

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

#: ADE20K as the MIT Scene Parsing benchmark (SceneParse150) uses it: 150 classes, each named by its first synonym
#: (as MMSegmentation and the Hugging Face models do), in the benchmark's colours; label 0 (other) is not a class.
ADE20K = LabelSet('ade20k', (
    'wall', 'building', 'sky', 'floor', 'tree', 'ceiling', 'road', 'bed', 'windowpane', 'grass', 'cabinet',
    'sidewalk', 'person', 'earth', 'door', 'table', 'mountain', 'plant', 'curtain', 'chair', 'car', 'water',
    'painting', 'sofa', 'shelf', 'house', 'sea', 'mirror', 'rug', 'field', 'armchair', 'seat', 'fence', 'desk',
    'rock', 'wardrobe', 'lamp', 'bathtub', 'railing', 'cushion', 'base', 'box', 'column', 'signboard',
    'chest of drawers', 'counter', 'sand', 'sink', 'skyscraper', 'fireplace', 'refrigerator', 'grandstand', 'path',
    'stairs', 'runway', 'case', 'pool table', 'pillow', 'screen door', 'stairway', 'river', 'bridge', 'bookcase',
    'blind', 'coffee table', 'toilet', 'flower', 'book', 'hill', 'bench', 'countertop', 'stove', 'palm',
    'kitchen island', 'computer', 'swivel chair', 'boat', 'bar', 'arcade machine', 'hovel', 'bus', 'towel', 'light',
    'truck', 'tower', 'chandelier', 'awning', 'streetlight', 'booth', 'television receiver', 'airplane',
    'dirt track', 'apparel', 'pole', 'land', 'bannister', 'escalator', 'ottoman', 'bottle', 'buffet', 'poster',
    'stage', 'van', 'ship', 'fountain', 'conveyer belt', 'canopy', 'washer', 'plaything', 'swimming pool', 'stool',
    'barrel', 'basket', 'waterfall', 'tent', 'bag', 'minibike', 'cradle', 'oven', 'ball', 'food', 'step', 'tank',
    'trade name', 'microwave', 'pot', 'animal', 'bicycle', 'lake', 'dishwasher', 'screen', 'blanket', 'sculpture',
    'hood', 'sconce', 'vase', 'traffic light', 'tray', 'ashcan', 'fan', 'pier', 'crt screen', 'plate', 'monitor',
    'bulletin board', 'shower', 'radiator', 'glass', 'clock', 'flag',
), (
    (120, 120, 120), (180, 120, 120), (6, 230, 230), (80, 50, 50), (4, 200, 3), (120, 120, 80), (140, 140, 140),
    (204, 5, 255), (230, 230, 230), (4, 250, 7), (224, 5, 255), (235, 255, 7), (150, 5, 61), (120, 120, 70),
    (8, 255, 51), (255, 6, 82), (143, 255, 140), (204, 255, 4), (255, 51, 7), (204, 70, 3), (0, 102, 200),
    (61, 230, 250), (255, 6, 51), (11, 102, 255), (255, 7, 71), (255, 9, 224), (9, 7, 230), (220, 220, 220),
    (255, 9, 92), (112, 9, 255), (8, 255, 214), (7, 255, 224), (255, 184, 6), (10, 255, 71), (255, 41, 10),
    (7, 255, 255), (224, 255, 8), (102, 8, 255), (255, 61, 6), (255, 194, 7), (255, 122, 8), (0, 255, 20),
    (255, 8, 41), (255, 5, 153), (6, 51, 255), (235, 12, 255), (160, 150, 20), (0, 163, 255), (140, 140, 140),
    (250, 10, 15), (20, 255, 0), (31, 255, 0), (255, 31, 0), (255, 224, 0), (153, 255, 0), (0, 0, 255),
    (255, 71, 0), (0, 235, 255), (0, 173, 255), (31, 0, 255), (11, 200, 200), (255, 82, 0), (0, 255, 245),
    (0, 61, 255), (0, 255, 112), (0, 255, 133), (255, 0, 0), (255, 163, 0), (255, 102, 0), (194, 255, 0),
    (0, 143, 255), (51, 255, 0), (0, 82, 255), (0, 255, 41), (0, 255, 173), (10, 0, 255), (173, 255, 0),
    (0, 255, 153), (255, 92, 0), (255, 0, 255), (255, 0, 245), (255, 0, 102), (255, 173, 0), (255, 0, 20),
    (255, 184, 184), (0, 31, 255), (0, 255, 61), (0, 71, 255), (255, 0, 204), (0, 255, 194), (0, 255, 82),
    (0, 10, 255), (0, 112, 255), (51, 0, 255), (0, 194, 255), (0, 122, 255), (0, 255, 163), (255, 153, 0),
    (0, 255, 10), (255, 112, 0), (143, 255, 0), (82, 0, 255), (163, 255, 0), (255, 235, 0), (8, 184, 170),
    (133, 0, 255), (0, 255, 92), (184, 0, 255), (255, 0, 31), (0, 184, 255), (0, 214, 255), (255, 0, 112),
    (92, 255, 0), (0, 224, 255), (112, 224, 255), (70, 184, 160), (163, 0, 255), (153, 0, 255), (71, 255, 0),
    (255, 0, 163), (255, 204, 0), (255, 0, 143), (0, 255, 235), (133, 255, 0), (255, 0, 235), (245, 0, 255),
    (255, 0, 122), (255, 245, 0), (10, 190, 212), (214, 255, 0), (0, 204, 255), (20, 0, 255), (255, 255, 0),
    (0, 153, 255), (0, 41, 255), (0, 255, 204), (41, 0, 255), (41, 255, 0), (173, 0, 255), (0, 245, 255),
    (71, 0, 255), (122, 0, 255), (0, 255, 184), (0, 92, 255), (184, 255, 0), (0, 133, 255), (255, 214, 0),
    (25, 194, 194), (102, 255, 0), (92, 0, 255),
))

#: CamVid's full 32 classes, named and coloured as in the dataset's label_colors.txt (alphabetical; Void included).
CAMVID32 = LabelSet('camvid32', (
    'Animal', 'Archway', 'Bicyclist', 'Bridge', 'Building', 'Car', 'CartLuggagePram', 'Child', 'Column_Pole',
    'Fence', 'LaneMkgsDriv', 'LaneMkgsNonDriv', 'Misc_Text', 'MotorcycleScooter', 'OtherMoving', 'ParkingBlock',
    'Pedestrian', 'Road', 'RoadShoulder', 'Sidewalk', 'SignSymbol', 'Sky', 'SUVPickupTruck', 'TrafficCone',
    'TrafficLight', 'Train', 'Tree', 'Truck_Bus', 'Tunnel', 'VegetationMisc', 'Void', 'Wall',
), (
    (64, 128, 64), (192, 0, 128), (0, 128, 192), (0, 128, 64), (128, 0, 0), (64, 0, 128), (64, 0, 192),
    (192, 128, 64), (192, 192, 128), (64, 64, 128), (128, 0, 192), (192, 0, 64), (128, 128, 64), (192, 0, 192),
    (128, 64, 64), (64, 192, 128), (64, 64, 0), (128, 64, 128), (128, 128, 192), (0, 0, 192), (192, 128, 128),
    (128, 128, 128), (64, 128, 192), (0, 0, 64), (0, 64, 64), (192, 64, 128), (128, 128, 0), (192, 128, 192),
    (64, 0, 64), (192, 192, 0), (0, 0, 0), (64, 192, 0),
))

LABEL_SETS = {s.name: s for s in (CITYSCAPES, PASCAL_VOC, ADE20K, CAMVID, CAMVID32, ROAD)}


def _key(name: str) -> str:
    """Compare class names by letters and digits only: 'bed ', 'Bed' and 'dining_table' vs 'diningtable' agree."""
    return re.sub(r'[^0-9a-z]', '', name.lower())


def find_label_set(class_names) -> LabelSet | None:
    """Return the built-in set whose classes are ``class_names`` in the same order (case, spaces and _ aside)."""
    keys = [_key(n) for n in class_names]
    return next((s for s in LABEL_SETS.values() if [_key(n) for n in s.class_names] == keys), None)


def read_label_file(path: str | Path) -> LabelSet:
    """Read a names/colours file: class i is line (or entry) i; raise ValueError naming the file and what is wrong.

    Text: one class a line, ``name`` or ``name r g b`` (the name may hold spaces; blank lines and ``#`` comments are
    skipped). JSON: Mapillary Vistas' ``config.json`` (``{"labels": [{"readable" or "name": ..., "color": [r, g, b]},
    ...]}``) or such a list alone. A class without a colour gets the VOC colour of its id.
    """
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as err:
        raise ValueError(f'label file {path}: {err.strerror}') from None
    entries = _json_entries(path, text) if path.suffix.lower() == '.json' else _text_entries(path, text)
    if not entries:
        raise ValueError(f'label file {path}: no classes in it')
    fallback = voc_palette(len(entries))
    names = tuple(name for name, _ in entries)
    palette = tuple(colour or tuple(int(v) for v in fallback[i]) for i, (_, colour) in enumerate(entries))
    return LabelSet(path.stem, names, palette)


def _colour(path: Path, where: str, values) -> tuple[int, int, int]:
    """Check an RGB triple of integers 0..255."""
    if len(values) != 3 or not all(isinstance(v, int) and 0 <= v <= 255 for v in values):
        raise ValueError(f'label file {path}, {where}: colour {list(values)} is not three integers 0..255')
    return tuple(values)


def _text_entries(path: Path, text: str) -> list[tuple[str, tuple | None]]:
    entries = []
    for number, line in enumerate(text.splitlines(), start=1):
        parts = line.split('#', 1)[0].split()
        if not parts:
            continue
        tail = parts[-3:]
        if len(parts) >= 4 and all(re.fullmatch(r'-?\d+', v) for v in tail):
            entries.append((' '.join(parts[:-3]), _colour(path, f'line {number}', [int(v) for v in tail])))
        else:
            entries.append((' '.join(parts), None))
    return entries


def _json_entries(path: Path, text: str) -> list[tuple[str, tuple | None]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise ValueError(f'label file {path}: not JSON ({err})') from None
    labels = data.get('labels') if isinstance(data, dict) else data
    if not isinstance(labels, list):
        raise ValueError(f'label file {path}: expected a list of classes or {{"labels": [...]}}')
    entries = []
    for i, label in enumerate(labels):
        name = label.get('readable') or label.get('name') if isinstance(label, dict) else None
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f'label file {path}, entry {i}: no "readable" or "name" string')
        colour = label.get('color')
        entries.append((name.strip(), None if colour is None else _colour(path, f'entry {i}', colour)))
    return entries


def resolve_label_set(spec: str) -> LabelSet:
    """Return the built-in set named ``spec``, else the set read from the file at path ``spec``."""
    if spec in LABEL_SETS:
        return LABEL_SETS[spec]
    if not Path(spec).is_file():
        raise ValueError(f'labels {spec!r}: neither a built-in set ({", ".join(LABEL_SETS)}) nor a file')
    return read_label_file(spec)
