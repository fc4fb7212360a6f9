"""GET/HEAD /health (application/health+json; 503 on fail) and GET /metrics for Prometheus."""

from __future__ import annotations

import json
from collections.abc import Callable

import structlog
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from depeg_monitor.config import HealthSettings
from depeg_monitor.health.evaluate import HealthReport
from depeg_monitor.metrics import Metrics

log = structlog.get_logger(__name__)

HEALTH_JSON = "application/health+json"


class HealthServer:
    def __init__(
        self, settings: HealthSettings, report: Callable[[], HealthReport], metrics: Metrics
    ) -> None:
        self._settings = settings
        self._report = report
        self._metrics = metrics
        self._runner: web.AppRunner | None = None
        self.port: int | None = None

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/health", self._health)  # HEAD comes with GET
        app.router.add_get("/metrics", self._prometheus)
        return app

    async def _health(self, request: web.Request) -> web.Response:
        report = self._report()
        body = json.dumps(report.to_json(), indent=1)
        return web.Response(
            body=body.encode(),
            status=503 if report.status == "fail" else 200,
            content_type=HEALTH_JSON,
            headers={"Cache-Control": "no-store"},
        )

    async def _prometheus(self, request: web.Request) -> web.Response:
        resp = web.Response(body=generate_latest(self._metrics.registry))
        resp.headers["Content-Type"] = CONTENT_TYPE_LATEST
        return resp

    async def start(self) -> None:
        self._runner = web.AppRunner(self.app(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._settings.host, self._settings.port)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        log.info("health endpoint listening", host=self._settings.host, port=self.port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
