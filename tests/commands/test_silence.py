"""`silence add/list/expire` against a SQLite file, read back the way the daemon reads it."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest

from depeg_monitor.cli import main
from depeg_monitor.store import alert_history
from depeg_monitor.store.db import create_engine


@pytest.fixture
def db(tmp_path: Path, monkeypatch: Any) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path}/state.db"
    monkeypatch.setenv("DEPEG_DATABASE__URL", url)
    monkeypatch.delenv("DEPEG_CONFIG", raising=False)
    return url


def active(url: str) -> list[Any]:
    async def read() -> list[Any]:
        engine = create_engine(url)
        try:
            return await alert_history.active_silences(engine, time.time())
        finally:
            await engine.dispose()

    return asyncio.run(read())


def test_add_list_expire_round_trip(db: str, capsys: Any) -> None:
    """A silence added for 2h is active for the daemon, listed, and gone once expired."""
    assert (
        main(["silence", "add", "--coin", "usdt", "--for", "2h", "--reason", "exchange maint"]) == 0
    )
    assert "silence 1: USDT until" in capsys.readouterr().out
    [s] = active(db)
    assert s.coin == "USDT" and 7190 < s.ends_at - time.time() <= 7200
    assert main(["silence", "list"]) == 0
    listed = capsys.readouterr().out
    assert "USDT" in listed and "active" in listed and "exchange maint" in listed
    assert main(["silence", "expire", "1"]) == 0
    assert active(db) == []
    assert main(["silence", "expire", "1"]) == 1
    assert "no silence 1" in capsys.readouterr().err


def test_bad_duration_is_a_clear_error(db: str, capsys: Any) -> None:
    """--for 2 hours is refused with a hint, and nothing is stored."""
    with pytest.raises(SystemExit) as e:
        main(["silence", "add", "--for", "2 hours", "--reason", "x"])
    assert e.value.code == 2
    assert "not a duration" in capsys.readouterr().err
    assert main(["silence", "list"]) == 0
    assert "no silences" in capsys.readouterr().out
