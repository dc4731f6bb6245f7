"""How often callers may ask: per address, per caller for changes, and sign-in back-off.

Budgets are token buckets (:mod:`edge.ratelimit`) that remember a bounded number of keys, so
a crowd of addresses costs memory that does not grow without bound. Sign-in failures are
counted per address: after ``login_free_failures`` the address must wait, twice as long after
each further failure (up to ``login_backoff_max_s``; a good sign-in in between does not reset
the count, so one valid token cannot buy guesses with another), and its failures go into the
audit log as one row per ``audit_failures_every_s`` with their count, not one row each. Each
instance keeps its own counts.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from dispatch.config import HttpLimits
from dispatch.service_errors import LimitError
from edge.ratelimit import Budgets

__all__ = ["LoginGuard", "RequestLimits"]

MAX_ADDRESSES = 10_000


class RequestLimits:
    """Request budgets of one instance: every request per address, changes per caller."""

    def __init__(self, limits: HttpLimits, clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self.addresses = Budgets(limits.address_rate_per_s, limits.address_burst, clock=clock)
        self.writers = Budgets(limits.write_rate_per_s, limits.write_burst, clock=clock)

    def address(self, peer: str) -> None:
        """Raises:
        LimitError: ``rate_limited`` when ``peer`` asks more often than its budget.
        """
        if not self.addresses.take(peer):
            raise LimitError(
                f"too many requests from {peer}; limit {self.limits.address_rate_per_s:g}/s",
                retry_after_s=1.0 / self.limits.address_rate_per_s,
            )

    def write(self, who: str) -> None:
        """Raises:
        LimitError: ``rate_limited`` when ``who`` makes changes faster than its budget.
        """
        if not self.writers.take(who):
            raise LimitError(
                f"{who} makes changes too fast; limit {self.limits.write_rate_per_s:g}/s",
                retry_after_s=1.0 / self.limits.write_rate_per_s,
            )


@dataclass
class _Failures:
    count: int = 0
    last: float = 0.0
    unaudited: int = 0
    audited: float = -1e18


class LoginGuard:
    """Failed sign-ins per address: back-off, and audit rows that summarise instead of flood."""

    def __init__(self, limits: HttpLimits, clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self.clock = clock
        self._by_peer: OrderedDict[str, _Failures] = OrderedDict()

    def _wait_s(self, f: _Failures) -> float:
        over = f.count - self.limits.login_free_failures
        if over < 0:
            return 0.0
        return float(min(self.limits.login_backoff_max_s, 2.0**over))

    def check(self, peer: str) -> None:
        """Raises:
        LimitError: ``login_backoff`` while ``peer`` must wait after failed sign-ins.
        """
        f = self._by_peer.get(peer)
        if f is None:
            return
        left = f.last + self._wait_s(f) - self.clock()
        if left > 0:
            raise LimitError(
                f"{f.count} failed sign-ins from {peer}; wait {left:.0f} s",
                code="login_backoff",
                retry_after_s=left,
            )

    def failed(self, peer: str) -> int:
        """Count a failure; the number of failures to write into one audit row now (0: none)."""
        f = self._by_peer.get(peer)
        if f is None:
            f = self._by_peer[peer] = _Failures()
            while len(self._by_peer) > MAX_ADDRESSES:
                self._by_peer.popitem(last=False)
        self._by_peer.move_to_end(peer)
        now = self.clock()
        if now - f.last > self.limits.login_backoff_max_s:
            f.count = 0  # an old run of failures is forgotten; a good sign-in does not reset it
        f.count, f.last, f.unaudited = f.count + 1, now, f.unaudited + 1
        if now - f.audited < self.limits.audit_failures_every_s:
            return 0
        count, f.unaudited, f.audited = f.unaudited, 0, now
        return count
