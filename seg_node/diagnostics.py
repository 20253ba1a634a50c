"""A camera stream's health for /diagnostics: counters, per-stage latency, and the conditions that need a look.

Besides fps in and out, drops by reason and per-stage p50/p99, :meth:`PipelineStats.assess` names what is wrong:
input arriving with no output leaving, every frame stale, outputs subscribed but the camera silent, a changed
input (QoS, encoding, size), malformed or failed frames, a stopped worker.
"""
from __future__ import annotations

import threading
import time
from collections import Counter, deque
from dataclasses import dataclass

import numpy as np

STAGES = ('queued', 'decode', 'preprocess', 'inference', 'postprocess', 'message', 'compress', 'publish',
          'total')
DROP_REASONS = ('replaced', 'stale', 'malformed', 'failed')
OK, WARN, ERROR = 0, 1, 2
#: Seconds of input without any output before it is reported.
NO_OUTPUT_S = 2.0
#: Seconds without input, while outputs are subscribed, before the camera is reported gone.
NO_INPUT_S = 5.0
#: Seconds a change of the input (QoS, encoding, size) stays in the status.
CHANGE_HOLD_S = 5.0


def status_name(node: str, camera: str = '') -> str:
    """Name a camera's /diagnostics status: ``<node's full name>: <camera>``, or ``: segmentation`` for one unnamed."""
    return f'{node}: {camera or "segmentation"}'


@dataclass(frozen=True)
class Health:
    """A status level (OK, WARN, ERROR) and the message that names its causes."""

    level: int
    message: str


class PipelineStats:
    """Thread-safe frame counters, event times and the last ``window`` latencies of each stage."""

    def __init__(self, window: int = 300) -> None:
        self._lock = threading.Lock()
        self._latency = {stage: deque(maxlen=window) for stage in STAGES}
        self.counts: Counter[str] = Counter()
        self._last_counts: Counter[str] = Counter()
        self._last_time = self._started = time.monotonic()
        self._last_input: float | None = None
        self._last_output: float | None = None
        self._waiting_since: float | None = None  # the first input after the last output
        self._changes: deque[tuple[float, str]] = deque(maxlen=8)

    def count(self, event: str) -> None:
        """Count ``in``, ``out``, ``idle`` (no subscriber), ``batched`` or ``dropped_<reason>``, and note when."""
        now = time.monotonic()
        with self._lock:
            self.counts[event] += 1
            if event == 'in':
                self._last_input = now
                if self._waiting_since is None:
                    self._waiting_since = now
            elif event in ('out', 'idle'):
                self._last_output = now
                self._waiting_since = None

    def drop(self, reason: str) -> None:
        """Count a dropped frame (reason from DROP_REASONS)."""
        self.count(f'dropped_{reason}')

    def changed(self, what: str) -> None:
        """Note a change of the input (reported for CHANGE_HOLD_S seconds)."""
        with self._lock:
            self._changes.append((time.monotonic(), what))

    def record(self, timings: dict[str, float]) -> None:
        """Add one frame's seconds per stage."""
        with self._lock:
            for stage, seconds in timings.items():
                self._latency[stage].append(seconds)

    def snapshot(self) -> tuple[dict[str, str], Counter[str]]:
        """Return key/value pairs for a DiagnosticStatus and the counts of this period (since the last snapshot)."""
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
                'frames run in a batch': str(self.counts['batched']),
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

    def assess(self, period: Counter[str], subscribed: bool, topic: str) -> Health:
        """Judge the stream from this period's counts (``snapshot``) and the times of the last input and output.

        ``subscribed``: whether anyone subscribes to an output; ``topic``: the input topic, for the messages.
        """
        now = time.monotonic()
        with self._lock:
            last_input, last_output, waiting_since = self._last_input, self._last_output, self._waiting_since
            changes = [what for when, what in self._changes if now - when <= CHANGE_HOLD_S]
        problems = list(changes)
        drops = {reason: period[f'dropped_{reason}'] for reason in DROP_REASONS if period[f'dropped_{reason}']}
        if period['in'] and drops.get('stale') == period['in']:
            problems.append(f"all {period['in']} frames of the last period were older than max_frame_age_ms "
                            '(clock skew between camera and node?)')
        elif waiting_since is not None and now - waiting_since > NO_OUTPUT_S and now - last_input < NO_OUTPUT_S:
            since = 'no output yet' if last_output is None else f'no output for {now - waiting_since:.1f} s'
            causes = ', '.join(f'{count} {reason}' for reason, count in drops.items()) or 'no drops counted'
            problems.append(f'frames arrive on {topic} but {since} ({causes} in the last period)')
        else:
            problems += [f'{drops[reason]} {reason} frames' for reason in ('malformed', 'failed') if reason in drops]
        if subscribed and (last_input is None or now - last_input > NO_INPUT_S):
            silent = now - (last_input if last_input is not None else self._started)
            if silent > NO_INPUT_S:
                problems.append(f'outputs are subscribed but no frame arrived on {topic} for {silent:.0f} s '
                                '(camera gone, topic remapped, or QoS/DDS mismatch?)')
        return Health(WARN if problems else OK, '; '.join(problems) or 'ok')
