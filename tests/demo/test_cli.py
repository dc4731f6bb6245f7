"""``outrider demo`` and ``outrider sim px4`` refuse what cannot run, saying what to give."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from outrider.cli import main
from tests.demo.conftest import DEMO_TOML, REPO


def refusal(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    assert main(list(argv)) == 2
    return capsys.readouterr().err


def test_px4_without_a_build_directory_is_refused_naming_the_flag(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OUTRIDER_PX4_BUILD", raising=False)
    assert "--px4-build" in refusal(capsys, "demo", "--vehicle", "px4")
    assert "OUTRIDER_PX4_BUILD" in refusal(capsys, "sim", "px4")
    assert "not a PX4 build directory" in refusal(
        capsys, "sim", "px4", "--px4-build", str(REPO / "configs")
    )


def test_px4_runs_in_real_time_only(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    err = refusal(
        capsys, "demo", "--vehicle", "px4", "--px4-build", str(tmp_path), "--speed-factor", "5"
    )
    assert "real time" in err


def test_more_docks_than_the_city_has_are_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert "--docks must be 1..3" in refusal(capsys, "demo", "--docks", "4")


def test_headless_needs_a_scenario(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    city = tmp_path / "demo.toml"
    text = DEMO_TOML.read_text().replace(
        'scenario = "scenarios/one-incident.toml"', 'scenario = ""'
    )
    city.write_text(text.replace('"nofly/', f'"{REPO / "configs" / "nofly"}/'))
    assert "--scenario FILE" in refusal(capsys, "demo", "--headless", "--config", str(city))


def test_a_state_directory_holding_other_files_is_never_wiped(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    keep = tmp_path / "thesis.tex"
    keep.write_text("precious")
    err = refusal(capsys, "demo", "--no-video", "--state-dir", str(tmp_path), "--port", "0")
    assert "not a demo state directory" in err and keep.read_text() == "precious"


def test_the_guard_runs_its_command_and_passes_on_the_exit_status() -> None:
    guard = [sys.executable, "-m", "outrider.demo.guard"]
    assert subprocess.run(guard, capture_output=True, check=False).returncode == 2
    done = subprocess.run([*guard, "--", "sh", "-c", "exit 3"], check=False)
    assert done.returncode == 3
