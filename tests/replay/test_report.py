"""Scoring a replay: events against the data's crossings, ceilings, strict-only checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from depeg_monitor.model import Severity
from depeg_monitor.replay.manifest import load_manifest, parse_time
from depeg_monitor.replay.report import Report, build_report, to_json
from depeg_monitor.replay.runner import run_replay

from .conftest import T0, Write, iso, write_prices

# Minutes: calm with a one-minute wick to 0.99 at 30, a 0.8 % drift 60..120, a crash to 0.95
# 120..150, calm again to 240.
PRICES = (
    [1.0] * 30 + [0.99] + [1.0] * 29 + [0.992] * 60 + [0.95] * 30 + [1.0] * 90  # 240 minutes
)

SERIES = """
[settings.aggregation]
min_venues = 1
max_quote_age = 120
[[series]]
path = "usdc.csv"
venue = "kraken"
coin = "USDC"
quote_ccy = "USD"
"""


def m(minute: int) -> str:
    return iso(T0 + 60 * minute)


def _report(tmp_path: Path, write_manifest: Write, truth: str) -> Report:
    write_prices(tmp_path / "usdc.csv", PRICES)
    return build_report(run_replay(load_manifest(write_manifest(SERIES + truth))))


def test_a_ceiling_is_breached_by_an_alert_above_it_and_names_the_alert(
    tmp_path: Path, write_manifest: Write
) -> None:
    """An alert above a ceiling is a failure naming the alert's id; a ceiling the alerts stay
    within is not."""
    truth = (
        f'[[ceilings]]\ncoin = "USDC"\nstart = "{m(110)}"\nend = "{m(160)}"\nat_most = "major"\n'
        f'[[ceilings]]\ncoin = "USDC"\nstart = "{m(110)}"\nend = "{m(160)}"\n'
        'at_most = "critical"\n'
    )
    r = _report(tmp_path, write_manifest, truth)
    tight, loose = r.ceilings
    assert tight.breaches and not loose.breaches
    assert {b.severity for b in tight.breaches} == {Severity.CRITICAL}
    (failure,) = r.failures()
    assert failure.check == "ceiling"
    assert tight.breaches[0].id in failure.problem
    assert tight.breaches[0].id in {t.id for t in r.timeline}


def test_an_event_above_its_at_most_is_a_failure_even_when_caught(
    tmp_path: Path, write_manifest: Write
) -> None:
    """An event that reaches its expect level but goes above its at_most fails."""
    truth = (
        f'[[events]]\ncoin = "USDC"\nstart = "{m(55)}"\nend = "{m(160)}"\n'
        'expect = "minor"\nat_most = "major"\n'
    )
    r = _report(tmp_path, write_manifest, truth)
    (event,) = r.events
    assert not event.missed and event.breaches
    assert [f.problem.split(" ")[0] for f in r.failures()] == ["critical"]


def test_a_late_alert_fails_only_strict_scoring(tmp_path: Path, write_manifest: Write) -> None:
    """The drift's minor alert comes minutes after the data held minor: beyond a one-minute
    bound that is a strict failure, not a default one; within an hour it is none."""
    window = f'coin = "USDC"\nstart = "{m(55)}"\nend = "{m(119)}"\nexpect = "minor"\n'
    r = _report(tmp_path, write_manifest, f'[[events]]\n{window}within = "1m"\n')
    (event,) = r.events
    assert event.delay is not None and event.delay > 60
    assert event.late
    assert r.failures() == []
    assert [f.problem.split(":")[0] for f in r.failures(strict=True)] == ["late"]
    r = _report(tmp_path, write_manifest, f'[[events]]\n{window}within = "1h"\n')
    assert r.failures(strict=True) == []


def test_bounds_the_data_does_not_support_fail_strict_scoring(
    tmp_path: Path, write_manifest: Write
) -> None:
    """A ceiling of none over the wick (the data reached minor there) and an event expecting
    critical of the drift (the data held only minor) are unsupported: strict failures."""
    truth = (
        f'[[ceilings]]\ncoin = "USDC"\nstart = "{m(0)}"\nend = "{m(55)}"\nat_most = "none"\n'
        f'[[events]]\ncoin = "USDC"\nstart = "{m(55)}"\nend = "{m(119)}"\nexpect = "critical"\n'
    )
    r = _report(tmp_path, write_manifest, truth)
    assert r.ceilings[0].breaches == ()  # one minute: the detector rightly waits
    default = [(f.check, f.problem.split(":")[0]) for f in r.failures()]
    assert default == [("event", "missed")]
    strict = [(f.check, f.problem.split(":")[0]) for f in r.failures(strict=True)]
    assert sorted(strict) == [
        ("ceiling", "unsupported"),
        ("event", "missed"),
        ("event", "unsupported"),
    ]


def test_json_has_alert_ids_crossings_and_the_verdicts(
    tmp_path: Path, write_manifest: Write
) -> None:
    """The JSON report names each alert by id, each event's first alert by the same id, the
    data's crossings per level, and whether default and strict scoring passed."""
    truth = (
        f'[[events]]\ncoin = "USDC"\nstart = "{m(115)}"\nend = "{m(200)}"\n'
        'expect = "critical"\nwithin = { critical = "5m" }\n'
    )
    data = to_json(_report(tmp_path, write_manifest, truth))
    ids = [t["id"] for t in data["timeline"]]
    assert all(ids) and len(set(ids)) == len(ids)
    (event,) = data["events"]
    assert event["first_alert_id"] in ids
    assert event["first_alerts"]["critical"]["id"] == event["first_alert_id"]
    assert event["data"]["crossings"]["critical"]["held"] == m(121)
    assert event["first_alerts"]["critical"]["delay_seconds"] == pytest.approx(
        parse_time(event["first_alert"]) - (T0 + 121 * 60)
    )
    assert (data["passed"], data["passed_strict"]) == (True, True)


def test_a_window_opening_inside_an_alerted_episode_counts_it_alerted_at_its_start(
    tmp_path: Path, write_manifest: Write
) -> None:
    """A window opening halfway through the drift, whose minor was alerted before it, is caught
    at its start and not late; one opening after the episode resolved is not caught by it."""
    truth = (
        f'[[events]]\ncoin = "USDC"\nstart = "{m(100)}"\nend = "{m(119)}"\n'
        'expect = "minor"\nwithin = "1m"\n'
        f'[[events]]\ncoin = "USDC"\nstart = "{m(200)}"\nend = "{m(239)}"\nexpect = "minor"\n'
    )
    r = _report(tmp_path, write_manifest, truth)
    during, after = r.events
    assert during.first[0].ts == parse_time(m(100)) and during.first[0].id is None
    assert not during.missed and not during.late
    assert after.missed
    assert [f.problem.split(":")[0] for f in r.failures()] == ["missed"]
