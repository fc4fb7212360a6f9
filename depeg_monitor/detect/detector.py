"""The detection stage the daemon and replay call each cycle: aggregate, then classify."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

import structlog

from depeg_monitor.detect.aggregate import Aggregator
from depeg_monitor.detect.classify import CoinState, classify
from depeg_monitor.detect.oracles import with_oracles
from depeg_monitor.detect.rules import DetectionRules
from depeg_monitor.model import Assessment, Quote, Severity

if TYPE_CHECKING:
    from depeg_monitor.venues.chainlink import OracleReading

log = structlog.get_logger(__name__)


class Detector:
    """Keeps the aggregator's rolling state and each coin's classifier state between cycles."""

    def __init__(
        self, rules: DetectionRules, *, assumed_rates: Mapping[str, float] | None = None
    ) -> None:
        self._coins = {c.coin: c for c in rules.coins}
        self._classify = rules.classify
        self.aggregator = Aggregator(rules, assumed_rates=assumed_rates)
        self._states: dict[str, CoinState] = {}
        # The latest oracle readings, when a chain is watched: context in each snapshot.
        self.oracles: Callable[[], Iterable[OracleReading]] | None = None

    def step(self, quotes: Sequence[Quote], now: float) -> list[Assessment]:
        """One cycle: an Assessment for every configured coin, in configuration order."""
        out: list[Assessment] = []
        readings = list(self.oracles()) if self.oracles is not None else []
        for coin, snapshot in self.aggregator.aggregate(quotes, now).items():
            if readings:
                snapshot = with_oracles(snapshot, readings, now, self._coins[coin].levels)
            assessment, self._states[coin] = classify(
                snapshot, self._states.get(coin), self._coins[coin], self._classify, now
            )
            out.append(assessment)
        return out

    def retune(self, rules: DetectionRules) -> None:
        """Reloaded rules for the same coins (config reload): each coin's classifier state and
        the aggregator's rolling history go on under the new levels, holds and quorum."""
        if {c.coin for c in rules.coins} != self._coins.keys():
            raise ValueError("a reload cannot change which coins are watched")
        self._coins = {c.coin: c for c in rules.coins}
        self._classify = rules.classify
        self.aggregator.retune(rules)

    def restore(self, coin: str, severity: Severity, since: float) -> None:
        """Resume a firing level after a restart (from alert history): it must clear normally."""
        if coin not in self._coins:
            log.warning("restore_unknown_coin", coin=coin)
            return
        self._states[coin] = CoinState(severity=severity, since=since)

    def state(self, coin: str) -> CoinState | None:
        return self._states.get(coin)
