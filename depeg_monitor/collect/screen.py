"""One poll's quotes through the edge's quality filter: counted in /metrics, logged on change."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import structlog

from depeg_monitor.collect.quality import QualityFilter, QualityRules
from depeg_monitor.metrics import Metrics
from depeg_monitor.model import Quote

# A drop summary that does not change is logged again at most this often.
DROP_LOG_INTERVAL = 60.0

Counts = tuple[tuple[str, int], ...]


@dataclass(frozen=True, slots=True)
class Screened:
    good: tuple[Quote, ...]  # worth passing on (bad figures already forgotten)
    dropped: Counts  # quotes dropped: (reason, count)
    cleaned: Counts  # figures ignored in the good quotes: (reason, count)


def summary(counts: Mapping[str, int]) -> str:
    """{'stale': 2, 'future': 1} → '1 future, 2 stale'."""
    return ", ".join(f"{n} {reason}" for reason, n in sorted(counts.items()))


class Screen:
    def __init__(
        self, venue: str, rules: QualityRules, metrics: Metrics, log: structlog.BoundLogger
    ) -> None:
        self._venue = venue
        self._filter = QualityFilter(rules)
        self._metrics = metrics
        self._log = log
        self._last: tuple[frozenset[str], float] = (frozenset(), float("-inf"))

    def __call__(self, quotes: Sequence[Quote], now: float) -> Screened:
        good: list[Quote] = []
        drops: Counter[str] = Counter()
        cleaned: Counter[str] = Counter()
        m, venue = self._metrics, self._venue
        for q in quotes:
            verdict = self._filter.check(q, now)
            for reason in verdict.cleaned:
                cleaned[reason] += 1
                m.figures_dropped.labels(venue, reason).inc()
            if verdict.quote is not None:
                good.append(verdict.quote)
                m.quotes.labels(venue, "accepted").inc()
                continue
            reason = verdict.dropped or "unknown"
            drops[reason] += 1
            m.quotes.labels(venue, "dropped").inc()
            m.drops.labels(venue, reason).inc()
        self._log_change(drops + cleaned, now)
        return Screened(tuple(good), tuple(sorted(drops.items())), tuple(sorted(cleaned.items())))

    def _log_change(self, counts: Mapping[str, int], now: float) -> None:
        """One line when the kinds of drop change, then at most one a minute while they last."""
        kinds = frozenset(counts)
        seen, at = self._last
        if kinds and (kinds != seen or now - at >= DROP_LOG_INTERVAL):
            self._log.info("quotes_dropped", reasons=dict(sorted(counts.items())))
            self._last = (kinds, now)
        elif not kinds:
            self._last = (kinds, at)
