"""One polling task per chain: every pool's and feed's reads in ONE eth_call per poll.

At start-up one aggregate3 of every pool's verify_calls (coin order, decimals, the factory's
getPool) sets aside, with one warning, the pools that fail (a wrong order would silently give
the reciprocal; an address without code is the wrong address or the wrong chain). A pool not
yet verified (the node was down at start-up) is verified before its first poll, never polled
unverified. A pool set aside is verified again every SET_ASIDE_RECHECK seconds, after a poll
(the exchanges' delisted-market re-check, through the same Markets bookkeeping), so a node that
was briefly wrong at start-up costs the pool minutes, not the daemon's lifetime.

Then every poll_interval (a block) one Multicall3 aggregate3 carries every pool's and feed's
calls plus the block's number and timestamp, so every quote of a poll is from one block and
its age is known. The request goes through the REST collector's own request loop
(request.py: the token bucket — providers limit requests per second —, retries within the
poll's deadline, the Pause for a wait the node asks for, the bounded body of http.fetch),
then the breaker and the Screen. Failures are
classified by evm.parse_poll. What can go wrong, and whom it hurts:

- the node (down, 429, a JSON-RPC error): every pool's health says why; nothing is sent;
- a block older than max_block_age (a node stuck behind the chain): every pool's quotes are
  dropped as stale, the block and its age in each pool's /health;
- one pool's sub-call reverting or answering nonsense: that pool alone.

Chainlink readings are context, never quotes: the latest per feed is kept on the collector
(`readings`), and none enters the sink.

The rpc_url is a secret (provider URLs carry API keys): it is never logged, and errors name
the host at most (http.network_trouble).
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

import aiohttp
import structlog

from depeg_monitor.clock import Clock
from depeg_monitor.collect.breaker import CircuitBreaker
from depeg_monitor.collect.chain_rules import ChainRules, PoolVenue
from depeg_monitor.collect.collector import DEFAULT_RATE_LIMIT_PAUSE, Sink
from depeg_monitor.collect.markets import SET_ASIDE_RECHECK, Markets
from depeg_monitor.collect.pause import Pause
from depeg_monitor.collect.quality import QualityRules
from depeg_monitor.collect.ratelimit import BudgetExhausted, TokenBucket
from depeg_monitor.collect.request import RequestLoop, Waiting
from depeg_monitor.collect.schedule import next_slot
from depeg_monitor.collect.screen import Screen, summary
from depeg_monitor.health.registry import Component, HealthRegistry, Kind, OnChain, VenueDetail
from depeg_monitor.metrics import Metrics
from depeg_monitor.model import Quote
from depeg_monitor.venues import chainlink, curve, evm, uniswap_v3
from depeg_monitor.venues.chainlink import Feed, OracleReading
from depeg_monitor.venues.contract import ErrorKind, Request, VenueError
from depeg_monitor.venues.evm import Block, Call, Poll, Result

__all__ = ["ChainCollector", "ChainPoll", "ChainRules", "PoolVenue", "build_chain_collectors"]

log = structlog.get_logger(__name__)

# The longest wait a node may ask for (a daily quota resets within a day).
MAX_WAIT = 24 * 3600.0


def pool_calls(pool: PoolVenue) -> list[Call]:
    return curve.calls(pool) if isinstance(pool, curve.Pool) else uniswap_v3.calls(pool)


def pool_parse(pool: PoolVenue, results: Sequence[Result], block: Block, now: float) -> list[Quote]:
    if isinstance(pool, curve.Pool):
        return curve.parse(pool, results, block, now)
    return uniswap_v3.parse(pool, results, block, now)


def verify_calls(pool: PoolVenue) -> list[Call]:
    if isinstance(pool, curve.Pool):
        return curve.verify_calls(pool)
    return uniswap_v3.verify_calls(pool)


def verify(pool: PoolVenue, results: Sequence[Result]) -> None:
    if isinstance(pool, curve.Pool):
        curve.verify(pool, results)
    else:
        uniswap_v3.verify(pool, results)


@dataclass(frozen=True, slots=True)
class ChainPoll:
    """One poll: the block read (None if the node gave none) and each pool's good quotes."""

    chain: str
    block: Block | None
    quotes: tuple[Quote, ...]
    errors: dict[str, str]  # pool → why it gave nothing (the node's failure: every pool)
    skipped: bool = False


class ChainCollector:
    def __init__(
        self,
        rules: ChainRules,
        session: aiohttp.ClientSession,
        clock: Clock,
        health: HealthRegistry,
        metrics: Metrics,
        sink: Sink,
    ) -> None:
        self.name = rules.chain
        self.rules = rules
        self.interval = rules.poll_interval
        self._url = rules.rpc_url
        self._host = urlsplit(rules.rpc_url).hostname or "the node"
        self._session = session
        self._clock = clock
        self._metrics = metrics
        self._sink = sink
        self.log = log.bind(chain=rules.chain)
        rate = rules.requests_per_second
        self.bucket = TokenBucket(max(1.0, min(rate, 2.0)), rate, clock)
        self.breaker = CircuitBreaker(
            rules.breaker_threshold, rules.poll_interval, rules.breaker_max_backoff
        )
        self.pause = Pause(clock, MAX_WAIT)
        self._loop = RequestLoop(
            rules.chain,
            session,
            clock,
            self.bucket,
            self.pause,
            metrics,
            rules.timeout,
            rules.retry_network,
        )
        quality = QualityRules(
            rules.price_band, rules.max_block_age, rules.pegs, rules.max_clock_skew
        )
        self.pools = {p.name: p for p in rules.pools}
        self.health: dict[str, Component] = {
            p.name: health.component(Kind.VENUE, p.name) for p in rules.pools
        }
        self.feed_health: dict[str, Component] = {
            f.name: health.component(Kind.ORACLE, f.name) for f in rules.feeds
        }
        self._screens = {
            p.name: Screen(p.name, quality, metrics, self.log.bind(venue=p.name))
            for p in rules.pools
        }
        # Which pools are polled and which are set aside (why), as for an exchange's markets.
        self.markets = Markets({p.name: p.name for p in rules.pools}, lambda _m, _s: ())
        self.verified: set[str] = set()  # passed verification (and not set aside since)
        self._recheck_due = float("inf")  # monotonic time of the set-aside pools' re-check
        self.block: Block | None = None  # the last block read
        self.readings: dict[str, OracleReading] = {}  # feed → its latest reading (context)
        self.feed_errors: dict[str, str] = {}  # feed → why its last reading failed
        self._ids = itertools.count(1)
        self._failing = False

    @property
    def active(self) -> list[PoolVenue]:
        """The pools polled now: verified, not set aside."""
        return [p for n, p in self.pools.items() if n in self.verified]

    @property
    def set_aside(self) -> dict[str, str]:
        """Pool → why it failed its verification (verified again every SET_ASIDE_RECHECK s)."""
        return self.markets.set_aside

    def _detail(self, quotes: int) -> VenueDetail:
        """A pool's /health detail: its usable quotes, the chain and the last block read."""
        b = self.block
        onchain = OnChain(self.name) if b is None else OnChain(self.name, b.number, b.timestamp)
        return VenueDetail(quotes, onchain=onchain)

    def _aside(self, name: str) -> str:
        return (
            f"set aside, failed verification: {self.set_aside[name]} "
            f"(verified again every {SET_ASIDE_RECHECK:.0f}s)"
        )

    # ------------------------------------------------------------------ start-up

    async def start(self) -> None:
        """Verify every pool in one aggregate3; a node down now leaves them to the first poll."""
        deadline = self._clock.monotonic() + max(self.interval, self.rules.timeout)
        try:
            await self._verify(self._unverified(), deadline)
        except (VenueError, BudgetExhausted, Waiting) as e:
            self.log.warning(
                "pools_unverified", error=str(e), action="verified before their first poll"
            )
            self._on_error(e)

    def _unverified(self) -> list[PoolVenue]:
        """Pools neither verified nor set aside (the node could not say yet)."""
        return [p for n, p in self.pools.items() if n in self.markets.polled.keys() - self.verified]

    async def _verify(self, todo: Sequence[PoolVenue], deadline: float) -> None:
        """Verify `todo` in one aggregate3: the good ones are polled, the others set aside."""
        if not todo:
            return
        lists = [verify_calls(p) for p in todo]
        poll = await self._eth_call([c for cs in lists for c in cs], deadline)
        verdicts: dict[str, str | None] = {}
        for pool, results in zip(
            todo, evm.split(poll.results, [len(c) for c in lists]), strict=True
        ):
            try:
                verify(pool, results)
                verdicts[pool.name] = None
            except VenueError as e:
                verdicts[pool.name] = str(e)
        change = self.markets.checked(verdicts)
        self.verified = (self.verified | set(verdicts)) - set(self.set_aside)
        now = self._clock.now()
        for name in set(verdicts) & set(self.set_aside):
            self.health[name].error(now, self._aside(name), detail=self._detail(0))
        if change.gone:
            self.log.warning(
                "pools_set_aside",
                pools={n: self.set_aside[n] for n in change.gone},
                action=f"the other pools keep running; verified again in {SET_ASIDE_RECHECK:.0f}s",
            )
        if change.back:
            self.log.info("pools_verified_again", pools=list(change.back))
        if self.set_aside:
            self._recheck_due = self._clock.monotonic() + SET_ASIDE_RECHECK

    async def _recheck(self, deadline: float) -> None:
        """Verify the set-aside pools again once due; they are polled from the next poll on."""
        if not self.set_aside or self._clock.monotonic() < self._recheck_due:
            return
        self._recheck_due = self._clock.monotonic() + SET_ASIDE_RECHECK
        aside = [self.pools[n] for n in self.set_aside]
        try:
            await self._verify(aside, deadline)
        except (VenueError, BudgetExhausted, Waiting) as e:
            self.log.info("pools_recheck_failed", error=str(e), action="kept set aside")
            self._on_error(e)

    # ------------------------------------------------------------------ one poll

    async def poll_once(self) -> ChainPoll:
        """One eth_call for every verified pool and feed; never raises for node trouble."""
        now = self._clock.monotonic()
        if self.pause.active():
            return self._fail_all(self.pause.text(), skipped=True)
        if not self.breaker.allows(now):
            left = self.breaker.remaining(now)
            return self._fail_all(f"circuit open for {left:.0f}s after repeated failures", True)
        deadline = now + self.interval
        try:
            await self._verify(self._unverified(), deadline)
            pools = self.active
            calls = [pool_calls(p) for p in pools] + [chainlink.calls(f) for f in self.rules.feeds]
            poll = await self._eth_call([c for cs in calls for c in cs], deadline)
        except (VenueError, BudgetExhausted, Waiting) as e:
            self._on_error(e)
            self.breaker.record_failure(self._clock.monotonic())
            return self._fail_all(self.pause.text() if self.pause.active() else str(e))
        self.breaker.record_success()
        self.block = poll.block
        received = self._clock.now()
        shares = evm.split(poll.results, [len(c) for c in calls])
        self._read_feeds(poll.block, shares[len(pools) :], received)
        age = poll.block.age(received)
        if age > self.rules.max_block_age:
            for p in pools:
                self._metrics.drops.labels(p.name, "stale").inc()
            why = (
                f"block {poll.block.number} is {age:.0f}s old (max_block_age "
                f"{self.rules.max_block_age:g}s): quotes dropped as stale"
            )
            return self._fail_all(why, block=poll.block)
        good: list[Quote] = []
        errors: dict[str, str] = {}
        for pool, results in zip(pools, shares, strict=False):
            got, error = self._pool(pool, results, poll.block, received, age)
            good += got
            if error is not None:
                errors[pool.name] = error
        for name in self.set_aside:  # said with this block, so their /health stays current
            errors[name] = self._aside(name)
            self.health[name].error(received, errors[name], detail=self._detail(0))
        self._say(None)
        await self._recheck(deadline)  # after the poll: a re-check never delays its prices
        return ChainPoll(self.name, poll.block, tuple(good), errors)

    def _pool(
        self, pool: PoolVenue, results: Sequence[Result], block: Block, received: float, age: float
    ) -> tuple[list[Quote], str | None]:
        health = self.health[pool.name]
        at = f"block {block.number}, {age:.0f}s old"
        try:
            quotes = pool_parse(pool, results, block, received)
        except VenueError as e:
            self._metrics.requests.labels(pool.name, e.kind.value).inc()
            why = f"{e} ({at})"
            health.error(received, why, detail=self._detail(0))
            self._metrics.venue_polled(pool.name, received, usable=False)
            return [], why
        seen = self._screens[pool.name](quotes, received)
        detail = self._detail(len(seen.good))
        drops = dict(seen.dropped)
        if not seen.good:
            why = f"no usable quotes: {summary(drops)} dropped ({at})"
            health.error(received, why, detail=detail)
            self._metrics.venue_polled(pool.name, received, usable=False)
            return [], why
        note = f"{summary(drops)} quotes dropped ({at})" if drops else None
        health.ok(received, note=note, detail=detail)
        self._metrics.venue_polled(pool.name, received, usable=True)
        return list(seen.good), None

    def _read_feeds(
        self, block: Block, shares: Sequence[tuple[Result, ...]], received: float
    ) -> None:
        for feed, results in zip(self.rules.feeds, shares, strict=True):
            health = self.feed_health[feed.name]
            try:
                r = chainlink.parse(feed, results, block, received)
            except VenueError as e:
                if self.feed_errors.get(feed.name) != str(e):
                    self.log.info("oracle_unreadable", feed=feed.name, error=str(e))
                self.feed_errors[feed.name] = str(e)
                last = self.readings.get(feed.name)
                health.error(received, str(e), detail=self._feed_detail(feed, last))
                continue
            last = self.readings.get(feed.name)
            if last is not None:  # a new round moved from the last one's answer
                before = last.value if r.round_id != last.round_id else last.previous
                r = dataclasses.replace(r, previous=before)
            self.readings[feed.name] = r
            self.feed_errors.pop(feed.name, None)
            note = f"stale: updated {r.age:.0f}s before block {r.block_number}" if r.stale else None
            health.ok(received, note=note, detail=self._feed_detail(feed, r))

    def _feed_detail(self, feed: Feed, r: OracleReading | None) -> OnChain:
        """A feed's /health detail: its last answer and the block it was read at."""
        market = f"{feed.coin}/{feed.quote_ccy}"
        if r is None:
            return OnChain(self.name, market=market)
        return OnChain(
            self.name, r.block_number, r.block_timestamp, r.value, r.updated_at, market=market
        )

    def _fail_all(self, why: str, skipped: bool = False, block: Block | None = None) -> ChainPoll:
        now = self._clock.now()
        errors = {}
        for name, health in self.health.items():
            reason = self._aside(name) if name in self.set_aside else why
            health.error(now, reason, detail=self._detail(0))
            self._metrics.venue_polled(name, now, usable=False)
            errors[name] = reason
        for feed in self.rules.feeds:
            last = self.readings.get(feed.name)
            self.feed_health[feed.name].error(now, why, detail=self._feed_detail(feed, last))
        self._say(why)
        return ChainPoll(self.name, block, (), errors, skipped)

    # ------------------------------------------------------------------ the request

    async def _eth_call(self, calls: Sequence[Call], deadline: float) -> Poll:
        """POST one aggregate3 of `calls` through the shared request loop (the REST
        collector's budget, retries within the deadline and bounded read)."""
        rid = next(self._ids)
        req = Request("", body=evm.poll_request(calls, request_id=rid))
        return await self._loop.send(
            self._url,
            req,
            deadline,
            lambda r: evm.parse_poll(r, len(calls), rid),
            self.rules.max_body,
        )

    def _on_error(self, e: Exception) -> None:
        if isinstance(e, VenueError) and e.kind in (ErrorKind.RATE_LIMITED, ErrorKind.BANNED):
            wait = e.retry_after if e.retry_after is not None else DEFAULT_RATE_LIMIT_PAUSE
            seconds, clamped = self.pause.ask(wait, str(e))
            if clamped:
                self.log.warning("wait_clamped", asked=wait, clamped_to=seconds, reason=str(e))

    def _say(self, failing: str | None) -> None:
        """The chain's state in the log on transitions only (every pool's /health says it)."""
        if failing is None:
            if self._failing:
                self.log.info("chain_recovered", host=self._host)
            self._failing = False
        elif not self._failing:
            self._failing = True
            self.log.warning("chain_failing", host=self._host, reason=failing)

    # ------------------------------------------------------------------ the loop

    async def run(self, stop: asyncio.Event) -> None:
        """Poll on slots start + k·interval until stop is set; a bad poll never ends the loop."""
        start = self._clock.monotonic()
        while not stop.is_set():
            try:
                result = await self.poll_once()
                if result.quotes:
                    self._sink(result.quotes)
            except Exception:  # a bug here must not silence the chain for good
                self.log.exception("poll_crashed")
                self._fail_all("internal error")
                self.breaker.record_failure(self._clock.monotonic())
            now = self._clock.monotonic()
            wait = next_slot(start, self.interval, now) - now
            if wait > 0 and not stop.is_set():
                sleeper = asyncio.ensure_future(self._clock.sleep(wait))
                stopper = asyncio.ensure_future(stop.wait())
                _, pending = await asyncio.wait(
                    {sleeper, stopper}, return_when=asyncio.FIRST_COMPLETED
                )
                for task in pending:
                    task.cancel()


def build_chain_collectors(
    rules: Sequence[ChainRules],
    session: aiohttp.ClientSession,
    clock: Clock,
    health: HealthRegistry,
    metrics: Metrics,
    sink: Sink,
) -> list[ChainCollector]:
    return [ChainCollector(r, session, clock, health, metrics, sink) for r in rules if r.pools]
