"""Small-region cleanup: connected regions smaller than a size take the label of their surroundings' majority."""
from __future__ import annotations

import cv2
import numpy as np

#: (row, column) offsets of the 8 neighbours: regions are 8-connected, so are their surroundings.
_NEIGHBOURS = tuple((dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1) if dy or dx)


def remove_small_regions(labels: np.ndarray, min_px: int) -> np.ndarray:
    """Relabel every 8-connected region of fewer than ``min_px`` pixels with the label most frequent around it.

    Around means the pixels of other labels that touch the region (8-neighbourhood), counted with their labels
    before any change. Returns ``labels`` itself when no region is that small.
    """
    h, w = labels.shape
    region_ids = np.zeros((h, w), np.int32)
    small_count = 0
    for label in np.flatnonzero(np.bincount(labels.ravel())):
        mask = cv2.compare(labels, int(label), cv2.CMP_EQ)
        x, y, box_w, box_h = cv2.boundingRect(mask)  # labelling only the class's bounding box is much cheaper
        box = (slice(y, y + box_h), slice(x, x + box_w))
        count, components, stats, _ = cv2.connectedComponentsWithStats(mask[box], connectivity=8, ltype=cv2.CV_32S)
        small = np.flatnonzero(stats[1:, cv2.CC_STAT_AREA] < min_px) + 1
        if small.size == 0:
            continue
        numbering = np.zeros(count, np.int32)
        numbering[small] = np.arange(small_count + 1, small_count + 1 + small.size)
        region_ids[box] += np.take(numbering, components)
        small_count += small.size
    if small_count == 0:
        return labels
    pixels = np.flatnonzero(region_ids)
    rows, cols = np.divmod(pixels, w)
    own = labels.ravel()[pixels].astype(np.int64)
    classes = int(labels.max()) + 1
    padded = np.pad(labels.astype(np.int64), 1, constant_values=-1)
    votes = []
    for dy, dx in _NEIGHBOURS:
        around = padded[rows + 1 + dy, cols + 1 + dx]
        keep = (around >= 0) & (around != own)
        votes.append(region_ids.ravel()[pixels[keep]].astype(np.int64) * classes + around[keep])
    tally = np.bincount(np.concatenate(votes), minlength=(small_count + 1) * classes).reshape(-1, classes)
    new_label = tally.argmax(axis=1)
    surrounded = tally.sum(axis=1) > 0
    out = labels.copy()
    ids = region_ids.ravel()[pixels]
    out.ravel()[pixels] = np.where(surrounded[ids], new_label[ids], own)
    return out
