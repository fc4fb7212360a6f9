"""Which of a venue's configured markets are polled now, and how its answers name them.

Pure bookkeeping, no I/O: the collector reads listings and tickers and tells this what it
learned. A market the venue does not list, or refused as unknown, is *set aside* — never
forgotten: the next listing that lists it brings it back. The chain collector keeps its pools
here too (a pool that fails its verification is set aside, and verified again).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

# While a configured market is set aside, it is checked again this often (rather than at an
# hourly listing interval, or never), so a relisting or a node that was briefly wrong is
# noticed within minutes.
SET_ASIDE_RECHECK = 300.0


@dataclass(frozen=True, slots=True)
class Change:
    """What a listing changed: markets newly set aside, and markets back from being set aside."""

    gone: tuple[str, ...]
    back: tuple[str, ...]


class Markets:
    def __init__(
        self, configured: Mapping[str, str], fallback_keys: Callable[[str, str], tuple[str, ...]]
    ) -> None:
        """configured: market → request spelling. fallback_keys: the response keys a ticker
        answer may use for a market while no listing has been read (Kraken's canonical names)."""
        self.configured = dict(configured)
        self.polled: dict[str, str] = dict(configured)  # market → spelling, asked for now
        self.set_aside: dict[str, str] = {}  # market → why it is not asked for
        self.keys: dict[str, str] = {  # response key → market
            k: m for m, s in configured.items() for k in fallback_keys(m, s)
        }

    def spellings(self) -> list[str]:
        return list(self.polled.values())

    def asked_in(self, symbols: Sequence[str]) -> list[str]:
        """The polled markets a request's spellings name."""
        return [m for m, s in self.polled.items() if s in symbols]

    def listed(self, listing: Mapping[str, str]) -> Change:
        """Poll exactly the configured markets in `listing` ({spelling: response key})."""
        gone = [m for m, s in self.configured.items() if s not in listing]
        change = Change(
            gone=tuple(m for m in gone if m not in self.set_aside),
            back=tuple(m for m in self.set_aside if m not in gone),
        )
        self.set_aside = {m: "not listed" for m in gone}
        self.polled = {m: s for m, s in self.configured.items() if s in listing}
        self.keys = {listing[s]: m for m, s in self.polled.items()}
        return change

    def refused(self, markets: Sequence[str], why: str) -> list[str]:
        """Set aside polled markets the venue refused; returns those that were polled."""
        gone = [m for m in markets if m in self.polled]
        for m in gone:
            self.set_aside[m] = why
            self.polled.pop(m)
        if gone:
            self.keys = {k: m for k, m in self.keys.items() if m in self.polled}
        return gone

    def checked(self, verdicts: Mapping[str, str | None]) -> Change:
        """A re-check's verdict per market (None: good, else why not): the good ones are
        polled, the others set aside with their reason."""
        change = Change(
            gone=tuple(m for m, why in verdicts.items() if why and m not in self.set_aside),
            back=tuple(m for m, why in verdicts.items() if not why and m in self.set_aside),
        )
        for m, why in verdicts.items():
            if why:
                self.set_aside[m] = why
                self.polled.pop(m, None)
            else:
                self.set_aside.pop(m, None)
                self.polled[m] = self.configured[m]
        self.keys = {k: m for k, m in self.keys.items() if m in self.polled}
        return change
