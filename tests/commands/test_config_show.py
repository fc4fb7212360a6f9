"""`depeg-monitor config show`: the effective settings, defaults filled in, environment
overrides applied and named, every kind of secret and personal detail masked."""

from __future__ import annotations

import json
import os
import tomllib
from pathlib import Path

import pytest

from depeg_monitor.cli import main

REPO = Path(__file__).parents[2]

# One of each kind of secret or personal detail, each set the way an operator would.
SECRETS = {
    "DEPEG_CHANNELS__DISCORD__URL": "discord://112233/webhooktoken-abcdef",
    "DEPEG_CHANNELS__EMAIL__URL": (
        "mailtos://monitor:smtp-password-xyz@mail.example.com?to=oncall.person@example.org"
    ),
    "DEPEG_DATABASE__URL": "postgresql+psycopg://depeg:db-password-123@db.internal/depeg",
    "DEPEG_HEALTH__HEARTBEAT_URL": "https://hc-ping.com/heartbeat-uuid-0f0f0f",
    "DEPEG_CHAINS__ETHEREUM__RPC_URL": "https://eth-mainnet.example.com/v2/rpc-api-key-777",
    "DEPEG_CHANNELS__SMS__TO_NUMBERS": "+15557654321,+447700900123",
    "TWILIO_ACCOUNT_SID": "AC0123456789abcdef0123456789abcdef",
    "TWILIO_AUTH_TOKEN": "twilio-auth-token-999",
}
SHOULD_NOT_APPEAR = [
    "webhooktoken-abcdef",
    "112233",
    "smtp-password-xyz",
    "oncall.person",
    "db-password-123",
    "heartbeat-uuid-0f0f0f",
    "rpc-api-key-777",
    "7654321",
    "7700900123",
    "AC0123456789abcdef",
    "twilio-auth-token-999",
    "+15551234567",  # the example's own recipient, replaced from the environment above
    "+15550000000",  # the example's sender number
]


@pytest.fixture
def secrets_set(monkeypatch: pytest.MonkeyPatch) -> None:
    for k in [k for k in os.environ if k.startswith("DEPEG_")]:
        monkeypatch.delenv(k)
    for k, v in SECRETS.items():
        monkeypatch.setenv(k, v)


def show(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    code = main(["config", "show", "--config", str(REPO / "config.example.toml"), *args])
    out = capsys.readouterr()
    assert code == 0, out.err
    return out.out


@pytest.mark.usefixtures("secrets_set")
def test_toml_has_the_defaults_and_no_secret(capsys: pytest.CaptureFixture[str]) -> None:
    """The TOML form parses, carries defaults the file never wrote and the values the
    environment set, and not one secret, phone number or e-mail address in full."""
    text = show(capsys)
    for secret in SHOULD_NOT_APPEAR:
        assert secret not in text, secret
    data = tomllib.loads(text)
    assert data["classification"]["hold_major"] == 30.0
    assert data["alerts"]["reminder_backoff"] == 2.0  # in the file
    assert data["venues"]["binance"]["timeout"] == 5.0  # a default the file never sets
    assert data["venues"]["binance"]["base_url"] == "https://api.binance.com"
    assert data["coins"]["USDT"]["thresholds"] == {"minor": 0.005, "major": 0.015, "critical": 0.03}
    assert data["channels"]["discord"]["url"] == "discord://***"
    assert data["channels"]["email"]["url"] == "mailtos://***"
    assert data["database"]["url"] == "postgresql+psycopg://***"
    assert data["health"]["heartbeat_url"] == "https://***"
    assert data["chains"]["ethereum"]["rpc_url"] == "https://***"
    assert data["channels"]["sms"]["to_numbers"] == ["+1555****321", "+4477*****123"]
    assert 'url = "discord://***"  # from DEPEG_CHANNELS__DISCORD__URL' in text
    assert "[channels.sms]  # TWILIO_ACCOUNT_SID set, TWILIO_AUTH_TOKEN set" in text


@pytest.mark.usefixtures("secrets_set")
def test_json_has_the_same_settings_and_no_secret(capsys: pytest.CaptureFixture[str]) -> None:
    """--json prints one document with the source and the same masked settings."""
    text = show(capsys, "--json")
    for secret in SHOULD_NOT_APPEAR:
        assert secret not in text, secret
    doc = json.loads(text)
    assert doc["source"].endswith("config.example.toml and the environment")
    settings = doc["settings"]
    assert settings["channels"]["discord"]["url"] == "discord://***"
    assert settings["classification"]["clear_ratio"] == 0.7
    assert settings["venues"]["kraken"]["stream_url"] is None


def test_without_routes_the_default_routes_are_shown(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A file with no [alerts.routes] shows the routes that then apply, saying so, and the
    default SQLite file the database falls back to."""
    cfg = tmp_path / "c.toml"
    cfg.write_text('[coins.USDT]\n[venues.kraken]\nmarkets = ["USDT/USD"]\n')
    assert main(["config", "show", "--config", str(cfg)]) == 0
    text = capsys.readouterr().out
    data = tomllib.loads(text)
    assert data["alerts"]["routes"]["critical"][0]["channels"] == ["discord", "email", "sms"]
    assert "[alerts.routes]  # none configured: the default routes" in text
    assert data["database"]["url"].endswith("/data/depeg-monitor.db")


def test_a_bad_file_exits_2_naming_the_setting(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """config show refuses a configuration that cannot load, as every command does."""
    cfg = tmp_path / "c.toml"
    cfg.write_text("[classification]\nhold_major = -1\n")
    with pytest.raises(SystemExit) as e:
        main(["config", "show", "--config", str(cfg)])
    assert e.value.code == 2
    assert "classification.hold_major" in capsys.readouterr().err
