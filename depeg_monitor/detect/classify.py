"""How bad is a coin's deviation: severity with persistence, hysteresis and noise-aware bands.

A pure function of (snapshot, previous state, the coin's rules, now). Rules:
- a level fires once the deviation has stayed at or beyond its threshold for that level's hold
  time (critical fastest); a higher level that has held its own hold time escalates at once;
- a level clears only after the deviation has stayed below clear_ratio × its threshold for
  clear_hold, then settles on the highest level the deviation still supports;
- in a noisy market minor/major thresholds widen by two rolling standard deviations, at most
  by volatility_widen_max and never beyond critical's threshold;
- premiums and discounts both count unless switched off for the coin;
- a snapshot without a price keeps the current severity and restarts the clear timer.

The verdict carries facts (thresholds, pending, clearing, …); alerts/render.py words them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from depeg_monitor.detect.rules import ClassifyRules, CoinRules, Levels
from depeg_monitor.model import (
    Assessment,
    Clearing,
    Fact,
    InsufficientData,
    Pending,
    Severity,
    SideIgnored,
    Snapshot,
    Thresholds,
)

LEVELS = (Severity.MINOR, Severity.MAJOR, Severity.CRITICAL)
# Noise allowance: thresholds move out by this many rolling standard deviations.
_WIDEN_SIGMAS = 2.0

_Since = tuple[float | None, float | None, float | None]


@dataclass(frozen=True, slots=True)
class CoinState:
    """What the classifier remembers about one coin between cycles.

    above_since[i] is when the deviation last started to stay at/beyond LEVELS[i]'s threshold
    (None while it is not); below_since is when it started to stay inside the clear band of
    the current severity.
    """

    severity: Severity = Severity.NONE
    since: float = 0.0
    above_since: _Since = (None, None, None)
    below_since: float | None = None


def effective_thresholds(snapshot: Snapshot, levels: Levels, widen_max: float) -> Thresholds:
    """The coin's thresholds after volatility widening, and the widening factor applied."""
    vol = snapshot.context.volatility or 0.0
    if vol <= 0:
        return Thresholds(levels.as_tuple(), 1.0)
    minor = min(levels.minor + _WIDEN_SIGMAS * vol, levels.minor * widen_max, levels.critical)
    major = min(levels.major + _WIDEN_SIGMAS * vol, levels.major * widen_max, levels.critical)
    return Thresholds((minor, major, levels.critical), major / levels.major)


def classify(
    snapshot: Snapshot, state: CoinState | None, coin: CoinRules, rules: ClassifyRules, now: float
) -> tuple[Assessment, CoinState]:
    """Judge one coin's snapshot; return the assessment and the state for the next cycle."""
    st = state if state is not None else CoinState(since=now)
    dev = snapshot.deviation
    if snapshot.price is None or dev is None:
        return _no_price(snapshot, st, coin, now)

    ignored = _ignored_side(dev, coin)
    magnitude = 0.0 if ignored is not None else abs(dev)
    thresholds = effective_thresholds(snapshot, coin.levels, rules.volatility_widen_max)
    raw, above = _raw_level(st.above_since, magnitude, thresholds, now)
    held = _held_level(above, rules, now)
    new, clearing = _settle(st, above, held, magnitude, coin.levels, rules, now)

    facts: list[Fact] = [thresholds]
    if ignored is not None:
        facts.append(ignored)
    if clearing is not None:
        facts.append(clearing)
    if raw > new.severity:
        started = above[raw - 1]
        held_for = 0.0 if started is None else now - started
        facts.append(Pending(raw, held_for, rules.hold(raw)))
    assessment = Assessment(
        snapshot.coin, now, new.severity, raw, dev, now - new.since, tuple(facts), snapshot
    )
    return assessment, new


def _no_price(
    snapshot: Snapshot, st: CoinState, coin: CoinRules, now: float
) -> tuple[Assessment, CoinState]:
    """Without a price the severity stands and the clear timer restarts: no data never clears."""
    agreeing = len({u.venue for u in snapshot.used})
    facts = (InsufficientData(agreeing, coin.min_venues),)
    assessment = Assessment(
        snapshot.coin, now, st.severity, Severity.NONE, None, now - st.since, facts, snapshot
    )
    return assessment, replace(st, below_since=None)


def _ignored_side(dev: float, coin: CoinRules) -> SideIgnored | None:
    if dev > 0 and not coin.alert_on_premium:
        return SideIgnored("premium")
    if dev < 0 and not coin.alert_on_discount:
        return SideIgnored("discount")
    return None


def _raw_level(
    previous: _Since, magnitude: float, t: Thresholds, now: float
) -> tuple[Severity, _Since]:
    """The highest level the deviation reaches right now, however briefly, and since when it has
    stayed at or beyond each level's threshold (None: it is not there now)."""
    raw = Severity.NONE
    above: list[float | None] = []
    for level, threshold, since in zip(LEVELS, t.levels, previous, strict=True):
        if magnitude >= threshold:
            raw = level
            above.append(now if since is None else since)
        else:
            above.append(None)
    return raw, (above[0], above[1], above[2])


def _held_level(above: _Since, rules: ClassifyRules, now: float) -> Severity:
    """The highest level the deviation has stayed at for that level's hold time."""
    held = Severity.NONE
    for level, since, hold in zip(LEVELS, above, rules.holds, strict=True):
        if since is not None and now - since >= hold:
            held = level
    return held


def _settle(
    st: CoinState,
    above: _Since,
    held: Severity,
    magnitude: float,
    base: Levels,
    rules: ClassifyRules,
    now: float,
) -> tuple[CoinState, Clearing | None]:
    """The next state: escalate to a held level at once; clear only after clear_hold in band.

    The clear band is measured against the coin's own thresholds, not the widened ones."""
    severity = st.severity
    if held > severity:
        return CoinState(held, now, above, None), None
    if severity == Severity.NONE:
        return CoinState(severity, st.since, above, st.below_since), None
    band = rules.clear_ratio * base.of(severity)
    if magnitude >= band:
        return CoinState(severity, st.since, above, None), None
    below = now if st.below_since is None else st.below_since
    if now - below < rules.clear_hold:
        clearing = Clearing(severity, band, now - below, rules.clear_hold)
        return CoinState(severity, st.since, above, below), clearing
    # Settle on the highest level the deviation still supports (held, or not yet inside that
    # level's own clear band); that level must clear on its own.
    supported = [
        lv for lv in LEVELS[: severity - 1] if magnitude >= rules.clear_ratio * base.of(lv)
    ]
    return CoinState(max([held, *supported]), now, above, None), None
