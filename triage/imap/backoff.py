"""How long to wait before reconnecting: exponential backoff with full jitter.

Attempt *n* (from 0) waits a random time between 0 and ``min(cap, base * 2**n)``. The
randomness keeps many clients that lost the same server from returning in lock step (the
"full jitter" of AWS's Architecture Blog, "Exponential Backoff And Jitter", 2015); the
cap keeps a long outage from stretching the wait beyond a few minutes.
"""

from __future__ import annotations

import random
from collections.abc import Callable


class Backoff:
    """The delays of successive reconnect attempts; :meth:`reset` after a success."""

    def __init__(self, base: float, cap: float, rng: Callable[[], float] = random.random) -> None:
        if base <= 0 or cap < base:
            raise ValueError("backoff needs 0 < base <= cap")
        self.base = base
        self.cap = cap
        self.rng = rng
        self.attempt = 0

    def ceiling(self) -> float:
        """The longest the next attempt may wait."""
        return min(self.cap, self.base * 2 ** min(self.attempt, 62))

    def next_delay(self) -> float:
        """The wait before the next attempt, in seconds; counts the attempt."""
        delay = self.rng() * self.ceiling()
        self.attempt += 1
        return delay

    def reset(self) -> None:
        """A connection worked: the next failure starts from ``base`` again."""
        self.attempt = 0
