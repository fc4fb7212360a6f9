"""`check-config` (and `run`, which makes the same check) on configurations a user gets wrong:
exit 2, the dotted field or the variable named, the offending value and the reason, no
traceback — from the TOML file and from the environment alike."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import pytest

from depeg_monitor.cli import main

# Valid: two coins on two venues, every severity into the log at any hour.
GOOD = """\
[coins.USDC]
[coins.USDT]
[venues.kraken]
markets = ["USDC/USD", "USDT/USD"]
[venues.bitstamp]
markets = ["USDC/USD", "USDT/USD"]
[channels.console]
type = "console"
severities = ["minor", "major", "critical"]
"""
SECRET = "SECRETTOKEN9f3a"


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str


class Cli(Protocol):
    def __call__(
        self, toml: str | None = ..., env: dict[str, str] | None = ..., command: str = ...
    ) -> Run: ...


def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.upper().startswith(("DEPEG_", "TWILIO_")) or name in (
            "CREDENTIALS_DIRECTORY",
            "STATE_DIRECTORY",
        ):
            monkeypatch.delenv(name)


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Cli:
    """cli(toml, env, command) runs the real CLI in-process on a file holding toml."""
    _clean_env(monkeypatch)

    def run(
        toml: str | None = GOOD, env: dict[str, str] | None = None, command: str = "check-config"
    ) -> Run:
        for k, v in (env or {}).items():
            monkeypatch.setenv(k, v)
        argv = [command]
        if toml is not None:
            path = tmp_path / "config.toml"
            path.write_text(toml)
            argv += ["--config", str(path)]
        try:
            code = main(argv)
        except SystemExit as e:
            code = int(e.code or 0)
        out, err = capsys.readouterr()
        return Run(code, out, err)

    return run


@dataclass(frozen=True)
class Case:
    toml: str
    env: dict[str, str] = field(default_factory=dict)
    said: tuple[str, ...] = ()  # each must appear in the error output
    hidden: tuple[str, ...] = ()  # none may appear anywhere (secrets)


ROUTE = '[[alerts.routes.critical]]\nchannels = ["console"]\nhours = "{}"\n'
CASES = {
    # quiet hours that no clock can show
    "hours in the file": Case(
        GOOD + ROUTE.format("25:00-18:70"),
        said=("alerts.routes.critical.0.hours", "'25:00'", "not a time of day"),
    ),
    "hours from the environment": Case(
        GOOD,
        {"DEPEG_ALERTS__ROUTES__CRITICAL": '[{"channels": ["console"], "hours": "25:00-18:70"}]'},
        said=("DEPEG_ALERTS__ROUTES__CRITICAL (alerts.routes.critical.0.hours)", "'25:00'"),
    ),
    # a venue this program has no module for
    "venue in the file": Case(
        GOOD + '[venues.binanse]\nmarkets = ["USDC/USDT"]\n',
        said=("venues.binanse", "unknown venue 'binanse'", "did you mean binance?"),
    ),
    "venue from the environment": Case(
        GOOD,
        {"DEPEG_VENUES__BINANSE__MARKETS": "USDC/USDT"},
        said=("venues.binanse (DEPEG_VENUES__BINANSE__MARKETS)", "unknown venue 'binanse'"),
    ),
    # a database driver that is not installed or not supported
    "mysql in the file": Case(
        GOOD + '[database]\nurl = "mysql://monitor:pw-in-file@db/depeg"\n',
        said=("database.url", "unsupported database driver 'mysql'", "postgresql+psycopg"),
        hidden=("pw-in-file",),
    ),
    "mysql from the environment": Case(
        GOOD,
        {"DEPEG_DATABASE__URL": f"mysql://monitor:{SECRET}@db/depeg"},
        said=("DEPEG_DATABASE__URL (database.url)", "unsupported database driver 'mysql'"),
        hidden=(SECRET,),
    ),
    "a sync sqlite driver": Case(
        GOOD,
        {"DEPEG_DATABASE__URL": "sqlite:///x.db"},
        said=("DEPEG_DATABASE__URL", "unsupported database driver 'sqlite'", "sqlite+aiosqlite"),
    ),
    # routes and alert_channels naming channels that do not exist
    "route target in the file": Case(
        GOOD + '[[alerts.routes.critical]]\nchannels = ["pagerduty", "console"]\n',
        said=("alerts.routes.critical.0.channels", "no channel named 'pagerduty'", "console"),
    ),
    "alert_channels in the file": Case(
        GOOD + '[health]\nalert_channels = ["nope"]\n',
        said=("health.alert_channels", "no channel named 'nope'"),
    ),
    "alert_channels from the environment": Case(
        GOOD,
        {"DEPEG_HEALTH__ALERT_CHANNELS": "console,nope"},
        said=("DEPEG_HEALTH__ALERT_CHANNELS (health.alert_channels)", "'nope'"),
    ),
    "fallback target": Case(
        GOOD.replace('type = "console"', 'type = "console"\nfallback = ["pager"]'),
        said=("channels.console.fallback", "no channel named 'pager'"),
    ),
    # an apprise URL apprise cannot read: named, never quoted
    "mistyped webhook from the environment": Case(
        GOOD,
        {"DEPEG_CHANNELS__DISCORD__URL": f"https//discord.com/api/webhooks/123/{SECRET}"},
        said=("DEPEG_CHANNELS__DISCORD__URL (channels.discord.url)", "not a URL apprise"),
        hidden=(SECRET, "discord.com/api"),
    ),
    "bad discord URL in the file": Case(
        GOOD + f'[channels.discord]\nurl = "discord://{SECRET}"\n',
        said=("channels.discord.url", "not a URL apprise understands for discord://"),
        hidden=(SECRET,),
    ),
    # Twilio half configured for a routed SMS channel
    "twilio without its token": Case(
        GOOD + '[channels.sms]\ntype = "twilio"\nfrom_number = "+15550000000"\n'
        'to_numbers = ["+15551234567"]\nseverities = ["critical"]\n',
        {"TWILIO_ACCOUNT_SID": "AC" + "1" * 32},
        said=("channels.sms", "TWILIO_AUTH_TOKEN"),
        hidden=("1" * 32,),
    ),
    "twilio without a sender": Case(
        GOOD + '[channels.sms]\ntype = "twilio"\nto_numbers = ["+15551234567"]\n',
        {"TWILIO_ACCOUNT_SID": "AC" + "1" * 32, "TWILIO_AUTH_TOKEN": "tok-" + SECRET},
        said=("channels.sms", "from_number"),
        hidden=(SECRET,),
    ),
    # a coin nothing lists, or a quorum nothing can reach
    "coin no venue lists, in the file": Case(
        GOOD + "[coins.FRAX]\n",
        said=("coins.FRAX", "no enabled venue lists FRAX"),
    ),
    "coin no venue lists, from the environment": Case(
        GOOD,
        {"DEPEG_COINS__FRAX__PEG": "1"},
        said=("coins.FRAX (DEPEG_COINS__FRAX__PEG)", "no enabled venue lists FRAX"),
    ),
    "min_venues per coin": Case(
        GOOD.replace("[coins.USDC]", "[coins.USDC]\nmin_venues = 3"),
        said=("coins.USDC.min_venues", "USDC needs 3 venues", "only 2", "kraken, bitstamp"),
    ),
    "min_venues from the environment": Case(
        GOOD,
        {"DEPEG_AGGREGATION__MIN_VENUES": "3"},
        said=("DEPEG_AGGREGATION__MIN_VENUES (aggregation.min_venues)", "needs 3 venues"),
    ),
    "a zero-weight venue does not count": Case(
        GOOD.replace("[venues.bitstamp]", "[venues.bitstamp]\nweight = 0"),
        said=("aggregation.min_venues", "USDC needs 2 venues", "only 1 can give one (kraken)"),
    ),
    # thresholds given as percent, or out of order
    "percent threshold in the file": Case(
        GOOD + "[classification]\nthresholds = { minor = 0.005, major = 1.5, critical = 3 }\n",
        said=("classification.thresholds.major", "1.5 is not a fraction", "0.015 is 1.5 %"),
    ),
    "percent threshold from the environment": Case(
        GOOD,
        {"DEPEG_CLASSIFICATION__THRESHOLDS__MAJOR": "1.5"},
        said=("DEPEG_CLASSIFICATION__THRESHOLDS__MAJOR", "did you mean 0.015?"),
    ),
    "thresholds out of order": Case(
        GOOD.replace("[coins.USDC]", "[coins.USDC]\nthresholds = { minor = 0.05 }"),
        said=("coins.USDC.thresholds", "minor < major < critical", "minor 0.05, major 0.015"),
    ),
    # the environment is first class
    "a value from the environment": Case(
        GOOD,
        {"DEPEG_VENUES__KRAKEN__POLL_INTERVAL": "abc"},
        said=("DEPEG_VENUES__KRAKEN__POLL_INTERVAL (venues.kraken.poll_interval)", "'abc'"),
    ),
    "a variable for no setting": Case(
        GOOD, {"DEPEG_FOO": "1"}, said=("DEPEG_FOO: matches no setting",)
    ),
    "a section typo in a variable": Case(
        GOOD,
        {"DEPEG_VENUE__KRAKEN__POLL_INTERVAL": "5"},
        said=("DEPEG_VENUE__KRAKEN__POLL_INTERVAL", "did you mean DEPEG_VENUES__KRAKEN__"),
    ),
    "one underscore too few": Case(
        GOOD, {"DEPEG_HEALTH_PORT": "9000"}, said=("DEPEG_HEALTH_PORT", "DEPEG_HEALTH__PORT")
    ),
    "a key typo in a variable": Case(
        GOOD,
        {"DEPEG_HEALTH__PROT": "9000"},
        said=("DEPEG_HEALTH__PROT (health.prot)", "unknown setting", "did you mean port?"),
    ),
    "a key typo in the file": Case(
        GOOD + "[health]\nprot = 9000\n", said=("health.prot", "did you mean port?")
    ),
    # floats that make no sense as infinite
    "inf weight in the file": Case(
        GOOD.replace("[venues.kraken]", "[venues.kraken]\nweight = inf"),
        said=("venues.kraken.weight", "finite", "inf"),
    ),
    "nan hold from the environment": Case(
        GOOD,
        {"DEPEG_CLASSIFICATION__HOLD_MAJOR": "nan"},
        said=("DEPEG_CLASSIFICATION__HOLD_MAJOR", "finite"),
    ),
    # active/standby needs the database both machines share
    "ha on sqlite in the file": Case(
        GOOD + "[ha]\nenabled = true\n",
        said=("ha.enabled", "true needs PostgreSQL", "'sqlite'", "postgresql+psycopg"),
    ),
    "ha on sqlite from the environment": Case(
        GOOD,
        {"DEPEG_HA__ENABLED": "true"},
        said=("DEPEG_HA__ENABLED (ha.enabled)", "true needs PostgreSQL"),
    ),
    "ha lease shorter than a renewal": Case(
        GOOD + "[ha]\nlease_ttl = 4\nrenew_interval = 2\nmargin = 3\n",
        said=("ha", "lease_ttl (4) must exceed renew_interval + margin (2 + 3)"),
    ),
    # nothing to watch, nobody to wake
    "no enabled venue": Case(
        GOOD,
        {"DEPEG_VENUES__KRAKEN__ENABLED": "false", "DEPEG_VENUES__BITSTAMP__ENABLED": "false"},
        said=("venues: no enabled venue to poll",),
    ),
    "no coins": Case(
        GOOD.replace("[coins.USDC]\n[coins.USDT]\n", ""), said=("coins", "sets no coins")
    ),
    "critical reaches no one": Case(
        GOOD.replace('type = "console"', 'type = "apprise"'),
        said=("alerts.routes.critical", "critical alerts would reach no one", "console"),
    ),
    "no channel at all": Case(
        GOOD.split("[channels.console]")[0], said=("channels: no channel is defined",)
    ),
}


@pytest.mark.parametrize("case", list(CASES.values()), ids=list(CASES))
def test_a_bad_configuration_exits_2_saying_where_what_and_why(cli: Cli, case: Case) -> None:
    """Each mistake is refused with exit 2 on a line naming the setting (or the variable),
    the value where it is no secret, and the reason — never a traceback, never a secret."""
    r = cli(case.toml, case.env)
    assert r.code == 2, r.out + r.err
    assert "invalid configuration" in r.err and "Traceback" not in r.err
    for text in case.said:
        assert text in r.err, f"{text!r} not in:\n{r.err}"
    for secret in case.hidden:
        assert secret not in r.out + r.err


def test_no_configuration_file_says_where_it_looked_and_how_to_pass_one(cli: Cli) -> None:
    """With neither --config nor $DEPEG_CONFIG there is nothing to watch: exit 2, one line."""
    r = cli(None)
    assert r.code == 2
    assert "--config" in r.err and "DEPEG_CONFIG" in r.err and "no configuration file" in r.err
    assert len(r.err.strip().splitlines()) == 2  # the heading and the one problem


def test_an_empty_file_says_it_has_no_coins(cli: Cli) -> None:
    """An empty file is nothing to watch, not a monitor that watches nothing."""
    r = cli("")
    assert r.code == 2 and "config.toml sets no coins" in r.err


@pytest.mark.parametrize("kind", ["directory", "missing", "not UTF-8", "not TOML"])
def test_a_file_that_cannot_be_read_is_one_line(
    cli: Cli, tmp_path: Path, kind: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A directory, a missing file, binary junk or broken TOML: one line, exit 2."""
    target = tmp_path / "x.toml"
    if kind == "directory":
        target.mkdir()
    elif kind == "not UTF-8":
        target.write_bytes(b"\xff\xfe[coins]\n")
    elif kind == "not TOML":
        target.write_text("[coins\n")
    with pytest.raises(SystemExit) as e:
        main(["check-config", "--config", str(target)])
    err = capsys.readouterr().err
    assert e.value.code == 2 and "Traceback" not in err
    problem = err.strip().splitlines()[1:]
    assert len(problem) == 1 and str(target) in problem[0]


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_an_unreadable_file_is_one_line(cli: Cli, tmp_path: Path) -> None:
    """A file the monitor's user may not read: said in words, exit 2."""
    path = tmp_path / "secret.toml"
    path.write_text(GOOD)
    path.chmod(0)
    with pytest.raises(SystemExit) as e:
        main(["check-config", "--config", str(path)])
    assert e.value.code == 2


def test_warnings_do_not_stop_it(cli: Cli) -> None:
    """A secret in the file and a channel in no route are warnings: exit 0, each named."""
    toml = GOOD + '[channels.pager]\nurl = "ntfys://ntfy.example/topic-' + SECRET + '"\n'
    r = cli(toml, {"DEPEG_CHANNELS__EXTRA__URL": "ntfy://ntfy.example/other"})
    assert r.code == 0, r.err
    assert "channels.pager.url: a secret written in" in r.out
    assert "DEPEG_CHANNELS__PAGER__URL" in r.out
    assert "channels.pager: in no route" in r.out
    assert "channels.extra (DEPEG_CHANNELS__EXTRA__URL): in no route" in r.out
    assert SECRET not in r.out + r.err


def test_lists_from_the_environment_take_the_obvious_form(cli: Cli) -> None:
    """DEPEG_VENUES__KRAKEN__MARKETS=USDC/USD,USDT/USD is two markets (JSON works too)."""
    r = cli(GOOD, {"DEPEG_VENUES__KRAKEN__MARKETS": "usdc/usd, USDT/USD"})
    assert r.code == 0, r.err
    assert "kraken     every 10s  default URL  USDC/USD, USDT/USD" in r.out


def test_a_channel_from_the_environment_alone_is_routed_by_its_severities(cli: Cli) -> None:
    """DEPEG_CHANNELS__PAGER__URL alone is a warning (it would hear nothing); with
    DEPEG_CHANNELS__PAGER__SEVERITIES=critical it hears critical alerts."""
    url = {"DEPEG_CHANNELS__PAGER__URL": "ntfys://ntfy.example/alerts-topic"}
    alone = cli(GOOD, url)
    assert (
        alone.code == 0 and "channels.pager (DEPEG_CHANNELS__PAGER__URL): in no route" in alone.out
    )
    routed = cli(GOOD, {"DEPEG_CHANNELS__PAGER__SEVERITIES": "critical"})
    assert routed.code == 0 and "pager      apprise  ready; hears critical" in routed.out
    assert "in no route" not in routed.out


def _run_subprocess(
    config: Path, env: dict[str, str], tmp_path: Path
) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DEPEG_", "TWILIO_"))}
    clean.update(env, STATE_DIRECTORY=str(tmp_path / "state"))
    return subprocess.run(
        [sys.executable, "-m", "depeg_monitor", "run", "--config", str(config)],
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    "name",
    [
        "venue in the file",
        "mysql from the environment",
        "critical reaches no one",
        "ha on sqlite in the file",
    ],
)
def test_run_refuses_to_start_with_the_words_check_config_prints(
    cli: Cli, tmp_path: Path, name: str
) -> None:
    """`run` on a configuration check-config refuses exits 2 before touching anything, with
    the very same lines on stderr."""
    case = CASES[name]
    checked = cli(case.toml, case.env)
    ran = _run_subprocess(tmp_path / "config.toml", case.env, tmp_path)
    assert ran.returncode == 2 and "Traceback" not in ran.stderr
    assert ran.stderr.strip() == checked.err.strip()
    assert not (tmp_path / "state").exists()


def test_a_health_token_in_the_file_is_a_warning_that_never_shows_it(cli: Cli) -> None:
    """[health] token written in the file: a warning naming DEPEG_HEALTH__TOKEN, exit 0, and
    the token itself nowhere in the output."""
    token = "health-token-" + SECRET
    r = cli(GOOD + f'[health]\ntoken = "{token}"\n', {})
    assert r.code == 0, r.err
    assert "health.token: a secret written in" in r.out and "DEPEG_HEALTH__TOKEN" in r.out
    assert token not in r.out + r.err
