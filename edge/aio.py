"""Asyncio helpers for the edge: timeouts and loops that never lose a cancellation.

Python 3.11's ``asyncio.wait_for`` can swallow a cancellation that arrives just as the awaited
operation finishes; a loop that then waits again never stops, and a clean shutdown hangs.
:func:`within` is a timeout built on ``asyncio.timeout`` (which does not have that race), and
:func:`raise_if_cancelling` lets a long-running loop notice a cancellation that a library
(aiomqtt uses ``wait_for``) swallowed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

__all__ = ["raise_if_cancelling", "within"]

T = TypeVar("T")


async def within(awaitable: Awaitable[T], seconds: float) -> T:
    """Await ``awaitable`` for at most ``seconds`` (``asyncio.wait_for``'s arguments).

    Raises:
        TimeoutError: when it takes longer.
    """
    async with asyncio.timeout(seconds):
        return await awaitable


def raise_if_cancelling() -> None:
    """Raise ``CancelledError`` when the current task was asked to stop.

    Raises:
        asyncio.CancelledError: when a cancellation is pending on this task.
    """
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError
