"""The command line: help written for users, start-up that imports only what a command runs."""

from __future__ import annotations

import argparse
import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from depeg_monitor import __version__
from depeg_monitor.cli import MAX_SILENCE, SCENARIOS, build_parser, main, parse_duration
from depeg_monitor.commands import scenarios

REPO = Path(__file__).parents[1]
EXAMPLE = str(REPO / "config.example.toml")
# Libraries that cost start-up time and memory; a command that does not use one must not load it.
HEAVY = {
    "aiohttp",
    "aiosqlite",
    "apprise",
    "prometheus_client",
    "psycopg",
    "pydantic",
    "pydantic_settings",
    "sqlalchemy",
    "structlog",
    "tenacity",
    "twilio",
}


def _commands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(sub.choices)


def _imports(argv: list[str], env: dict[str, str] | None = None) -> set[str]:
    """Every module a fresh interpreter imported while running `depeg-monitor argv`."""
    code = (
        "import json, sys\n"
        "from depeg_monitor.cli import main\n"
        "try:\n"
        f"    code = main({argv!r})\n"
        "except SystemExit as e:\n"
        "    code = e.code\n"
        "assert code in (0, None), code\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DEPEG_", "TWILIO_"))}
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={**clean, **(env or {})},
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    return set(json.loads(out.stdout.splitlines()[-1]))


def _families(modules: set[str]) -> set[str]:
    return {m.split(".")[0] for m in modules}


def _leaves(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> dict[tuple[str, ...], argparse.ArgumentParser]:
    """Every command line a user can end on: ("status",), ("silence", "add"), …"""
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        return {path: parser}
    out: dict[tuple[str, ...], argparse.ArgumentParser] = {}
    for name, child in subs[0].choices.items():
        out.update(_leaves(child, (*path, name)))
    return out


# The least each command line needs besides --config: a new command must be added here.
REQUIRED: dict[tuple[str, ...], list[str]] = {
    ("run",): [],
    ("check-config",): [],
    ("config", "show"): [],
    ("quotes",): [],
    ("status",): [],
    ("alerts",): [],
    ("history",): ["USDC"],
    ("silence", "add"): ["--for", "1h", "--reason", "maintenance"],
    ("silence", "list"): [],
    ("silence", "expire"): ["3"],
    ("ack",): ["USDC"],
    ("test-alert",): [],
    ("replay",): ["manifest.toml"],
    ("db", "upgrade"): [],
    ("simulate",): ["calm"],
    ("demo",): [],
}


@pytest.mark.parametrize(
    "argv", [["--version"], ["--help"], *([name, "--help"] for name in _commands())]
)
def test_version_and_help_import_no_command_and_no_heavy_library(argv: list[str]) -> None:
    """`--version` and every `--help` answer at once: no command module, no pydantic,
    SQLAlchemy, aiohttp, apprise or Twilio behind them."""
    loaded = _imports(argv)
    assert not HEAVY & _families(loaded)
    assert {m for m in loaded if m.startswith("depeg_monitor")} == {
        "depeg_monitor",
        "depeg_monitor.cli",
    }


def test_check_config_loads_no_database_network_or_channel_library() -> None:
    """Checking a configuration reads settings only: no SQLAlchemy, aiohttp, apprise, Twilio."""
    loaded = _families(_imports(["check-config", "--config", EXAMPLE]))
    assert "pydantic" in loaded
    assert not {"sqlalchemy", "aiohttp", "apprise", "twilio", "prometheus_client"} & loaded


def test_status_loads_the_database_but_no_network_or_channel_library(tmp_path: Path) -> None:
    """`status` reads the database; it has no use for aiohttp, apprise or Twilio."""
    env = {"STATE_DIRECTORY": str(tmp_path)}
    _imports(["db", "upgrade", "--config", EXAMPLE], env)
    loaded = _families(_imports(["status", "--config", EXAMPLE], env))
    assert "sqlalchemy" in loaded
    assert not {"aiohttp", "apprise", "twilio", "prometheus_client"} & loaded


def test_version_is_the_packages() -> None:
    """`depeg-monitor --version` prints the installed version."""
    out = subprocess.run(
        [sys.executable, "-m", "depeg_monitor", "--version"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == f"depeg-monitor {__version__}"


def test_help_describes_each_command_for_a_user(capsys: pytest.CaptureFixture[str]) -> None:
    """`--help` lists every command with what it does and shows examples, not module names."""
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for name in _commands():
        assert f"\n    {name}" in out
    assert "examples:\n  depeg-monitor demo" in out
    assert "module" not in out and "depeg_monitor" not in out


@pytest.mark.parametrize("name", list(_commands()))
def test_each_command_has_a_description_and_runs_from_its_module(name: str) -> None:
    """Every command's --help says what it does, and its module has the run() main() calls."""
    parser = _commands()[name]
    assert parser.description and len(parser.description) > 40
    module = importlib.import_module(f"depeg_monitor.commands.{parser.get_default('_module')}")
    assert callable(module.run)


def test_help_names_every_scenario_shipped_with_the_package() -> None:
    """The scenarios --help offers by name are exactly the ones the package ships."""
    assert sorted(SCENARIOS) == scenarios.packaged()


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90s", 90), ("30m", 1800), ("2h", 7200), ("1d12h", 129600), ("1.5h", 5400), ("1w", 604800)],
)
def test_durations_read_as_people_write_them(text: str, seconds: float) -> None:
    """`silence add --for` takes 90s, 30m, 2h, 1d12h, 1.5h, 1w."""
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    "text", ["", "2", "h", "2x", "-2h", "2h 30m", "0m", "2hh", "∞h", "53w", "9" * 400 + "s"]
)
def test_a_duration_that_is_not_one_is_refused(text: str) -> None:
    """Anything else — a bare number, an unknown unit, zero, over a year — is refused."""
    with pytest.raises(argparse.ArgumentTypeError):
        parse_duration(text)


@given(st.text(max_size=30))
def test_any_text_is_a_positive_duration_or_refused_clearly(text: str) -> None:
    """Whatever is typed, the answer is a number of seconds a silence can last (more than
    zero, at most a year) or argparse's own error."""
    try:
        seconds = parse_duration(text)
    except argparse.ArgumentTypeError:
        return
    assert 0 < seconds <= MAX_SILENCE


@given(st.lists(st.tuples(st.integers(0, 10_000), st.sampled_from("smhdw")), min_size=1))
def test_a_written_duration_adds_up_its_parts(parts: list[tuple[int, str]]) -> None:
    """'1d2h3m' is the sum of its parts, whatever the parts and their order."""
    text = "".join(f"{n}{u}" for n, u in parts)
    unit = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
    total = sum(n * unit[u] for n, u in parts)
    if not 0 < total <= MAX_SILENCE:
        with pytest.raises(argparse.ArgumentTypeError):
            parse_duration(text)
    else:
        assert parse_duration(text) == total


def test_every_command_line_is_known_to_the_config_test() -> None:
    """The --config test below covers every command and action the parser has."""
    assert set(_leaves(build_parser())) == set(REQUIRED)


def _placements(path: tuple[str, ...], rest: list[str]) -> list[list[str]]:
    """--config before the command, after each of its words, and at the very end."""
    cfg = ["--config", "mine.toml"]
    out = [[*cfg, *path, *rest]]
    out += [[*path[: i + 1], *cfg, *path[i + 1 :], *rest] for i in range(len(path))]
    out.append([*path, *rest, *cfg])
    return out


@pytest.mark.parametrize("path", list(REQUIRED), ids=" ".join)
def test_config_is_accepted_anywhere_on_every_command_line(path: tuple[str, ...]) -> None:
    """`--config PATH` may come before the command, after it, after its action or last —
    e.g. `silence add … --config X` and `db --config X upgrade` — and means the same file."""
    parser = build_parser()
    for argv in _placements(path, REQUIRED[path]):
        assert parser.parse_args(argv).config == "mine.toml", argv


def test_the_config_given_last_wins_and_none_given_is_none() -> None:
    """Given twice, the later --config counts; given nowhere, the command reads $DEPEG_CONFIG
    (args.config is None)."""
    parser = build_parser()
    args = parser.parse_args(["--config", "a.toml", "silence", "--config", "b.toml", "list"])
    assert args.config == "b.toml"
    args = parser.parse_args(["silence", "list", "--config", "c.toml"])
    assert args.config == "c.toml"
    assert not hasattr(parser.parse_args(["status"]), "config")  # main() fills in None


def test_main_fills_in_no_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Without --config anywhere a command runs on $DEPEG_CONFIG."""
    cfg = tmp_path / "env.toml"
    cfg.write_text("[coins.USDT]\n")
    monkeypatch.setenv("DEPEG_CONFIG", str(cfg))
    monkeypatch.setenv("STATE_DIRECTORY", str(tmp_path))
    assert main(["db", "upgrade"]) == 0
    assert (tmp_path / "depeg-monitor.db").is_file()


@pytest.mark.parametrize(
    "argv",
    [
        ["silence", "expire", "99999999999999999999"],
        ["silence", "expire", "0"],
        ["silence", "expire", "x"],
        ["silence", "add", "--coin", " ", "--for", "1h", "--reason", "r"],
        ["silence", "add", "--for", "1h", "--reason", " "],
        ["demo", "--speed", "0"],
        ["demo", "--speed", "-3"],
        ["demo", "--speed", "nan"],
        ["simulate", "calm", "--time-scale", "0"],
        ["simulate", "calm", "--port", "70000"],
        ["replay", "m.toml", "--timeline-limit", "-5"],
    ],
    ids=" ".join,
)
def test_bad_arguments_are_refused_by_the_parser_in_one_line(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """A number out of range is argparse's own usage error (exit 2), never a traceback from
    deep inside (a division by zero, an integer the database cannot store)."""
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "error: argument" in err


def test_output_cut_short_by_its_reader_is_no_traceback(tmp_path: Path) -> None:
    """`depeg-monitor status | head -1`: the reader leaving early ends the command quietly
    (exit 141, as SIGPIPE would), not with a BrokenPipeError traceback."""
    cfg = tmp_path / "config.toml"
    cfg.write_text("[coins.USDC]\n[venues.kraken]\nmarkets = ['USDC/USD']\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEPEG_")}
    env["STATE_DIRECTORY"] = str(tmp_path)
    run = [sys.executable, "-m", "depeg_monitor"]
    subprocess.run([*run, "db", "upgrade", "--config", str(cfg)], env=env, check=True)
    proc = subprocess.Popen(
        [*run, "status", "--config", str(cfg)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # the reader is gone before the report is written
    err = proc.stderr.read().decode()
    assert proc.wait(60) == 141
    assert "Traceback" not in err and "BrokenPipeError" not in err
