"""Policy stages with an injected clock: confirmation, cooldown, escalation, silences, hours."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

import pytest

from depeg_monitor.alerts.policy import recorded
from depeg_monitor.model import (
    Alert,
    AlertKind,
    Dislocation,
    Severity,
    Silence,
    SnapshotContext,
    VenuePrice,
)

MONDAY_10 = datetime(2023, 3, 13, 10, tzinfo=UTC).timestamp()
SATURDAY_03 = datetime(2023, 3, 11, 3, tzinfo=UTC).timestamp()
N, MI, MA, CR = Severity.NONE, Severity.MINOR, Severity.MAJOR, Severity.CRITICAL
RES = AlertKind.RESOLVED


def sent(alerts: list[Alert]) -> list[Alert]:
    return [a for a in alerts if not a.suppressed]


def test_flapping_series_sends_one_alert_not_a_storm(mk: Any, cfg: Any, mkpolicy: Any) -> None:
    """A major level flapping with minor every 10 s for an hour notifies once, then reminds once."""
    policy = mkpolicy(cfg())
    out: list[Alert] = []
    for i in range(361):
        now = MONDAY_10 + i * 10
        out += policy.decide([mk("USDC", MA if i % 2 == 0 else MI, now)], now)
    kinds = [a.kind for a in sent(out)]
    assert kinds == [AlertKind.FIRST, AlertKind.REMINDER]


def test_escalation_bypasses_cooldown_and_drop_is_silent(mk: Any, cfg: Any, mkpolicy: Any) -> None:
    """Minor → critical a minute later notifies at once; critical → major says nothing."""
    policy = mkpolicy(cfg())
    t = MONDAY_10
    ctx = SnapshotContext(volume_spike=5.0)
    first = policy.decide([mk("USDT", MI, t, context=ctx)], t)
    esc = policy.decide([mk("USDT", CR, t + 60, price=0.9)], t + 60)
    drop = policy.decide([mk("USDT", MA, t + 120)], t + 120)
    assert [a.kind for a in first] == [AlertKind.FIRST]
    assert [(a.kind, a.severity) for a in esc] == [(AlertKind.ESCALATED, CR)]
    assert set(esc[0].channels) == {"discord", "email", "sms"}
    assert drop == []


def test_unconfirmed_minor_is_quiet_and_context_confirms_it(
    mk: Any, cfg: Any, mkpolicy: Any
) -> None:
    """A bare minor deviation alerts only once it persists, or with a spike, spread or company."""
    policy = mkpolicy(cfg(confirm_minor_hold=600))
    t = MONDAY_10
    assert policy.decide([mk("DAI", MI, t, held_for=100)], t) == []
    assert policy.decide([mk("DAI", MI, t + 500, held_for=600)], t + 500)[0].kind == AlertKind.FIRST
    for ctx in (
        SnapshotContext(spread=0.02, cheapest_venue="a", dearest_venue="b"),
        SnapshotContext(correlated=("USDT",)),
        SnapshotContext(volume_spike=3.5),
    ):
        p = mkpolicy(cfg())
        assert p.decide([mk("DAI", MI, t, context=ctx)], t)[0].kind == AlertKind.FIRST


def test_resolved_goes_only_to_channels_that_heard_the_firing(
    mk: Any, cfg: Any, mkpolicy: Any
) -> None:
    """A major depeg at 03:00 Saturday reaches Discord only; its resolution goes there alone."""
    policy = mkpolicy(cfg())
    t = SATURDAY_03
    fired = policy.decide([mk("USDC", MA, t)], t)
    assert fired[0].channels == ("discord",)  # email sleeps until 08:00
    resolved = policy.decide([mk("USDC", N, t + 7 * 3600, price=0.999)], t + 7 * 3600 + 1)
    assert [(a.kind, a.channels) for a in resolved] == [(AlertKind.RESOLVED, ("discord",))]
    assert policy.decide([mk("USDC", N, t + 8 * 3600, price=0.999)], t + 8 * 3600) == []


def test_quiet_hours_hold_minor_until_business_hours(mk: Any, cfg: Any, mkpolicy: Any) -> None:
    """A confirmed minor at 03:00 Saturday is recorded as held, then sent Monday 09:00, once."""
    policy = mkpolicy(cfg())
    t = SATURDAY_03
    ctx = SnapshotContext(correlated=("USDT",))
    held = policy.decide([mk("FRAX", MI, t, context=ctx)], t)
    assert [(a.kind, a.suppressed) for a in held] == [(AlertKind.FIRST, "quiet_hours")]
    assert policy.decide([mk("FRAX", MI, t + 60, context=ctx)], t + 60) == []
    monday_9 = datetime(2023, 3, 13, 9, 0, 5, tzinfo=UTC).timestamp()
    out = policy.decide([mk("FRAX", MI, monday_9, context=ctx)], monday_9)
    assert [(a.kind, a.suppressed, a.channels) for a in out] == [
        (AlertKind.FIRST, None, ("discord",))
    ]


def test_silence_suppresses_and_records_once(mk: Any, cfg: Any, mkpolicy: Any) -> None:
    """A silenced coin's firing is recorded as suppressed; another coin still goes out."""
    policy = mkpolicy(cfg())
    t = MONDAY_10
    s = [Silence(1, "USDT", t - 60, t + 7200, "known issue")]
    out = policy.decide([mk("USDT", CR, t, price=0.9), mk("USDC", MA, t)], t, s)
    by = {a.suppressed: a for a in out}
    assert by["silenced"].coins == ("USDT",)
    assert by[None].coins == ("USDC",)
    assert policy.decide([mk("USDT", CR, t + 1000, price=0.9)], t + 1000, s) == []


def test_coins_firing_together_are_one_alert(mk: Any, cfg: Any, mkpolicy: Any) -> None:
    """Three coins firing in one cycle produce one alert naming all, at the highest severity."""
    policy = mkpolicy(cfg())
    t = MONDAY_10
    out = policy.decide([mk("USDC", CR, t, 0.88), mk("DAI", MA, t, 0.9), mk("FRAX", MA, t)], t)
    assert len(out) == 1
    assert out[0].severity == CR
    assert out[0].coins == ("USDC", "DAI", "FRAX")


def test_restore_neither_realerts_nor_forgets(mk: Any, cfg: Any, mkpolicy: Any) -> None:
    """A policy restored from exported state stays quiet while firing, then resolves."""
    p1 = mkpolicy(cfg())
    t = MONDAY_10
    p1.decide([mk("USDC", MA, t)], t)
    p2 = mkpolicy(cfg())
    p2.restore_states(p1.export_state())
    assert p2.firing() == {"USDC": (MA, t)}
    assert p2.decide([mk("USDC", MA, t + 60)], t + 60) == []
    assert p2.decide([mk("USDC", N, t + 120, 1.0)], t + 120)[0].kind == AlertKind.RESOLVED


def test_routes_from_config_are_data(mk: Any, cfg: Any, mkpolicy: Any) -> None:
    """A configured route in another timezone decides the channels, not the built-in defaults."""
    s = cfg(
        timezone="America/New_York",
        routes={"major": [{"channels": ["sms"], "hours": "22:00-06:00"}]},
    )
    t = SATURDAY_03  # 22:00 Friday in New York
    assert mkpolicy(s).decide([mk("USDC", MA, t)], t)[0].channels == ("sms",)


def test_unavailable_channels_drop_out_of_routes(mk: Any, cfg: Any, mkpolicy: Any) -> None:
    """A channel that could not be built (missing secret) is left out; the rest still hear it."""
    policy = mkpolicy(cfg(), available={"discord", "sms"})
    out = policy.decide([mk("USDC", Severity.CRITICAL, MONDAY_10, price=0.9)], MONDAY_10)
    assert out[0].channels == ("discord", "sms")


def test_a_day_long_critical_reminds_with_growing_gaps(mk: Any, cfg: Any, mkpolicy: Any) -> None:
    """A critical depeg lasting 24 h: 15 min, then 30, 60, 120, then every 4 h — 9 reminders."""
    policy = mkpolicy(cfg())
    out: list[Alert] = []
    for minute in range(24 * 60):
        now = MONDAY_10 + minute * 60
        out += policy.decide([mk("USDC", CR, now, price=0.9)], now)
    reminders = [round((a.ts - MONDAY_10) / 60) for a in out if a.kind == AlertKind.REMINDER]
    assert reminders == [15, 45, 105, 225, 465, 705, 945, 1185, 1425]


def test_resolved_names_the_peak_level(mk: Any, cfg: Any, mkpolicy: Any) -> None:
    """Major, then critical, then back to major: the 'resolved' names the critical it reached."""
    policy = mkpolicy(cfg())
    t = MONDAY_10
    policy.decide([mk("USDC", MA, t)], t)
    policy.decide([mk("USDC", CR, t + 60, price=0.9)], t + 60)
    assert policy.decide([mk("USDC", MA, t + 120)], t + 120) == []
    [resolved] = policy.decide([mk("USDC", N, t + 180, 1.0)], t + 180)
    assert (resolved.kind, resolved.severity, resolved.items[0].severity) == (RES, CR, CR)


def test_restart_after_a_silent_downgrade_changes_nothing(mk: Any, cfg: Any, mkpolicy: Any) -> None:
    """Major, critical, a silent fall to major and a major reminder, then a restart: the rebuilt
    policy resumes the detector at major, stays quiet, and resolves naming the critical."""
    live = mkpolicy(cfg())
    t = MONDAY_10
    rows = []
    for dt, sev in ((0, MA), (60, CR), (120, MA), (180, MA), (3700, MA)):
        rows += [r for a in live.decide([mk("USDC", sev, t + dt)], t + dt) for r in recorded(a)]
    assert [r.kind for r in rows] == [AlertKind.FIRST, AlertKind.ESCALATED, AlertKind.REMINDER]
    restarted = mkpolicy(cfg())
    restarted.restore(rows)
    assert restarted.export_state() == live.export_state()
    assert restarted.firing() == {"USDC": (MA, t)}
    for p in (live, restarted):
        assert p.decide([mk("USDC", MA, t + 3760)], t + 3760) == []
        [resolved] = p.decide([mk("USDC", N, t + 3820, 1.0)], t + 3820)
        assert (resolved.kind, resolved.severity, resolved.channels) == (
            RES,
            CR,
            ("discord", "email", "sms"),
        )


def test_a_coin_named_in_a_group_resolves_to_every_channel_of_it(
    mk: Any, cfg: Any, mkpolicy: Any
) -> None:
    """DAI went out in one SMS with USDC's critical: its 'resolved' reaches SMS too."""
    policy = mkpolicy(cfg())
    t = MONDAY_10
    [fired] = policy.decide([mk("USDC", CR, t, 0.88), mk("DAI", MA, t, 0.9)], t)
    assert fired.channels == ("discord", "email", "sms")
    [resolved] = policy.decide([mk("USDC", CR, t + 60, 0.88), mk("DAI", N, t + 60, 1.0)], t + 60)
    assert (resolved.coins, resolved.channels) == (("DAI",), ("discord", "email", "sms"))


def test_a_held_escalation_is_recorded_once_and_sent_when_the_silence_ends(
    mk: Any, cfg: Any, mkpolicy: Any
) -> None:
    """Major heard, then critical for an hour under a silence: one held escalation in the
    history (not one per cycle), and the escalation goes out once the silence is over."""
    policy = mkpolicy(cfg())
    t = MONDAY_10
    policy.decide([mk("USDT", MA, t)], t)
    s = [Silence(1, "USDT", t + 1, t + 3600, "known issue")]
    held: list[Alert] = []
    for i in range(1, 360):
        now = t + i * 10
        held += policy.decide([mk("USDT", CR, now, price=0.9)], now, s)
    assert [(a.kind, a.suppressed) for a in held] == [(AlertKind.ESCALATED, "silenced")]
    after = policy.decide([mk("USDT", CR, t + 3600, price=0.9)], t + 3600, s)
    assert [(a.kind, a.severity, a.suppressed) for a in after] == [(AlertKind.ESCALATED, CR, None)]


def test_a_held_minor_whose_price_is_back_is_never_sent_as_new(
    mk: Any, cfg: Any, mkpolicy: Any
) -> None:
    """A minor that waited out its confirmation hold while the price came back inside the
    threshold (still clearing, so the classifier keeps minor) sends no 'new minor'."""
    policy = mkpolicy(cfg(confirm_minor_hold=600))
    t = MONDAY_10
    back = dataclasses.replace(mk("UST", MI, t, 0.998, held_for=700), raw_severity=N)
    assert policy.decide([back], t) == []
    there = mk("UST", MI, t + 10, 0.994, held_for=710)
    assert policy.decide([there], t + 10)[0].kind == AlertKind.FIRST


def test_resolved_says_the_peak_deviation_and_how_long_it_lasted(
    mk: Any, cfg: Any, mkpolicy: Any
) -> None:
    """The 'resolved' names the worst deviation any notice named and the episode's duration,
    also after a restart folded from the recorded rows."""
    from depeg_monitor.alerts.render import render

    policy = mkpolicy(cfg())
    t = MONDAY_10
    rows = []
    for dt, sev, price in ((0, MA, 0.98), (60, CR, 0.87), (120, MA, 0.98)):
        rows += [
            r for a in policy.decide([mk("USDC", sev, t + dt, price)], t + dt) for r in recorded(a)
        ]
    restarted = mkpolicy(cfg())
    restarted.restore(rows)
    for p in (policy, restarted):
        [resolved] = p.decide([mk("USDC", N, t + 7200, 1.0)], t + 7200)
        item = resolved.items[0]
        assert item.peak_deviation == pytest.approx(-0.13) and item.since == t
        assert "peak -13.00% (critical), lasted 2.0 h" in render(resolved).body


def split(mk: Any, ts: float) -> Any:
    a = mk("USDE", N, ts, 0.994)
    lone = (VenuePrice("binance", "USDT", 0.65, 1.0),)
    d = Dislocation(lone, 0.65, 0.994, 0.65 / 0.994 - 1, 0.65 / 0.994 - 1 - 0.002)
    snap = dataclasses.replace(a.snapshot, dislocation=d)
    return dataclasses.replace(a, snapshot=snap)


def test_a_lone_venue_apart_is_a_dislocation_notice_routed_like_minor(
    mk: Any, cfg: Any, mkpolicy: Any
) -> None:
    """A venue standing apart for dislocation_hold gets one 'dislocation' notice on minor's
    channels (not critical's SMS), not again within reminder_minor, and nothing once it ends."""
    policy = mkpolicy(cfg(dislocation_hold=60, reminder_minor=3600))
    t = MONDAY_10
    assert policy.decide([split(mk, t)], t) == []
    [notice] = policy.decide([split(mk, t + 60)], t + 60)
    assert notice.kind == AlertKind.DISLOCATION and notice.severity == MI
    assert "sms" not in notice.channels
    from depeg_monitor.alerts.render import render, sms

    msg = render(notice)
    assert msg.title.startswith("↔️ Venue dislocation: USDE on binance $0.6500 vs $0.9940")
    assert "arbitrage net of fees" in msg.body and sms(msg).isascii()
    assert policy.decide([split(mk, t + 600)], t + 600) == []
    assert policy.decide([mk("USDE", N, t + 700, 0.994)], t + 700) == []
    assert policy.decide([split(mk, t + 800)], t + 800) == []  # a new split waits its hold
