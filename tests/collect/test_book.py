"""QuoteBook keeps the newest quote per venue and market."""

from __future__ import annotations

from depeg_monitor.collect.book import QuoteBook
from depeg_monitor.model import Quote


def q(venue: str, coin: str, price: float, ts: float) -> Quote:
    return Quote(venue, coin, "USD", price, None, None, None, None, ts, ts)


def test_latest_per_market_wins_and_late_arrivals_do_not_overwrite() -> None:
    """A newer quote replaces the held one; an older one arriving later does not."""
    book = QuoteBook()
    book.update([q("kraken", "USDT", 1.0, 10), q("bitstamp", "USDT", 0.99, 10)])
    book.update([q("kraken", "USDT", 1.01, 20)])
    book.update([q("kraken", "USDT", 0.5, 15)])
    prices = {(x.venue, x.coin): x.price for x in book.current()}
    assert prices == {("kraken", "USDT"): 1.01, ("bitstamp", "USDT"): 0.99}
