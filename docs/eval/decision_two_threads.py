"""The node's class decision on (11, 360, 480) logits in one thread against two halves of rows on two threads.

Run from the repository root: ``.venv/bin/python docs/eval/decision_two_threads.py``; prints whether the split
gives the same labels, each variant's median milliseconds (taking turns), and how two threads copying arrays scale.
"""
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from seg_node.postprocessing import argmax_channels
from segtool.bench.timing import seconds, take_turns

logits = np.random.default_rng(0).standard_normal((11, 360, 480)).astype(np.float32)
top, bottom = logits[:, :180], logits[:, 180:]
pool = ThreadPoolExecutor(1)


def split() -> np.ndarray:
    """Decide the top half on the pooled thread while this one decides the bottom half."""
    pending = pool.submit(argmax_channels, top)
    lower = argmax_channels(bottom)[0]
    return np.concatenate([pending.result()[0], lower])


print('same labels:', np.array_equal(split(), argmax_channels(logits)[0]))
calls = {'one thread': lambda: argmax_channels(logits), 'one half alone': lambda: argmax_channels(top),
         'hand-over to the pooled thread': lambda: pool.submit(int).result(), 'two halves, two threads': split}
times = take_turns({name: lambda _, call=call: seconds(call) for name, call in calls.items()}, 300, 1, 0)
for name, values in times.items():
    print(f'{name:32s} {np.median(values) * 1e3:6.3f} ms')

block = np.random.rand(360 * 480 * 8).astype(np.float32)


def copies() -> None:
    for _ in range(50):
        block.copy()


one = seconds(copies)
threads = [threading.Thread(target=copies) for _ in range(2)]


def both() -> None:
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


print(f'array copies: two threads took {seconds(both) / one:.2f}x one thread\'s time for 2x the work')
