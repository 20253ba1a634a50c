"""seg_lifecycle_node driven from another process through its lifecycle services, frames over DDS."""
from __future__ import annotations

import numpy as np
import pytest
from lifecycle_msgs.msg import State, Transition
from lifecycle_msgs.srv import ChangeState, GetState

import model_factory as mf
from ros_harness import NodeProcess, Peer, image_msg, pixels_of, write_params
from seg_node.params import NODE_NAME


pytestmark = pytest.mark.usefixtures('ros')


class Manager:
    """What a lifecycle manager does: call change_state and get_state of /seg_node."""

    def __init__(self, peer: Peer) -> None:
        self.peer = peer
        self.change = peer.node.create_client(ChangeState, f'/{NODE_NAME}/change_state')
        self.get = peer.node.create_client(GetState, f'/{NODE_NAME}/get_state')
        for client in (self.change, self.get):
            peer.wait_for_service(client)

    def call(self, client, request):
        future = client.call_async(request)
        assert self.peer.spin_until(future.done, 60)
        return future.result()

    def transition(self, transition_id: int) -> bool:
        return self.call(self.change, ChangeState.Request(transition=Transition(id=transition_id))).success

    def state(self) -> int:
        return self.call(self.get, GetState.Request()).current_state.id


def start(tmp_path, **params) -> NodeProcess:
    return NodeProcess(tmp_path, write_params(tmp_path, **params), module='seg_node.lifecycle_node')


def test_configure_activate_deactivate_cleanup_shutdown(tmp_path):
    process = start(tmp_path, model_path=mf.save(tmp_path), publish_color_mask=False, publish_overlay=False)
    peer = Peer(topics=('mask',), reliable=True)
    manager = Manager(peer)
    try:
        assert manager.state() == State.PRIMARY_STATE_UNCONFIGURED
        rgb = mf.random_blocks(32, 48, 8, seed=11)
        peer.send(image_msg(rgb), 1)
        peer.spin_until(lambda: False, 1.0)
        assert not peer.received['mask'], 'an unconfigured node published'

        assert manager.transition(Transition.TRANSITION_CONFIGURE)
        assert manager.state() == State.PRIMARY_STATE_INACTIVE
        assert manager.transition(Transition.TRANSITION_ACTIVATE)
        assert manager.state() == State.PRIMARY_STATE_ACTIVE
        reply = peer.send_until_answered(image_msg(rgb), 2)
        np.testing.assert_array_equal(pixels_of(reply), mf.expected_labels(rgb))

        assert manager.transition(Transition.TRANSITION_DEACTIVATE)
        assert peer.spin_until(lambda: peer.publisher.get_subscription_count() == 0, 10), \
            'the subscription stayed after deactivate'
        peer.received['mask'].clear()
        for stamp in range(3, 8):
            peer.send(image_msg(rgb), stamp)
            peer.spin_until(lambda: False, 0.2)
        peer.spin_until(lambda: False, 1.0)
        assert not peer.received['mask'], 'an inactive node published'

        assert manager.transition(Transition.TRANSITION_ACTIVATE)
        peer.send_until_answered(image_msg(rgb), 9)
        assert manager.transition(Transition.TRANSITION_DEACTIVATE)
        assert manager.transition(Transition.TRANSITION_CLEANUP)
        assert manager.state() == State.PRIMARY_STATE_UNCONFIGURED
        assert manager.transition(Transition.TRANSITION_CONFIGURE)  # configure again after cleanup
        assert manager.transition(Transition.TRANSITION_ACTIVATE)
        peer.send_until_answered(image_msg(rgb), 10)

        assert manager.transition(Transition.TRANSITION_ACTIVE_SHUTDOWN)
        assert process.wait_exit() == 0
        assert 'Traceback' not in process.log()
    finally:
        peer.close()
        process.stop()


def test_a_bad_model_fails_configure_with_the_reason_and_the_process_stays_up(tmp_path):
    process = start(tmp_path, model_path=str(tmp_path / 'nope.onnx'))
    peer = Peer(topics=('mask',))
    manager = Manager(peer)
    try:
        assert not manager.transition(Transition.TRANSITION_CONFIGURE)
        assert manager.state() == State.PRIMARY_STATE_UNCONFIGURED
        assert process.proc.poll() is None, 'the process exited'
        assert f"configure failed: model file not found: {tmp_path / 'nope.onnx'}" in process.log()
        assert manager.transition(Transition.TRANSITION_UNCONFIGURED_SHUTDOWN)
        assert process.wait_exit() == 0
    finally:
        peer.close()
        process.stop()


def test_a_bad_parameter_value_exits_1_with_one_line(tmp_path):
    process = start(tmp_path, model_path=mf.save(tmp_path), overlay_alpha=3.0)
    assert process.wait_exit() == 1
    assert "[seg_node] error: parameter 'overlay_alpha'" in process.log()
    process.stop()
