"""Temporal smoothing: a per-camera exponential moving average of class probabilities, with its reset rules."""
from __future__ import annotations

import cv2
import numpy as np


class CameraStream:
    """The state one camera's frames share: the running average of class probabilities and what it belongs to.

    The caller owns one per camera stream, tells it each frame's header with :meth:`start`, and the pipeline blends
    that frame's probabilities in with :meth:`smooth`. The average starts over when the camera resolution or the
    ``frame_id`` changes, or when the frame's stamp is more than ``reset_ms`` after the last smoothed frame's (or
    before it: a replayed bag).
    """

    def __init__(self) -> None:
        self._average: np.ndarray | None = None
        self._belongs_to: tuple[tuple[int, int], str] | None = None
        self._last_stamp_ns = 0
        self.stamp_ns = 0
        self.frame_id = ''

    def start(self, stamp_ns: int, frame_id: str) -> None:
        """Record the header of the frame about to be segmented."""
        self.stamp_ns, self.frame_id = stamp_ns, frame_id

    def smooth(self, probabilities: np.ndarray, frame_hw: tuple[int, int], weight: float,
               reset_ms: int) -> np.ndarray:
        """Return ``weight * average + (1 - weight) * probabilities`` and keep it as the new average.

        ``probabilities`` are (C, H, W) at model resolution for a camera frame of ``frame_hw``; the result is the
        stream's own array, valid until the next call.
        """
        gap_ns = self.stamp_ns - self._last_stamp_ns
        belongs_to = (tuple(frame_hw), self.frame_id)
        if (self._average is None or self._average.shape != probabilities.shape or belongs_to != self._belongs_to
                or not 0 <= gap_ns <= reset_ms * 1_000_000):
            self._average = np.array(probabilities, np.float32)
        else:
            # As (C * H, W) rows: OpenCV reads a 3-D array as an image with one channel per column (at most 128 in
            # OpenCV 5).
            average = self._average.reshape(-1, self._average.shape[-1])
            frame = np.ascontiguousarray(probabilities, np.float32).reshape(average.shape)
            cv2.addWeighted(average, weight, frame, 1.0 - weight, 0.0, dst=average)
        self._belongs_to, self._last_stamp_ns = belongs_to, self.stamp_ns
        return self._average
