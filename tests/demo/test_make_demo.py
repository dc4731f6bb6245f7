"""``make demo`` in a terminal, stopped with Ctrl-C as its README says: the demo says goodbye and
make prints no error line."""

from __future__ import annotations

import fcntl
import os
import select
import shutil
import signal
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

from tests.demo.conftest import REPO

pytestmark = pytest.mark.timeout(240)

CTRL_C = b"\x03"


def _controlling_terminal() -> None:
    """In the child: its stdin (the pty) becomes the terminal of its new session."""
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


class Terminal:
    """A command in a pseudo-terminal of 80 x 24, its output collected."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
        self.master = master
        self.output = b""
        self.proc = subprocess.Popen(
            argv, stdin=slave, stdout=slave, stderr=slave, cwd=REPO, env=env,
            start_new_session=True, preexec_fn=_controlling_terminal,
        )  # fmt: skip
        os.close(slave)

    def read(self, until: bytes | None, limit_s: float) -> bool:
        """Collect output until ``until`` appears (True), the command ends or time runs out."""
        end = time.monotonic() + limit_s
        while time.monotonic() < end:
            if until is not None and until in self.output:
                return True
            ready, _, _ = select.select([self.master], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(self.master, 65536)
                except OSError:  # the other side closed: the command and its children are gone
                    return until is not None and until in self.output
                if not chunk:
                    return until is not None and until in self.output
                self.output += chunk
        return until is not None and until in self.output

    def type(self, data: bytes) -> None:
        os.write(self.master, data)

    def close(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        os.close(self.master)


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_ctrl_c_on_make_demo_says_goodbye_and_make_prints_no_error(tmp_path: Path) -> None:
    bin_dir = Path(sys.executable).parent
    flags = f"--port 0 --docks 1 --no-video --state-dir {tmp_path / 'demo'}"
    argv = ["make", "--no-print-directory", "-o", ".venv/.installed-stamp", f"BIN={bin_dir}",
            f"DEMO_ARGS={flags}", "demo"]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": f"{REPO}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    env.pop("COLUMNS", None)
    term = Terminal(argv, env)
    try:
        assert term.read(b"control room:", 150), term.output[-2000:]
        assert (tmp_path / "demo" / "control-room.txt").is_file()
        term.type(CTRL_C)  # the terminal sends SIGINT to make and the demo alike
        term.read(b"Goodbye", 90)
        term.proc.wait(60)
        term.read(None, 1)
    finally:
        term.close()
    text = term.output.decode(errors="replace")
    assert "Goodbye" in text, text[-2000:]
    assert "***" not in text and "Error 130" not in text, text[-2000:]
    assert "Traceback" not in text, text[-3000:]
