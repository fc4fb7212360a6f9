"""GET/HEAD /health (application/health+json; 503 on fail) and GET /metrics for Prometheus.

/health gives the public view (status, version, which components are not passing) unless the
request may see the detailed one: it comes from loopback and not through a proxy (no
Forwarded / X-Forwarded-For / X-Real-IP header), or carries `Authorization: Bearer <token>`
with [health] token. /metrics is prometheus-client's own handler: it negotiates OpenMetrics
or the text format from Accept, gzip from Accept-Encoding, and `name[]=` filters.

The port is reachable by any local process, so it is built to survive one that misbehaves:
at most `max_connections` sockets are held (a newcomer takes the slot of the oldest idle
one), a connection that has not sent a complete request within `request_timeout` — or sits
idle that long after an answer — is closed, and malformed requests are a debug line each,
not an ERROR traceback. No Server header names the software; the Python version is
only in /metrics (python_info), which is for a local Prometheus, never to be published.
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import json
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from typing import Any, Protocol, cast

import structlog
from aiohttp import hdrs, web
from aiohttp.web_protocol import RequestHandler
from prometheus_client.aiohttp import make_aiohttp_handler

from depeg_monitor.health import document
from depeg_monitor.health.evaluate import HealthReport
from depeg_monitor.metrics import Metrics

log = structlog.get_logger(__name__)

HEALTH_JSON = "application/health+json"
SERVER_NAME = "depeg-monitor"  # instead of aiohttp's "Python/3.x aiohttp/3.y.z"
MAX_CONNECTIONS = 64
REQUEST_TIMEOUT = 5.0
WARN_EVERY = 60.0  # seconds between "connection limit reached" warnings
# A request a local reverse proxy passed on carries one of these: it is not a local caller.
PROXY_HEADERS = (hdrs.FORWARDED, hdrs.X_FORWARDED_FOR, "X-Real-IP")

Page = Callable[[web.BaseRequest], Awaitable[web.StreamResponse]]


class _Conn(Protocol):
    evicted: bool

    @property
    def busy(self) -> bool: ...

    def evict(self) -> None: ...


class _Slots:
    """Live connections in arrival order; when full, the oldest idle one makes room.

    Evicting rather than refusing is what keeps /health answering under a slow-loris: held
    connections are, by construction, older than a real check that has just arrived.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._live: dict[_Conn, None] = {}  # a dict keeps insertion (arrival) order
        self._closed = 0  # since the last warning
        self._warned_at: float | None = None

    def admit(self, handler: _Conn, now: float) -> None:
        if len(self._live) >= self.limit:
            victim = next((h for h in self._live if not h.busy), handler)
            self._live.pop(victim, None)
            victim.evict()
            self._closed += 1
            if self._warned_at is None or now - self._warned_at >= WARN_EVERY:
                log.warning(
                    "health_connection_limit",
                    action="closing the oldest idle connections",
                    limit=self.limit,
                    closed=self._closed,
                )
                self._warned_at, self._closed = now, 0
        if not handler.evicted:
            self._live[handler] = None

    def discard(self, handler: _Conn) -> None:
        self._live.pop(handler, None)

    def __len__(self) -> int:
        return len(self._live)


class _Handler(RequestHandler):
    """aiohttp's HTTP/1 protocol, counted in _Slots, with quiet answers to malformed requests."""

    def __init__(self, manager: web.Server, slots: _Slots, **kwargs: Any) -> None:
        super().__init__(manager, **kwargs)
        self._slots = slots
        self.evicted = False

    @property
    def busy(self) -> bool:
        """A request is being answered: never evicted mid-answer."""
        return self._request_in_progress

    def evict(self) -> None:
        self.evicted = True
        self.force_close()  # closes the transport if connected; connection_made checks the flag

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if self.evicted:  # lost its slot before it was even connected: no task, no timer
            transport.close()
            return
        super().connection_made(transport)

    def connection_lost(self, exc: BaseException | None) -> None:
        self._slots.discard(self)
        super().connection_lost(exc)

    def handle_error(
        self,
        request: web.BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        if status >= 500:  # our own failure: aiohttp logs it with its traceback
            resp = super().handle_error(request, status, exc, message)
        else:
            # Garbage, TLS on a plain port, an oversized header: the client's fault, and
            # free for anyone to repeat, so one debug line and a plain 400 (aiohttp's own
            # would log an ERROR traceback and echo the bytes back).
            log.debug("malformed_request", status=status, error=type(exc).__name__)
            resp = web.Response(status=status, text=f"{status} {HTTPStatus(status).phrase}\n")
            resp.force_close()
        resp.headers[hdrs.SERVER] = SERVER_NAME
        return resp


class _Server(web.Server):
    """The protocol factory (create_server calls it per accepted socket): counted handlers."""

    def __init__(
        self,
        handler: Callable[[web.BaseRequest], Awaitable[web.StreamResponse]],
        slots: _Slots,
        **kwargs: Any,
    ) -> None:
        super().__init__(handler, **kwargs)
        self._slots = slots
        self._handler_kwargs = kwargs

    def __call__(self) -> RequestHandler:
        loop = asyncio.get_running_loop()
        handler = _Handler(self, self._slots, loop=loop, **self._handler_kwargs)
        self._slots.admit(handler, loop.time())
        return handler


class HealthServer:
    def __init__(
        self,
        host: str,
        port: int,
        report: Callable[[], HealthReport],
        metrics: Metrics,
        *,
        token: str | None = None,
        max_connections: int = MAX_CONNECTIONS,
        request_timeout: float = REQUEST_TIMEOUT,
    ) -> None:
        self._host, self._wanted_port = host, port
        self._report = report
        # The detailed view for `Authorization: Bearer <token>` (a secret: never logged).
        self._bearer = None if token is None else f"Bearer {token}".encode()
        self._slots = _Slots(max_connections)
        self._request_timeout = request_timeout
        self._runner: web.ServerRunner | None = None
        # Written for web.Request, it only reads what a low-level server's BaseRequest has.
        metrics_page = cast(Page, make_aiohttp_handler(metrics.registry))
        self._pages: dict[str, Page] = {"/health": self._health, "/metrics": metrics_page}
        self.port: int | None = None
        self.service = document.Service(document.instance_id(port))

    @property
    def connections(self) -> int:
        """Sockets currently held open by the server."""
        return len(self._slots)

    async def _handle(self, request: web.BaseRequest) -> web.StreamResponse:
        page = self._pages.get(request.path)
        resp: web.StreamResponse
        if page is None:
            resp = web.Response(status=404, text="404: Not Found")
        elif request.method not in (hdrs.METH_GET, hdrs.METH_HEAD):  # HEAD: headers only
            resp = web.Response(status=405, text="405: Method Not Allowed")
            resp.headers[hdrs.ALLOW] = "GET,HEAD"
        else:
            resp = await page(request)
        resp.headers[hdrs.SERVER] = SERVER_NAME
        return resp

    def may_see_details(self, request: web.BaseRequest) -> bool:
        """A local caller (not a proxy passing one on), or one with the token."""
        if self._bearer is not None:
            given = request.headers.get(hdrs.AUTHORIZATION, "").encode()
            if hmac.compare_digest(given, self._bearer):
                return True
        if any(h in request.headers for h in PROXY_HEADERS):
            return False
        try:
            return ipaddress.ip_address(request.remote or "").is_loopback
        except ValueError:  # a Unix socket or no peer: not known to be local
            return False

    async def _health(self, request: web.BaseRequest) -> web.Response:
        report = self._report()
        view = document.detailed if self.may_see_details(request) else document.public
        body = json.dumps(view(report, self.service), indent=1)
        return web.Response(
            body=body.encode(),
            status=503 if report.status == "fail" else 200,
            content_type=HEALTH_JSON,
            # The answer differs by who asks: no shared cache may hand one to the other.
            headers={"Cache-Control": "no-store", hdrs.VARY: "Authorization"},
        )

    async def start(self) -> None:
        server = _Server(
            self._handle,
            self._slots,
            access_log=None,
            # aiohttp starts this timer when a connection opens and again after each answer,
            # and does not extend it while a request trickles in: it bounds both idling and
            # the time to send a whole request (slow-loris).
            keepalive_timeout=self._request_timeout,
            lingering_time=0,  # a request body nobody asked for is not waited for
            # Health checkers send a few short headers; this caps what a connection can pin.
            max_line_size=4096,
            max_field_size=4096,
            max_headers=32,
        )
        # A stuck client must not hold up shutdown (aiohttp waits 60 s by default).
        self._runner = web.ServerRunner(server, shutdown_timeout=2.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, self._wanted_port)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        self.service = document.Service(document.instance_id(self.port))
        log.info("health_endpoint_listening", host=self._host, port=self.port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
