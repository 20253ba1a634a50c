"""Class groups: a mapping from group names to class names, and the mask of group ids it gives."""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import yaml

from seg_node.label_sets import IGNORE_INDEX
from seg_node.params import ParamError

#: The group id of a class no group lists.
UNKNOWN_GROUP = IGNORE_INDEX


@dataclass(frozen=True)
class ClassGroups:
    """Group names in order (group id = position) and the lookup table class id -> group id."""

    names: tuple[str, ...]
    table: np.ndarray

    @classmethod
    def parse(cls, text: str, class_names: list[str]) -> ClassGroups | None:
        """Parse parameter ``class_groups`` (a YAML flow mapping: group -> class names); None when empty."""
        if not text.strip():
            return None
        try:
            mapping = yaml.safe_load(text)
        except yaml.YAMLError as err:
            raise ParamError(f"parameter 'class_groups': not YAML: {err}".replace('\n', ' ')) from None
        if not isinstance(mapping, dict) or not mapping:
            raise ParamError(f"parameter 'class_groups': {text!r} is not a mapping like "
                             "'{drivable: [road], obstacle: [person, car]}'")
        if len(mapping) >= UNKNOWN_GROUP:
            raise ParamError(f"parameter 'class_groups': {len(mapping)} groups, at most {UNKNOWN_GROUP - 1}")
        table = np.full(max(256, len(class_names)), UNKNOWN_GROUP, np.uint8)
        owner: dict[str, str] = {}
        for group_id, (group, members) in enumerate(mapping.items()):
            members = [members] if isinstance(members, str) else members
            if not isinstance(members, list) or not members or not all(isinstance(m, str) for m in members):
                raise ParamError(f"parameter 'class_groups': group '{group}' needs a list of class names")
            for member in members:
                if member not in class_names:
                    raise ParamError(f"parameter 'class_groups': unknown class '{member}' in group '{group}' "
                                     f"(the model's classes: {', '.join(class_names)})")
                if member in owner:
                    raise ParamError(f"parameter 'class_groups': class '{member}' is in groups '{owner[member]}' "
                                     f"and '{group}'")
                owner[member] = str(group)
                table[class_names.index(member)] = group_id
        return cls(tuple(str(g) for g in mapping), table)

    def apply(self, labels: np.ndarray) -> np.ndarray:
        """Return the (H, W) uint8 group ids of class ids ``labels`` (``UNKNOWN_GROUP`` for unlisted classes)."""
        if labels.dtype == np.uint8:
            return cv2.LUT(labels, self.table[:256])
        return self.table[labels]
