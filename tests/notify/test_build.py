"""Building channels from the settings: what is skipped, what is imported, the timeout used."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

from structlog.testing import capture_logs

from depeg_monitor.config import Settings, load_settings
from depeg_monitor.notify.apprise_channel import AppriseChannel
from depeg_monitor.notify.build import build_channels, build_channels_report
from depeg_monitor.notify.console import ConsoleChannel
from depeg_monitor.notify.twilio_sms import TwilioChannel

TWILIO_ENV = {"TWILIO_ACCOUNT_SID": "AC" + "1" * 32, "TWILIO_AUTH_TOKEN": "token-xyz"}
SMS = {"type": "twilio", "from_number": "+15550000000", "to_numbers": ["+15551234567"]}


def test_channel_without_secret_is_skipped_with_one_warning(monkeypatch: Any) -> None:
    """A Discord channel with no URL and SMS with no Twilio token are skipped, naming the vars."""
    monkeypatch.delenv("TWILIO_AUTH_TOKEN", raising=False)
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", "AC123")
    s = Settings(
        channels={
            "discord": {"type": "apprise"},
            "sms": {"type": "twilio", "from_number": "+1", "to_numbers": ["+2"]},
            "console": {"type": "console"},
        }
    )
    with capture_logs() as logs:
        channels = build_channels(s)
    assert set(channels) == {"console"}
    reasons = {e["channel"]: e["reason"] for e in logs if e["event"] == "channel_skipped"}
    assert "DEPEG_CHANNELS__DISCORD__URL" in reasons["discord"]
    assert "TWILIO_AUTH_TOKEN" in reasons["sms"] and "AC123" not in reasons["sms"]


def test_whole_channel_from_environment_alone(monkeypatch: Any, tmp_path: Any) -> None:
    """DEPEG_CHANNELS__PAGER__URL=ntfy://… adds a working channel with no TOML at all."""
    monkeypatch.setenv("DEPEG_CHANNELS__PAGER__URL", "ntfy://ntfy.example/alerts-topic")
    monkeypatch.setenv("DEPEG_DATABASE__URL", f"sqlite+aiosqlite:///{tmp_path}/x.db")
    channels, skipped = build_channels_report(load_settings(None))
    assert "pager" in channels and skipped == {}
    assert isinstance(channels["pager"], AppriseChannel)


async def test_every_kind_is_built_with_the_settings_timeout() -> None:
    """timeout = 7 reaches each kind: SMS's whole request, the console's, and an apprise
    channel's send bounded by its connect and read timeouts of 7 s each."""
    s = Settings(
        channels={
            "hook": {"url": "json://hooks.example.com/x", "timeout": 7},
            "sms": {**SMS, "timeout": 7},
            "console": {"type": "console", "timeout": 7},
        }
    )
    channels, skipped = build_channels_report(s, TWILIO_ENV)
    assert skipped == {}
    assert isinstance(channels["sms"], TwilioChannel) and channels["sms"].timeout == 7
    assert isinstance(channels["console"], ConsoleChannel) and channels["console"].timeout == 7
    assert 14 <= channels["hook"].timeout <= 14 + 3
    for channel in channels.values():
        await channel.close()


# --- what building channels imports ----------------------------------------------------------


def _modules_after_building(channels: dict[str, Any], env: dict[str, str]) -> set[str]:
    """Every module a fresh interpreter has imported once it built these channels."""
    code = (
        "import json, sys\n"
        "from depeg_monitor.config import Settings\n"
        "from depeg_monitor.notify.build import build_channels_report\n"
        f"built, skipped = build_channels_report(Settings(channels={channels!r}), {env!r})\n"
        "assert not skipped, skipped\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DEPEG_", "TWILIO_"))}
    out = subprocess.run(
        [sys.executable, "-c", code], env=clean, capture_output=True, text=True, check=True
    )
    return set(json.loads(out.stdout.splitlines()[-1]))


def _families(modules: set[str]) -> set[str]:
    return {m.split(".")[0] for m in modules}


def test_console_channels_alone_import_neither_apprise_nor_twilio() -> None:
    """A configuration with no apprise or SMS channel never loads those libraries' memory."""
    loaded = _modules_after_building({"console": {"type": "console"}}, {})
    assert not {"apprise", "twilio"} & _families(loaded)


def test_an_sms_channel_imports_twilio_but_not_apprise() -> None:
    """SMS alone loads the Twilio SDK and leaves apprise out."""
    families = _families(_modules_after_building({"sms": SMS}, TWILIO_ENV))
    assert "twilio" in families and "apprise" not in families


def test_a_discord_and_an_email_channel_load_only_their_apprise_plugins() -> None:
    """Discord and email load their two plugins, not apprise's other hundred-odd."""
    channels = {
        "discord": {"type": "apprise", "url": "discord://1234567890/webhook-token"},
        "email": {"type": "apprise", "url": "mailto://user:pass@example.com?to=ops@example.com"},
    }
    loaded = _modules_after_building(channels, {})
    plugins = {m.split(".")[2] for m in loaded if m.startswith("apprise.plugins.")}
    assert plugins - {"base"} == {"discord", "email"}
    assert "twilio" not in _families(loaded)
