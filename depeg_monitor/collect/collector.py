"""One polling task per venue: listing checks, rate budget, retries, waits, breaker, quality.

Whatever one venue sends, it can only hurt itself: every answer is read within a size cap and
a deadline, every parse failure is a classified VenueError, every wait the venue asks for is
honoured and clamped, a market it stops listing is set aside (and brought back when it lists
it again), and a poll that yields no usable quote shows in /health with the reasons.

This is the one module that talks to a venue, so its I/O decisions (listing checks, the
rescue of a refused batch, retries within a deadline, waits, reporting) stay together here,
some 400 lines; the pure parts live beside it: markets.py (what is polled), pause.py (waits),
screen.py and quality.py (the edge's verdict), ratelimit.py, breaker.py, request.py (one
request with its retries, shared with the chain collector), http.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar
from urllib.parse import urlsplit

import aiohttp
import structlog

from depeg_monitor.clock import Clock
from depeg_monitor.collect.breaker import CircuitBreaker
from depeg_monitor.collect.markets import SET_ASIDE_RECHECK, Markets
from depeg_monitor.collect.pause import Pause
from depeg_monitor.collect.quality import QualityRules
from depeg_monitor.collect.ratelimit import BudgetExhausted, TokenBucket
from depeg_monitor.collect.request import RequestLoop, Waiting
from depeg_monitor.collect.rules import CollectorRules
from depeg_monitor.collect.schedule import next_slot
from depeg_monitor.collect.screen import Counts, Screen, summary
from depeg_monitor.collect.stream import StreamCollector
from depeg_monitor.health.registry import Component, VenueDetail
from depeg_monitor.metrics import Metrics
from depeg_monitor.model import Quote
from depeg_monitor.venues.contract import ErrorKind, Request, Response, VenueError, VenueSpec

log = structlog.get_logger(__name__)

Sink = Callable[[Sequence[Quote]], None]
T = TypeVar("T")
Outcome = tuple[list[Quote], Exception | None]

# Pauses when a venue refuses without saying for how long.
DEFAULT_RATE_LIMIT_PAUSE = 30.0
DEFAULT_BAN_PAUSE = 120.0  # Binance's shortest IP ban
LISTING_DEADLINE = 15.0
STRETCH_HEADROOM = 1.1  # poll no closer than this to a venue's rate limit
# A venue still failing is said again this often in the log (it shows in /health all along).
REPEAT_LOG = 600.0
# An 'unknown market' answer re-reads the listing at most this often (it costs request weight).
LISTING_RECHECK_GAP = 60.0


@dataclass(frozen=True, slots=True)
class PollResult:
    """One poll's good quotes and, if something went wrong, the classified reason."""

    venue: str
    quotes: tuple[Quote, ...]
    error: str | None = None
    skipped: bool = False  # paused or circuit open: nothing was asked
    dropped: Counts = ()  # quality drops of this poll: (reason, count)
    cleaned: Counts = ()  # figures ignored in accepted quotes: (reason, count)


class VenueCollector:
    def __init__(
        self,
        spec: VenueSpec,
        rules: CollectorRules,
        session: aiohttp.ClientSession,
        clock: Clock,
        health: Component,
        metrics: Metrics,
        sink: Sink,
    ) -> None:
        self.name = spec.name
        self.spec = spec
        self.rules = rules
        self.base_url = rules.base_url
        self.interval = rules.poll_interval
        self.max_body = rules.max_body or spec.max_body
        self.listing_max_body = max(spec.listing_max_body, rules.max_body or 0)
        self._session = session
        self._clock = clock
        self._health = health
        self._metrics = metrics
        self._sink = sink
        self.log = log.bind(venue=spec.name)
        overrides = rules.symbol_overrides
        self.markets = Markets(
            {m: overrides.get(m) or spec.symbol(m) for m in rules.markets}, spec.fallback_keys
        )
        largest = max([spec.listing.weight, *(r.weight for r in self._requests())])
        self.bucket = TokenBucket.for_limit(spec.rate_limit, clock, largest)
        self.breaker = CircuitBreaker(
            rules.breaker_threshold, rules.poll_interval, rules.breaker_max_backoff
        )
        quality = self.quality = QualityRules(
            rules.price_band, rules.max_age, rules.pegs, rules.max_clock_skew
        )
        self.screen = Screen(spec.name, quality, metrics, self.log)
        self.pause = Pause(clock, spec.max_wait)
        self._loop = RequestLoop(
            spec.name,
            session,
            clock,
            self.bucket,
            self.pause,
            metrics,
            rules.timeout,
            rules.retry_network,
        )
        self._listing_due = 0.0  # monotonic time of the next listing check
        self._listing_read: float | None = None  # monotonic time of the last listing attempt
        self._missing: set[str] = set()  # polled markets the last full answer did not have
        self._host = urlsplit(self.base_url).hostname or self.base_url
        self._failing_since: float | None = None  # monotonic, while polls give nothing usable
        self._said_at = float("-inf")  # when the failure was last logged
        self.stream: StreamCollector | None = None  # the venue's stream, where it has one on

    def _requests(self) -> list[Request]:
        return self.spec.requests(self.markets.spellings())

    # ------------------------------------------------------------------ start-up

    async def start(self) -> None:
        """Check which configured markets the venue lists, and fit the interval to the limit."""
        await self._check_listing(self._clock.monotonic() + LISTING_DEADLINE)
        cost = sum(r.weight for r in self.spec.requests(list(self.markets.configured.values())))
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

    # ------------------------------------------------------------------ listings

    async def _check_listing(self, deadline: float) -> bool:
        """Poll exactly the configured markets the venue lists now; False if it could not say."""
        now = self._clock.monotonic()
        self._listing_read = now
        if not self.markets.configured:
            return False
        try:
            listed = await self._read_listing(deadline)
        except (VenueError, BudgetExhausted, Waiting) as e:
            self.log.warning("listing_unavailable", error=str(e), action="keeping the markets")
            if isinstance(e, VenueError) and e.kind in (ErrorKind.RATE_LIMITED, ErrorKind.BANNED):
                self._on_error(self.spec.listing, e)
            self._listing_due = now + min(self.rules.listing_interval, SET_ASIDE_RECHECK)
            return False
        change = self.markets.listed(listed)
        if change.gone:
            self.log.warning(
                "markets_not_listed",
                markets=list(change.gone),
                action="set aside; the rest keep running",
            )
        if change.back:
            self.log.info("markets_listed_again", markets=list(change.back))
        self._schedule_listing()
        return True

    async def _read_listing(self, deadline: float) -> dict[str, str]:
        """{spelling: response key} of the listed markets; narrowed to ours where the venue can."""

        async def get(req: Request) -> dict[str, str]:
            return await self._get(req, deadline, self.spec.parse_listing, self.listing_max_body)

        narrow = self.spec.listing_for
        if narrow is None:
            return await get(self.spec.listing)
        spellings = list(self.markets.configured.values())
        try:
            return await get(narrow(spellings))
        except VenueError as e:
            if e.kind is not ErrorKind.UNKNOWN_MARKET:
                raise
        # One unknown spelling refuses the whole narrowed listing: ask market by market.
        listed: dict[str, str] = {}
        for s in spellings:
            try:
                listed.update(await get(narrow([s])))
            except VenueError as e:
                if e.kind is not ErrorKind.UNKNOWN_MARKET:
                    raise
        return listed

    def _schedule_listing(self) -> None:
        wait = self.rules.listing_interval
        if self.markets.set_aside:
            wait = min(wait, SET_ASIDE_RECHECK)
        self._listing_due = self._clock.monotonic() + wait

    async def _recheck_listing(self, deadline: float) -> bool:
        """Read the listing now unless it was read a moment ago; True if it was read now."""
        last = self._listing_read
        if last is not None and self._clock.monotonic() - last < LISTING_RECHECK_GAP:
            return False
        return await self._check_listing(deadline)

    def _set_aside(self, markets: Sequence[str], why: str) -> None:
        """Stop polling markets the venue refused; the next listing check may bring them back."""
        gone = self.markets.refused(markets, why)
        if not gone:
            return
        self._listing_due = min(self._listing_due, self._clock.monotonic() + SET_ASIDE_RECHECK)
        self.log.warning("markets_set_aside", markets=gone, reason=why, until="next listing check")

    # ------------------------------------------------------------------ one poll

    async def poll_once(self) -> PollResult:
        """Ask the venue once for every market; never raises for venue or network trouble."""
        now = self._clock.monotonic()
        if self.pause.active():
            return self._skipped(self.pause.text())
        if not self.breaker.allows(now):
            left = self.breaker.remaining(now)
            return self._skipped(f"circuit open for {left:.0f}s after repeated failures")
        if not self.markets.polled:
            why = "no listed market to poll"
            if self.markets.set_aside:
                why += " (set aside: " + ", ".join(sorted(self.markets.set_aside)) + ")"
            result = self._report(PollResult(self.name, (), why))
        else:
            result = await self._poll(now + self.interval)
        if self._clock.monotonic() >= self._listing_due:
            # After the poll, so a periodic re-check never delays this poll's prices.
            await self._check_listing(
                self._clock.monotonic() + min(self.interval, LISTING_DEADLINE)
            )
        return result

    async def _poll(self, deadline: float) -> PollResult:
        outcomes = await self._ask(self._requests(), deadline, rescue=True)
        quotes = [q for qs, _ in outcomes for q in qs]
        errors = [e for _, e in outcomes if e is not None]
        if len(errors) < len(outcomes):
            self.breaker.record_success()
        else:
            self.breaker.record_failure(self._clock.monotonic())
        self._note_missing(quotes, outcomes)
        seen = self.screen(quotes, self._clock.now())
        error = "; ".join(sorted({str(e) for e in errors})) or None
        return self._report(
            PollResult(self.name, seen.good, error, dropped=seen.dropped, cleaned=seen.cleaned)
        )

    async def _ask(
        self, reqs: Sequence[Request], deadline: float, *, rescue: bool
    ) -> list[Outcome]:
        return list(await asyncio.gather(*(self._one(r, deadline, rescue) for r in reqs)))

    async def _one(self, req: Request, deadline: float, rescue: bool) -> Outcome:
        def parse(resp: Response) -> list[Quote]:
            return self.spec.parse(req, resp, self.markets.keys, self._clock.now())

        try:
            return await self._get(req, deadline, parse, self.max_body), None
        except VenueError as e:
            if e.kind is ErrorKind.UNKNOWN_MARKET and rescue:
                return await self._rescue(req, deadline, e)
            self._on_error(req, e)
            return [], e
        except (BudgetExhausted, Waiting) as e:
            self._on_error(req, e)
            return [], e

    async def _rescue(self, req: Request, deadline: float, err: VenueError) -> Outcome:
        """A request refused for an unknown market: find which, set it aside, ask for the rest
        in this same poll, so one delisted market never darkens a venue's other markets."""
        asked = self.markets.asked_in(req.symbols)
        read = await self._recheck_listing(deadline)
        still = [s for s in req.symbols if s in set(self.markets.spellings())]
        if len(req.symbols) <= 1:
            if not (read and still):  # a listed market may 404 once: only the listing drops it
                self._set_aside(asked, str(err))
            return [], err
        if not still:
            return [], err
        if read and len(still) < len(req.symbols):
            retry = self.spec.requests(still)  # the listing named the culprit
        else:
            retry = [r for s in still for r in self.spec.requests([s])]  # one by one
        outcomes = await self._ask(retry, deadline, rescue=False)
        for r, (_, e) in zip(retry, outcomes, strict=True):
            if isinstance(e, VenueError) and e.kind is ErrorKind.UNKNOWN_MARKET:
                self._set_aside(self.markets.asked_in(r.symbols), str(e))
        errors = [e for _, e in outcomes if e is not None]
        return [q for qs, _ in outcomes for q in qs], (errors[0] if errors else None)

    async def _get(
        self, req: Request, deadline: float, parse: Callable[[Response], T], max_body: int
    ) -> T:
        """GET and parse, with the shared rate budget and retries bounded by the deadline."""
        return await self._loop.send(self.base_url, req, deadline, parse, max_body)

    # ------------------------------------------------------------------ waits and errors

    def _on_error(self, req: Request, e: Exception) -> None:
        if not isinstance(e, VenueError):
            self.log.debug("request_skipped", path=req.path, reason=str(e))
            return
        if e.kind in (ErrorKind.RATE_LIMITED, ErrorKind.BANNED):
            default = DEFAULT_BAN_PAUSE if e.kind is ErrorKind.BANNED else DEFAULT_RATE_LIMIT_PAUSE
            wait = e.retry_after if e.retry_after is not None else max(default, self.interval)
            seconds, clamped = self.pause.ask(wait, str(e))
            if clamped:
                self.log.warning("wait_clamped", asked=wait, clamped_to=seconds, reason=str(e))
            self.log.debug("venue_paused", seconds=round(seconds, 3), reason=str(e))
        else:
            # Each failure shows in /health; the log says it on transitions (see _say).
            self.log.debug("request_failed", path=req.path, error=str(e))

    # ------------------------------------------------------------------ quality

    def _note_missing(self, quotes: list[Quote], outcomes: list[Outcome]) -> None:
        if any(e is not None for _, e in outcomes):
            return
        got = {f"{q.coin}/{q.quote_ccy}" for q in quotes}
        missing = {m for m in self.markets.polled if m not in got}
        if missing:
            self._metrics.drops.labels(self.name, "not_in_answer").inc(len(missing))
        if missing - self._missing:  # said once when a market goes missing, not every poll
            self.log.info("markets_not_in_answer", markets=sorted(missing - self._missing))
        self._missing = missing

    # ------------------------------------------------------------------ reporting

    def _skipped(self, reason: str) -> PollResult:
        return self._report(PollResult(self.name, (), reason, skipped=True))

    def _report(self, result: PollResult) -> PollResult:
        """A poll counts as a success only if it gave at least one usable quote."""
        now = self._clock.now()
        drops = dict(result.dropped)
        aside = tuple(sorted(self.markets.set_aside))
        set_aside = ", ".join(aside) or None
        detail = VenueDetail(len(result.quotes), aside)
        if result.quotes:
            # Usable, but not whole: each thing left out is a reason to warn.
            notes = [
                *([f"{summary(drops)} quotes dropped"] if drops else []),
                *([f"{summary(dict(result.cleaned))} figures ignored"] if result.cleaned else []),
                *([f"set aside: {set_aside}"] if set_aside else []),
                *([f"partial: {result.error}"] if result.error else []),
            ]
            self._health.ok(now, note="; ".join(notes) or None, detail=detail)
            self._metrics.venue_polled(self.name, now, usable=True)
            self._say(None)
            return result
        if self.pause.active():
            why = self.pause.text()  # says until when
        elif result.error is not None:
            why = result.error
        elif drops:
            why = f"no usable quotes: {summary(drops)} dropped"
        else:
            why = "no usable quotes: the answer had none of the markets asked for"
        self._health.error(now, why, detail=detail)
        self._metrics.venue_polled(self.name, now, usable=False)
        self._say(why)
        return result

    def _say(self, failing: str | None) -> None:
        """The venue's state in the log on transitions only: failing once (with the host and
        why, in words), again every REPEAT_LOG seconds while it lasts, recovered once."""
        now = self._clock.monotonic()
        if failing is None:
            if self._failing_since is not None:
                down = now - self._failing_since
                self.log.info("venue_recovered", host=self._host, after_seconds=round(down))
            self._failing_since = None
            return
        if self._failing_since is None:
            self._failing_since = self._said_at = now
            self.log.warning("venue_failing", host=self._host, reason=failing)
        elif now - self._said_at >= REPEAT_LOG:
            self._said_at = now
            down = round(now - self._failing_since)
            self.log.warning(
                "venue_still_failing", host=self._host, reason=failing, for_seconds=down
            )

    # ------------------------------------------------------------------ the loop

    async def run(self, stop: asyncio.Event) -> None:
        """Poll on slots start + k·interval until stop is set; a bad poll never ends the loop.
        While the venue's stream is healthy the slots are stream_poll_interval apart; the
        moment it is not, polling is back at the normal interval."""
        start = self._clock.monotonic()
        while not stop.is_set():
            interval = self.interval
            stream = self.stream
            if stream is not None:
                stream.changed.clear()
                if stream.healthy:
                    interval = max(self.interval, stream.rules.poll_interval)
            try:
                result = await self.poll_once()
                if result.quotes:
                    self._sink(result.quotes)
                    if stream is not None:
                        stream.reconcile(result.quotes)
            except Exception:  # a bug here must not silence the venue for good
                self.log.exception("poll_crashed")
                self._health.error(self._clock.now(), "internal error")
                self._metrics.venue_polled(self.name, self._clock.now(), usable=False)
                self.breaker.record_failure(self._clock.monotonic())
            now = self._clock.monotonic()
            if interval != self.interval:
                # Relaxed: a normal slot is kept in step, the next relaxed one is waited for,
                # and a stream turning unhealthy ends the wait at once.
                await self._wait(interval, stop, stream.changed if stream else None)
                if stream is not None and not stream.healthy:
                    start = self._clock.monotonic()
                continue
            await self._wait(next_slot(start, self.interval, now) - now, stop)

    async def _wait(
        self, seconds: float, stop: asyncio.Event, wake: asyncio.Event | None = None
    ) -> None:
        if seconds <= 0 or stop.is_set():
            return
        waiters: set[asyncio.Future[object]] = {asyncio.ensure_future(self._clock.sleep(seconds))}
        waiters.add(asyncio.ensure_future(stop.wait()))
        if wake is not None:
            waiters.add(asyncio.ensure_future(wake.wait()))
        _, pending = await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
