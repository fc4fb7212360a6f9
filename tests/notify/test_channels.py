"""Channels against real local servers: SMTP, an HTTP webhook sink, a Twilio stand-in."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from aiohttp import web
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from structlog.testing import capture_logs

from depeg_monitor.config import ChannelSettings, Settings, load_settings
from depeg_monitor.model import Message
from depeg_monitor.notify.channels import (
    _PLUGINS,
    AppriseChannel,
    DeliveryError,
    TwilioChannel,
    _known_plugin,
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


# --- personal data in delivery errors ------------------------------------------------------

NUMBER, MASKED = "+15551234567", "+1555****567"


async def test_failed_sms_names_the_number_masked(twilio: Any) -> None:
    """A number Twilio refuses is named +1555****567 in the error, never in full."""
    cfg = ChannelSettings(
        type="twilio", from_number="+15550000000", to_numbers=[NUMBER], api_base=twilio.url
    )
    twilio.fail_to = {NUMBER}
    with pytest.raises(DeliveryError) as e:
        await TwilioChannel("sms", cfg, "AC" + "1" * 32, "authtoken-xyz").send(MSG, "a1")
    assert MASKED in e.value.reason and "code 21211" in e.value.reason
    assert NUMBER not in e.value.reason and "5551234567" not in e.value.reason


@pytest.fixture
async def echoing_twilio() -> AsyncIterator[str]:
    """Twilio as it really answers a bad 'To': the number, as Twilio spells it, in the text."""

    async def messages(request: web.Request) -> web.Response:
        to = str((await request.post())["To"])
        spelled = "+1" + "".join(c for c in to if c.isdigit())[-10:]
        return web.json_response(
            {"code": 21211, "status": 400,
             "message": f"The 'To' number {spelled} ({to}) is not a valid phone number."},
            status=400,
        )  # fmt: skip

    app = web.Application()
    app.router.add_post("/2010-04-01/Accounts/{sid}/Messages.json", messages)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    await runner.cleanup()


@pytest.mark.parametrize("configured", [NUMBER, "555-123-4567", "5551234567"])
async def test_number_echoed_by_twilio_is_masked_however_configured(
    echoing_twilio: str, configured: str
) -> None:
    """Twilio's own message repeats the number; neither its spelling nor ours gets through."""
    cfg = ChannelSettings(
        type="twilio", from_number="+15550000000", to_numbers=[configured], api_base=echoing_twilio
    )
    with pytest.raises(DeliveryError) as e:
        await TwilioChannel("sms", cfg, "AC" + "1" * 32, "authtoken-xyz").send(MSG, "a1")
    reason = e.value.reason
    assert "is not a valid phone number" in reason and MASKED in reason
    assert "1234567" not in reason and configured not in reason


async def test_unreachable_twilio_names_the_number_masked() -> None:
    """When Twilio cannot be reached at all, the error still names the number masked."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{s.getsockname()[1]}"
    cfg = ChannelSettings(
        type="twilio", from_number="+15550000000", to_numbers=[NUMBER], api_base=closed
    )
    with pytest.raises(DeliveryError) as e:
        await TwilioChannel("sms", cfg, "AC" + "1" * 32, "authtoken-xyz").send(MSG, "a1")
    assert e.value.retryable and "unreachable" in e.value.reason
    assert MASKED in e.value.reason and NUMBER not in e.value.reason


class _RefuseBob:
    """An SMTP server that refuses bob, quoting his address in its own (lower-case) spelling."""

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address.lower().startswith("bob@"):
            return f"550 5.1.1 <{address.lower()}>: Recipient address rejected: User unknown"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        return "250 OK"


@pytest.fixture
def refusing_smtp() -> Iterator[int]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    controller = Controller(
        _RefuseBob(),
        hostname="127.0.0.1",
        port=port,
        auth_require_tls=False,
        authenticator=lambda *a: AuthResult(success=True),
    )
    controller.start()
    yield port
    controller.stop()


async def test_refused_email_recipient_is_masked(
    refusing_smtp: int, caplog: pytest.LogCaptureFixture
) -> None:
    """The SMTP refusal quotes bob's address; the error shows b***@example.com, no password,
    and apprise's own log lines (which reach journald) name nobody in full either."""
    url = (
        f"mailto://monitor:s3cretpass@127.0.0.1:{refusing_smtp}?smtp=127.0.0.1&mode=insecure"
        "&from=monitor@example.com&to=ops@example.com&cc=Bob@Example.com"
    )
    with pytest.raises(DeliveryError) as e:
        await AppriseChannel("email", url).send(MSG, "a1")
    reason = e.value.reason
    assert "was refused" in reason and "b***@example.com" in reason
    assert "bob@example.com" not in reason.lower() and "ops@example.com" not in reason
    assert "s3cretpass" not in reason
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name == "apprise")
    assert 'Sending email to "o***@example.com" failed.' in logged
    assert "ops@example.com" not in logged and "bob@example.com" not in logged.lower()


# --- what building channels imports ----------------------------------------------------------


def _modules_after_building(channels: dict[str, Any], env: dict[str, str]) -> set[str]:
    """Every module a fresh interpreter has imported once it built these channels."""
    code = (
        "import json, sys\n"
        "from depeg_monitor.config import Settings\n"
        "from depeg_monitor.notify.channels import build_channels_report\n"
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
    sms = {"type": "twilio", "from_number": "+15550000000", "to_numbers": ["+15551234567"]}
    env = {"TWILIO_ACCOUNT_SID": "AC" + "1" * 32, "TWILIO_AUTH_TOKEN": "token-xyz"}
    families = _families(_modules_after_building({"sms": sms}, env))
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


@pytest.mark.parametrize("scheme", sorted(_PLUGINS))
def test_each_scheme_mapped_to_a_plugin_is_that_plugins_own(scheme: str) -> None:
    """Each shortcut names a plugin apprise really has for that scheme, so none of them
    silently falls back to loading every plugin."""
    plugin = _known_plugin(scheme)
    assert plugin is not None, f"{_PLUGINS[scheme]} does not declare {scheme}://"


@pytest.mark.parametrize(
    "url",
    [
        "discord://1234567890",  # no webhook token
        "mailto://",  # no address at all
        "json://",  # no host
        "nosuchservice://host/path",
        "not a url",
    ],
)
def test_a_url_apprise_cannot_use_is_refused(url: str) -> None:
    """A URL missing what its service needs, or naming no service, is refused at start-up."""
    with pytest.raises(ValueError, match="not a URL apprise understands"):
        AppriseChannel("broken", url)


@pytest.fixture
async def form_sink() -> AsyncIterator[tuple[str, list[dict[str, str]]]]:
    """A webhook that takes form posts (apprise's form://, a scheme with no shortcut)."""
    received: list[dict[str, str]] = []

    async def hook(request: web.Request) -> web.Response:
        received.append({k: str(v) for k, v in (await request.post()).items()})
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/{tail:.*}", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield f"127.0.0.1:{runner.addresses[0][1]}", received
    await runner.cleanup()


async def test_a_scheme_without_a_shortcut_is_found_by_apprise_itself(
    form_sink: tuple[str, list[dict[str, str]]],
) -> None:
    """Any other apprise URL (here form://) still works, through apprise's own lookup."""
    host, received = form_sink
    await AppriseChannel("hook", f"form://{host}/alerts").send(MSG, "a1")
    assert received[0]["title"] == MSG.title
    assert "price $0.8800" in received[0]["message"]
