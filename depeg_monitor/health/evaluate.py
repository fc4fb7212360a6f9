"""Is the monitor able to do its job? A pure function of the health board and the clock.

The answer follows the health-check RFC draft (application/health+json): pass and warn mean
"still watching" (HTTP 200), fail means "cannot warn anyone right now" (HTTP 503).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Literal

from depeg_monitor.health.registry import (
    ChannelDetail,
    ComponentState,
    HealthRegistry,
    Kind,
    OnChain,
    StoreDetail,
    StreamDetail,
    VenueDetail,
)

Status = Literal["pass", "warn", "fail"]
_RANK: dict[Status, int] = {"pass": 0, "warn": 1, "fail": 2}

# A coin without a price for this fraction of stale_after is a warning (quorum lost briefly).
QUORUM_WARN_FRACTION = 0.25


@dataclass(frozen=True, slots=True)
class HealthRules:
    """What /health judges against, compiled from [health] and [coins] at the root."""

    coins: tuple[str, ...]  # every monitored coin must have a fresh price …
    stale_after: float  # … within this many seconds, or /health fails
    stall_after: float  # the main loop not completing a cycle this long → fail
    # The channels of the critical route that could be built: none, or all failing → fail;
    # None while the daemon is still starting and has not built them.
    critical_channels: tuple[str, ...] | None = None


def worst(*statuses: Status) -> Status:
    return max(statuses, key=_RANK.__getitem__, default="pass")


def iso(ts: float | None) -> str | None:
    return None if ts is None else datetime.fromtimestamp(ts, UTC).isoformat()


def _onchain_json(o: OnChain) -> dict[str, Any]:
    out: dict[str, Any] = {"chain": o.chain}
    if o.block is not None:
        out["block"] = o.block
        out["blockTime"] = iso(o.block_ts)
    if o.market is not None:
        out["market"] = o.market
    if o.value is not None:
        out["value"] = o.value
        out["updatedAt"] = iso(o.updated_at)
    return out


def onchain_of(st: ComponentState) -> OnChain | None:
    """The chain and block a pool's or a feed's state carries (None for an exchange)."""
    if isinstance(st.detail, OnChain):
        return st.detail
    return st.detail.onchain if isinstance(st.detail, VenueDetail) else None


@dataclass(frozen=True, slots=True)
class Check:
    """One component's line in the report."""

    status: Status
    output: str | None = None  # why it is not pass; free of secrets
    observed_value: float | None = None
    observed_unit: str | None = None
    time: float | None = None  # when the component last did its job
    # Its key in application/health+json ({component}:{measurement}, health/document.py):
    # what the component is called and what observedValue measures. "" names it by its key.
    component: str = ""
    measurement: str = "status"
    component_type: str = "component"  # the draft's componentType: component, datastore, system
    onchain: OnChain | None = None  # a pool's or feed's chain and last block

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"status": self.status}
        if self.onchain is not None:
            out["onchain"] = _onchain_json(self.onchain)
        if self.observed_value is not None:
            out["observedValue"] = round(self.observed_value, 3)
            if self.observed_unit:
                out["observedUnit"] = self.observed_unit
        if self.time is not None:
            out["time"] = iso(self.time)
        if self.output:
            out["output"] = self.output
        return out


@dataclass(frozen=True, slots=True)
class HealthReport:
    status: Status
    checks: Mapping[str, Check]
    ts: float

    def failing(self) -> list[str]:
        return [n for n, c in self.checks.items() if c.status == "fail"]


def _named(check: Check, component: str, measurement: str, kind: str = "component") -> Check:
    # A colon separates component from measurement in the draft's keys: none in the name.
    name = component.replace(":", "-")
    return replace(check, component=name, measurement=measurement, component_type=kind)


def _age_check(st: ComponentState, now: float, what: str) -> Check:
    age = None if st.last_ok is None else now - st.last_ok
    if st.failing:
        return Check("warn", st.error, age, "s", st.last_ok)
    if st.last_ok is None:
        return Check("warn", f"no {what} yet")
    if st.note:
        return Check("warn", st.note, age, "s", st.last_ok)
    return Check("pass", None, age, "s", st.last_ok)


def _coin_check(last: float | None, now: float, rules: HealthRules, started: float | None) -> Check:
    stale_after = rules.stale_after
    if last is None:
        if started is not None and now - started < stale_after:
            return Check("warn", "no price yet")
        return Check("fail", f"no price for {stale_after:g}s")
    age = now - last
    if age > stale_after:
        return Check("fail", f"no fresh price for {age:.0f}s", age, "s", last)
    if age > stale_after * QUORUM_WARN_FRACTION:
        return Check("warn", f"no quorum for {age:.0f}s", age, "s", last)
    return Check("pass", None, age, "s", last)


def _db_check(st: ComponentState, now: float) -> Check:
    detail = st.detail if isinstance(st.detail, StoreDetail) else StoreDetail()
    note = f"; {detail.dropped} price rows dropped" if detail.dropped else ""
    age = None if st.last_ok is None else now - st.last_ok
    if st.failing:
        # Down or unreachable: alerting goes on (warn). A wrong password or a missing database
        # will not mend itself: that is a monitor someone has to fix (fail).
        status: Status = "fail" if detail.lasting else "warn"
        return Check(status, f"{st.error}{note}", age, "s", st.last_ok)
    if note:
        return Check("warn", note.lstrip("; "), age, "s", st.last_ok)
    return Check("pass", None, age, "s", st.last_ok)


def _channel_check(st: ComponentState, now: float) -> Check:
    """A channel: warn while its last attempt failed, saying how much waits and for how long
    (the age of its oldest undelivered alert is the observed value)."""
    detail = st.detail if isinstance(st.detail, ChannelDetail) else ChannelDetail()
    waiting = None if detail.oldest is None else max(0.0, now - detail.oldest)
    if not st.failing:
        age = None if st.last_ok is None else now - st.last_ok
        return Check("pass", None, age, "s", st.last_ok)
    output = st.error or "failing"
    if detail.pending and waiting is not None:
        output += f"; {detail.pending} pending, oldest {waiting:.0f}s"
    return Check("warn", output, waiting, "s", st.last_ok)


def _other_check(st: ComponentState, now: float) -> Check:
    if st.failing:
        return _age_check(st, now, "report")
    age = None if st.last_ok is None else now - st.last_ok
    return Check("pass", None, age, "s", st.last_ok)


def _wakers_check(registry: HealthRegistry, critical: tuple[str, ...] | None) -> Check:
    """Can anyone be woken? fail: no channel of the critical route can deliver (none could be
    built, or every one failed its last delivery); warn: some of them failed theirs."""
    if critical is None:
        return Check("warn", "starting: channels not built yet")
    if not critical:
        return Check("fail", "no channel can deliver a critical alert (none configured)")
    failing = []
    for name in critical:
        st = registry.get(Kind.CHANNEL, name)
        if st is not None and st.failing:
            failing.append(f"{name} ({st.error})")
    if len(failing) == len(critical):
        return Check("fail", "every critical channel is failing: " + "; ".join(failing))
    if failing:
        return Check("warn", "failing: " + "; ".join(failing))
    return Check("pass")


def _stream_check(st: ComponentState, now: float) -> Check:
    """A venue's stream: pass while healthy; warn while down, connecting, silent on a market
    or refused one — never fail, as the venue's REST polls carry on at their normal interval.
    The figure is the last frame's age (a quiet book may send nothing for minutes)."""
    d = st.detail if isinstance(st.detail, StreamDetail) else StreamDetail()
    age = None if d.last_frame is None else now - d.last_frame
    parts = [
        f"{d.connected}/{d.connections} connected",
        f"{d.confirmed}/{d.subscribed} subscriptions confirmed",
        f"{d.reconnects_hour} reconnects in the last hour",
    ]
    if d.fallback:
        parts.append("REST at the normal interval")
    if st.failing:
        return Check("warn", f"{st.error}; " + ", ".join(parts), age, "s", d.last_frame)
    if d.fallback or st.note:
        text = (f"{st.note}; " if st.note else "") + ", ".join(parts)
        return Check("warn", text, age, "s", d.last_frame)
    return Check("pass", None, age, "s", d.last_frame)


def _loop_check(
    last_cycle: float | None, now: float, rules: HealthRules, st: ComponentState | None
) -> Check:
    """The main loop, judged by its progress; a cycle that just failed says why."""
    failed = st.error if st is not None and st.failing else None
    if last_cycle is None:
        return Check("warn", failed or "no cycle yet")
    age = now - last_cycle
    if age > rules.stall_after:
        why = f"main loop stalled for {age:.0f}s" + (f" ({failed})" if failed else "")
        return Check("fail", why, age, "s", last_cycle)
    return Check("warn" if failed else "pass", failed, age, "s", last_cycle)


def evaluate(
    registry: HealthRegistry,
    now: float,
    rules: HealthRules,
    coins_last_price: Mapping[str, float | None],
    last_cycle: float | None,
    started: float | None = None,
) -> HealthReport:
    """The report for now. coins_last_price: when each coin last had a priced aggregate.

    started (optional) gives coins that never had a price a grace of stale_after.
    """
    checks: dict[str, Check] = {}
    for coin in rules.coins:
        check = _coin_check(coins_last_price.get(coin), now, rules, started)
        checks[f"coin:{coin}"] = _named(check, coin, "priceAge")
    loop = _loop_check(last_cycle, now, rules, registry.get(Kind.AGGREGATOR))
    checks["aggregator"] = _named(loop, "aggregator", "cycleAge")

    venues_failing: list[bool] = []
    for st in sorted(registry.all(), key=lambda st: st.key):
        if st.kind is Kind.AGGREGATOR:
            continue  # judged by the loop's own progress above
        if st.kind is Kind.DATABASE:
            check = _named(_db_check(st, now), "database", "writeAge", "datastore")
        elif st.kind is Kind.VENUE:
            venues_failing.append(st.failing)
            answer = replace(_age_check(st, now, "answer"), onchain=onchain_of(st))
            check = _named(answer, st.name, "answerAge")
        elif st.kind is Kind.ORACLE:  # context: warns when unreadable, never fails the monitor
            reading = replace(_age_check(st, now, "reading"), onchain=onchain_of(st))
            check = _named(reading, st.name, "readingAge")
        elif st.kind is Kind.CHANNEL:
            check = _named(_channel_check(st, now), st.name, "deliveryAge")
        elif st.kind is Kind.STREAM:
            check = _named(_stream_check(st, now), st.name, "frameAge")
        elif st.kind is Kind.OUTBOX:
            check = _named(_other_check(st, now), "outbox", "flushAge")
        else:
            check = _named(_other_check(st, now), st.name or st.kind.value, "runAge")
        checks[st.key] = check

    if venues_failing and all(venues_failing):
        checks["venues"] = _named(Check("fail", "every venue is failing"), "venues", "status")
    wakers = _wakers_check(registry, rules.critical_channels)
    checks["notifiers"] = _named(wakers, "criticalChannels", "status")

    status = worst(*(c.status for c in checks.values()))
    return HealthReport(status=status, checks=checks, ts=now)
