"""How bad is a coin's deviation: severity with persistence, hysteresis and noise-aware bands.

A pure function of (snapshot, previous state, the coin's rules, now). Rules:
- a level fires once the deviation has stayed at or beyond its threshold for that level's hold
  time (critical fastest); a higher level that has held its own hold time escalates at once;
- a level clears only after the deviation has stayed below clear_ratio × its threshold for
  clear_hold, then settles on the highest level the deviation still supports;
- a level holds after its hold time *and* a number of cycles beyond it (where one cycle is
  longer than the hold — hourly data — the cycles alone count);
- major and critical count only as far as confirm_venues venues go beyond them on the same
  side (every venue, if fewer): one venue's crash is a dislocation, not a depeg;
- in a noisy market minor/major thresholds widen by two standard deviations of the noise
  measured while the coin was calm — frozen while a level fires or is pending, so a depeg
  cannot widen its own bar — at most by volatility_widen_max and never beyond critical's;
- premiums and discounts both count unless switched off for the coin;
- a snapshot without a price keeps the current severity and restarts the clear timer.

The verdict carries facts (thresholds, pending, clearing, …); alerts/render.py words them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from depeg_monitor.detect.rules import ClassifyRules, CoinRules, Levels
from depeg_monitor.frozen import fast_init
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
    Unconfirmed,
    VenuePrice,
)

LEVELS = (Severity.MINOR, Severity.MAJOR, Severity.CRITICAL)
# Noise allowance: thresholds move out by this many rolling standard deviations.
_WIDEN_SIGMAS = 2.0

_Since = tuple[float | None, float | None, float | None]
_NEVER: _Since = (None, None, None)


@fast_init
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
    above_cycles: tuple[int, int, int] = (0, 0, 0)  # consecutive cycles beyond each level
    last_ts: float | None = None  # the previous cycle (its interval: how long one cycle is)
    calm_volatility: float | None = None  # the noise when the coin was last calm


def effective_thresholds(snapshot: Snapshot, levels: Levels, widen_max: float) -> Thresholds:
    """The coin's thresholds after widening by this snapshot's own volatility."""
    return thresholds_for(snapshot.context.volatility, levels, widen_max)


def thresholds_for(volatility: float | None, levels: Levels, widen_max: float) -> Thresholds:
    """The coin's thresholds after volatility widening, and the widening factor applied."""
    vol = volatility or 0.0
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
    volatility, calm_volatility = _noise(st, snapshot, magnitude, coin.levels)
    thresholds = thresholds_for(volatility, coin.levels, rules.volatility_widen_max)
    t = thresholds.levels
    # Below major's and critical's thresholds the venues change nothing (most cycles): what
    # they confirm is never more than the aggregate's own magnitude.
    high = magnitude >= t[1] or magnitude >= t[2]
    magnitudes = (magnitude, magnitude, magnitude)
    if high:
        # Major and critical count only as far as enough venues go: the need-th venue's
        # magnitude.
        confirmed, mags, needed = _venues_confirm(snapshot, dev, magnitude, rules)
        magnitudes = (magnitude, min(magnitude, confirmed), min(magnitude, confirmed))
    raw, above, cycles = _raw_level(st, magnitudes, thresholds, now)
    interval = 0.0 if st.last_ts is None else now - st.last_ts
    held = _held_level(above, cycles, interval, rules, now)
    severity, since, below_since, clearing = _settle(
        st, above, held, magnitude, coin.levels, rules, now
    )
    new = CoinState(severity, since, above, below_since, cycles, now, calm_volatility)

    facts: list[Fact] = [thresholds]
    if ignored is not None:
        facts.append(ignored)
    if clearing is not None:
        facts.append(clearing)
    if high:
        alone = _level_of(magnitude, thresholds)
        if alone > raw and alone >= Severity.MAJOR:
            beyond = sum(1 for m in mags if m >= thresholds.of(alone))
            facts.append(Unconfirmed(alone, beyond, needed))
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
    agreeing = len({u.venue for u in _fresh_venues(snapshot)})
    facts = (InsufficientData(agreeing, coin.min_venues),)
    assessment = Assessment(
        snapshot.coin, now, st.severity, Severity.NONE, None, now - st.since, facts, snapshot
    )
    return assessment, st if st.below_since is None else replace(st, below_since=None)


def _ignored_side(dev: float, coin: CoinRules) -> SideIgnored | None:
    if dev > 0 and not coin.alert_on_premium:
        return SideIgnored("premium")
    if dev < 0 and not coin.alert_on_discount:
        return SideIgnored("discount")
    return None


def _noise(
    st: CoinState, snapshot: Snapshot, magnitude: float, levels: Levels
) -> tuple[float | None, float | None]:
    """(the volatility that widens this cycle's thresholds, the calm noise to remember).

    Measured only while the coin is calm (nothing firing, nothing pending, inside minor's own
    threshold); from the first cycle of a move on, the noise from before it applies. With no
    calm measurement yet (a move from the start), no widening."""
    now_vol = snapshot.context.volatility
    calm = st.severity == Severity.NONE and st.above_since == _NEVER and magnitude < levels.minor
    if calm:
        return now_vol, now_vol
    return st.calm_volatility, st.calm_volatility


def _venues_confirm(
    snapshot: Snapshot, dev: float, magnitude: float, rules: ClassifyRules
) -> tuple[float, list[float], int]:
    """(how far the need-th venue goes on the aggregate's side, the fresh markets' magnitudes
    beyond the peg on that side, farthest first, need).

    Every fresh market counts, the followed cluster (used) and a dislocated one alike, each of
    a venue's markets on its own (the need is capped at the number of venues). Counting each
    exchange once (the nearer or the farther of its markets) was tried: on SVB it held the
    critical back 8 minutes, while only Kraken traded and Binance.US showed a frozen book."""
    venues = _fresh_venues(snapshot)
    peg = snapshot.peg
    sign = -1.0 if dev < 0 else 1.0
    mags = sorted(
        (m for m in ((v.price_usd - peg) / peg * sign for v in venues) if m > 0), reverse=True
    )
    needed = min(rules.confirm_venues, len({v.venue for v in venues}))
    if needed <= 0:
        return magnitude, mags, needed
    return (mags[needed - 1] if len(mags) >= needed else 0.0), mags, needed


def _fresh_venues(snapshot: Snapshot) -> tuple[VenuePrice, ...]:
    """Every fresh venue's price: the followed cluster's and any dislocated one's."""
    return snapshot.used + (snapshot.dislocation.venues if snapshot.dislocation else ())


def _level_of(magnitude: float, t: Thresholds) -> Severity:
    level = Severity.NONE
    for lv, threshold in zip(LEVELS, t.levels, strict=True):
        if magnitude >= threshold:
            level = lv
    return level


def _raw_level(
    st: CoinState, magnitudes: tuple[float, float, float], t: Thresholds, now: float
) -> tuple[Severity, _Since, tuple[int, int, int]]:
    """The highest level the deviation reaches right now, however briefly; since when, and for
    how many cycles, it has stayed at or beyond each level's threshold (None, 0: not now)."""
    levels = t.levels
    if magnitudes[0] < levels[0] and magnitudes[1] < levels[1] and magnitudes[2] < levels[2]:
        return Severity.NONE, _NEVER, (0, 0, 0)  # the calm case, most cycles: nothing reached
    raw = Severity.NONE
    above: list[float | None] = []
    cycles: list[int] = []
    for i, (level, threshold) in enumerate(zip(LEVELS, levels, strict=True)):
        if magnitudes[i] >= threshold:
            raw = level
            since = st.above_since[i]
            above.append(now if since is None else since)
            cycles.append(st.above_cycles[i] + 1 if since is not None else 1)
        else:
            above.append(None)
            cycles.append(0)
    return raw, (above[0], above[1], above[2]), (cycles[0], cycles[1], cycles[2])


def _held_level(
    above: _Since, cycles: tuple[int, int, int], interval: float, rules: ClassifyRules, now: float
) -> Severity:
    """The highest level the deviation has stayed at for its hold: its seconds (or one cycle
    longer than them) and its cycles."""
    held = Severity.NONE
    if above == _NEVER:
        return held
    for i, (level, since) in enumerate(zip(LEVELS, above, strict=True)):
        hold = rules.holds[i]
        if since is None or cycles[i] < rules.hold_cycles[i]:
            continue
        if now - since >= hold or interval >= hold > 0:
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
) -> tuple[Severity, float, float | None, Clearing | None]:
    """The next (severity, since, below_since): escalate to a held level at once; clear only
    after clear_hold in band; and the clearing under way, if any.

    The clear band is measured against the coin's own thresholds, not the widened ones."""
    severity = st.severity
    if held > severity:
        return held, now, None, None
    if severity == Severity.NONE:
        return severity, st.since, st.below_since, None
    band = rules.clear_ratio * base.of(severity)
    if magnitude >= band:
        return severity, st.since, None, None
    below = now if st.below_since is None else st.below_since
    if now - below < rules.clear_hold:
        clearing = Clearing(severity, band, now - below, rules.clear_hold)
        return severity, st.since, below, clearing
    # Settle on the highest level the deviation still supports (held, or not yet inside that
    # level's own clear band); that level must clear on its own.
    supported = [
        lv for lv in LEVELS[: severity - 1] if magnitude >= rules.clear_ratio * base.of(lv)
    ]
    return max([held, *supported]), now, None, None
