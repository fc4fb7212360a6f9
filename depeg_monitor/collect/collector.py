"""One polling task per venue: listing check, rate budget, retries, pauses, breaker, quality."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

import aiohttp
import structlog
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    wait_exponential_jitter,
)

from depeg_monitor.clock import Clock
from depeg_monitor.collect.breaker import CircuitBreaker
from depeg_monitor.collect.http import fetch
from depeg_monitor.collect.quality import QualityFilter, QualityRules
from depeg_monitor.collect.ratelimit import BudgetExhausted, TokenBucket
from depeg_monitor.collect.schedule import next_slot
from depeg_monitor.config import VenueSettings
from depeg_monitor.health.registry import HealthRegistry
from depeg_monitor.metrics import Metrics
from depeg_monitor.model import Quote
from depeg_monitor.venues.base import ErrorKind, Request, Response, VenueError, VenueSpec

log = structlog.get_logger(__name__)

Sink = Callable[[Sequence[Quote]], None]
T = TypeVar("T")

# Pauses when a venue refuses without saying for how long.
DEFAULT_RATE_LIMIT_PAUSE = 30.0
DEFAULT_BAN_PAUSE = 120.0  # Binance's shortest IP ban
LISTING_DEADLINE = 15.0
STRETCH_HEADROOM = 1.1  # poll no closer than this to a venue's rate limit


@dataclass(frozen=True, slots=True)
class PollResult:
    """One poll's good quotes and, if something went wrong, the classified reason."""

    venue: str
    quotes: tuple[Quote, ...]
    error: str | None = None
    skipped: bool = False  # paused or circuit open: nothing was asked


def _retryable(e: BaseException) -> bool:
    return isinstance(e, VenueError) and e.kind.retryable


class VenueCollector:
    def __init__(
        self,
        spec: VenueSpec,
        settings: VenueSettings,
        pegs: Mapping[str, float],
        session: aiohttp.ClientSession,
        clock: Clock,
        health: HealthRegistry,
        metrics: Metrics,
        sink: Sink,
        symbol_overrides: Mapping[str, str] | None = None,
    ) -> None:
        self.name = spec.name
        self.spec = spec
        self.settings = settings
        self.base_url = settings.base_url or spec.base_url
        self.interval = settings.poll_interval
        self._session = session
        self._clock = clock
        self._health = health
        self._metrics = metrics
        self._sink = sink
        self._component = f"venue:{spec.name}"
        self.log = log.bind(venue=spec.name)
        overrides = symbol_overrides or {}
        # market → request spelling; response key → market
        self.symbols: dict[str, str] = {
            m: overrides.get(m) or spec.symbol(m) for m in settings.markets
        }
        self.keys: dict[str, str] = {
            k: m for m, s in self.symbols.items() for k in spec.fallback_keys(m, s)
        }
        largest = max([spec.listing.weight, *(r.weight for r in self._requests())])
        self.bucket = TokenBucket.for_limit(spec.rate_limit, clock, largest)
        self.breaker = CircuitBreaker(
            settings.breaker_threshold, settings.poll_interval, settings.breaker_max_backoff
        )
        self.quality = QualityFilter(QualityRules(settings.price_band, settings.max_age, pegs))
        self.paused_until: float | None = None
        self._pause_reason = ""
        health.register(self._component)

    def _requests(self) -> list[Request]:
        return self.spec.requests(list(self.symbols.values()))

    # ------------------------------------------------------------------ start-up

    async def start(self) -> None:
        """Check which configured markets the venue lists, and fit the interval to the limit."""
        await self._check_listing()
        cost = sum(r.weight for r in self._requests())
        # Headroom over the bare minimum: polls exactly at the limit would leave no slack for
        # a retry or the listing call, and every other poll would then miss its budget.
        needed = self.bucket.min_interval(cost) * STRETCH_HEADROOM
        if needed > self.interval:
            self.log.warning(
                "poll_interval_stretched",
                configured=self.interval,
                interval=round(needed, 3),
                reason=f"{cost:g} request weight per poll exceeds {self.spec.rate_limit.note}",
            )
            self.interval = needed
            self.breaker.base = needed

    async def _check_listing(self) -> None:
        if not self.symbols:
            return
        deadline = self._clock.monotonic() + LISTING_DEADLINE
        try:
            listed = await self._get(self.spec.listing, deadline, self.spec.parse_listing)
        except (VenueError, BudgetExhausted) as e:
            self.log.warning("listing_unavailable", error=str(e), action="keeping all markets")
            if isinstance(e, VenueError) and e.kind in (ErrorKind.RATE_LIMITED, ErrorKind.BANNED):
                self._on_error(self.spec.listing, e)
            return
        missing = [m for m, s in self.symbols.items() if s not in listed]
        if missing:
            self.log.warning(
                "markets_not_listed", markets=missing, action="dropped; the rest keep running"
            )
        self.symbols = {m: s for m, s in self.symbols.items() if s in listed}
        self.keys = {listed[s]: m for m, s in self.symbols.items()}

    # ------------------------------------------------------------------ one poll

    async def poll_once(self) -> PollResult:
        """Ask the venue once for every market; never raises for venue or network trouble."""
        now = self._clock.monotonic()
        if self.paused_until is not None and now < self.paused_until:
            left = self.paused_until - now
            return self._skipped(f"paused {left:.0f}s more: {self._pause_reason}")
        if not self.breaker.allows(now):
            left = self.breaker.remaining(now)
            return self._skipped(f"circuit open for {left:.0f}s after repeated failures")
        if not self.symbols:
            return self._report(PollResult(self.name, (), "no markets to poll"))
        deadline = now + self.interval
        outcomes = await asyncio.gather(*(self._one(r, deadline) for r in self._requests()))
        quotes = [q for qs, _ in outcomes for q in qs]
        errors = [e for _, e in outcomes if e is not None]
        answered = len(errors) < len(outcomes)
        if answered:
            self.breaker.record_success()
        else:
            self.breaker.record_failure(self._clock.monotonic())
        self._note_missing(quotes, outcomes)
        good = self._filter(quotes)
        error = "; ".join(sorted({str(e) for e in errors})) or None
        return self._report(PollResult(self.name, tuple(good), error))

    async def _one(self, req: Request, deadline: float) -> tuple[list[Quote], Exception | None]:
        def parse(resp: Response) -> list[Quote]:
            return self.spec.parse(req, resp, self.keys, self._clock.now())

        try:
            return await self._get(req, deadline, parse), None
        except (VenueError, BudgetExhausted) as e:
            self._on_error(req, e)
            return [], e

    async def _get(self, req: Request, deadline: float, parse: Callable[[Response], T]) -> T:
        """GET and parse, with the shared rate budget and retries bounded by the deadline.

        Parsing happens inside the attempt so a 5xx, a timeout or garbage is retried alike.
        """

        def past_deadline(state: RetryCallState) -> bool:
            return self._clock.monotonic() + state.upcoming_sleep >= deadline

        retrying = AsyncRetrying(
            retry=retry_if_exception(_retryable),
            wait=wait_exponential_jitter(multiplier=0.25, max=4.0, jitter=0.25),
            stop=past_deadline,
            sleep=self._clock.sleep,
            reraise=True,
        )
        last: VenueError | None = None
        async for attempt in retrying:
            with attempt:
                try:
                    await self.bucket.take(req.weight, deadline)
                except BudgetExhausted:
                    if last is not None:  # the venue's own failure is the better reason
                        raise last from None
                    raise
                left = deadline - self._clock.monotonic()
                time_limit = max(0.05, min(self.settings.timeout, left))
                try:
                    result = parse(await fetch(self._session, self.base_url, req, time_limit))
                except VenueError as e:
                    self._metrics.requests.labels(self.name, e.kind.value).inc()
                    last = e
                    raise
                self._metrics.requests.labels(self.name, "ok").inc()
                return result
        raise AssertionError("unreachable: tenacity reraises")  # pragma: no cover

    def _on_error(self, req: Request, e: Exception) -> None:
        if not isinstance(e, VenueError):
            self.log.warning("request_skipped", path=req.path, reason=str(e))
            return
        if e.kind in (ErrorKind.RATE_LIMITED, ErrorKind.BANNED):
            default = DEFAULT_BAN_PAUSE if e.kind is ErrorKind.BANNED else DEFAULT_RATE_LIMIT_PAUSE
            pause = e.retry_after if e.retry_after is not None else max(default, self.interval)
            until = self._clock.monotonic() + pause
            if self.paused_until is None or until > self.paused_until:
                self.paused_until, self._pause_reason = until, str(e)
            self.log.warning("venue_paused", seconds=pause, reason=str(e))
        elif e.kind is ErrorKind.UNKNOWN_MARKET and len(req.symbols) == 1:
            # A per-market request: drop just that market; the others keep running.
            gone = [m for m, s in self.symbols.items() if s == req.symbols[0]]
            self.symbols = {m: s for m, s in self.symbols.items() if m not in gone}
            self.log.warning("market_dropped", markets=gone, reason=str(e))
        else:
            self.log.warning("request_failed", path=req.path, error=str(e))

    def _note_missing(
        self, quotes: list[Quote], outcomes: list[tuple[list[Quote], Exception | None]]
    ) -> None:
        if any(e is not None for _, e in outcomes):
            return
        got = {f"{q.coin}/{q.quote_ccy}" for q in quotes}
        for market in self.symbols:
            if market not in got:
                self._metrics.drops.labels(self.name, "not_in_answer").inc()
                self.log.info("market_not_in_answer", market=market)

    def _filter(self, quotes: list[Quote]) -> list[Quote]:
        now = self._clock.now()
        good = []
        for q in quotes:
            reason = self.quality.reason_to_drop(q, now)
            if reason is None:
                good.append(q)
                self._metrics.quotes.labels(self.name, "accepted").inc()
                continue
            self._metrics.quotes.labels(self.name, "dropped").inc()
            self._metrics.drops.labels(self.name, reason).inc()
            self.log.info(
                "quote_dropped",
                reason=reason,
                market=f"{q.coin}/{q.quote_ccy}",
                price=q.price,
                ts_exchange=q.ts_exchange,
            )
        return good

    def _skipped(self, reason: str) -> PollResult:
        return self._report(PollResult(self.name, (), reason, skipped=True))

    def _report(self, result: PollResult) -> PollResult:
        now = self._clock.now()
        if result.quotes or result.error is None:
            detail: dict[str, object] = {"quotes": len(result.quotes)}
            if result.error:
                detail["partial"] = result.error
            self._health.ok(self._component, now, **detail)
        else:
            self._health.error(self._component, now, result.error, quotes=0)
        return result

    # ------------------------------------------------------------------ the loop

    async def run(self, stop: asyncio.Event) -> None:
        """Poll on slots start + k·interval until stop is set; a bad poll never ends the loop."""
        start = self._clock.monotonic()
        while not stop.is_set():
            try:
                result = await self.poll_once()
                if result.quotes:
                    self._sink(result.quotes)
            except Exception:  # a bug here must not silence the venue for good
                self.log.exception("poll_crashed")
                self._health.error(self._component, self._clock.now(), "internal error")
            now = self._clock.monotonic()
            await self._wait(next_slot(start, self.interval, now) - now, stop)

    async def _wait(self, seconds: float, stop: asyncio.Event) -> None:
        if seconds <= 0 or stop.is_set():
            return
        sleeper = asyncio.ensure_future(self._clock.sleep(seconds))
        stopper = asyncio.ensure_future(stop.wait())
        _, pending = await asyncio.wait({sleeper, stopper}, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
