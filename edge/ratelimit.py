"""Token buckets that bound how fast outside input is taken in, and count what they turn away.

The edge bounds the commands it handles and dispatch bounds what each dock may send it, so a
flood (a broken or hostile client) costs a counter increment per message instead of parsing,
storing and answering it. :class:`TokenBucket` is one budget; :class:`Budgets` keeps one per key
(dock id) with a cap on how many keys it remembers.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable

__all__ = ["Budgets", "TokenBucket"]


class TokenBucket:
    """At most ``burst`` at once, refilled at ``rate`` a second.

    Args:
        rate: tokens added per second.
        burst: the most tokens held (and so the largest burst let through).
        clock: monotonic seconds (tests move it).
    """

    def __init__(
        self, rate: float, burst: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("a token bucket needs rate > 0 and burst >= 1")
        self.rate = rate
        self.burst = burst
        self.clock = clock
        self.tokens = burst
        self.refused = 0
        self._at = clock()

    def take(self) -> bool:
        """Spend one token; ``False`` (and one more refusal counted) when there is none."""
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self._at) * self.rate)
        self._at = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        self.refused += 1
        return False


class Budgets:
    """One :class:`TokenBucket` per key, the least recently used forgotten past ``max_keys``."""

    def __init__(
        self,
        rate: float,
        burst: float,
        max_keys: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rate, self.burst, self.max_keys, self.clock = rate, burst, max_keys, clock
        self._buckets: OrderedDict[str, TokenBucket] = OrderedDict()

    def take(self, key: str) -> bool:
        """Spend one token of ``key``'s bucket."""
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = TokenBucket(self.rate, self.burst, self.clock)
            while len(self._buckets) > self.max_keys:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(key)
        return bucket.take()

    def refused(self, key: str) -> int:
        """How many messages of ``key`` were turned away while its bucket was remembered."""
        bucket = self._buckets.get(key)
        return bucket.refused if bucket else 0
