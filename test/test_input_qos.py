"""The image subscription's reliability (``qos_reliability``): the choice, and the camera subscribing again by it.

No DDS here: ``choose`` is given the publishers' offers, and a camera subscribes through a stand-in node that
lists the publishers the test sets and records the subscriptions made and destroyed.
"""
from __future__ import annotations

from collections import Counter
from types import SimpleNamespace

import pytest
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import Image

from seg_node.camera import Camera
from seg_node.input_qos import choose

RELIABLE, BEST_EFFORT = ReliabilityPolicy.RELIABLE, ReliabilityPolicy.BEST_EFFORT


@pytest.mark.parametrize('offered, name, reason', [
    ([], 'best_effort', 'no publisher yet (best effort matches any)'),
    ([RELIABLE], 'reliable', 'the publisher offers reliable'),
    ([RELIABLE, RELIABLE, RELIABLE], 'reliable', 'all 3 publishers offer reliable'),
    ([RELIABLE, BEST_EFFORT], 'best_effort', '1 of 2 publishers offer best effort only'),
    ([BEST_EFFORT, RELIABLE, BEST_EFFORT], 'best_effort', '2 of 3 publishers offer best effort only'),
    ([BEST_EFFORT], 'best_effort', '1 of 1 publishers offer best effort only'),
], ids=['none', 'one reliable', 'all reliable', 'mixed', 'mostly best effort', 'one best effort'])
def test_auto_is_reliable_only_when_every_publisher_offers_it(offered, name, reason):
    choice = choose('auto', offered)
    assert (choice.name, choice.reason) == (name, reason)


def test_auto_follows_publishers_as_they_come_and_leave():
    """A best-effort publisher joins reliable ones and leaves again; then every publisher leaves."""
    seen = [choose('auto', offered).name for offered in
            ([RELIABLE], [RELIABLE, BEST_EFFORT], [RELIABLE, BEST_EFFORT, RELIABLE], [RELIABLE, RELIABLE], [])]
    assert seen == ['reliable', 'best_effort', 'best_effort', 'reliable', 'best_effort']


@pytest.mark.parametrize('mode', ['best_effort', 'reliable'])
def test_a_fixed_mode_ignores_the_publishers(mode):
    for offered in ([], [RELIABLE], [BEST_EFFORT], [RELIABLE, BEST_EFFORT]):
        choice = choose(mode, offered)
        assert (choice.name, choice.reason) == (mode, f"qos_reliability is '{mode}'")


class StandInNode:
    """The part of rclpy's Node a Camera's subscription uses; the test sets ``offered`` (the publishers' QoS)."""

    def __init__(self) -> None:
        self.offered: list[ReliabilityPolicy] = []
        self.subscriptions: list[tuple[str, QoSProfile]] = []  # every subscription made, in order
        self.destroyed: list[int] = []  # indices into ``subscriptions``
        self.logged: list[str] = []

    def resolve_topic_name(self, topic: str) -> str:
        return f'/{topic}'

    def get_publishers_info_by_topic(self, topic: str) -> list:
        return [SimpleNamespace(qos_profile=QoSProfile(depth=1, reliability=policy)) for policy in self.offered]

    def create_subscription(self, message_type, topic: str, callback, qos: QoSProfile) -> int:
        assert message_type is Image
        self.subscriptions.append((topic, qos))
        return len(self.subscriptions) - 1

    def destroy_subscription(self, subscription: int) -> None:
        self.destroyed.append(subscription)

    def get_logger(self):
        return SimpleNamespace(info=self.logged.append)


def camera_on(node: StandInNode, mode: str = 'auto') -> Camera:
    values = {'input_transport': 'raw', 'qos_reliability': mode, 'qos_depth': 2}
    return Camera(node, '', values, [], QoSProfile(depth=2), lambda: values, lambda camera, job: False)


def live(node: StandInNode) -> list[ReliabilityPolicy]:
    """Return the reliability of each subscription not destroyed."""
    return [qos.reliability for index, (_, qos) in enumerate(node.subscriptions) if index not in node.destroyed]


def test_a_reliable_subscription_turns_best_effort_when_a_best_effort_publisher_joins():
    node = StandInNode()
    camera = camera_on(node)
    node.offered = [RELIABLE]
    camera.subscribe()
    assert live(node) == [RELIABLE] and node.subscriptions[0][1].depth == 2
    node.offered = [RELIABLE, BEST_EFFORT]
    camera.subscribe()
    assert node.destroyed == [0] and live(node) == [BEST_EFFORT]  # the reliable one would not match it
    assert camera.qos.name == 'best_effort'
    assert node.logged[-1] == 'subscribed /image best_effort: 1 of 2 publishers offer best effort only'
    change = camera.stats.assess(Counter(), False, camera.topic).message
    assert change == 'input QoS changed from reliable to best_effort: 1 of 2 publishers offer best effort only'
    node.offered = [RELIABLE]  # the best-effort publisher left
    camera.subscribe()
    assert node.destroyed == [0, 1] and live(node) == [RELIABLE]


def test_the_same_reliability_keeps_the_subscription_with_the_new_reason():
    node = StandInNode()
    camera = camera_on(node)
    camera.subscribe()  # no publisher yet: best effort
    node.offered = [BEST_EFFORT]
    camera.subscribe()
    node.offered = []  # and it left again
    camera.subscribe()
    assert len(node.subscriptions) == 1 and node.destroyed == [] and live(node) == [BEST_EFFORT]
    assert camera.qos.reason == 'no publisher yet (best effort matches any)'
    assert camera.stats.assess(Counter(), False, camera.topic).message == 'ok'


def test_a_fixed_reliability_never_subscribes_again():
    node = StandInNode()
    camera = camera_on(node, 'reliable')
    for offered in ([], [BEST_EFFORT], [RELIABLE, BEST_EFFORT]):
        node.offered = offered
        camera.subscribe()
    assert live(node) == [RELIABLE] and len(node.subscriptions) == 1
