"""The latest quote per (venue, coin, quote currency)."""

from __future__ import annotations

from collections.abc import Sequence

from depeg_monitor.model import Quote


class QuoteBook:
    def __init__(self) -> None:
        self._quotes: dict[tuple[str, str, str], Quote] = {}

    def update(self, quotes: Sequence[Quote]) -> None:
        """Keep the newer of the held and offered quote for each market."""
        for q in quotes:
            key = (q.venue, q.coin, q.quote_ccy)
            held = self._quotes.get(key)
            if held is None or q.ts >= held.ts:
                self._quotes[key] = q

    def current(self) -> list[Quote]:
        return list(self._quotes.values())
