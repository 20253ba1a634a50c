"""``seg_lifecycle_node``: seg_node as a managed (lifecycle) node, for stacks that bring nodes up in order.

Same parameters, topics and node name as ``seg_node``. configure loads and warms up the model (a fault fails the
transition with the reason; the process stays up), activate subscribes to the cameras and starts publishing,
deactivate drops the subscriptions, cleanup frees the model's session, shutdown ends the process with code 0.
"""
from __future__ import annotations

import sys

from rclpy.lifecycle import LifecycleNode, LifecycleState, TransitionCallbackReturn

from seg_node.entry_point import run
from seg_node.params import NODE_NAME, ParamError
from seg_node.segmenter import STARTUP_ERRORS, Segmenter


class SegLifecycleNode(LifecycleNode):
    """The lifecycle transitions mapped onto a :class:`~seg_node.segmenter.Segmenter`."""

    def __init__(self, **kwargs) -> None:
        super().__init__(NODE_NAME, **kwargs)
        self.segmenter = Segmenter(self)
        self.finished = False

    def on_configure(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Load and warm up the model; on a fault, log the reason and stay unconfigured."""
        try:
            self.segmenter.configure()
        except STARTUP_ERRORS as err:
            self.get_logger().error(f'configure failed: {err}')
            self.segmenter.cleanup()
            return TransitionCallbackReturn.FAILURE
        return TransitionCallbackReturn.SUCCESS

    def on_activate(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Subscribe to the cameras and start the worker."""
        self.segmenter.activate()
        return super().on_activate(state)

    def on_deactivate(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Drop the subscriptions and stop the worker."""
        self.segmenter.deactivate()
        return super().on_deactivate(state)

    def on_cleanup(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Destroy the outputs and free the model's session."""
        self.segmenter.cleanup()
        return TransitionCallbackReturn.SUCCESS

    def on_shutdown(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Stop everything; the process then exits with code 0."""
        self.segmenter.close()
        self.segmenter.cleanup()
        self.finished = True
        return TransitionCallbackReturn.SUCCESS

    def close(self) -> None:
        """Stop the worker (it finishes the frame in hand)."""
        self.segmenter.close()


def main(args: list[str] | None = None) -> int:
    """Run the lifecycle node until shutdown, Ctrl-C or SIGTERM; a bad parameter value prints one line, returns 1."""
    return run(NODE_NAME, SegLifecycleNode, (ParamError,), args, finished=lambda node: node.finished)


if __name__ == '__main__':
    sys.exit(main())
