"""Building blocks a venue module is assembled from: how it spells a market, how it asks
for markets (one request each, or all at once), and how it reads ticker rows and listings.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from depeg_monitor.model import Quote
from depeg_monitor.venues.contract import (
    ParseFn,
    Request,
    RequestsFn,
    Response,
    SymbolFn,
    split_market,
)
from depeg_monitor.venues.fields import TickerFields, field_of, ticker_quote


def spelling(sep: str = "", *, lower: bool = False) -> SymbolFn:
    """The symbol function of a venue that writes BASE/QUOTE as BASE{sep}QUOTE."""

    def symbol(market: str) -> str:
        base, quote_ccy = split_market(market)
        text = f"{base}{sep}{quote_ccy}"
        return text.lower() if lower else text

    return symbol


def per_market(template: str, placeholder: str) -> RequestsFn:
    """One request per market, its spelling put into the path (e.g. /ticker/{pair}/)."""

    def requests(symbols: Sequence[str]) -> list[Request]:
        return [Request(template.format(**{placeholder: s}), symbols=(s,)) for s in symbols]

    return requests


def all_at_once(
    path: str,
    params: tuple[tuple[str, str], ...] = (),
    weight: float = 1.0,
    *,
    list_param: str | None = None,
) -> RequestsFn:
    """One request for every market; `list_param` (if any) names them comma-separated, first."""

    def requests(symbols: Sequence[str]) -> list[Request]:
        if not symbols:
            return []
        listed = ((list_param, ",".join(symbols)),) if list_param else ()
        return [Request(path, listed + params, weight, tuple(symbols))]

    return requests


def requested_market(req: Request, keys: Mapping[str, str]) -> str | None:
    """The market a one-market request asked for (None: not one we watch)."""
    return keys.get(req.symbols[0]) if req.symbols else None


def one_ticker(venue: str, check: Callable[[Response], Any], fields: TickerFields) -> ParseFn:
    """The parser of a one-market-per-request venue: check the answer, read one ticker."""

    def parse(
        req: Request, resp: Response, keys: Mapping[str, str], received: float
    ) -> list[Quote]:
        payload = check(resp)
        market = requested_market(req, keys)
        return [] if market is None else [ticker_quote(venue, market, received, payload, fields)]

    return parse


def rows_to_quotes(
    venue: str,
    rows: Iterable[Any],
    keys: Mapping[str, str],
    received: float,
    fields: TickerFields,
    *,
    key_field: str,
    ts_exchange: float | None = None,
) -> list[Quote]:
    """Quotes for the rows of a list answer whose `key_field` names a market we watch."""
    out = []
    for row in rows:
        key = field_of(row, key_field)
        market = keys.get(key) if isinstance(key, str) else None
        if market is not None:
            out.append(ticker_quote(venue, market, received, row, fields, ts_exchange))
    return out


def listed(
    rows: Iterable[Any], key_field: str, trading: Callable[[dict[str, Any]], bool]
) -> dict[str, str]:
    """{spelling: spelling} for the listing rows whose `key_field` is a name and still trade."""
    return {
        r[key_field]: r[key_field]
        for r in rows
        if isinstance(r, dict) and isinstance(r.get(key_field), str) and r[key_field] and trading(r)
    }
