"""`silence add/list/expire` against a SQLite file, read back the way the daemon reads it."""

from __future__ import annotations

import asyncio
import socket
import time
from pathlib import Path
from typing import Any

import pytest

from depeg_monitor.cli import main
from depeg_monitor.store import alert_history
from depeg_monitor.store.db import create_engine

SECRET = "s3cret-pw"


@pytest.fixture
def cfg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A configuration watching USDT and USDC, its database a file in tmp_path."""
    monkeypatch.delenv("DEPEG_CONFIG", raising=False)
    monkeypatch.delenv("DEPEG_DATABASE__URL", raising=False)
    path = tmp_path / "config.toml"
    path.write_text(
        "[coins.USDT]\n[coins.USDC]\n[venues.kraken]\nmarkets = ['USDT/USD', 'USDC/USD']\n"
        f'[database]\nurl = "sqlite+aiosqlite:///{tmp_path / "state.db"}"\n'
    )
    return path


def active(cfg: Path) -> list[Any]:
    url = f"sqlite+aiosqlite:///{cfg.parent / 'state.db'}"

    async def read() -> list[Any]:
        engine = create_engine(url)
        try:
            return await alert_history.active_silences(engine, time.time())
        finally:
            await engine.dispose()

    return asyncio.run(read())


def test_add_list_expire_round_trip(cfg: Path, capsys: Any) -> None:
    """A silence added for 2h is active for the daemon, listed, and gone once expired."""
    c = ["--config", str(cfg)]
    assert main(["silence", "add", "--coin", "usdt", "--for", "2h", "--reason", "maint", *c]) == 0
    assert "silence 1: USDT until" in capsys.readouterr().out
    [s] = active(cfg)
    assert s.coin == "USDT" and 7190 < s.ends_at - time.time() <= 7200
    assert main(["silence", "list", *c]) == 0
    listed = capsys.readouterr().out
    assert "USDT" in listed and "active" in listed and "maint" in listed
    assert main(["silence", "expire", "1", *c]) == 0
    assert active(cfg) == []
    assert main(["silence", "expire", "1", *c]) == 1
    assert "no silence 1" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv",
    [
        ["silence", "add", "--coin", "USDC", "--for", "1h", "--reason", "r", "--config", "{cfg}"],
        ["silence", "--config", "{cfg}", "add", "--coin", "USDC", "--for", "1h", "--reason", "r"],
        ["--config", "{cfg}", "silence", "add", "--coin", "USDC", "--for", "1h", "--reason", "r"],
        ["silence", "add", "--config", "{cfg}", "--coin", "USDC", "--for", "1h", "--reason", "r"],
    ],
    ids=["last", "after-silence", "first", "after-add"],
)
def test_config_is_taken_wherever_it_is_given(cfg: Path, argv: list[str]) -> None:
    """`silence add … --config X` (and every other place) adds the silence to X's database."""
    assert main([a.format(cfg=cfg) for a in argv]) == 0
    [s] = active(cfg)
    assert s.coin == "USDC"


def test_a_coin_the_configuration_does_not_watch_is_refused(cfg: Path, capsys: Any) -> None:
    """`--coin USTD` (for USDT) would silence nothing: refused with the coins watched, exit 2,
    nothing stored."""
    argv = ["silence", "add", "--coin", "ustd", "--for", "2h", "--reason", "x", "--config"]
    assert main([*argv, str(cfg)]) == 2
    assert capsys.readouterr().err == (
        "silence add: no coin 'USTD' in the configuration (coins: USDT, USDC)\n"
    )
    assert not (cfg.parent / "state.db").exists()


def test_bad_duration_is_a_clear_error(cfg: Path, capsys: Any) -> None:
    """--for 2 hours is refused with a hint, and nothing is stored."""
    with pytest.raises(SystemExit) as e:
        main(["silence", "add", "--for", "2 hours", "--reason", "x", "--config", str(cfg)])
    assert e.value.code == 2
    assert "not a duration" in capsys.readouterr().err
    assert main(["silence", "list", "--config", str(cfg)]) == 0
    assert "no silences" in capsys.readouterr().out


def test_a_reason_prints_escaped(cfg: Path, capsys: Any) -> None:
    """A reason with terminal controls in it lists on one line, its controls shown escaped."""
    c = ["--config", str(cfg)]
    assert main(["silence", "add", "--for", "1h", "--reason", "a\x1b[2J\nFAKE", *c]) == 0
    capsys.readouterr()
    assert main(["silence", "list", *c]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and out.count("\n") == 1 and "a\\x1b[2J\\nFAKE" in out


@pytest.mark.parametrize(
    "action", [["list"], ["add", "--for", "1h", "--reason", "r"], ["expire", "1"]]
)
def test_a_database_that_is_down_is_one_line(
    cfg: Path, capsys: Any, monkeypatch: pytest.MonkeyPatch, action: list[str]
) -> None:
    """PostgreSQL not listening: each action says so in one line naming the host, exit 1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("DEPEG_DATABASE__URL", f"postgresql+psycopg://u:{SECRET}@127.0.0.1:{port}/d")
    assert main(["silence", *action, "--config", str(cfg)]) == 1
    err = capsys.readouterr().err
    assert err == (
        f"silence {action[0]}: database unavailable: connection refused (is the server "
        f"running?) (postgresql at 127.0.0.1:{port}/d)\n"
    )


def test_a_database_path_in_a_missing_directory_is_refused(
    cfg: Path, capsys: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An explicit database.url in a directory that does not exist is not created by a silence."""
    missing = cfg.parent / "typo"
    monkeypatch.setenv("DEPEG_DATABASE__URL", f"sqlite+aiosqlite:///{missing}/state.db")
    assert main(["silence", "list", "--config", str(cfg)]) == 1
    assert f"directory {missing} does not exist" in capsys.readouterr().err
    assert not missing.exists()
