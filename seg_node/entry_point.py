"""The ``main()`` every executable of the package shares: start a node, spin it, shut down quietly."""
from __future__ import annotations

import sys
from typing import Callable

import rclpy
from rclpy.executors import Executor, ExternalShutdownException, SingleThreadedExecutor
from rclpy.node import Node


def make_executor() -> Executor:
    """Return rclpy's C++ events executor where the distro has it (Kilted and newer), else the single-threaded one.

    With the events executor seg_node's worker thread starts on a frame sooner after the subscription callback
    hands it over than with the Python one, which runs its own Python code holding the GIL after each callback
    (``queued`` in /diagnostics; figures in docs/performance.md).
    """
    try:
        from rclpy.experimental import EventsExecutor
    except ImportError:
        return SingleThreadedExecutor()
    return EventsExecutor()


def run(name: str, make_node: Callable[[], Node], startup_errors: tuple[type[Exception], ...],
        args: list[str] | None = None, finished: Callable[[Node], bool] = lambda node: False) -> int:
    """Spin ``make_node()`` until Ctrl-C/SIGTERM or ``finished(node)``; exit code 0.

    A startup fault of one of ``startup_errors`` prints one line ``[name] error: ...`` and gives exit code 1.
    """
    rclpy.init(args=args)
    try:
        node = make_node()
    except startup_errors as err:
        print(f'[{name}] error: {err}', file=sys.stderr)
        rclpy.try_shutdown()
        return 1
    executor = make_executor()
    executor.add_node(node)
    try:
        while rclpy.ok() and not finished(node):
            executor.spin_once(timeout_sec=0.1)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        getattr(node, 'close', lambda: None)()
        executor.shutdown()
        node.destroy_node()
        rclpy.try_shutdown()
    return 0
