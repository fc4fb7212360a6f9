"""Rendered messages fit their channels and carry what a person needs to act."""

from __future__ import annotations

from typing import Any

from depeg_monitor.alerts.render import discord, held, late, plain, reasons, render, sms
from depeg_monitor.config import Settings
from depeg_monitor.detect.classify import classify
from depeg_monitor.model import (
    Alert,
    AlertItem,
    AlertKind,
    Assessment,
    Clearing,
    DroppedQuote,
    Fact,
    InsufficientData,
    OracleContext,
    OracleMove,
    Pending,
    Severity,
    SideIgnored,
    Snapshot,
    SnapshotContext,
    Thresholds,
    VenuePrice,
)
from depeg_monitor.rules import detection_rules

T = 1678503845.0  # 2023-03-11 03:04:05 UTC
BASE = Thresholds((0.005, 0.015, 0.03), 1.0)


def one(mk: Any, kind: AlertKind = AlertKind.FIRST, **kw: Any) -> Alert:
    a = mk("USDC", Severity.CRITICAL, T, price=0.8812, **kw)
    return Alert("id", T, Severity.CRITICAL, kind, (AlertItem("USDC", a.severity, kind, a),), ())


def test_message_names_coin_price_deviation_reason_venues_and_time(mk: Any) -> None:
    """The body has the 4-decimal price, signed %, why, each venue, the context and UTC time."""
    ctx = SnapshotContext(
        spread=0.0061,
        cheapest_venue="kraken",
        dearest_venue="binance",
        volume_spike=6.3,
        correlated=("DAI",),
    )
    msg = render(
        one(mk, AlertKind.ESCALATED, context=ctx, dropped=(DroppedQuote("okx", "USDT", "stale"),))
    )
    assert msg.title.startswith("🔴 CRITICAL depeg: USDC $0.8812 (-11.88%) — escalated")
    for text in (
        "kraken $0.8802",
        "binance $0.8822 (USDT)",
        "volume spike ×6.3",
        "also deviating: DAI",
        "spread 0.61% (cheapest kraken, dearest binance)",
        "left out: okx (stale)",
        "2023-03-11 03:04:05 UTC",
    ):
        assert text in msg.body


def test_discord_fits_2000_and_sms_one_short_ascii_line(mk: Any) -> None:
    """Eight coins with long context still fit Discord's limit and one SMS without emoji."""
    ctx = SnapshotContext(correlated=tuple(f"COIN{i}" for i in range(200)))
    items = tuple(
        AlertItem(
            f"C{i}", Severity.MAJOR, AlertKind.FIRST, mk(f"C{i}", Severity.MAJOR, T, context=ctx)
        )
        for i in range(8)
    )
    msg = render(Alert("id", T, Severity.MAJOR, AlertKind.FIRST, items, ()))
    assert len(discord(msg)) <= 2000 and discord(msg).startswith("**🟠 MAJOR depeg")
    text = sms(msg)
    assert len(text) < 160 and "\n" not in text and text.isascii()
    assert text.startswith("MAJOR depeg: C0 $0.9700 (-3.00%)")


def test_resolved_test_and_monitor_messages(mk: Any) -> None:
    """Resolved, TEST and monitor-degraded alerts render with clear titles, items or not."""
    assert render(one(mk, AlertKind.RESOLVED)).title.startswith("✅ Resolved: USDC")
    test = render(Alert("id", T, Severity.NONE, AlertKind.TEST, (), ("discord",), note="by ops"))
    assert "TEST" in test.title and "Nothing has depegged" in test.body and "by ops" in test.body
    deg = Alert("i", T, Severity.MAJOR, AlertKind.MONITOR_DEGRADED, (), (), note="2 venues down")
    assert render(deg).title == "⚠️ depeg-monitor degraded: 2 venues down"
    assert sms(render(deg)).startswith("depeg-monitor degraded: 2 venues down")
    assert plain(render(deg)).count("\n") >= 1


def test_a_late_page_says_when_it_was_first_tried_and_sent_and_its_sms_the_delay(
    mk: Any,
) -> None:
    """A critical delivered 12 minutes late keeps the alert's own time and says first tried,
    sent and how late, in the body and (shortly) in the SMS line."""
    msg = late(render(one(mk)), T, T + 720)
    assert msg.title.endswith("(delayed 12 min)")
    assert "Time: 2023-03-11 03:04:05 UTC" in msg.body
    assert (
        "Delivered late: first tried 2023-03-11 03:04:05 UTC, sent 2023-03-11 03:16:05 UTC"
        in msg.body
    )
    text = sms(msg)
    assert "delayed 12 min" in text and text.endswith("03:04 UTC") and len(text) < 160


def test_held_messages_fold_into_one_naming_the_firing_and_its_resolution(mk: Any) -> None:
    """A late critical and its resolved, both still waiting, become one message whose title
    names both, listing them in order; an SMS line of it is plain ASCII."""
    firing, done = render(one(mk)), render(one(mk, AlertKind.RESOLVED))
    msg = held([firing, done], T, T + 3600)
    assert msg.title.startswith("🔴 CRITICAL") and "then Resolved: USDC" in msg.title
    assert msg.body.index("[1/2] 🔴 CRITICAL") < msg.body.index("[2/2] ✅ Resolved")
    assert "2 alerts this channel could not take" in msg.body and "60 min later" in msg.body
    assert sms(msg).isascii() and len(sms(msg)) < 160
    assert held([firing], T, T + 3600) == late(firing, T, T + 3600)


def test_many_held_messages_fit_discord_with_the_latest_in_full(mk: Any) -> None:
    """Twenty held reminders are listed by title and time, the last one in full, within
    Discord's limit; the title counts the ones between the first and the last."""
    msgs = [render(one(mk, AlertKind.REMINDER)) for _ in range(19)] + [render(one(mk))]
    msg = held(msgs, T, T + 7200)
    assert "(+18)" in msg.title
    assert msg.body.endswith(msgs[-1].body)
    assert msg.body.count("Time: ") == 20
    assert len(discord(msg)) <= 2000


def monitor(kind: AlertKind, note: str) -> Alert:
    return Alert("m", T, Severity.MAJOR, kind, (), ("discord",), note=note)


def test_degraded_with_several_problems_says_each_once_on_its_own_line() -> None:
    """Two failing checks (one note line each): a short title counting them, then one body
    line for each, none repeated."""
    note = "every venue is failing\ndatabase: connection refused (host db.example.com)"
    msg = render(monitor(AlertKind.MONITOR_DEGRADED, note))
    assert msg.title == "⚠️ depeg-monitor degraded: 2 problems"
    assert msg.body.splitlines() == [
        "every venue is failing",
        "database: connection refused (host db.example.com)",
        "Time: 2023-03-11 03:04:05 UTC",
    ]
    assert plain(msg).count("every venue is failing") == 1
    assert sms(msg) == "depeg-monitor degraded: 2 problems 03:04 UTC"


def test_degraded_with_one_problem_has_it_in_the_title_only() -> None:
    """One failing check is the title itself (what an SMS shows) and is not said again."""
    msg = render(monitor(AlertKind.MONITOR_DEGRADED, "DAI: no price for 120s"))
    assert msg.title == "⚠️ depeg-monitor degraded: DAI: no price for 120s"
    assert msg.body == "Time: 2023-03-11 03:04:05 UTC"
    assert plain(msg).count("no price") == 1
    long = "database: " + "x" * 200
    msg = render(monitor(AlertKind.MONITOR_DEGRADED, long))
    assert msg.title == "⚠️ depeg-monitor degraded" and msg.body.startswith(long + "\n")


def test_recovered_is_a_short_title_and_a_line_saying_how_long() -> None:
    """Recovered reads '✅ depeg-monitor recovered' and the note, once, in the body."""
    note = "No check is failing now; /health had failed for 6 min."
    msg = render(monitor(AlertKind.MONITOR_RECOVERED, note))
    assert msg.title == "✅ depeg-monitor recovered"
    assert msg.body.splitlines() == [note, "Time: 2023-03-11 03:04:05 UTC"]


def verdict(
    severity: Severity,
    dev: float | None,
    *facts: Fact,
    raw: Severity | None = None,
    context: SnapshotContext | None = None,
    dropped: tuple[DroppedQuote, ...] = (),
) -> Assessment:
    price = None if dev is None else 1.0 + dev
    used = () if price is None else (VenuePrice("kraken", "USD", price, 1.0),)
    snap = Snapshot("USDC", T, 1.0, price, dev, used, dropped, context or SnapshotContext())
    raw = severity if raw is None else raw
    return Assessment("USDC", T, severity, raw, dev, 0.0, facts, snap)


def test_reasons_word_a_widened_critical_with_company() -> None:
    """A critical coin reads: price and side, the level's threshold, widening, others moving."""
    a = verdict(
        Severity.CRITICAL,
        -0.0388,
        Thresholds((0.006, 0.018, 0.03), 1.2),
        context=SnapshotContext(correlated=("DAI", "USDT")),
    )
    assert reasons(a) == [
        "price 0.9612 is 3.88 % below peg",
        "critical at ≥ 3.00 %",
        "thresholds widened ×1.20 for volatility",
        "also deviating: DAI, USDT",
    ]


def test_reasons_word_a_pending_level_with_its_hold() -> None:
    """A level not yet held long enough reads 'major pending: held 12 s of 30 s'."""
    a = verdict(Severity.NONE, -0.02, BASE, Pending(Severity.MAJOR, 12.0, 30.0), raw=Severity.MAJOR)
    assert reasons(a) == ["price 0.9800 is 2.00 % below peg", "major pending: held 12 s of 30 s"]


def test_reasons_word_clearing_progress_in_minutes_and_hours() -> None:
    """Clearing reads band, time inside it and time needed, in seconds, minutes or hours."""
    a = verdict(Severity.CRITICAL, -0.01, BASE, Clearing(Severity.CRITICAL, 0.021, 40.0, 300.0))
    assert reasons(a) == [
        "price 0.9900 is 1.00 % below peg",
        "clearing: inside 2.10 % for 40 s of 5 min",
        "critical at ≥ 3.00 %",
    ]
    slow = verdict(Severity.MINOR, 0.001, BASE, Clearing(Severity.MINOR, 0.0035, 600.0, 9000.0))
    assert "clearing: inside 0.35 % for 10 min of 2.5 h" in reasons(slow)


def test_reasons_say_a_side_is_ignored_and_a_calm_coin_only_its_price() -> None:
    """A switched-off premium says so; a calm coin's only reason is where its price is."""
    ignored = verdict(Severity.NONE, 0.05, BASE, SideIgnored("premium"))
    assert reasons(ignored) == ["price 1.0500 is 5.00 % above peg", "premium ignored by settings"]
    calm = verdict(Severity.NONE, 0.0002, Thresholds((0.0051, 0.015, 0.03), 1.0004))
    assert reasons(calm) == ["price 1.0002 is 0.02 % above peg"]


def test_reasons_word_insufficient_data_with_at_most_six_drops() -> None:
    """No price reads 'insufficient data: 1 of 2 venues agree' and the first six drops, sorted."""
    dropped = tuple(DroppedQuote(f"v{i}", "USDT", "stale") for i in range(8))
    a = verdict(
        Severity.MAJOR,
        None,
        InsufficientData(1, 2),
        raw=Severity.NONE,
        dropped=(DroppedQuote("okx", "USDT", "no_reference"), *dropped, dropped[0]),
    )
    assert reasons(a) == [
        "insufficient data: 1 of 2 venues agree",
        "dropped: okx no_reference, v0 stale, v1 stale, v2 stale, v3 stale, v4 stale",
    ]
    assert reasons(verdict(Severity.NONE, None, InsufficientData(0, 2))) == [
        "insufficient data: 0 of 2 venues agree"
    ]


def test_the_classifiers_verdicts_read_as_before() -> None:
    """Fed through classify, minor firing then a 2 % drop reads: price, minor, major pending."""
    rules = detection_rules(Settings(coins={"USDC": {}}))
    coin = rules.coin("USDC")
    assert coin is not None
    state = None
    for now, dev in ((T, -0.008), (T + 130.0, -0.008), (T + 140.0, -0.02), (T + 152.0, -0.02)):
        snap = verdict(Severity.NONE, dev).snapshot
        a, state = classify(snap, state, coin, rules.classify, now)
    assert reasons(a) == [
        "price 0.9800 is 2.00 % below peg",
        "minor at ≥ 0.50 %",
        "major pending: held 12 s of 30 s",
    ]


def test_an_oracle_reading_is_a_context_line_with_its_age_and_lag(mk: Any) -> None:
    """A fresh Chainlink reading for the coin is said beside the market, never as its price."""
    oracle = OracleContext("chainlink-usdc-usd", "USDC", "USD", 0.9990, 3 * 3600.0, 0.9612, -0.0378)
    msg = render(one(mk, context=SnapshotContext(oracles=(oracle,))))
    assert (
        "Chainlink USDC/USD 0.9990, updated 3 h ago; market 0.9612 — oracle lags 3.8 %" in msg.body
    )
    assert "Chainlink" not in render(one(mk)).body


def test_an_oracle_update_crossing_a_threshold_is_its_own_context_line(mk: Any) -> None:
    """A Chainlink round that crossed into major is said on a line of its own — what it moved
    to, when (UTC), beyond which level, and why it matters — before the usual oracle line."""
    moved = OracleMove(Severity.MAJOR, Severity.NONE, 0.9712, T - 3 * 60)  # at 03:01 UTC
    oracle = OracleContext(
        "chainlink-usdc-usd", "USDC", "USD", 0.9712, 180.0, 0.9612, -0.0103, moved
    )
    body = render(one(mk, context=SnapshotContext(oracles=(oracle,)))).body.splitlines()
    line = "  Chainlink USDC/USD moved to 0.9712 at 03:01, beyond major — "
    line += "lending protocols liquidate on this"
    at = body.index(line)
    assert body[at + 1].startswith("  Chainlink USDC/USD 0.9712, updated 3 min ago; market")


def test_an_oracle_update_back_inside_says_where_it_came_from(mk: Any) -> None:
    """A round back inside every threshold, or down a level, says so and what it was beyond."""
    back = OracleMove(Severity.NONE, Severity.MAJOR, 0.9990, T)
    down = OracleMove(Severity.MAJOR, Severity.CRITICAL, 0.9800, T)
    for move, said in (
        (back, "moved back to 0.9990 at 03:04, inside minor (was beyond major)"),
        (down, "moved back to 0.9800 at 03:04, beyond major only (was beyond critical)"),
    ):
        oracle = OracleContext("f", "USDC", "USD", move.value, 1.0, 0.99, 0.0, move)
        body = render(one(mk, context=SnapshotContext(oracles=(oracle,)))).body
        assert f"Chainlink USDC/USD {said}" in body, body
        assert "liquidate" not in body
