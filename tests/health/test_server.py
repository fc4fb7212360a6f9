"""The /health and /metrics endpoints on a real aiohttp server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import socket
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import aiohttp
import pytest
from pydantic import SecretStr
from structlog.testing import capture_logs

from depeg_monitor import __version__
from depeg_monitor.config import HealthSettings, Settings
from depeg_monitor.health.evaluate import HealthReport, evaluate
from depeg_monitor.health.registry import Component, HealthRegistry, Kind, StoreDetail
from depeg_monitor.health.server import HEALTH_JSON, MAX_CONNECTIONS, HealthServer, _Slots
from depeg_monitor.metrics import Metrics
from depeg_monitor.rules import health_rules

NOW = 1_700_000_000.0
SECRET = "https://hc-ping.com/0f4a-secret-uuid"


class World:
    """What the daemon would feed evaluate(): the board, coin price times, last cycle."""

    def __init__(self) -> None:
        self.settings = Settings(
            coins={"USDC": {}, "DAI": {}},
            health=HealthSettings(heartbeat_url=SecretStr(SECRET)),
        )
        self.registry = HealthRegistry()
        self.prices: dict[str, float | None] = {"USDC": NOW - 5, "DAI": NOW - 5}
        self.last_cycle: float | None = NOW - 1
        for venue in ("kraken", "okx"):
            self.venue(venue).ok(NOW - 3)
        self.registry.component(Kind.DATABASE).ok(NOW - 2)
        # The critical route's channels; None: the daemon has not built them yet.
        self.critical: tuple[str, ...] | None = ("discord", "sms")

    def venue(self, name: str) -> Component:
        return self.registry.component(Kind.VENUE, name)

    def report(self) -> HealthReport:
        rules = replace(health_rules(self.settings), critical_channels=self.critical)
        return evaluate(self.registry, NOW, rules, self.prices, self.last_cycle)


@pytest.fixture
async def served() -> AsyncIterator[tuple[World, str, Metrics]]:
    world = World()
    metrics = Metrics()
    server = HealthServer("127.0.0.1", 0, world.report, metrics)
    await server.start()
    try:
        yield world, f"http://127.0.0.1:{server.port}", metrics
    finally:
        await server.stop()


async def get(url: str, method: str = "GET") -> tuple[int, str, str]:
    async with aiohttp.ClientSession() as s, s.request(method, url) as r:
        return r.status, r.headers["Content-Type"].split(";")[0], await r.text()


async def test_healthy_monitor_answers_pass(served: tuple[World, str, Metrics]) -> None:
    """All venues answering and fresh prices: 200 with status pass, the draft's service fields
    and a check per component, keyed component:measurement, naming its id and type."""
    _, base, _ = served
    status, ctype, body = await get(base + "/health")
    assert (status, ctype) == (200, HEALTH_JSON)

    doc = json.loads(body)
    assert doc["status"] == "pass"
    assert doc["version"] == __version__.split(".")[0] and doc["releaseId"] == __version__
    assert doc["description"] and doc["serviceId"].startswith("depeg-monitor@")
    assert {
        "USDC:priceAge",
        "DAI:priceAge",
        "aggregator:cycleAge",
        "kraken:answerAge",
        "okx:answerAge",
        "database:writeAge",
        "criticalChannels:status",
    } <= set(doc["checks"])
    (okx,) = doc["checks"]["okx:answerAge"]
    assert okx["observedValue"] == 3 and okx["observedUnit"] == "s"
    assert (okx["componentId"], okx["componentType"]) == ("venue:okx", "component")
    assert doc["checks"]["database:writeAge"][0]["componentType"] == "datastore"
    assert all(":" in key for key in doc["checks"])
    assert SECRET not in body


async def test_degraded_monitor_answers_warn_with_200(served: tuple[World, str, Metrics]) -> None:
    """One venue failing and the database down: still 200, status warn, the errors shown."""
    world, base, _ = served
    world.venue("okx").error(NOW, "HTTP 503")
    db = world.registry.component(Kind.DATABASE)
    db.error(NOW, "database unavailable: OperationalError", StoreDetail(dropped=12))
    status, _, body = await get(base + "/health")
    assert status == 200
    assert '"status": "warn"' in body
    assert "HTTP 503" in body and "12 price rows dropped" in body


async def test_stale_price_fails_with_503(served: tuple[World, str, Metrics]) -> None:
    """A monitored coin without a fresh price past stale_after: 503 and status fail."""
    world, base, _ = served
    world.prices["DAI"] = NOW - 500
    status, _, body = await get(base + "/health")
    assert status == 503
    assert '"status": "fail"' in body and "no fresh price" in body
    head_status, _, head_body = await get(base + "/health", "HEAD")
    assert (head_status, head_body) == (503, "")


async def test_every_venue_failing_or_stalled_loop_fails(
    served: tuple[World, str, Metrics],
) -> None:
    """Every venue failing fails; so does a main loop that stopped cycling."""
    world, base, _ = served
    world.venue("kraken").error(NOW, "timeout")
    world.venue("okx").error(NOW, "timeout")
    assert (await get(base + "/health"))[0] == 503
    world.venue("okx").ok(NOW)
    assert (await get(base + "/health"))[0] == 200
    world.last_cycle = NOW - 61
    status, _, body = await get(base + "/health")
    assert status == 503 and "main loop stalled" in body


async def test_metrics_in_prometheus_text(served: tuple[World, str, Metrics]) -> None:
    """GET /metrics serves the registry's counters in the Prometheus text format."""
    _, base, metrics = served
    metrics.quotes.labels("kraken", "ok").inc(3)
    status, ctype, body = await get(base + "/metrics")
    assert (status, ctype) == (200, "text/plain")
    assert 'depeg_quotes_total{outcome="ok",venue="kraken"} 3.0' in body


# --- who sees what ---------------------------------------------------------------------------

PROXIED = {"X-Forwarded-For": "203.0.113.7"}
TOKEN = "a-health-token-of-some-length"


async def get_json(url: str, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as s, s.get(url, headers=headers or {}) as r:
        return r.status, json.loads(await r.text())


async def test_through_a_proxy_only_the_public_view_is_shown(
    served: tuple[World, str, Metrics],
) -> None:
    """A request a reverse proxy passed on gets the status, the version and one line per
    component not passing — no host, phone number, error text or service id."""
    world, base, _ = served
    world.venue("okx").error(NOW, "network error: DNS lookup failed for www.okx.com")
    world.registry.component(Kind.CHANNEL, "sms").error(NOW, "twilio 401 for +15551234567")
    world.prices["DAI"] = NOW - 500
    for header in ("X-Forwarded-For", "Forwarded", "X-Real-IP"):
        status, doc = await get_json(base + "/health", {header: "203.0.113.7"})
        assert status == 503
        assert doc == {
            "status": "fail",
            "version": __version__.split(".")[0],
            "notes": [
                "DAI:priceAge fail",
                "criticalChannels:status warn",
                "okx:answerAge warn",
                "sms:deliveryAge warn",
            ],
        }
    status, doc = await get_json(base + "/health")  # the same moment, asked locally
    assert status == 503 and "www.okx.com" in json.dumps(doc)


async def test_the_token_shows_the_detailed_view_through_the_proxy(
    world_token: tuple[World, str],
) -> None:
    """With [health] token set, `Authorization: Bearer <token>` sees the detailed view through
    the proxy; a wrong token sees the public one; the token is in neither."""
    world, base = world_token
    world.venue("okx").error(NOW, "HTTP 503")
    _, doc = await get_json(base + "/health", {**PROXIED, "Authorization": f"Bearer {TOKEN}"})
    assert doc["checks"]["okx:answerAge"][0]["output"] == "HTTP 503"
    _, wrong = await get_json(base + "/health", {**PROXIED, "Authorization": "Bearer nope"})
    assert "checks" not in wrong and wrong["notes"] == ["okx:answerAge warn"]
    assert TOKEN not in json.dumps(doc) + json.dumps(wrong)


@pytest.fixture
async def world_token() -> AsyncIterator[tuple[World, str]]:
    world = World()
    server = HealthServer("127.0.0.1", 0, world.report, Metrics(), token=TOKEN)
    await server.start()
    try:
        yield world, f"http://127.0.0.1:{server.port}"
    finally:
        await server.stop()


async def test_each_instance_has_its_own_service_id() -> None:
    """Two monitors on one host (each on its own port) do not share a serviceId."""
    world = World()
    one = HealthServer("127.0.0.1", 0, world.report, Metrics())
    two = HealthServer("127.0.0.1", 0, world.report, Metrics())
    await one.start()
    await two.start()
    try:
        _, a = await get_json(f"http://127.0.0.1:{one.port}/health")
        _, b = await get_json(f"http://127.0.0.1:{two.port}/health")
    finally:
        await one.stop()
        await two.stop()
    assert a["serviceId"] != b["serviceId"]
    assert a["serviceId"] == f"depeg-monitor@{socket.gethostname()}:{one.port}"


# --- a misbehaving local client --------------------------------------------------------------


@pytest.fixture
async def guarded() -> AsyncIterator[tuple[HealthServer, int]]:
    """A server with a short request timeout, so closing idle sockets is quick to see."""
    world = World()
    server = HealthServer("127.0.0.1", 0, world.report, Metrics(), request_timeout=0.5)
    await server.start()
    assert server.port is not None
    try:
        yield server, server.port
    finally:
        await server.stop()


async def raw(port: int, data: bytes) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(data)
    await writer.drain()
    return reader, writer


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


async def closed_by_server(reader: asyncio.StreamReader) -> bool:
    """True once the server has closed the socket (EOF or reset), False if 5 s pass first."""
    try:
        async with asyncio.timeout(5):
            while await reader.read(4096):
                pass
    except TimeoutError:
        return False
    except ConnectionResetError:
        pass
    return True


async def test_health_answers_while_slow_clients_hold_hundreds_of_sockets(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """320 sockets stuck half-way through a request line do not keep Uptime Robot out, and
    cost a bounded handful of log lines rather than one per connection."""
    caplog.set_level(logging.DEBUG)
    world = World()
    server = HealthServer("127.0.0.1", 0, world.report, Metrics())  # default timeout
    await server.start()
    assert server.port is not None
    held: list[asyncio.StreamWriter] = []
    fds_before = open_fds()
    try:
        with capture_logs() as logs:
            for _ in range(320):
                held.append((await raw(server.port, b"GET /hea"))[1])
            timeout = aiohttp.ClientTimeout(total=5)
            async with (
                aiohttp.ClientSession(timeout=timeout) as s,
                s.get(f"http://127.0.0.1:{server.port}/health") as r,
            ):
                assert r.status == 200
                assert json.loads(await r.text())["status"] == "pass"
            assert server.connections <= MAX_CONNECTIONS
        # Our 320 client ends, plus at most the server's cap of accepted ones (and a few spare).
        assert open_fds() - fds_before <= len(held) + MAX_CONNECTIONS + 16
        assert len(logs) <= 2 and len(caplog.records) <= 2, (logs, caplog.records)
        assert any(e["event"] == "health_connection_limit" for e in logs)
    finally:
        for w in held:
            w.close()
        await server.stop()


async def test_a_request_that_never_completes_is_closed(guarded: tuple[HealthServer, int]) -> None:
    """A client trickling a request line a byte at a time is cut off after the timeout."""
    server, port = guarded
    reader, writer = await raw(port, b"G")
    try:

        async def trickle() -> None:
            for byte in b"ET /health HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 200:
                writer.write(bytes([byte]))
                await asyncio.sleep(0.05)

        dripping = asyncio.create_task(trickle())
        assert await closed_by_server(reader)
        dripping.cancel()
        assert server.connections == 0
    finally:
        writer.close()


async def test_idle_keep_alive_connection_is_closed(guarded: tuple[HealthServer, int]) -> None:
    """After an answer, a kept-alive connection that sends nothing more is closed."""
    _, port = guarded
    reader, writer = await raw(port, b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
    try:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        assert head.startswith(b"HTTP/1.1 200")
        assert await closed_by_server(reader)
    finally:
        writer.close()


@pytest.mark.parametrize(
    "junk",
    [
        pytest.param(b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03\r\n\r\n", id="tls-hello"),
        pytest.param(b"HELLO\r\n\r\n", id="bad-request-line"),
        pytest.param(b"GET /health HTTP/1.1\r\nX-Big: " + b"a" * 9000 + b"\r\n\r\n", id="huge"),
        pytest.param(b"GET /health HTTP/1.1\r\n" + b"X: y\r\n" * 100 + b"\r\n", id="many"),
    ],
)
async def test_malformed_request_is_a_quiet_400(
    guarded: tuple[HealthServer, int], junk: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    """Garbage on the port gets a plain 400 naming no software, and no ERROR in the log."""
    caplog.set_level(logging.DEBUG)
    _, port = guarded
    with capture_logs() as logs:
        reader, writer = await raw(port, junk)
        try:
            answer = await asyncio.wait_for(reader.read(), 5)
        finally:
            writer.close()
    head, _, body = answer.partition(b"\r\n\r\n")
    assert re.match(rb"HTTP/1\.[01] 400 ", head)
    assert body == b"400 Bad Request\n"
    assert b"\r\nServer: depeg-monitor\r\n" in head + b"\r\n"
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert not [e for e in logs if e["log_level"] in ("warning", "error", "critical")]


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/health", 200),
        ("HEAD", "/health", 200),
        ("GET", "/metrics", 200),
        ("GET", "/nope", 404),
        ("POST", "/health", 405),
    ],
)
async def test_server_header_names_no_software_version(
    served: tuple[World, str, Metrics], method: str, path: str, status: int
) -> None:
    """No answer, not even aiohttp's own 404 or 405, says which Python or aiohttp runs."""
    _, base, _ = served
    async with aiohttp.ClientSession() as s, s.request(method, base + path) as r:
        assert r.status == status
        server = r.headers.getall("Server")
    assert server == ["depeg-monitor"]
    assert not re.search(r"python|aiohttp|\d", " ".join(server), re.I)


class Conn:
    """A connection as _Slots sees it: answering a request or not, closed by evict()."""

    def __init__(self, busy: bool = False) -> None:
        self.busy = busy
        self.evicted = False

    def evict(self) -> None:
        self.evicted = True


def test_full_port_closes_the_oldest_idle_connection_and_warns_once_a_minute() -> None:
    """At the cap a newcomer takes the oldest idle slot, never one mid-answer; when every
    slot is answering the newcomer itself is closed; the warning comes once a minute."""
    slots = _Slots(3)
    busy, idle1, idle2 = Conn(busy=True), Conn(), Conn()
    with capture_logs() as logs:
        for c in (busy, idle1, idle2):
            slots.admit(c, 0.0)
        newcomers = [Conn() for _ in range(3)]
        for i, c in enumerate(newcomers):
            slots.admit(c, 1.0 + i)
        assert (busy.evicted, idle1.evicted, idle2.evicted) == (False, True, True)
        assert [c.evicted for c in newcomers] == [True, False, False]  # 3rd evicted the 1st
        for c in newcomers[1:]:
            c.busy = True
        late = Conn()
        slots.admit(late, 61.5)
        assert late.evicted and len(slots) == 3
    warnings = [e for e in logs if e["log_level"] == "warning"]
    assert [w["closed"] for w in warnings] == [1, 3]


async def test_health_fails_when_nobody_can_be_woken(served: tuple[World, str, Metrics]) -> None:
    """No channel of the critical route can deliver → 503; one of two failing → warn, 200."""
    world, base, _ = served
    world.registry.component(Kind.CHANNEL, "discord").error(NOW, "HTTP 500")
    status, _, body = await get(base + "/health")
    assert status == 200 and '"status": "warn"' in body and "discord (HTTP 500)" in body
    world.registry.component(Kind.CHANNEL, "sms").error(NOW, "twilio 401")
    status, _, body = await get(base + "/health")
    assert status == 503 and "every critical channel is failing" in body
    world.registry.component(Kind.CHANNEL, "sms").ok(NOW)
    assert (await get(base + "/health"))[0] == 200
    world.critical = ()
    status, _, body = await get(base + "/health")
    assert status == 503 and "no channel can deliver a critical alert" in body


async def test_a_starting_daemon_warns_rather_than_fails_on_its_channels(
    served: tuple[World, str, Metrics],
) -> None:
    """Before the channels are built /health says 'starting' with 200, not a 503 'nobody'."""
    world, base, _ = served
    world.critical = None
    status, _, body = await get(base + "/health")
    assert status == 200 and "starting: channels not built yet" in body
