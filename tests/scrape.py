"""One real daemon's /metrics and /health, scraped once per test session.

The daemon runs in-process against the simulated calm market (tests/test_daemon.py's way) in
a thread of its own, with a console channel, a health token and the health endpoint on a
free port of 127.0.0.1; once every venue has answered and every coin has a price, both pages
are fetched as Prometheus, Uptime Robot behind a proxy, and the operator would fetch them.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample
from pydantic import SecretStr

from depeg_monitor.clock import SystemClock
from depeg_monitor.commands.demo import TerminalChannel, demo_settings
from depeg_monitor.config import Settings, load_settings
from depeg_monitor.daemon import Daemon
from depeg_monitor.health.registry import Kind
from depeg_monitor.simulate import SimulatedMarket, load_scenario

REPO = Path(__file__).parents[1]
TOKEN = "scrape-test-token-0123456789"
OPENMETRICS = "application/openmetrics-text; version=1.0.0; charset=utf-8"


_SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"), "info": ("_info",)}


@dataclass
class Page:
    status: int
    headers: dict[str, str]
    text: str


@dataclass
class Scrape:
    settings: Settings
    started: float  # Unix time the daemon started
    finished: float  # … and the scrapes were done
    port: int
    metrics: Page  # as `curl` asks: the Prometheus text format
    openmetrics: Page  # as Prometheus asks (Accept: OpenMetrics)
    gzipped: Page  # Accept-Encoding: gzip (the body as received, undecoded)
    health_local: Page  # from 127.0.0.1, nothing else: the detailed view
    health_proxied: Page  # from 127.0.0.1 through a reverse proxy: the public view
    health_token: Page  # through the proxy with the token: the detailed view
    samples: list[Sample] = field(default_factory=list)

    def names(self) -> set[str]:
        """Every series name a query can use: each sample's, and those of families with no
        sample yet (a counter's `_total`, a histogram's `_bucket`, `_sum`, `_count`)."""
        out = {s.name for s in self.samples}
        for f in text_string_to_metric_families(self.metrics.text):
            out |= {f.name + suffix for suffix in _SUFFIXES.get(f.type, ("",))}
        return out

    def value(self, name: str, **labels: str) -> float | None:
        for s in self.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                return s.value
        return None


async def _fetch(url: str, headers: dict[str, str] | None = None, raw: bool = False) -> Page:
    async with (
        aiohttp.ClientSession(auto_decompress=not raw) as s,
        s.get(url, headers=headers or {}) as r,
    ):
        body = await r.read()
        text = body.decode("latin-1") if raw else body.decode()
        return Page(r.status, dict(r.headers), text)


async def _scrape(state: Path) -> Scrape:
    clock = SystemClock()
    market = SimulatedMarket(load_scenario(REPO / "scenarios" / "calm.toml"), clock)
    await market.start()
    try:
        settings = demo_settings(
            load_settings(REPO / "config.example.toml"), market.base_urls(), 1.0, state
        )
        data = settings.model_dump(mode="python")
        data["health"]["token"] = SecretStr(TOKEN)
        settings = Settings.model_validate(data)
        started = time.time()
        daemon = Daemon(settings, clock, {"discord": TerminalChannel("discord", str)})
        stop, ready = asyncio.Event(), asyncio.Event()
        task = asyncio.create_task(daemon.run(stop, ready))
        try:
            await asyncio.wait_for(ready.wait(), 30)
            coins = list(settings.coins)
            served = market.base_urls()
            venues = [n for n, v in settings.venues.items() if v.enabled and n in served]
            loop = asyncio.get_running_loop()
            until = loop.time() + 60
            while not (
                all(daemon.state.last_price.get(c) is not None for c in coins)
                and all(
                    (st := daemon.health.get(Kind.VENUE, v)) is not None and st.last_ok is not None
                    for v in venues
                )
            ):
                assert loop.time() < until, "no price for every coin from every venue in 60 s"
                await asyncio.sleep(0.05)
            base = f"http://127.0.0.1:{daemon.health_port}"
            proxied = {"X-Forwarded-For": "203.0.113.7"}
            scrape = Scrape(
                settings=settings,
                started=started,
                finished=0.0,
                port=int(daemon.health_port or 0),
                metrics=await _fetch(base + "/metrics"),
                openmetrics=await _fetch(base + "/metrics", {"Accept": OPENMETRICS}),
                gzipped=await _fetch(base + "/metrics", {"Accept-Encoding": "gzip"}, raw=True),
                health_local=await _fetch(base + "/health"),
                health_proxied=await _fetch(base + "/health", proxied),
                health_token=await _fetch(
                    base + "/health", {**proxied, "Authorization": f"Bearer {TOKEN}"}
                ),
            )
            scrape.finished = time.time()
        finally:
            stop.set()
            await asyncio.wait_for(task, 30)
    finally:
        await market.stop()
    scrape.samples = [
        s for f in text_string_to_metric_families(scrape.metrics.text) for s in f.samples
    ]
    return scrape


@pytest.fixture(scope="session")
def daemon_scrape(tmp_path_factory: pytest.TempPathFactory) -> Scrape:
    """The pages of one real daemon run (shared: starting one takes seconds)."""
    return asyncio.run(_scrape(tmp_path_factory.mktemp("scraped-daemon")))


def promtool() -> str:
    """The promtool binary (Debian's prometheus package); skipped without it, failed in CI."""
    path = shutil.which("promtool")
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("promtool not found; CI must install prometheus (see .ci/run)")
        pytest.skip("promtool not found: `apt-get install prometheus` to run this check")
    return path
