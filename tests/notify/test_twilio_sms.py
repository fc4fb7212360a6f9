"""The SMS channel through Twilio's SDK against a local stand-in for Twilio's API."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import gc
import socket
import time
import warnings
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp import web

from depeg_monitor.config import ChannelSettings
from depeg_monitor.model import Message
from depeg_monitor.notify.channel import DeliveryError
from depeg_monitor.notify.twilio_sms import TwilioChannel

MSG = Message(
    "🔴 CRITICAL depeg: USDC $0.8800 (-12.00%) — new",
    "USDC — CRITICAL (new)\n  price $0.8800, -12.00% from the $1 peg\n"
    "Time: 2023-03-11 03:04:05 UTC",
)
SID, TOKEN = "AC" + "1" * 32, "authtoken-xyz"
NUMBER, MASKED = "+15551234567", "+1555****567"


def sms(api_base: str, *to: str, timeout: float = 30) -> TwilioChannel:
    cfg = ChannelSettings(
        type="twilio",
        from_number="+15550000000",
        to_numbers=list(to),
        api_base=api_base,
        timeout=timeout,
    )
    return TwilioChannel("sms", cfg, SID, TOKEN)


def closed_base() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


async def serve(handler: Any) -> tuple[web.AppRunner, str]:
    app = web.Application()
    app.router.add_post("/2010-04-01/Accounts/{sid}/Messages.json", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}"


# --- delivery ------------------------------------------------------------------------------


async def test_twilio_sends_to_every_number_through_its_sdk(twilio: Any) -> None:
    """SMS goes to each number with From, To and a one-line Body, authenticated by the SID."""
    ch = sms(twilio.url, "+15551111111", "+15552222222")
    await ch.send(MSG, "a1")
    await ch.close()
    assert sorted((r["From"], r["To"]) for r in twilio.received) == [
        ("+15550000000", "+15551111111"),
        ("+15550000000", "+15552222222"),
    ]
    body = twilio.received[0]["Body"]
    assert body.startswith("CRITICAL depeg: USDC $0.8800 (-12.00%)") and len(body) < 160
    assert "\n" not in body
    basic = "Basic " + base64.b64encode(f"{SID}:{TOKEN}".encode()).decode()
    assert twilio.auth == [basic, basic]


async def test_twilio_bad_number_is_final_and_retry_skips_reached_numbers(twilio: Any) -> None:
    """A 400 for one number is not retryable; a second try does not text the others twice."""
    twilio.fail_to = {"+1555bad"}
    ch = sms(twilio.url, "+15551111111", "+1555bad")
    for _ in range(2):
        with pytest.raises(DeliveryError) as e:
            await ch.send(MSG, "a1")
        assert not e.value.retryable and TOKEN not in str(e.value)
    await ch.close()
    assert [r["To"] for r in twilio.received] == ["+15551111111"]


async def test_a_send_makes_no_deprecated_aiohttp_call(twilio: Any) -> None:
    """Sending builds its own Authorization header: no BasicAuth or auth= DeprecationWarning."""
    ch = sms(twilio.url, NUMBER)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        await ch.send(MSG, "a1")
        await ch.close()
    assert [r["To"] for r in twilio.received] == [NUMBER]


# --- personal data and secrets in errors ---------------------------------------------------


async def test_failed_sms_names_the_number_masked(twilio: Any) -> None:
    """A number Twilio refuses (400, invalid To) is named +1555****567 in the error, never in
    full, and neither the SID nor the auth token appears."""
    twilio.fail_to = {NUMBER}
    ch = sms(twilio.url, NUMBER)
    with pytest.raises(DeliveryError) as e:
        await ch.send(MSG, "a1")
    await ch.close()
    reason = e.value.reason
    assert MASKED in reason and "code 21211" in reason and not e.value.retryable
    assert NUMBER not in reason and "5551234567" not in reason
    assert SID not in reason and TOKEN not in reason


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

    runner, url = await serve(messages)
    yield url
    await runner.cleanup()


@pytest.mark.parametrize("configured", [NUMBER, "555-123-4567", "5551234567"])
async def test_number_echoed_by_twilio_is_masked_however_configured(
    echoing_twilio: str, configured: str
) -> None:
    """Twilio's own message repeats the number; neither its spelling nor ours gets through."""
    ch = sms(echoing_twilio, configured)
    with pytest.raises(DeliveryError) as e:
        await ch.send(MSG, "a1")
    await ch.close()
    reason = e.value.reason
    assert "is not a valid phone number" in reason and MASKED in reason
    assert "1234567" not in reason and configured not in reason


async def test_unreachable_twilio_names_the_number_masked() -> None:
    """When Twilio cannot be reached at all, the error still names the number masked."""
    ch = sms(closed_base(), NUMBER)
    with pytest.raises(DeliveryError) as e:
        await ch.send(MSG, "a1")
    await ch.close()
    assert e.value.retryable and "unreachable" in e.value.reason
    assert MASKED in e.value.reason and NUMBER not in e.value.reason
    assert SID not in e.value.reason and TOKEN not in e.value.reason


# --- sessions and timeouts -----------------------------------------------------------------


@dataclass
class Slow:
    """A stand-in that answers `status` after `delay` seconds, counting requests."""

    url: str = ""
    delay: float = 0.0
    status: int = 201
    body: bytes = b""
    requests: int = 0


@pytest.fixture
async def slow_twilio() -> AsyncIterator[Slow]:
    s = Slow()
    stop = asyncio.Event()

    async def messages(request: web.Request) -> web.Response:
        s.requests += 1
        form = dict(await request.post())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), s.delay)
        if s.body:
            return web.Response(body=s.body, status=s.status, content_type="application/json")
        if s.status >= 400:
            return web.json_response({"code": 20500, "message": "down"}, status=s.status)
        return web.json_response({"sid": "SM" + "0" * 32, "status": "queued", **form}, status=201)

    runner, s.url = await serve(messages)
    yield s
    stop.set()  # a handler still waiting answers now, so the server stops at once
    await runner.cleanup()


def _unclosed(caplog: pytest.LogCaptureFixture, caught: list[warnings.WarningMessage]) -> list[str]:
    logged = [r.getMessage() for r in caplog.records if r.name == "asyncio"]
    warned = [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]
    return [m for m in logged + warned if "Unclosed" in m]


@pytest.mark.parametrize("failure", ["answers 500", "closed port"])
async def test_failed_sms_leaves_no_session_open(
    slow_twilio: Slow, failure: str, caplog: pytest.LogCaptureFixture
) -> None:
    """After failed sends and close(), collecting garbage reports no unclosed aiohttp session
    or connector (the SDK's own client left one per failed request)."""
    slow_twilio.status = 500
    base = slow_twilio.url if failure == "answers 500" else closed_base()

    async def fail_then_close() -> None:  # its frame, the channel and the errors go with it
        ch = sms(base, NUMBER, "+15552222222")
        for _ in range(3):
            with pytest.raises(DeliveryError) as e:
                await ch.send(MSG, "a1")
            assert e.value.retryable
        await ch.close()

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        await fail_then_close()
        gc.collect()
    assert _unclosed(caplog, caught) == []


async def test_close_of_an_unused_channel_is_safe() -> None:
    """close() before any send, and twice, raises nothing and leaves nothing open."""
    ch = sms(closed_base(), NUMBER)
    await ch.close()
    await ch.close()


async def test_twilio_slower_than_the_timeout_fails_retryably_within_it(slow_twilio: Slow) -> None:
    """Twilio answering after 5 s under a 1.5 s timeout: a retryable error after about 1.5 s
    saying so, the number masked."""
    slow_twilio.delay = 5.0
    ch = sms(slow_twilio.url, NUMBER, timeout=1.5)
    started = time.monotonic()
    with pytest.raises(DeliveryError) as e:
        await ch.send(MSG, "a1")
    took = time.monotonic() - started
    await ch.close()
    assert e.value.retryable and 1.4 < took < 2.5 and took <= ch.timeout + 0.5
    assert "did not answer within 1.5 s" in e.value.reason and MASKED in e.value.reason


async def test_numbers_are_texted_at_once_so_a_send_stays_within_its_timeout(
    slow_twilio: Slow,
) -> None:
    """Three numbers, each answered after 1 s, under a 2 s timeout: all three are delivered
    by one send taking about one answer's time, not three."""
    slow_twilio.delay = 1.0
    ch = sms(slow_twilio.url, "+15551111111", "+15552222222", "+15553333333", timeout=2)
    started = time.monotonic()
    await ch.send(MSG, "a1")
    took = time.monotonic() - started
    await ch.close()
    assert slow_twilio.requests == 3 and took < 2.0


async def test_an_oversized_answer_is_refused_not_read_whole(slow_twilio: Slow) -> None:
    """An answer over 1 MiB (no Twilio answer is) is a retryable error, read only that far."""
    slow_twilio.body = b"[" + b"0," * (1 << 20) + b"0]"
    ch = sms(slow_twilio.url, NUMBER)
    with pytest.raises(DeliveryError) as e:
        await ch.send(MSG, "a1")
    await ch.close()
    assert e.value.retryable and "longer than 1024 KiB" in e.value.reason
