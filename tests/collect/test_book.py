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


def test_a_streamed_quote_keeps_the_volume_the_venues_rest_answer_gave() -> None:
    """A streamed quote (no volume) keeps the 24 h volume of the REST answer it replaces, and
    a REST answer stamped before the held streamed quote still brings its volume in."""
    book = QuoteBook()
    rest = Quote("kraken", "USDT", "USD", 1.0, None, None, 5e6, 5e6, 10.0, 10.0)
    book.update([rest])
    book.update([q("kraken", "USDT", 0.999, 20)])
    (held,) = book.current()
    assert (held.price, held.volume_base_24h) == (0.999, 5e6)
    book.update([Quote("kraken", "USDT", "USD", 1.0, None, None, 7e6, 7e6, 15.0, 15.0)])
    (held,) = book.current()
    assert (held.price, held.volume_base_24h) == (0.999, 7e6)


def test_only_a_changed_price_counts_as_a_change() -> None:
    """The same price again (a newer poll of a quiet market) is no change; a new price is."""
    book = QuoteBook()
    assert book.update([q("kraken", "USDT", 1.0, 10)])
    assert not book.update([q("kraken", "USDT", 1.0, 20)])
    assert book.update([q("kraken", "USDT", 0.98, 30)])
