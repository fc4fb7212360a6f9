"""Acknowledgements through the policy: reminders stop for the episode acknowledged, the
escalation past it and the resolution say who acknowledged it, a later episode is not."""

from __future__ import annotations

from typing import Any

from depeg_monitor.alerts.acks import ack_for
from depeg_monitor.alerts.policy import AlertPolicy, recorded
from depeg_monitor.alerts.render import render
from depeg_monitor.model import Ack, Alert, AlertKind, EpisodeRow, Severity

from .conftest import MONDAY_10

N, MA, CR = Severity.NONE, Severity.MAJOR, Severity.CRITICAL
HOUR = 3600.0
ACK_LINE = "acknowledged by alice at 2023-03-13 10:05:00 UTC: bank run, watching"


def ack(since: float = MONDAY_10, severity: Severity = MA, at: float = MONDAY_10 + 300) -> Ack:
    return Ack(1, "USDC", since, severity, "alice", "bank run, watching", at)


def run(
    policy: AlertPolicy, mk: Any, steps: list[tuple[float, Severity]], acks: list[Ack]
) -> list[Alert]:
    """USDC at each level from its hour (after MONDAY_10) to the next one's, a decision a
    minute; the last step is one minute long."""
    out: list[Alert] = []
    ends = [start for start, _ in steps[1:]] + [steps[-1][0] + 1 / 60]
    for (start, sev), end in zip(steps, ends, strict=True):
        minute = start * 60
        while minute < end * 60:
            now = MONDAY_10 + minute * 60
            price = {N: 1.0, MA: 0.98, CR: 0.9}[sev]
            out += policy.decide([mk("USDC", sev, now, price=price)], now, (), acks)
            minute += 1
    return out


def told(alerts: list[Alert]) -> list[tuple[AlertKind, Severity]]:
    return [(a.kind, a.severity) for a in alerts if not a.suppressed]


def test_an_acknowledged_episode_sends_no_more_reminders(mk: Any, cfg: Any, mkpolicy: Any) -> None:
    """A major lasting 10 h reminds three times; acknowledged five minutes in, not once."""
    steps = [(0.0, MA), (10.0, MA)]
    plain = run(mkpolicy(cfg()), mk, steps, [])
    acked = run(mkpolicy(cfg()), mk, steps, [ack()])
    assert told(plain) == [(AlertKind.FIRST, MA)] + [(AlertKind.REMINDER, MA)] * 3
    assert told(acked) == [(AlertKind.FIRST, MA)]
    assert all(a.suppressed is None for a in acked)  # nothing recorded as held either


def test_the_escalation_is_sent_says_the_ack_and_reminders_come_back(
    mk: Any, cfg: Any, mkpolicy: Any
) -> None:
    """Acknowledged at major, the fall to critical is sent at once and names who acknowledged
    it; the ack covered major only, so critical's reminders follow."""
    out = run(mkpolicy(cfg()), mk, [(0.0, MA), (2.0, CR), (3.0, CR)], [ack()])
    assert told(out) == [
        (AlertKind.FIRST, MA),
        (AlertKind.ESCALATED, CR),
        (AlertKind.REMINDER, CR),
        (AlertKind.REMINDER, CR),
    ]
    esc = out[1]
    assert esc.items[0].acknowledged == ack()
    assert ACK_LINE in render(esc).body
    assert all("acknowledged" not in render(a).body for a in out[2:])


def test_the_resolution_says_who_acknowledged(mk: Any, cfg: Any, mkpolicy: Any) -> None:
    """The 'resolved' of an acknowledged episode, the next message anyone hears of it, names
    the ack: who, when, why."""
    out = run(mkpolicy(cfg()), mk, [(0.0, MA), (5.0, N)], [ack()])
    assert told(out) == [(AlertKind.FIRST, MA), (AlertKind.RESOLVED, MA)]
    body = render(out[-1]).body
    assert ACK_LINE in body
    assert body.index("USDC — MAJOR (resolved)") < body.index(ACK_LINE)


def test_a_new_episode_is_not_acknowledged(mk: Any, cfg: Any, mkpolicy: Any) -> None:
    """After the acknowledged episode resolves, the next depeg of the coin alerts and reminds
    as usual and its messages name no ack."""
    out = run(mkpolicy(cfg()), mk, [(0.0, MA), (1.0, N), (2.0, MA), (4.5, MA)], [ack()])
    second = [a for a in out if a.ts >= MONDAY_10 + 2 * HOUR]
    assert told(second) == [(AlertKind.FIRST, MA), (AlertKind.REMINDER, MA)]
    assert all(i.acknowledged is None for a in second for i in a.items)


def test_a_restart_keeps_the_ack(mk: Any, cfg: Any, mkpolicy: Any) -> None:
    """The recorded rows folded by a restarted policy name the same episode: the ack still
    holds (no reminder) and the resolution still names it."""
    live = mkpolicy(cfg())
    before = run(live, mk, [(0.0, MA), (0.5, MA)], [ack()])
    rows: list[EpisodeRow] = [r for a in before for r in recorded(a)]
    restarted = mkpolicy(cfg())
    restarted.restore(rows)
    assert restarted.export_state() == live.export_state()
    after = run(restarted, mk, [(0.5, MA), (6.0, MA), (6.5, N)], [ack()])
    assert told(after) == [(AlertKind.RESOLVED, MA)]
    assert ACK_LINE in render(after[-1]).body


def test_the_newest_ack_of_the_episode_counts(mk: Any, cfg: Any, mkpolicy: Any) -> None:
    """Acknowledged again after the escalation, at critical, the reminders stop once more."""
    again = Ack(2, "USDC", MONDAY_10, CR, "bob", "", MONDAY_10 + 2.5 * HOUR)
    out = run(mkpolicy(cfg()), mk, [(0.0, MA), (2.0, CR), (8.0, CR)], [ack(), again])
    critical = [a for a in out if a.ts >= MONDAY_10 + 2.5 * HOUR]
    assert told(critical) == []
    assert ack_for("USDC", MONDAY_10 + 0.0004, [ack(), again]) == again
    assert ack_for("USDC", MONDAY_10 + 1.0, [ack(), again]) is None
