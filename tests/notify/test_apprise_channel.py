"""apprise channels against real local servers: SMTP, HTTP webhook sinks."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from depeg_monitor.model import Message
from depeg_monitor.notify import apprise_channel
from depeg_monitor.notify.apprise_channel import _PLUGINS, AppriseChannel, _known_plugin
from depeg_monitor.notify.channel import DeliveryError

MSG = Message(
    "🔴 CRITICAL depeg: USDC $0.8800 (-12.00%) — new",
    "USDC — CRITICAL (new)\n  price $0.8800, -12.00% from the $1 peg\n"
    "Time: 2023-03-11 03:04:05 UTC",
)
PASSWORD = "s3cretpass"


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def mail_url(port: int, extra: str = "") -> str:
    return (
        f"mailto://monitor:{PASSWORD}@127.0.0.1:{port}?smtp=127.0.0.1&mode=insecure"
        f"&from=monitor@example.com&to=ops@example.com{extra}"
    )


# --- e-mail --------------------------------------------------------------------------------


async def test_email_arrives_with_subject_through_local_smtp(smtp: Any) -> None:
    """A mailto:// channel delivers to an SMTP server with the alert title as the subject."""
    box, port = smtp
    await AppriseChannel("email", mail_url(port)).send(MSG, "a1")
    assert len(box.messages) == 1
    mail = box.messages[0]
    assert "CRITICAL depeg: USDC" in str(mail["Subject"])
    assert "ops@example.com" in str(mail["To"])
    body = mail.get_body(preferencelist=("plain", "html"))
    assert body is not None and "-12.00% from the $1 peg" in body.get_content()


class _RefuseBob:
    """An SMTP server that refuses bob, quoting his address in its own (lower-case) spelling,
    and that may take its time to accept a message (`delay`, as a content scan does)."""

    def __init__(self) -> None:
        self.delay = 0.0
        self.accepted = 0

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address.lower().startswith("bob@"):
            return f"550 5.1.1 <{address.lower()}>: Recipient address rejected: User unknown"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        await asyncio.sleep(self.delay)
        self.accepted += 1
        return "250 OK"


@pytest.fixture
def refusing_smtp() -> Iterator[tuple[_RefuseBob, int]]:
    handler, port = _RefuseBob(), closed_port()
    controller = Controller(
        handler,
        hostname="127.0.0.1",
        port=port,
        auth_require_tls=False,
        authenticator=lambda *a: AuthResult(success=True),
    )
    controller.start()
    yield handler, port
    controller.stop()


async def test_refused_email_recipient_is_masked_and_the_server_named(
    refusing_smtp: tuple[_RefuseBob, int], caplog: pytest.LogCaptureFixture
) -> None:
    """The SMTP refusal quotes bob's address; the error names the server (127.0.0.1) and the
    recipients masked, holds no password, and apprise's own log lines (which reach journald)
    name nobody in full either."""
    _, port = refusing_smtp
    with pytest.raises(DeliveryError) as e:
        await AppriseChannel("email", mail_url(port, "&cc=Bob@Example.com")).send(MSG, "a1")
    reason = e.value.reason
    assert "was refused" in reason and "b***@example.com" in reason
    assert f"via 127.0.0.1:{port}" in reason and "o***@example.com" in reason
    assert "bob@example.com" not in reason.lower() and "ops@example.com" not in reason
    assert PASSWORD not in reason
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name == "apprise")
    assert 'Sending email to "o***@example.com" failed.' in logged
    assert "ops@example.com" not in logged and "bob@example.com" not in logged.lower()


async def test_unreachable_smtp_server_is_named_with_the_masked_recipient() -> None:
    """No server on the port: a retryable error naming 127.0.0.1 and o***@example.com, with
    neither the password nor the address in full."""
    port = closed_port()
    with pytest.raises(DeliveryError) as e:
        await AppriseChannel("email", mail_url(port)).send(MSG, "a1")
    reason = e.value.reason
    assert e.value.retryable
    assert '"127.0.0.1"' in reason and "o***@example.com" in reason
    assert PASSWORD not in reason and "ops@example.com" not in reason


async def test_slow_smtp_server_is_waited_for_whole_timeout_not_connect_cap(
    refusing_smtp: tuple[_RefuseBob, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """smtplib's one timeout covers every reply: a server taking longer than the connect cap
    to accept the message is still waited for up to the channel's timeout, and mails once."""
    handler, port = refusing_smtp
    monkeypatch.setattr(apprise_channel, "CONNECT_TIMEOUT", 0.5)  # the 10 s cap, scaled down
    handler.delay = 1.5
    await AppriseChannel("email", mail_url(port), timeout=4).send(MSG, "a1")
    assert handler.accepted == 1


# --- webhooks ------------------------------------------------------------------------------


async def test_webhook_receives_title_and_body(sink: Any) -> None:
    """A json:// channel posts the alert's title and body to the webhook."""
    await AppriseChannel("hook", f"json://{sink.url}/alerts").send(MSG, "a1")
    assert sink.received[0]["title"] == MSG.title
    assert "price $0.8800" in sink.received[0]["message"]


async def test_webhook_errors_are_classified_and_scrubbed(sink: Any) -> None:
    """A 500 is retryable, a 404 is not; each error names the webhook's host, never its token."""
    ch = AppriseChannel("hook", f"json://{sink.url}/hooks/tok3n-SECRET-value")
    sink.statuses = [500, 404]
    with pytest.raises(DeliveryError) as server_down:
        await ch.send(MSG, "a1")
    with pytest.raises(DeliveryError) as not_found:
        await ch.send(MSG, "a1")
    assert server_down.value.retryable and not not_found.value.retryable
    for e in (server_down.value, not_found.value):
        assert "tok3n-SECRET-value" not in str(e) and f"via {sink.url}" in str(e)


async def test_errors_are_explained_even_when_the_daemon_logs_only_errors(
    sink: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """With logging at error ([logging] level = "error"), a 404 is still final and its error
    still says 404, while apprise's warning lines still do not reach the daemon's log."""
    caplog.set_level(logging.ERROR)
    sink.statuses = [404]
    with pytest.raises(DeliveryError) as e:
        await AppriseChannel("hook", f"json://{sink.url}/hooks/x").send(MSG, "a1")
    assert not e.value.retryable and "error=404" in e.value.reason
    assert not [r for r in caplog.records if r.name == "apprise" and r.levelno < logging.ERROR]


@dataclass
class SlowSink:
    """A webhook that answers 200 `delay` seconds after each request (or `status`)."""

    url: str = ""
    delay: float = 0.0
    status: int = 200
    requests: int = 0
    released: asyncio.Event = field(default_factory=asyncio.Event)


@pytest.fixture
async def slow_sink() -> AsyncIterator[SlowSink]:
    s = SlowSink()

    async def hook(request: web.Request) -> web.Response:
        s.requests += 1
        await request.read()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(s.released.wait(), s.delay)
        return web.Response(status=s.status, text="ok")

    app = web.Application()
    app.router.add_post("/{tail:.*}", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    s.url = f"127.0.0.1:{runner.addresses[0][1]}"
    yield s
    s.released.set()  # a handler still waiting answers now, so the server stops at once
    await runner.cleanup()


async def test_webhook_slower_than_apprises_default_is_delivered_once(slow_sink: SlowSink) -> None:
    """A webhook answering after 5 s (past apprise's own 4 s read timeout) is waited for under
    an 8 s channel timeout: one send succeeds and the webhook got exactly one request."""
    slow_sink.delay = 5.0
    ch = AppriseChannel("hook", f"json://{slow_sink.url}/hook", timeout=8)
    await ch.send(MSG, "a1")
    assert slow_sink.requests == 1


async def test_webhook_slower_than_the_timeout_fails_retryably_within_it(
    slow_sink: SlowSink,
) -> None:
    """A webhook answering after 5 s under a 1.5 s timeout: send ends with a retryable
    DeliveryError after about 1.5 s (within the channel's stated timeout), not 5 s."""
    slow_sink.delay = 5.0
    ch = AppriseChannel("hook", f"json://{slow_sink.url}/hook", timeout=1.5)
    started = time.monotonic()
    with pytest.raises(DeliveryError) as e:
        await ch.send(MSG, "a1")
    took = time.monotonic() - started
    assert e.value.retryable and 1.4 < took < 3.0 and took < ch.timeout
    assert slow_sink.requests == 1


async def test_apprise_does_not_retry_on_its_own(slow_sink: SlowSink) -> None:
    """Even a URL asking for ?retry=3 makes one request per send: only the outbox retries."""
    slow_sink.status = 503
    ch = AppriseChannel("hook", f"json://{slow_sink.url}/hook?retry=3")
    with pytest.raises(DeliveryError) as e:
        await ch.send(MSG, "a1")
    assert e.value.retryable and slow_sink.requests == 1


# --- finding the plugin --------------------------------------------------------------------


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
    """Any other apprise URL (here form://) still works, through apprise's own lookup, and
    takes the channel's timeout like the rest."""
    host, received = form_sink
    ch = AppriseChannel("hook", f"form://{host}/alerts", timeout=12)
    await ch.send(MSG, "a1")
    assert received[0]["title"] == MSG.title
    assert "price $0.8800" in received[0]["message"]
    assert 12 < ch.timeout <= 12 + 10 + 3
