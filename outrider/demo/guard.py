"""``python -m outrider.demo.guard -- CMD ...``: run CMD and make sure it ends with the demo.

The guard starts CMD in its own process group and watches two things: its own parent (the
demo) and signals. When the demo stops it in order (SIGTERM to the group), the guard lets CMD
finish its clean stop. When the demo dies without that chance (killed outright), the guard
notices (``PR_SET_PDEATHSIG`` on Linux, its parent changing elsewhere) and sends CMD SIGTERM
itself. Either way, a CMD still running after the grace period is killed, so a part stuck in
its shutdown cannot outlive the demo. The guard exits with CMD's status.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import time
from types import FrameType

__all__ = ["GRACE_S", "main"]

PR_SET_PDEATHSIG = 1
GRACE_S = 8.0
POLL_S = 0.25


def _ask_for_signal_on_parent_death() -> None:
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)
    except (OSError, AttributeError):
        return


class _Stop:
    """When the stop was asked for, by a signal or by the parent going away."""

    def __init__(self) -> None:
        self.at: float | None = None

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        if self.at is None:
            self.at = time.monotonic()


def supervise(child: subprocess.Popen[bytes], parent: int, stop: _Stop) -> int:
    """Wait for ``child``; stop it when the parent is gone; kill it after the grace period."""
    forwarded = False
    while True:
        try:
            return child.wait(timeout=POLL_S)
        except subprocess.TimeoutExpired:
            pass
        orphaned = os.getppid() != parent
        if orphaned and stop.at is None:
            stop.at = time.monotonic()
        if stop.at is None:
            continue
        if orphaned and not forwarded:  # nobody else will tell the child
            forwarded = True
            child.send_signal(signal.SIGTERM)
        if time.monotonic() - stop.at > GRACE_S:
            child.kill()


def main(argv: list[str]) -> int:
    """Run ``argv`` after ``--`` under the guard; exit status 2 when there is nothing to run."""
    if "--" in argv:
        argv = argv[argv.index("--") + 1 :]
    if not argv:
        sys.stderr.write("usage: python -m outrider.demo.guard -- CMD [ARGS...]\n")
        return 2
    parent = int(os.environ.pop("OUTRIDER_GUARD_PARENT", str(os.getppid())))
    stop = _Stop()
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, stop)
    _ask_for_signal_on_parent_death()
    if os.getppid() != parent:  # the parent died before the guard was in place
        return 1
    child = subprocess.Popen(argv)
    return supervise(child, parent, stop)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
