"""The image subscription's reliability, chosen to match the camera's publishers (``qos_reliability: auto``).

Most ROS 2 camera drivers publish RELIABLE. A BEST_EFFORT subscription matches them, but with Fast DDS's default
settings camera-sized frames then arrive only in part or not at all, while a RELIABLE subscription gets every
frame; a RELIABLE subscription does not match a BEST_EFFORT publisher at all. So ``auto`` subscribes RELIABLE
when every publisher offers RELIABLE, BEST_EFFORT otherwise, and decides again as publishers come and go (as
rosbag2 adapts its recording QoS).
"""
from __future__ import annotations

from dataclasses import dataclass

from rclpy.qos import ReliabilityPolicy

_FIXED = {'best_effort': ReliabilityPolicy.BEST_EFFORT, 'reliable': ReliabilityPolicy.RELIABLE}


@dataclass(frozen=True)
class Choice:
    """A subscription reliability and the reason for it, in words for the log and /diagnostics."""

    reliability: ReliabilityPolicy
    reason: str

    @property
    def name(self) -> str:
        """Return ``best_effort`` or ``reliable``."""
        return 'reliable' if self.reliability == ReliabilityPolicy.RELIABLE else 'best_effort'


def choose(mode: str, offered: list[ReliabilityPolicy]) -> Choice:
    """Decide the subscription's reliability from ``mode`` (auto, best_effort, reliable) and what publishers offer."""
    if mode in _FIXED:
        return Choice(_FIXED[mode], f"qos_reliability is '{mode}'")
    if not offered:
        return Choice(ReliabilityPolicy.BEST_EFFORT, 'no publisher yet (best effort matches any)')
    best_effort = sum(policy != ReliabilityPolicy.RELIABLE for policy in offered)
    if best_effort:
        return Choice(ReliabilityPolicy.BEST_EFFORT,
                      f'{best_effort} of {len(offered)} publishers offer best effort only')
    count = 'the publisher offers' if len(offered) == 1 else f'all {len(offered)} publishers offer'
    return Choice(ReliabilityPolicy.RELIABLE, f'{count} reliable')
