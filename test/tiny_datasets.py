"""Tiny dataset layouts written by tests, so that training and evaluation run without any real data."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np


def folder_dataset(root: Path, classes: int) -> None:
    """Write a tiny ``folder`` layout: random 32 x 48 images and masks of ``classes`` classes, train and val."""
    rng = np.random.default_rng(0)
    root.mkdir()
    (root / 'classes.txt').write_text(''.join(f'class{i}\n' for i in range(classes)))
    for split in ('train', 'val'):
        for kind in ('images', 'masks'):
            (root / split / kind).mkdir(parents=True)
        for i in range(4):
            cv2.imwrite(str(root / split / 'images' / f'{i}.png'), rng.integers(0, 256, (32, 48, 3), np.uint8))
            cv2.imwrite(str(root / split / 'masks' / f'{i}.png'), rng.integers(0, classes, (32, 48), np.uint8))
