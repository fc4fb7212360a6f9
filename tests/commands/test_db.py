"""`depeg-monitor db upgrade`: the database the daemon would use, prepared or refused in words."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from depeg_monitor.cli import main
from depeg_monitor.store.schema import SCHEMA_VERSION

from ..postgres import TempPostgres

SECRET = "s3cret-pw"
CONFIG = "[coins.USDC]\n[venues.kraken]\nmarkets = ['USDC/USD']\n"


@contextmanager
def thread_errors() -> Iterator[list[BaseException]]:
    """What threads raise inside the block, collected once every thread still running has
    finished: aiosqlite's worker, left behind by a failed connect, prints a traceback of its
    own if the command's event loop closed under it. (Set inside the test: pytest sets its
    own hook around the test's call.)"""
    seen: list[BaseException] = []
    before = threading.excepthook
    threading.excepthook = lambda a: seen.append(a.exc_value)  # type: ignore[assignment]
    try:
        yield seen
        for t in threading.enumerate():
            if t is not threading.current_thread() and not t.daemon:
                t.join(5)
    finally:
        threading.excepthook = before


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def config(tmp_path: Path, url: str | None = None) -> Path:
    cfg = tmp_path / "config.toml"
    cfg.write_text(CONFIG + (f'[database]\nurl = "{url}"\n' if url else ""))
    return cfg


@pytest.mark.parametrize(
    "argv",
    [
        ["db", "upgrade", "--config", "{cfg}"],
        ["db", "--config", "{cfg}", "upgrade"],
        ["--config", "{cfg}", "db", "upgrade"],
    ],
    ids=" ".join,
)
def test_upgrade_prepares_the_configured_database_wherever_config_is_given(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    """`db upgrade --config X`, `db --config X upgrade` and `--config X db upgrade` all prepare
    the database X names, and say which (no log lines on stdout)."""
    db = tmp_path / "depeg.db"
    cfg = config(tmp_path, f"sqlite+aiosqlite:///{db}")
    assert main([a.format(cfg=cfg) for a in argv]) == 0
    out = capsys.readouterr().out
    assert out == f"database (sqlite file {db}) is at schema version {SCHEMA_VERSION}\n"
    assert db.is_file()


def test_an_explicit_path_in_a_missing_directory_is_refused_and_nothing_made(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """database.url naming a directory that does not exist (a typo) is an error in words,
    exit 1, and no directory or file appears."""
    db = tmp_path / "typo" / "depeg.db"
    cfg = config(tmp_path, f"sqlite+aiosqlite:///{db}")
    assert main(["db", "upgrade", "--config", str(cfg)]) == 1
    err = capsys.readouterr().err
    assert err == (
        f"db upgrade: directory {db.parent} does not exist (database.url); create it, or "
        "correct the path\n"
    )
    assert not db.parent.exists()


def test_the_default_state_directory_is_created(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With no database.url, the state directory is the daemon's to create: it is made."""
    state = tmp_path / "state" / "depeg"
    monkeypatch.setenv("STATE_DIRECTORY", str(state))
    assert main(["db", "upgrade", "--config", str(config(tmp_path))]) == 0
    assert (state / "depeg-monitor.db").is_file()


@pytest.mark.parametrize(
    ("url", "said"),
    [
        (
            "postgresql+psycopg://u:{secret}@127.0.0.1:{port}/d",
            "connection refused (is the server running?) (postgresql at 127.0.0.1:{port}/d)",
        ),
        ("mysql://u:{secret}@db.example.com/x", "unsupported database driver"),
        ("sqlite+aiosqlite:///{tmp}", "cannot open the database file"),
    ],
    ids=["refused", "no-driver", "a-directory"],
)
def test_a_database_that_cannot_be_used_is_one_line_without_the_password(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    url: str,
    said: str,
) -> None:
    """Refused, no driver, a directory where the file should be: one line saying so, exit 1,
    no traceback (not even from a database library's worker thread), no password."""
    port = closed_port()
    fill = {"secret": SECRET, "port": port, "tmp": tmp_path}
    monkeypatch.setenv("DEPEG_DATABASE__URL", url.format(**fill))
    assert main(["db", "upgrade", "--config", str(config(tmp_path))]) == 1
    err = capsys.readouterr().err
    assert err.startswith("db upgrade: database unavailable: ") and said.format(**fill) in err
    assert len(err.splitlines()) == 1 and SECRET not in err


def test_a_failed_sqlite_open_leaves_no_thread_to_print_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A SQLite file that cannot be opened is one line each time: aiosqlite's worker has
    finished before the command's event loop closes, so it never adds "Exception in thread …
    Event loop is closed" (a race: tried 30 times)."""
    monkeypatch.setenv("DEPEG_DATABASE__URL", f"sqlite+aiosqlite:///{tmp_path}")  # a directory
    cfg = str(config(tmp_path))
    with thread_errors() as raised:
        for _ in range(30):
            assert main(["db", "upgrade", "--config", cfg]) == 1
    assert raised == []
    assert len(capsys.readouterr().err.splitlines()) == 30


@pytest.mark.postgres
def test_a_wrong_password_says_authentication_failed(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    pg_server: TempPostgres,
) -> None:
    """A wrong PostgreSQL password is 'authentication failed' at its host, the password unsaid."""
    url = pg_server.add_password_user("depeg_dbcmd", "right-pw").replace("right-pw", SECRET)
    monkeypatch.setenv("DEPEG_DATABASE__URL", url + "/postgres")
    assert main(["db", "upgrade", "--config", str(config(tmp_path))]) == 1
    err = capsys.readouterr().err
    assert err.startswith("db upgrade: database unavailable: authentication failed")
    assert f"127.0.0.1:{pg_server.port}" in err and SECRET not in err


@pytest.mark.postgres
def test_upgrade_on_postgresql(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, pg_url: str
) -> None:
    """A reachable PostgreSQL database is prepared, and named by host, not by its URL."""
    monkeypatch.setenv("DEPEG_DATABASE__URL", pg_url)
    assert main(["db", "upgrade", "--config", str(config(tmp_path))]) == 0
    out = capsys.readouterr().out
    assert (
        out.startswith("database (postgresql at 127.0.0.1:")
        and f"schema version {SCHEMA_VERSION}" in out
    )


@pytest.mark.parametrize("command", [["db", "upgrade"], ["status"], ["silence", "list"]])
@pytest.mark.parametrize("url", ["garbage", f"postgresql+psycopg://u:{SECRET}@db:notaport/d"])
def test_a_url_that_is_not_one_is_a_configuration_error_naming_the_variable(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    command: list[str],
    url: str,
) -> None:
    """A database URL SQLAlchemy cannot read (no scheme, a port that is not a number) is
    exit 2, naming the variable that set it and what a URL looks like — never the URL."""
    monkeypatch.setenv("DEPEG_DATABASE__URL", url)
    assert main([*command, "--config", str(config(tmp_path))]) == 2
    err = capsys.readouterr().err
    assert err.startswith(
        f"{' '.join(command)}: DEPEG_DATABASE__URL (database.url) is not a database URL (e.g. "
    )
    assert len(err.splitlines()) == 1 and SECRET not in err and "notaport" not in err
