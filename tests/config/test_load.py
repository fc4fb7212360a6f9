"""Configuration loading: TOML, environment overrides, and clear errors."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from depeg_monitor.cli import main
from depeg_monitor.config import ConfigError, Settings, load_settings
from depeg_monitor.notify.build import build_channels_report

EXAMPLE = Path(__file__).parents[2] / "config.example.toml"


def test_example_config_loads_all_coins_and_venues() -> None:
    """The shipped example monitors the eight coins on the nine venues."""
    s = load_settings(EXAMPLE)
    assert set(s.coins) == {"USDT", "USDC", "DAI", "FDUSD", "PYUSD", "USDE", "FRAX", "TUSD"}
    assert set(s.venues) == {
        "binance",
        "coinbase",
        "kraken",
        "bitstamp",
        "okx",
        "bybit",
        "gemini",
        "kucoin",
        "coingecko",
    }


def test_environment_overrides_one_field_and_keeps_the_rest(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """DEPEG_VENUES__BINANCE__BASE_URL replaces the URL but keeps the file's markets."""
    monkeypatch.setenv("DEPEG_VENUES__BINANCE__BASE_URL", "http://127.0.0.1:9/")
    s = load_settings(EXAMPLE)
    assert s.venues["binance"].base_url == "http://127.0.0.1:9"
    assert "USDC/USDT" in s.venues["binance"].markets


def test_secret_channel_url_from_environment_is_not_in_repr(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A webhook URL set in the environment is usable but never printed."""
    secret = "discord://1234/very-secret-token"
    monkeypatch.setenv("DEPEG_CHANNELS__DISCORD__URL", secret)
    s = load_settings(EXAMPLE)
    url = s.channels["discord"].url
    assert url is not None and url.get_secret_value() == secret
    assert "very-secret-token" not in repr(s) and "very-secret-token" not in str(s)


def test_invalid_file_lists_each_field_with_reason(tmp_path: Path) -> None:
    """Every bad field is reported with its dotted path, not just the first."""
    bad = tmp_path / "bad.toml"
    bad.write_text(
        '[venues.kraken]\npoll_interval = 0\nmarkets = ["USDT"]\n[coins.USDC]\npeg = "x"\n'
    )
    with pytest.raises(ConfigError) as e:
        load_settings(bad)
    paths = [p.where for p in e.value.problems]
    assert "venues.kraken.poll_interval" in paths
    assert "venues.kraken.markets" in paths
    assert "coins.USDC.peg" in paths


def test_check_config_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """check-config exits 0 with a summary for a good file and 2 with field paths for a bad one."""
    assert main(["check-config", "--config", str(EXAMPLE)]) == 0
    assert "USDC" in capsys.readouterr().out
    bad = tmp_path / "bad.toml"
    bad.write_text(
        "[classification]\nthresholds = { minor = 0.05, major = 0.01, critical = 0.03 }\n"
    )
    with pytest.raises(SystemExit) as e:
        main(["check-config", "--config", str(bad)])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert "classification" in err and "minor < major < critical" in err
    assert "Traceback" not in err


def test_unparseable_toml_is_a_config_error(tmp_path: Path) -> None:
    """A syntax error in the file is reported as such, with the file name."""
    bad = tmp_path / "broken.toml"
    bad.write_text("[coins\n")
    with pytest.raises(ConfigError, match=r"broken\.toml"):
        load_settings(bad)


# --- the environment and credentials, first class -------------------------------------------

GOOD = '[coins.USDC]\n[venues.kraken]\nmarkets = ["USDC/USD"]\n'


def test_credentials_become_settings_and_twilio_reaches_sms_without_touching_os_environ(
    tmp_path: Path,
) -> None:
    """Files in $CREDENTIALS_DIRECTORY named like variables set secrets; Twilio's pair reaches
    the SMS channel through Settings.environment; os.environ is left exactly as it was."""
    creds = tmp_path / "creds"
    creds.mkdir()
    (creds / "DEPEG_CHANNELS__DISCORD__URL").write_text("json://127.0.0.1:9/hook\n")
    (creds / "TWILIO_ACCOUNT_SID").write_text("AC" + "3" * 32)
    (creds / "TWILIO_AUTH_TOKEN").write_text("cred-token")
    config = tmp_path / "c.toml"
    config.write_text(
        GOOD + '[channels.sms]\ntype = "twilio"\nfrom_number = "+15550000000"\n'
        'to_numbers = ["+15551234567"]\n'
    )
    before = dict(os.environ)
    s = load_settings(config, {"CREDENTIALS_DIRECTORY": str(creds)})
    assert dict(os.environ) == before
    url = s.channels["discord"].url
    assert url is not None and url.get_secret_value() == "json://127.0.0.1:9/hook"
    assert s.environment["TWILIO_AUTH_TOKEN"] == "cred-token"
    built, skipped = build_channels_report(s, s.environment)
    assert set(built) == {"discord", "sms"} and skipped == {}


def test_the_environment_wins_over_a_credential_and_the_file(tmp_path: Path) -> None:
    """Priority: environment, then credentials, then the TOML file; deeper keys merge."""
    creds = tmp_path / "creds"
    creds.mkdir()
    (creds / "DEPEG_VENUES__KRAKEN__POLL_INTERVAL").write_text("7")
    (creds / "DEPEG_VENUES__KRAKEN__TIMEOUT").write_text("3")
    config = tmp_path / "c.toml"
    config.write_text(GOOD + "poll_interval = 20\ntimeout = 9\nmax_age = 99\n")
    env = {"CREDENTIALS_DIRECTORY": str(creds), "DEPEG_VENUES__KRAKEN__POLL_INTERVAL": "5"}
    v = load_settings(config, env).venues["kraken"]
    assert (v.poll_interval, v.timeout, v.max_age, v.markets) == (5, 3, 99, ["USDC/USD"])


def test_a_coin_set_in_both_spellings_is_one_coin(tmp_path: Path) -> None:
    """[coins.USDC] in the file and DEPEG_COINS__USDC__… (lower-cased by the environment) merge
    into one coin keeping both, the environment winning where both set a key."""
    config = tmp_path / "c.toml"
    config.write_text(
        "[coins.USDC]\npeg = 1.0\nthresholds = { minor = 0.002, major = 0.01, critical = 0.02 }\n"
    )
    env = {"DEPEG_COINS__USDC__MIN_VENUES": "1", "DEPEG_COINS__USDC__THRESHOLDS__MINOR": "0.003"}
    c = load_settings(config, env).coins
    assert list(c) == ["USDC"] and c["USDC"].min_venues == 1
    assert c["USDC"].thresholds is not None
    assert (c["USDC"].thresholds.minor, c["USDC"].thresholds.major) == (0.003, 0.01)


def test_settings_built_in_code_read_no_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings(...) is its arguments only: only load_settings reads the environment."""
    monkeypatch.setenv("DEPEG_HEALTH__PORT", "9999")
    assert Settings().health.port == 8080


def test_config_path_from_depeg_config(tmp_path: Path) -> None:
    """$DEPEG_CONFIG names the file when --config is not given."""
    config = tmp_path / "c.toml"
    config.write_text(GOOD)
    s = load_settings(None, {"DEPEG_CONFIG": str(config)})
    assert s.origin.path == config and s.origin.given_by == "$DEPEG_CONFIG"


# --- where the default database lives ------------------------------------------------------


def test_the_default_database_is_next_to_the_config_file_from_any_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No [database] url: data/ beside the configuration file, whatever the current
    directory; $STATE_DIRECTORY wins (systemd); with no file at all, ./data."""
    etc = tmp_path / "etc"
    etc.mkdir()
    (etc / "config.toml").write_text(GOOD)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    relative = Path("..") / "etc" / "config.toml"
    assert load_settings(relative, {}).database.default_file() == (
        tmp_path / "etc" / "data" / "depeg-monitor.db"
    )
    state = load_settings(relative, {"STATE_DIRECTORY": "/var/lib/depeg-monitor"})
    assert state.database.resolved_url() == (
        "sqlite+aiosqlite:////var/lib/depeg-monitor/depeg-monitor.db"
    )
    assert load_settings(None, {}).database.default_file() == Path("data") / "depeg-monitor.db"


# --- hostile input ---------------------------------------------------------------------------


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.binary(max_size=300)
    | st.text(alphabet=st.sampled_from(list('[]."=,{}\n#x1 ')), max_size=120)
)
def test_any_file_content_is_a_config_error_or_settings(tmp_path: Path, data: bytes | str) -> None:
    """Whatever the file holds, loading returns settings or a ConfigError — nothing else."""
    path = tmp_path / "fuzz.toml"
    path.write_bytes(data if isinstance(data, bytes) else data.encode())
    try:
        load_settings(path, {})
    except ConfigError as e:
        said = (e.problems, str(e))
    else:
        return
    assert said[0] and said[1]


VARIABLES = [
    "DEPEG_COINS__USDC__PEG",
    "DEPEG_COINS",
    "DEPEG_COINS__USDC",
    "DEPEG_COINS__USDC__THRESHOLDS",
    "DEPEG_COINS__USDC__THRESHOLDS__MINOR",
    "DEPEG_VENUES__KRAKEN__MARKETS",
    "DEPEG_VENUES__KRAKEN__PRICE_BAND",
    "DEPEG_VENUES__KRAKEN",
    "DEPEG_VENUES__KRAKEN__MARKETS__0",
    "DEPEG_ALERTS__ROUTES__CRITICAL",
    "DEPEG_ALERTS__ROUTES",
    "DEPEG_CHANNELS__PAGER__SEVERITIES",
    "DEPEG_CHANNELS__PAGER__URL",
    "DEPEG_HEALTH__PORT__X",
    "DEPEG_HEALTH",
    "DEPEG_",
    "DEPEG___",
    "DEPEG_X__",
]


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.dictionaries(
        st.sampled_from(VARIABLES),
        st.text(max_size=40) | st.sampled_from(['[1, "a"]', '{"a": {}}', "null", "1e999", ","]),
        max_size=4,
    )
)
def test_any_environment_is_a_config_error_or_settings(tmp_path: Path, env: dict[str, str]) -> None:
    """Whatever DEPEG_ variables hold, loading returns settings or a ConfigError naming them."""
    config = tmp_path / "c.toml"
    config.write_text(GOOD)
    env = {k: v.replace("\x00", "") for k, v in env.items()}
    try:
        load_settings(config, env)
    except ConfigError as e:
        problems = e.problems
    else:
        return
    assert problems and all(p.where and p.reason for p in problems)


def test_outbox_max_age_is_one_number_or_one_per_severity(tmp_path: Path) -> None:
    """outbox_max_age takes one number for every severity, or a table (in the file or one
    variable per severity); a severity left out keeps its default, a bad value is an error."""
    config = tmp_path / "c.toml"
    config.write_text(EXAMPLE.read_text())
    ages = load_settings(config).alerts.outbox_max_age
    assert (ages.minor, ages.major, ages.critical) == (3600, 14400, 86400)
    one = load_settings(config, {"DEPEG_ALERTS__OUTBOX_MAX_AGE": "900"}).alerts.outbox_max_age
    assert (one.minor, one.major, one.critical) == (900, 900, 900)
    env = {"DEPEG_ALERTS__OUTBOX_MAX_AGE__CRITICAL": "7200"}
    mixed = load_settings(config, env).alerts.outbox_max_age
    assert (mixed.minor, mixed.critical) == (3600, 7200)
    with pytest.raises(ConfigError) as e:
        load_settings(config, {"DEPEG_ALERTS__OUTBOX_MAX_AGE__CRITICAL": "-1"})
    assert "DEPEG_ALERTS__OUTBOX_MAX_AGE__CRITICAL" in str(e.value)
