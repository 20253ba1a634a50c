"""Timing helpers shared by ``segtool bench`` and ``segtool quantize``: calls timed warm, rows taking turns."""
from __future__ import annotations

import time

import numpy as np

WARMUP_CALLS = 10


def percentiles(samples_s: list[float]) -> dict[str, float]:
    """p50/p99 in milliseconds and the rate the p50 allows."""
    ms = np.asarray(samples_s) * 1000.0
    p50, p99 = np.percentile(ms, (50, 99))
    return {'p50_ms': round(float(p50), 2), 'p99_ms': round(float(p99), 2), 'fps': round(1000.0 / p50, 1)}


def seconds(function) -> float:
    """Seconds one call of ``function()`` takes."""
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def timed(function, repeats: int, warmup: int = 5) -> list[float]:
    """Seconds per call of ``function()``."""
    for _ in range(warmup):
        function()
    return [seconds(function) for _ in range(repeats)]


def take_turns(steps: dict, repeats: int, block: int, block_warmup: int) -> dict[str, list]:
    """Collect what ``repeats`` calls of each ``step(call_number)`` returned, the steps taking turns.

    Taking turns makes drift in the machine's speed during the run move every row alike.

    After WARMUP_CALLS untimed calls each, the steps run in blocks of ``block`` calls, the order rotating from block
    to block; the first ``block_warmup`` calls of each block are left out.
    """
    names = list(steps)
    results: dict[str, list] = {name: [] for name in names}
    calls = 0
    for name in names:
        for _ in range(WARMUP_CALLS):
            calls += 1
            steps[name](calls)
    for number, start in enumerate(range(0, repeats, block)):
        turn = number % len(names)
        for name in names[turn:] + names[:turn]:
            for index in range(block_warmup + min(block, repeats - start)):
                calls += 1
                value = steps[name](calls)
                if index >= block_warmup:
                    results[name].append(value)
    return results
