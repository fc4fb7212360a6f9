"""Every log line — ours or a library's — is one JSON line (or console line), with secrets
redacted, personal data masked and, on journald's stream, the syslog priority prefix."""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

import pytest
import structlog
from hypothesis import given
from hypothesis import strategies as st

from depeg_monitor.config import LoggingSettings, Settings
from depeg_monitor.logsetup import Redact, configure_logging, settings_secrets, url_secrets

MISTYPED = "https//discord.com/api/webhooks/123/SECRETTOKEN"  # the ":" left out
log = structlog.get_logger("depeg_monitor.test")


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    """configure_logging changes process-wide state; each test leaves it as it found it."""
    config = structlog.get_config()
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    structlog.configure(**config)
    root.handlers[:] = handlers
    root.setLevel(level)
    logging.captureWarnings(False)


@pytest.fixture
def stream(tmp_path: Path) -> Iterator[TextIO]:
    """A real file to be stdout, so it has a device and inode like journald's socket."""
    with open(tmp_path / "stdout.log", "w+", encoding="utf-8") as f:
        yield f


def as_stdout(f: TextIO, monkeypatch: pytest.MonkeyPatch) -> None:
    # In the test body: pytest's own capture puts its sys.stdout back when the test starts.
    monkeypatch.setattr(sys, "stdout", f)


def lines(f: TextIO) -> list[str]:
    f.flush()
    f.seek(0)
    return f.read().splitlines()


def records(f: TextIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in lines(f)]


def journal_of(f: TextIO) -> dict[str, str]:
    st = os.fstat(f.fileno())
    return {"JOURNAL_STREAM": f"{st.st_dev}:{st.st_ino}"}


JSON = LoggingSettings(format="json")


def test_apprise_error_is_a_json_line_without_the_webhook_token(
    stream: TextIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A mistyped webhook URL makes apprise log an error: it arrives as a JSON line naming
    apprise, with the token (and the URL holding it) redacted — not 'ERROR:apprise:…' text."""
    as_stdout(stream, monkeypatch)
    import apprise

    configure_logging(JSON, secrets=url_secrets(MISTYPED), environ={})
    assert not apprise.Apprise().add(MISTYPED)
    out = records(stream)
    said = [r for r in out if r.get("logger") == "apprise" and r["level"] == "error"]
    assert said and "Unsupported URL" in said[0]["event"]
    assert "SECRETTOKEN" not in "\n".join(lines(stream))
    assert not any(line.startswith("ERROR:") for line in lines(stream))


def test_libraries_stay_at_warning_unless_debug(
    stream: TextIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At info a library's info line is left out and its warning kept; at debug both show,
    and our own debug lines follow [logging] level."""
    as_stdout(stream, monkeypatch)
    aiohttp_log = logging.getLogger("aiohttp.client")
    configure_logging(JSON, environ={})
    aiohttp_log.info("connection pool created")
    aiohttp_log.warning("unclosed connector")
    log.debug("ours, hidden")
    log.info("ours, shown")
    assert [r["event"] for r in records(stream)] == ["unclosed connector", "ours, shown"]
    stream.seek(0)
    stream.truncate()
    configure_logging(JSON.model_copy(update={"level": "debug"}), environ={})
    aiohttp_log.debug("connection pool created")
    log.debug("ours, debug")
    assert [r["event"] for r in records(stream)] == ["connection pool created", "ours, debug"]


def test_a_second_configuration_replaces_the_first(
    stream: TextIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Configuring twice (tests, demo after run) still writes each library line once."""
    as_stdout(stream, monkeypatch)
    configure_logging(JSON, environ={})
    configure_logging(JSON, environ={})
    logging.getLogger("asyncio").error("Task exception was never retrieved")
    assert len(records(stream)) == 1


def test_secrets_and_personal_data_are_scrubbed_from_our_lines_too(
    stream: TextIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A secret in the event, in a nested value or in a traceback is ***; addresses masked."""
    as_stdout(stream, monkeypatch)
    configure_logging(JSON, secrets=["hunter2-password"], environ={})
    try:
        raise RuntimeError("login with hunter2-password failed")
    except RuntimeError:
        log.exception("login_failed", tried=["hunter2-password"], to="alice@example.com")
    logging.getLogger("twilio.http_client").warning("POST To=%2B15551234567")
    text = "\n".join(lines(stream))
    assert "hunter2" not in text and "alice@" not in text and "15551234567" not in text
    first, second = records(stream)
    assert first["tried"] == ["***"] and first["to"] == "a***@example.com"
    assert "RuntimeError: login with *** failed" in first["exception"]
    assert second["event"] == "POST To=%2B1555****567"


def test_settings_secrets_name_each_secret_but_not_the_hosts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Channel tokens, the heartbeat key, the /health token, the database password and Twilio's
    credentials are collected; scheme, host and database name are not, or every line would be
    starred."""
    monkeypatch.delenv("DEPEG_CONFIG", raising=False)
    settings = Settings(
        channels={
            "discord": {"url": "discord://4815162342/WebhookToken-abc"},
            "email": {"url": "mailtos://ops:smtp-pass-99@smtp.example.com?to=ops@example.com"},
        },
        health={
            "heartbeat_url": "https://hc-ping.com/0f5b9e1c-7d2e-4c1a",
            "token": "health-detail-token-77",
        },
        database={"url": "postgresql+psycopg://depeg:db%40pass@db.example.com/depegmonitor"},
    )
    env = {"TWILIO_ACCOUNT_SID": "AC" + "7" * 32, "TWILIO_AUTH_TOKEN": "twilio-token-1"}
    found = settings_secrets(settings, env)
    for secret in (
        "WebhookToken-abc",
        "smtp-pass-99",
        "0f5b9e1c-7d2e-4c1a",
        "db@pass",
        "AC" + "7" * 32,
        "twilio-token-1",
        "health-detail-token-77",
    ):
        assert secret in found
    for public in ("https", "hc-ping.com", "smtp.example.com", "db.example.com", "depegmonitor"):
        assert public not in found


def test_mistyped_url_keeps_scheme_and_host_readable() -> None:
    """The redacted apprise line still says which service was meant: https and the host stay."""
    found = url_secrets(MISTYPED)
    assert "SECRETTOKEN" in found and "https" not in found and "discord.com" not in found
    redact = Redact(found)
    assert redact.text("GET https://api.kraken.com/0/public/Ticker") == (
        "GET https://api.kraken.com/0/public/Ticker"
    )
    # A key in the host position is a secret: tgram://BOT_ID:TOKEN/CHAT.
    assert "bot-token-abc" in url_secrets("tgram://123456789:bot-token-abc/424242/")


def strings(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from strings(k)
            yield from strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from strings(v)


TOKEN = st.text("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.", min_size=4)


@given(secret=TOKEN, before=st.text(max_size=30), after=st.text(max_size=30))
def test_a_secret_never_survives_whatever_surrounds_it(
    secret: str, before: str, after: str
) -> None:
    """Any token-like secret amid any text (quotes, newlines, e-mail-like runs) is gone."""
    redact = Redact([secret])
    out = redact.value({"event": before + secret + after, "list": [secret, {"k": after + secret}]})
    assert not any(secret in text for text in strings(out))


def test_journald_stream_gets_priority_prefixes(
    stream: TextIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With stdout on journald ($JOURNAL_STREAM = its device:inode) each line starts with
    <3>, <4>, <6> or <7>, a library's too, so `journalctl -p warning` filters."""
    as_stdout(stream, monkeypatch)
    configure_logging(JSON.model_copy(update={"level": "debug"}), environ=journal_of(stream))
    log.debug("d")
    log.info("i")
    log.warning("w")
    logging.getLogger("apprise").error("e")
    got = lines(stream)
    assert [line[:3] for line in got] == ["<7>", "<6>", "<4>", "<3>"]
    assert [json.loads(line[3:])["event"] for line in got] == ["d", "i", "w", "e"]


def test_no_prefix_when_stdout_is_not_journald(
    stream: TextIO, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A $JOURNAL_STREAM inherited by a process whose stdout goes elsewhere (a file, a pipe)
    does not match: the lines stay plain JSON."""
    as_stdout(stream, monkeypatch)
    other = tmp_path / "elsewhere"
    other.write_text("")
    st = os.stat(other)
    configure_logging(JSON, environ={"JOURNAL_STREAM": f"{st.st_dev}:{st.st_ino}"})
    log.warning("w")
    assert lines(stream)[0].startswith("{")


def test_console_shows_a_multi_line_value_on_lines_of_its_own(
    stream: TextIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a terminal an alert's text reads as lines, not one string with literal \\n."""
    as_stdout(stream, monkeypatch)
    configure_logging(LoggingSettings(format="console"), environ={})
    log.warning("alert", channel="console", text="⚠️ degraded: 2 problems\nDAI: no price")
    got = lines(stream)
    assert "\\n" not in "\n".join(got)
    assert got[1:] == ["  text:", "    ⚠️ degraded: 2 problems", "    DAI: no price"]
