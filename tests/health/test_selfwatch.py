"""SelfWatch turns a lasting /health failure into degraded and recovered alerts."""

from __future__ import annotations

from depeg_monitor.alerts.render import plain, render
from depeg_monitor.health.evaluate import Check, HealthReport
from depeg_monitor.health.selfwatch import SelfWatch, problems
from depeg_monitor.model import AlertKind

FAIL = HealthReport("fail", {"coin:USDC": Check("fail", "no fresh price for 200s")}, 0.0)
PASS = HealthReport("pass", {"coin:USDC": Check("pass")}, 0.0)
WARN = HealthReport("warn", {"db": Check("warn", "database unavailable")}, 0.0)


def test_degraded_after_grace_once_then_recovered() -> None:
    """One alert after the grace period (not before, not repeated), one when it passes again."""
    watch = SelfWatch(["discord", "sms"], grace=30)
    assert watch.observe(FAIL, 100) is None
    assert watch.observe(FAIL, 129) is None
    degraded = watch.observe(FAIL, 130)
    assert degraded is not None and degraded.kind is AlertKind.MONITOR_DEGRADED
    assert degraded.channels == ("discord", "sms")
    assert watch.problems == ("USDC: no fresh price for 200s",)
    assert watch.observe(FAIL, 500) is None
    recovered = watch.observe(WARN, 501)
    assert recovered is not None and recovered.kind is AlertKind.MONITOR_RECOVERED
    assert "failed for 7 min" in recovered.note  # 401 s since it first failed


def test_short_blip_does_not_alert_and_only_its_channels_hear_it() -> None:
    """A failure shorter than the grace is forgotten; the alert goes to the channels given."""
    watch = SelfWatch(["sms"], grace=30)
    assert watch.observe(FAIL, 0) is None
    assert watch.observe(PASS, 10) is None
    assert watch.observe(FAIL, 20) is None
    alert = watch.observe(FAIL, 50)
    assert alert is not None and alert.channels == ("sms",)


EVERYTHING_DOWN = HealthReport(
    "fail",
    {
        "coin:DAI": Check("fail", "no price for 120s"),
        "coin:USDC": Check("fail", "no price for 120s"),
        "venue:kraken": Check("warn", "network error: DNS lookup failed for api.kraken.com"),
        "venues": Check("fail", "every venue is failing"),
        "db": Check(
            "fail", "connection refused\n(Background on this error at: https://sqlalche.me)"
        ),
        "aggregator": Check("fail", "main loop stalled for 70s"),
        "notifier:sms": Check("fail", "twilio 401 (code 20003) for +1555****567"),
        "notifiers": Check("pass"),
    },
    0.0,
)


def test_problems_read_as_plain_lines_causes_first() -> None:
    """Each failing check is one line in words — the cause (every venue) before its effects
    (coins), names said plainly, a multi-line driver error joined, warnings left out."""
    assert problems(EVERYTHING_DOWN) == [
        "every venue is failing",
        "main loop stalled for 70s",
        "database: connection refused (Background on this error at: https://sqlalche.me)",
        "channel sms: twilio 401 (code 20003) for +1555****567",
        "DAI: no price for 120s",
        "USDC: no price for 120s",
    ]
    assert problems(EVERYTHING_DOWN, "warn") == [
        "kraken: network error: DNS lookup failed for api.kraken.com"
    ]


def test_degraded_alert_says_each_problem_once() -> None:
    """The degraded alert's title counts the problems and its body lists each once, on a line
    of its own: no problem in both, no ', '-joined list, no line break inside a line."""
    watch = SelfWatch(["discord"], grace=0)
    alert = watch.observe(EVERYTHING_DOWN, 10)
    assert alert is not None
    msg = render(alert)
    assert msg.title == "⚠️ depeg-monitor degraded: 6 problems"
    for line in problems(EVERYTHING_DOWN):
        assert plain(msg).count(line) == 1
    assert len(msg.body.splitlines()) == 6 + 1  # the problems and the time
