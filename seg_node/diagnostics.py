"""Counters and latency windows for the node's /diagnostics: fps in and out, drops by reason, per-stage p50/p99."""
from __future__ import annotations

import threading
import time
from collections import Counter, deque

import numpy as np

STAGES = ('queued', 'decode', 'preprocess', 'inference', 'postprocess', 'message', 'publish', 'total')
DROP_REASONS = ('replaced', 'stale', 'malformed', 'failed')


class PipelineStats:
    """Thread-safe frame counters and the last ``window`` latencies of each stage."""

    def __init__(self, window: int = 300) -> None:
        self._lock = threading.Lock()
        self._latency = {stage: deque(maxlen=window) for stage in STAGES}
        self.counts: Counter[str] = Counter()
        self._last_counts: Counter[str] = Counter()
        self._last_time = time.monotonic()

    def count(self, event: str) -> None:
        """Count ``in``, ``out``, ``idle`` (no subscriber) or ``dropped_<reason>``."""
        with self._lock:
            self.counts[event] += 1

    def drop(self, reason: str) -> None:
        """Count a dropped frame (reason from DROP_REASONS)."""
        self.count(f'dropped_{reason}')

    def record(self, timings: dict[str, float]) -> None:
        """Add one frame's seconds per stage."""
        with self._lock:
            for stage, seconds in timings.items():
                self._latency[stage].append(seconds)

    def snapshot(self) -> tuple[dict[str, str], Counter[str]]:
        """Key/value pairs for a DiagnosticStatus, and the counts of this period (since the last snapshot)."""
        now = time.monotonic()
        with self._lock:
            elapsed = max(now - self._last_time, 1e-9)
            delta = self.counts - self._last_counts
            values = {
                'input fps': f"{delta['in'] / elapsed:.1f}",
                'output fps': f"{delta['out'] / elapsed:.1f}",
                'frames in': str(self.counts['in']),
                'frames out': str(self.counts['out']),
                'frames without subscribers': str(self.counts['idle']),
            }
            for reason in DROP_REASONS:
                values[f'dropped ({reason})'] = str(self.counts[f'dropped_{reason}'])
            for stage in STAGES:
                samples = self._latency[stage]
                if samples:
                    p50, p99 = np.percentile(np.fromiter(samples, float), (50, 99)) * 1000.0
                    values[f'{stage} ms p50/p99'] = f'{p50:.2f}/{p99:.2f}'
            self._last_counts, self._last_time = self.counts.copy(), now
        return values, delta
