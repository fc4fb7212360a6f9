"""What a simulated venue is: its routes as pure functions of (request, book) → reply."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from depeg_monitor.simulate.pricing import Tick


@dataclass(frozen=True, slots=True)
class Reply:
    """An HTTP answer: a JSON-able body, or a str sent as it is."""

    status: int
    body: Any
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Book:
    """One venue's markets at the moment of a request."""

    venue: str
    now: float  # wall-clock UTC epoch seconds
    ticks: Mapping[str, Tick]  # "BASE/QUOTE" → tick, listed markets only, in listing order

    @property
    def now_ms(self) -> int:
        return int(self.now * 1000)

    def find(self, symbol: str, spell: Callable[[Tick], str]) -> Tick | None:
        """The tick whose venue spelling is `symbol` (case-insensitive), if listed."""
        wanted = symbol.upper()
        return next((t for t in self.ticks.values() if spell(t).upper() == wanted), None)


@dataclass(frozen=True, slots=True)
class Ask:
    """The parts of a request a route looks at."""

    match: Mapping[str, str]  # path parameters
    query: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class RateLimitHit:
    """A request that arrived inside a rate-limit window."""

    retry_after: int  # whole seconds until the window ends (at least 1)
    hits: int  # requests in this window so far, this one included
    ban_after: int  # Binance: 429s before it bans with 418
    until: float  # wall-clock epoch when the window ends
    # A scripted wait sent instead of retry_after, as (seconds, milliseconds) header text:
    # a scenario may ask for 1e12 or "NaN" to see that the client clamps what it is told.
    scripted: tuple[str, str] | None = None

    @property
    def seconds_text(self) -> str:
        """The wait as a header in seconds (Retry-After)."""
        return self.scripted[0] if self.scripted else str(self.retry_after)

    @property
    def ms_text(self) -> str:
        """The wait as a header in milliseconds (KuCoin's gw-ratelimit-reset)."""
        return self.scripted[1] if self.scripted else str(self.retry_after * 1000)


Route = Callable[[Ask, Book], Reply]
# Every spelling a market goes by in the venue's requests and answers (case-insensitive).
Names = Callable[[Tick], tuple[str, ...]]


@dataclass(frozen=True, slots=True)
class VenueApi:
    name: str
    routes: tuple[tuple[str, Route], ...]  # GET paths below the venue's prefix
    rate_limited: Callable[[RateLimitHit], Reply]
    names: Names  # how requests name a market and answers key its row

    def markets_named(self, ask: Ask, book: Book) -> tuple[str, ...]:
        """The listed markets a request names in its path or query (none: it asks for all).

        Query values are split the ways venues list several markets: "a,b" and '["a","b"]'.
        """
        raw = [*ask.match.values(), *ask.query.values()]
        words = {w.strip(' []"').upper() for v in raw for w in v.split(",")}
        return tuple(
            m for m, t in book.ticks.items() if any(n.upper() in words for n in self.names(t))
        )


def num(x: float, places: int = 8) -> str:
    """A price or volume the way exchanges send them: a fixed-point string."""
    return f"{x:.{places}f}"


def retry_after(hit: RateLimitHit) -> dict[str, str]:
    return {"Retry-After": hit.seconds_text}


def named_by(*spellings: Callable[[Tick], str]) -> Names:
    """A venue's Names from its spelling functions."""

    def names(t: Tick) -> tuple[str, ...]:
        return tuple(s(t) for s in spellings)

    return names


def spelling(sep: str = "", *, lower: bool = False) -> Callable[[Tick], str]:
    """How a venue writes a market: BASE{sep}QUOTE, lower-cased if it says so."""

    def spell(t: Tick) -> str:
        text = f"{t.base}{sep}{t.quote}"
        return text.lower() if lower else text

    return spell


def market_route(
    spell: Callable[[Tick], str],
    answer: Callable[[Tick, Book], Reply],
    missing: Reply | Callable[[str], Reply],
    *,
    param: str,
    in_query: bool = False,
) -> Route:
    """A route about the one market named by path parameter (or query) `param`."""

    def route(ask: Ask, book: Book) -> Reply:
        name = ask.query.get(param, "") if in_query else ask.match[param]
        t = book.find(name, spell)
        if t is None:
            return missing if isinstance(missing, Reply) else missing(name)
        return answer(t, book)

    return route


def too_many(body: Any) -> Callable[[RateLimitHit], Reply]:
    """The usual throttle answer: HTTP 429, the venue's error body and Retry-After."""

    def rate_limited(hit: RateLimitHit) -> Reply:
        return Reply(429, body, retry_after(hit))

    return rate_limited
