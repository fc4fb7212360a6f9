"""The systemd unit is valid and tightly sandboxed, as systemd-analyze judges it."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from depeg_monitor.health.server import MAX_CONNECTIONS

UNIT = Path(__file__).parents[2] / "systemd" / "depeg-monitor.service"
EXEC = "/opt/depeg-monitor/.venv/bin/depeg-monitor"
MAX_EXPOSURE = 2.0


@pytest.fixture
def analyze() -> str:
    path = shutil.which("systemd-analyze")
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("systemd-analyze is missing; CI must install systemd (see .ci/run)")
        pytest.skip("systemd-analyze is not installed")
    return path


@pytest.fixture
def unit_copy(tmp_path: Path) -> Path:
    """The unit with only its program path pointing at a stub (verify checks it exists)."""
    stub = tmp_path / "depeg-monitor"
    stub.write_text("#!/bin/sh\nexit 0\n")
    stub.chmod(0o755)
    text = UNIT.read_text()
    assert EXEC in text
    copy = tmp_path / UNIT.name
    copy.write_text(text.replace(EXEC, str(stub)))
    return copy


def test_unit_verifies_cleanly(analyze: str, unit_copy: Path) -> None:
    """systemd-analyze verify accepts the unit without errors or warnings."""
    done = subprocess.run(
        [analyze, "verify", str(unit_copy)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip() == ""


def test_unit_exposure_is_low(analyze: str, unit_copy: Path) -> None:
    """systemd-analyze security rates the sandbox at or below the exposure target."""
    done = subprocess.run(
        [analyze, "security", "--offline=true", "--no-pager", str(unit_copy)],
        capture_output=True,
        text=True,
        check=False,
    )
    m = re.search(r"Overall exposure level for \S+: ([0-9.]+)", done.stdout + done.stderr)
    assert m, done.stdout + done.stderr
    assert float(m.group(1)) <= MAX_EXPOSURE


def test_unit_has_the_service_contract() -> None:
    """Type=notify with a watchdog, restarts, a state directory, the real ExecStart, and
    `systemctl reload` sending SIGHUP."""
    text = UNIT.read_text()
    for line in (
        "Type=notify",
        "NotifyAccess=main",
        "Restart=on-failure",
        "StateDirectory=depeg-monitor",
        f"ExecStart={EXEC} run --config /etc/depeg-monitor/config.toml",
        "EnvironmentFile=-/etc/depeg-monitor/env",
        "ExecReload=/bin/kill -HUP $MAINPID",
    ):
        assert line in text.splitlines()
    assert re.search(r"^WatchdogSec=\d+", text, re.M)


def test_unit_raises_the_file_descriptor_limit_above_the_health_cap() -> None:
    """LimitNOFILE is set far above the health port's connection cap, so a flood cannot
    starve the venues and the database of sockets."""
    m = re.search(r"^LimitNOFILE=(\d+)$", UNIT.read_text(), re.M)
    assert m, "LimitNOFILE= missing"
    assert int(m.group(1)) >= 4096 > 16 * MAX_CONNECTIONS
