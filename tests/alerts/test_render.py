"""Rendered messages fit their channels and carry what a person needs to act."""

from __future__ import annotations

from typing import Any

from depeg_monitor.alerts.render import discord, plain, render, sms
from depeg_monitor.model import (
    Alert,
    AlertItem,
    AlertKind,
    DroppedQuote,
    Severity,
    SnapshotContext,
)

T = 1678503845.0  # 2023-03-11 03:04:05 UTC


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
