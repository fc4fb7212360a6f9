"""Channels against real local servers: SMTP, an HTTP webhook sink, a Twilio stand-in."""

from __future__ import annotations

from typing import Any

import pytest
from structlog.testing import capture_logs

from depeg_monitor.alerts.render import Message
from depeg_monitor.config import ChannelSettings, Settings, load_settings
from depeg_monitor.notify.channels import (
    AppriseChannel,
    DeliveryError,
    TwilioChannel,
    build_channels,
    build_channels_report,
)

MSG = Message(
    "🔴 CRITICAL depeg: USDC $0.8800 (-12.00%) — new",
    "USDC — CRITICAL (new)\n  price $0.8800, -12.00% from the $1 peg\n"
    "Time: 2023-03-11 03:04:05 UTC",
)


async def test_email_arrives_with_subject_through_local_smtp(smtp: Any) -> None:
    """A mailto:// channel delivers to an SMTP server with the alert title as the subject."""
    box, port = smtp
    url = (
        f"mailto://monitor:s3cretpass@127.0.0.1:{port}?smtp=127.0.0.1&mode=insecure"
        "&from=monitor@example.com&to=ops@example.com"
    )
    await AppriseChannel("email", url).send(MSG, "a1")
    assert len(box.messages) == 1
    mail = box.messages[0]
    assert "CRITICAL depeg: USDC" in str(mail["Subject"])
    assert "ops@example.com" in str(mail["To"])
    body = mail.get_body(preferencelist=("plain", "html"))
    assert body is not None and "-12.00% from the $1 peg" in body.get_content()


async def test_webhook_receives_title_and_body(sink: Any) -> None:
    """A json:// channel posts the alert's title and body to the webhook."""
    await AppriseChannel("hook", f"json://{sink.url}/alerts").send(MSG, "a1")
    assert sink.received[0]["title"] == MSG.title
    assert "price $0.8800" in sink.received[0]["message"]


async def test_webhook_errors_are_classified_and_scrubbed(sink: Any) -> None:
    """A 500 is retryable, a 404 is not, and neither error text holds the URL's token."""
    ch = AppriseChannel("hook", f"json://{sink.url}/hooks/tok3n-SECRET-value")
    sink.statuses = [500, 404]
    with pytest.raises(DeliveryError) as server_down:
        await ch.send(MSG, "a1")
    with pytest.raises(DeliveryError) as not_found:
        await ch.send(MSG, "a1")
    assert server_down.value.retryable and not not_found.value.retryable
    for e in (server_down.value, not_found.value):
        assert "tok3n-SECRET-value" not in str(e)


async def test_twilio_sends_to_every_number_through_its_sdk(twilio: Any) -> None:
    """SMS goes to each number with From, To and a one-line Body, authenticated by the SID."""
    cfg = ChannelSettings(
        type="twilio",
        from_number="+15550000000",
        to_numbers=["+15551111111", "+15552222222"],
        api_base=twilio.url,
    )
    await TwilioChannel("sms", cfg, "AC" + "1" * 32, "authtoken-xyz").send(MSG, "a1")
    assert [(r["From"], r["To"]) for r in twilio.received] == [
        ("+15550000000", "+15551111111"),
        ("+15550000000", "+15552222222"),
    ]
    body = twilio.received[0]["Body"]
    assert body.startswith("CRITICAL depeg: USDC $0.8800 (-12.00%)") and len(body) < 160
    assert "\n" not in body


async def test_twilio_bad_number_is_final_and_retry_skips_reached_numbers(twilio: Any) -> None:
    """A 400 for one number is not retryable; a second try does not text the others twice."""
    cfg = ChannelSettings(
        type="twilio",
        from_number="+15550000000",
        to_numbers=["+15551111111", "+1555bad"],
        api_base=twilio.url,
    )
    twilio.fail_to = {"+1555bad"}
    ch = TwilioChannel("sms", cfg, "AC" + "1" * 32, "authtoken-xyz")
    for _ in range(2):
        with pytest.raises(DeliveryError) as e:
            await ch.send(MSG, "a1")
        assert not e.value.retryable and "authtoken-xyz" not in str(e.value)
    assert [r["To"] for r in twilio.received] == ["+15551111111"]


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
    reasons = {e["channel"]: e["reason"] for e in logs if e["event"] == "channel skipped"}
    assert "DEPEG_CHANNELS__DISCORD__URL" in reasons["discord"]
    assert "TWILIO_AUTH_TOKEN" in reasons["sms"] and "AC123" not in reasons["sms"]


def test_whole_channel_from_environment_alone(monkeypatch: Any, tmp_path: Any) -> None:
    """DEPEG_CHANNELS__PAGER__URL=ntfy://… adds a working channel with no TOML at all."""
    monkeypatch.setenv("DEPEG_CHANNELS__PAGER__URL", "ntfy://ntfy.example/alerts-topic")
    monkeypatch.setenv("DEPEG_DATABASE__URL", f"sqlite+aiosqlite:///{tmp_path}/x.db")
    channels, skipped = build_channels_report(load_settings(None))
    assert "pager" in channels and skipped == {}
    assert isinstance(channels["pager"], AppriseChannel)
