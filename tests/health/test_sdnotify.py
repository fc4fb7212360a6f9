"""The sd_notify protocol against a real local datagram socket."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from depeg_monitor.health.sdnotify import SdNotifier


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
