"""The ``main()`` every executable of the package shares: start a node, spin it, shut down quietly."""
from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Callable

import rclpy
from rclpy.executors import Executor, ExternalShutdownException, SingleThreadedExecutor
from rclpy.node import Node


#: The first rclpy major version (Kilted) whose events executor survives a subscription destroyed by a callback
#: (the node does so when it matches a camera's new QoS); Jazzy's experimental one crashes (ros2/rclpy#1644).
EVENTS_EXECUTOR_SINCE = 9


def rclpy_major() -> int | None:
    """Read rclpy's major version from its package.xml (``<prefix>/share/rclpy``, in a ROS install and a venv)."""
    package_xml = Path(rclpy.__file__).resolve().parents[4] / 'share' / 'rclpy' / 'package.xml'
    try:
        found = re.search(r'<version>(\d+)\.', package_xml.read_text())
    except OSError:
        return None
    return int(found.group(1)) if found else None


def make_executor() -> Executor:
    """Return rclpy's C++ events executor from Kilted on, else the single-threaded one.

    With the events executor seg_node's worker thread starts on a frame sooner after the subscription callback
    hands it over than with the Python one, which runs its own Python code holding the GIL after each callback
    (``queued`` in /diagnostics; figures in docs/performance.md).
    """
    try:
        from rclpy.experimental import EventsExecutor
    except ImportError:
        return SingleThreadedExecutor()
    major = rclpy_major()
    return EventsExecutor() if major is not None and major >= EVENTS_EXECUTOR_SINCE else SingleThreadedExecutor()


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
