"""Newest-frame mailboxes: one slot per camera, so a frame that waits is replaced by a newer one, never queued."""
from __future__ import annotations

import threading
from typing import Any, Hashable


class NewestFrames:
    """One slot per key under one lock: ``put`` replaces what waits in its slot, ``take`` empties every slot."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._slots: dict[Hashable, Any] = {}
        self._closed = False

    def put(self, key: Hashable, item: Any) -> bool:
        """Store ``item`` in ``key``'s slot; return whether it replaced one that was never taken."""
        with self._condition:
            replaced = key in self._slots
            self._slots[key] = item
            self._condition.notify()
        return replaced

    def take(self) -> dict[Hashable, Any] | None:
        """Wait until some slot holds an item, then return all waiting items by key; None once closed."""
        with self._condition:
            while not self._slots and not self._closed:
                self._condition.wait()
            if self._closed:
                return None
            taken, self._slots = self._slots, {}
            return taken

    def close(self) -> None:
        """Wake the taker for good; items still waiting are dropped."""
        with self._condition:
            self._closed = True
            self._slots.clear()
            self._condition.notify_all()
