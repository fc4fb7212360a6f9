"""The latest quote per (venue, coin, quote currency), from polls and streams alike."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from depeg_monitor.model import Quote


class QuoteBook:
    def __init__(self) -> None:
        self._quotes: dict[tuple[str, str, str], Quote] = {}

    def update(self, quotes: Sequence[Quote]) -> bool:
        """Keep the newer of the held and offered quote for each market; True if a market's
        price, bid or ask changed (what is worth evaluating at once).

        A streamed quote carries no 24 h volume: it keeps the volume the venue's REST answer
        last gave, and a REST answer older than the streamed quote held still brings its
        volume in, so streaming never changes how a venue is weighted."""
        changed = False
        book = self._quotes
        for q in quotes:
            key = (q.venue, q.coin, q.quote_ccy)
            held = book.get(key)
            if held is None:
                book[key] = q
                changed = True
                continue
            if q.ts >= held.ts:
                if _no_volume(q) and not _no_volume(held):
                    q = replace(
                        q,
                        volume_base_24h=held.volume_base_24h,
                        volume_quote_24h=held.volume_quote_24h,
                    )
                if (q.price, q.bid, q.ask) != (held.price, held.bid, held.ask):
                    changed = True
                book[key] = q
            elif not _no_volume(q):
                book[key] = replace(
                    held, volume_base_24h=q.volume_base_24h, volume_quote_24h=q.volume_quote_24h
                )
        return changed

    def current(self) -> list[Quote]:
        return list(self._quotes.values())


def _no_volume(q: Quote) -> bool:
    return q.volume_base_24h is None and q.volume_quote_24h is None
