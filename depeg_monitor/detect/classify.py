"""How bad is a coin's deviation: severity with persistence, hysteresis and noise-aware bands.

A pure function of (snapshot, previous state, settings, now). Rules:
- a level fires once the deviation has stayed at or beyond its threshold for that level's hold
  time (critical fastest); a higher level that has held its own hold time escalates at once;
- a level clears only after the deviation has stayed below clear_ratio × its threshold for
  clear_hold, then settles on the highest level the deviation still supports;
- in a noisy market minor/major thresholds widen by two rolling standard deviations, at most
  by volatility_widen_max and never beyond critical's threshold;
- premiums and discounts both count unless switched off for the coin;
- a snapshot without a price keeps the current severity and restarts the clear timer.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from depeg_monitor.config import CoinThresholds, Settings
from depeg_monitor.model import Assessment, Severity, Snapshot

LEVELS = (Severity.MINOR, Severity.MAJOR, Severity.CRITICAL)
# Enum .name is a slow descriptor; this runs for every coin every cycle.
_LABEL = {s: s.name.lower() for s in Severity}
# Noise allowance: thresholds move out by this many rolling standard deviations.
_WIDEN_SIGMAS = 2.0


@dataclass(frozen=True, slots=True)
class CoinState:
    """What the classifier remembers about one coin between cycles.

    above_since[i] is when the deviation last started to stay at/beyond LEVELS[i]'s threshold
    (None while it is not); below_since is when it started to stay inside the clear band of
    the current severity.
    """

    severity: Severity = Severity.NONE
    since: float = 0.0
    above_since: tuple[float | None, float | None, float | None] = (None, None, None)
    below_since: float | None = None


def _pct(x: float) -> str:
    return f"{x * 100:.2f} %"


def _fmt_duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def effective_thresholds(
    snapshot: Snapshot, settings: Settings, t: CoinThresholds | None = None
) -> tuple[tuple[float, float, float], float]:
    """(minor, major, critical) after volatility widening, and the widening factor applied."""
    if t is None:
        t = settings.thresholds_for(snapshot.coin)
    vol = snapshot.context.volatility or 0.0
    cap = settings.classification.volatility_widen_max
    if vol <= 0:
        return (t.minor, t.major, t.critical), 1.0
    minor = min(t.minor + _WIDEN_SIGMAS * vol, t.minor * cap, t.critical)
    major = min(t.major + _WIDEN_SIGMAS * vol, t.major * cap, t.critical)
    return (minor, major, t.critical), major / t.major


def classify(
    snapshot: Snapshot, state: CoinState | None, settings: Settings, now: float
) -> tuple[Assessment, CoinState]:
    """Judge one coin's snapshot; return the assessment and the state for the next cycle."""
    st = state if state is not None else CoinState(since=now)
    cls = settings.classification
    base = settings.thresholds_for(snapshot.coin)
    base_levels = (base.minor, base.major, base.critical)

    if snapshot.price is None or snapshot.deviation is None:
        coin_cfg = settings.coins.get(snapshot.coin)
        need = (coin_cfg.min_venues if coin_cfg else None) or settings.aggregation.min_venues
        venues = sorted({u.venue for u in snapshot.used})
        why = [f"insufficient data: {len(venues)} of {need} venues agree"]
        reasons_dropped = sorted({f"{d.venue} {d.reason}" for d in snapshot.dropped})
        if reasons_dropped:
            why.append("dropped: " + ", ".join(reasons_dropped[:6]))
        new_state = replace(st, below_since=None)
        return (
            Assessment(
                snapshot.coin,
                now,
                st.severity,
                Severity.NONE,
                None,
                now - st.since,
                tuple(why),
                snapshot,
            ),
            new_state,
        )

    dev = snapshot.deviation
    coin_cfg = settings.coins.get(snapshot.coin)
    reasons: list[str] = []
    side = "above" if dev > 0 else "below"
    counted = True
    if coin_cfg is not None:
        if dev > 0 and not coin_cfg.alert_on_premium:
            counted = False
            reasons.append("premium ignored by settings")
        elif dev < 0 and not coin_cfg.alert_on_discount:
            counted = False
            reasons.append("discount ignored by settings")
    magnitude = abs(dev) if counted else 0.0

    levels, widen = effective_thresholds(snapshot, settings, base)
    raw = Severity.NONE
    above: list[float | None] = list(st.above_since)
    for i, level in enumerate(LEVELS):
        if magnitude >= levels[i]:
            raw = level
            if above[i] is None:
                above[i] = now
        else:
            above[i] = None
    holds = (cls.hold_minor, cls.hold_major, cls.hold_critical)
    held = Severity.NONE
    for i, level in enumerate(LEVELS):
        since_i = above[i]
        if since_i is not None and now - since_i >= holds[i]:
            held = level

    severity, since, below_since = st.severity, st.since, st.below_since
    if held > severity:
        severity, since, below_since = held, now, None
    elif severity > Severity.NONE:
        clear_at = cls.clear_ratio * base_levels[severity - 1]
        if magnitude < clear_at:
            below_since = now if below_since is None else below_since
            if now - below_since >= cls.clear_hold:
                # Settle on the highest level the deviation still supports (held, or not yet
                # inside that level's own clear band); that level must clear on its own.
                floor = held
                for i, level in enumerate(LEVELS[: severity - 1]):
                    if magnitude >= cls.clear_ratio * base_levels[i]:
                        floor = max(floor, level)
                severity, since, below_since = floor, now, None
            else:
                reasons.append(
                    f"clearing: inside {_pct(clear_at)} for "
                    f"{_fmt_duration(now - below_since)} of {_fmt_duration(cls.clear_hold)}"
                )
        else:
            below_since = None

    reasons.insert(0, f"price {snapshot.price:.4f} is {_pct(abs(dev))} {side} peg")
    if severity > Severity.NONE:
        reasons.append(f"{_LABEL[severity]} at ≥ {_pct(levels[severity - 1])}")
    if raw > severity:
        i = raw - 1
        started = above[i]
        pending = 0.0 if started is None else now - started
        reasons.append(
            f"{_LABEL[raw]} pending: held {_fmt_duration(pending)} of {_fmt_duration(holds[i])}"
        )
    if widen > 1.0005:
        reasons.append(f"thresholds widened ×{widen:.2f} for volatility")
    if snapshot.context.correlated:
        reasons.append("also deviating: " + ", ".join(snapshot.context.correlated))

    above_t = (above[0], above[1], above[2])
    if (severity, since, above_t, below_since) == (
        st.severity,
        st.since,
        st.above_since,
        st.below_since,
    ):
        new_state = st  # a calm cycle changes nothing: skip building a new frozen object
    else:
        new_state = CoinState(severity, since, above_t, below_since)
    assessment = Assessment(
        snapshot.coin, now, severity, raw, dev, now - since, tuple(reasons), snapshot
    )
    return assessment, new_state
