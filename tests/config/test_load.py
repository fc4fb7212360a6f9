"""Configuration loading: TOML, environment overrides, and clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from depeg_monitor.cli import main
from depeg_monitor.config import ConfigError, load_settings

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
