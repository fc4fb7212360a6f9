"""The sd_notify protocol against a real local datagram socket."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from depeg_monitor.health.evaluate import Check, HealthReport
from depeg_monitor.health.sdnotify import STATUS_LIMIT, SdNotifier, status_line


@pytest.fixture
def listener(tmp_path: Path) -> Iterator[tuple[socket.socket, str]]:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    path = str(tmp_path / "notify.sock")
    s.bind(path)
    s.settimeout(2)
    yield s, path
    s.close()


def test_ready_watchdog_stopping_reach_the_socket(listener: tuple[socket.socket, str]) -> None:
    """READY=1 (with STATUS), WATCHDOG=1 and STOPPING=1 arrive as systemd expects them."""
    sock, path = listener
    sd = SdNotifier({"NOTIFY_SOCKET": path})
    assert sd.ready("monitoring 8 coins")
    assert sock.recv(4096) == b"READY=1\nSTATUS=monitoring 8 coins"
    assert sd.watchdog()
    assert sock.recv(4096) == b"WATCHDOG=1"
    assert sd.stopping()
    assert sock.recv(4096) == b"STOPPING=1"


def test_reloading_carries_the_monotonic_time(listener: tuple[socket.socket, str]) -> None:
    """RELOADING=1 goes with MONOTONIC_USEC, the CLOCK_MONOTONIC time systemd matches it by."""
    sock, path = listener
    before = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
    assert SdNotifier({"NOTIFY_SOCKET": path}).reloading()
    first, second = sock.recv(4096).decode().split("\n")
    assert first == "RELOADING=1"
    key, _, usec = second.partition("=")
    assert key == "MONOTONIC_USEC"
    assert before <= int(usec) <= time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000


def test_abstract_namespace_socket() -> None:
    """A NOTIFY_SOCKET starting with '@' is reached in the abstract namespace."""
    name = f"depeg-test-{os.getpid()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
        s.bind("\0" + name)
        s.settimeout(2)
        assert SdNotifier({"NOTIFY_SOCKET": "@" + name}).watchdog()
        assert s.recv(100) == b"WATCHDOG=1"


def test_without_systemd_nothing_is_sent() -> None:
    """Outside systemd every call is a harmless no-op."""
    sd = SdNotifier({})
    assert not sd.enabled
    assert not sd.ready() and not sd.watchdog()
    assert sd.watchdog_interval() is None


def test_watchdog_interval_is_half_of_watchdogsec() -> None:
    """WATCHDOG_USEC=30s means a ping every 15 s; a watchdog for another PID is ignored."""
    pid = str(os.getpid())
    assert SdNotifier({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": pid}).watchdog_interval() == 15
    assert (
        SdNotifier({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "1"}).watchdog_interval() is None
    )


def test_dead_socket_does_not_raise(tmp_path: Path) -> None:
    """A socket that went away makes notify return False instead of crashing the daemon."""
    assert not SdNotifier({"NOTIFY_SOCKET": str(tmp_path / "gone.sock")}).ready()


WATCHING = "monitoring 8 coins on 9 venues"
PASS = HealthReport("pass", {"coin:DAI": Check("pass"), "venue:kraken": Check("pass")}, 0.0)
WARN = HealthReport(
    "warn", {"coin:DAI": Check("pass"), "venue:kraken": Check("warn", "HTTP 503")}, 0.0
)


def failing(age: int) -> HealthReport:
    return HealthReport(
        "fail",
        {
            "coin:DAI": Check("fail", f"no fresh price for {age}s"),
            "venue:kraken": Check("warn", "network error"),
            "venues": Check("fail", "every venue is failing"),
        },
        0.0,
    )


def test_status_line_says_what_health_says() -> None:
    """pass / warn / FAIL, with what is wrong in words; a long line is cut for systemctl."""
    assert status_line(PASS, WATCHING) == "pass: monitoring 8 coins on 9 venues"
    assert status_line(WARN, WATCHING) == "warn: monitoring 8 coins on 9 venues; kraken: HTTP 503"
    assert status_line(failing(120), WATCHING) == (
        "FAIL: every venue is failing; DAI: no fresh price for 120s"
    )
    many = HealthReport("fail", {f"coin:C{i}": Check("fail", "no price") for i in range(50)}, 0)
    line = status_line(many, WATCHING)
    assert len(line) <= STATUS_LIMIT and line.endswith("…") and "\n" not in line


def test_status_follows_health_changes_only(listener: tuple[socket.socket, str]) -> None:
    """STATUS= is sent when the status or its failing checks change — not every cycle while an
    age grows — and goes back to pass when health does."""
    sock, path = listener
    sock.setblocking(False)  # a datagram sent to a unix socket is queued before sendto returns
    sd = SdNotifier({"NOTIFY_SOCKET": path})

    def received() -> list[bytes]:
        got = []
        while True:
            try:
                got.append(sock.recv(4096))
            except BlockingIOError:
                return got

    assert sd.follow(PASS, WATCHING)
    assert received() == [b"STATUS=pass: monitoring 8 coins on 9 venues"]
    assert not sd.follow(PASS, WATCHING)
    assert sd.follow(failing(120), WATCHING)
    assert not sd.follow(failing(150), WATCHING)  # the same checks failing, only older
    assert received() == [b"STATUS=FAIL: every venue is failing; DAI: no fresh price for 120s"]
    assert sd.follow(PASS, WATCHING)
    assert received() == [b"STATUS=pass: monitoring 8 coins on 9 venues"]


def test_follow_without_systemd_is_a_no_op() -> None:
    """Outside systemd following health sends nothing and never fails."""
    assert not SdNotifier({}).follow(failing(120), WATCHING)
