"""The ROS 2 node ``seg_node``: a thin shell that configures and activates a Segmenter (segmenter.py).

Cameras' frames wait in a newest-frame mailbox; one worker thread decodes, segments and publishes them. A frame
that arrives while the worker is busy replaces the waiting one and is counted as dropped.
"""
from __future__ import annotations

import sys

from rclpy.node import Node

from seg_node.entry_point import run
from seg_node.params import NODE_NAME
from seg_node.segmenter import STARTUP_ERRORS, Segmenter


class SegNode(Node):
    """Subscribes ``image`` (or each camera's), publishes ``segmentation/*`` and ``/diagnostics``."""

    def __init__(self, **kwargs) -> None:
        super().__init__(NODE_NAME, **kwargs)
        self.segmenter = Segmenter(self)
        self.segmenter.configure()
        self.segmenter.activate()

    def close(self) -> None:
        """Stop the worker (it finishes the frame in hand)."""
        self.segmenter.close()


def main(args: list[str] | None = None) -> int:
    """Run the node until Ctrl-C/SIGTERM; a startup fault prints one line and returns 1."""
    return run(NODE_NAME, SegNode, STARTUP_ERRORS, args)


if __name__ == '__main__':
    sys.exit(main())
