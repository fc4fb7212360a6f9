"""One request and its parse, the way every polling source asks: the source's rate budget, the
wait it was told to honour, and retries bounded by the poll's deadline.

The REST collector (a GET per venue request) and the chain collector (one JSON-RPC POST per
poll) both ask through a RequestLoop, so a 5xx, a timeout or garbage is retried alike, a
rate-limit answer is never retried within the poll (its wait goes to the source's Pause), and
the budget running out gives the source's own last failure as the reason.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import aiohttp
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, wait_exponential_jitter

from depeg_monitor.clock import Clock
from depeg_monitor.collect.http import fetch
from depeg_monitor.collect.pause import Pause
from depeg_monitor.collect.ratelimit import BudgetExhausted, TokenBucket
from depeg_monitor.metrics import Metrics
from depeg_monitor.venues.contract import ErrorKind, Request, Response, VenueError

T = TypeVar("T")


class Waiting(Exception):
    """The source has asked us to wait: no request goes out until it said we may."""


def retryable(e: BaseException, network: bool = True) -> bool:
    if not isinstance(e, VenueError):
        return False
    if e.kind is ErrorKind.NETWORK and not network:
        return False  # a one-shot command: an unreachable host will not be back in a second
    return e.kind.retryable


def parsed(parse: Callable[[Response], T], resp: Response) -> T:
    """The source module's parse, with a backstop: whatever a parser raises on a hostile answer
    is a classified malformed answer (retried, counted, breaker-tracked), never a crash."""
    try:
        return parse(resp)
    except VenueError:
        raise
    except Exception as e:
        raise VenueError(ErrorKind.MALFORMED, f"unreadable answer ({type(e).__name__})") from None


@dataclass(frozen=True, slots=True)
class RequestLoop:
    """What one source's requests share: its session, budget, pause and counters."""

    name: str  # the source, as its request metrics are labelled
    session: aiohttp.ClientSession
    clock: Clock
    bucket: TokenBucket
    pause: Pause
    metrics: Metrics
    timeout: float  # seconds one attempt may take at most
    retry_network: bool = True

    async def send(
        self,
        base_url: str,
        req: Request,
        deadline: float,
        parse: Callable[[Response], T],
        max_body: int,
    ) -> T:
        """Ask and parse, retrying within the deadline. Parsing happens inside the attempt,
        so an answer that does not parse is retried like a failed request."""

        def past_deadline(state: RetryCallState) -> bool:
            return self.clock.monotonic() + state.upcoming_sleep >= deadline

        retrying = AsyncRetrying(
            retry=retry_if_exception(lambda e: retryable(e, self.retry_network)),
            wait=wait_exponential_jitter(multiplier=0.25, max=4.0, jitter=0.25),
            stop=past_deadline,
            sleep=self.clock.sleep,
            reraise=True,
        )
        last: VenueError | None = None
        async for attempt in retrying:
            with attempt:
                if self.pause.active():
                    # Another request of this poll was told to wait: so are we.
                    raise Waiting(self.pause.text())
                try:
                    await self.bucket.take(req.weight, deadline)
                except BudgetExhausted:
                    if last is not None:  # the source's own failure is the better reason
                        raise last from None
                    raise
                left = deadline - self.clock.monotonic()
                time_limit = max(0.05, min(self.timeout, left))
                try:
                    resp = await fetch(self.session, base_url, req, time_limit, max_body)
                    result = parsed(parse, resp)
                except VenueError as e:
                    self.metrics.requests.labels(self.name, e.kind.value).inc()
                    last = e
                    raise
                self.metrics.requests.labels(self.name, "ok").inc()
                return result
        raise AssertionError("unreachable: tenacity reraises")  # pragma: no cover
