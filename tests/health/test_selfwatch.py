"""SelfWatch turns a lasting /health failure into degraded and recovered alerts."""

from __future__ import annotations

from depeg_monitor.health.evaluate import Check, HealthReport
from depeg_monitor.health.selfwatch import SelfWatch
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
    assert watch.reason == "coin:USDC: no fresh price for 200s"
    assert watch.observe(FAIL, 500) is None
    recovered = watch.observe(WARN, 501)
    assert recovered is not None and recovered.kind is AlertKind.MONITOR_RECOVERED


def test_short_blip_does_not_alert_and_only_its_channels_hear_it() -> None:
    """A failure shorter than the grace is forgotten; the alert goes to the channels given."""
    watch = SelfWatch(["sms"], grace=30)
    assert watch.observe(FAIL, 0) is None
    assert watch.observe(PASS, 10) is None
    assert watch.observe(FAIL, 20) is None
    alert = watch.observe(FAIL, 50)
    assert alert is not None and alert.channels == ("sms",)
