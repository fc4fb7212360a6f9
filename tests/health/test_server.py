"""The /health and /metrics endpoints on a real aiohttp server on 127.0.0.1."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import aiohttp
import pytest
from pydantic import SecretStr

from depeg_monitor.config import HealthSettings, Settings
from depeg_monitor.health.evaluate import HealthReport, evaluate
from depeg_monitor.health.registry import HealthRegistry
from depeg_monitor.health.server import HEALTH_JSON, HealthServer
from depeg_monitor.metrics import Metrics

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
            self.registry.ok(f"venue:{venue}", NOW - 3)
        self.registry.ok("db", NOW - 2)

    def report(self) -> HealthReport:
        return evaluate(self.registry, NOW, self.settings, self.prices, self.last_cycle)


@pytest.fixture
async def served() -> AsyncIterator[tuple[World, str, Metrics]]:
    world = World()
    metrics = Metrics()
    server = HealthServer(HealthSettings(port=0), world.report, metrics)
    await server.start()
    try:
        yield world, f"http://127.0.0.1:{server.port}", metrics
    finally:
        await server.stop()


async def get(url: str, method: str = "GET") -> tuple[int, str, str]:
    async with aiohttp.ClientSession() as s, s.request(method, url) as r:
        return r.status, r.headers["Content-Type"].split(";")[0], await r.text()


async def test_healthy_monitor_answers_pass(served: tuple[World, str, Metrics]) -> None:
    """All venues answering and fresh prices: 200 with status pass and a check per component."""
    _, base, _ = served
    status, ctype, body = await get(base + "/health")
    assert (status, ctype) == (200, HEALTH_JSON)

    doc = json.loads(body)
    assert doc["status"] == "pass"
    assert {"coin:USDC", "coin:DAI", "aggregator", "venue:kraken", "venue:okx", "db"} <= set(
        doc["checks"]
    )
    assert doc["checks"]["venue:okx"][0]["observedValue"] == 3
    assert SECRET not in body


async def test_degraded_monitor_answers_warn_with_200(served: tuple[World, str, Metrics]) -> None:
    """One venue failing and the database down: still 200, status warn, the errors shown."""
    world, base, _ = served
    world.registry.error("venue:okx", NOW, "HTTP 503")
    world.registry.error("db", NOW, "database unavailable: OperationalError", dropped=12)
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
    world.registry.error("venue:kraken", NOW, "timeout")
    world.registry.error("venue:okx", NOW, "timeout")
    assert (await get(base + "/health"))[0] == 503
    world.registry.ok("venue:okx", NOW)
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
