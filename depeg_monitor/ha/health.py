"""The pair on /health: this node's role, who holds the lease and how fresh it is.

A standby is `pass` while a leader holds a fresh lease and `fail` once the lease has been
expired, with nobody taking it, for longer than the takeover time — so Uptime Robot watching
either node pages when the pair is leaderless. A node that cannot read the lease says so
(`warn`), and `fail`s once that has lasted longer than the takeover time: it can neither send
nor take over, and cannot tell whether anyone else does.
"""

from __future__ import annotations

import dataclasses

from depeg_monitor.ha.node import HaNode
from depeg_monitor.health.evaluate import Check, HealthReport, worst


def ha_check(node: HaNode, monotonic: float) -> Check:
    seen, takeover = node.seen, node.rules.takeover_time
    if node.leading():
        age = 0.0 if seen is None else seen.view.since_renewal + monotonic - seen.at
        return Check(
            "pass", f"leader: this node ({node.name}), lease renewed {age:.1f}s ago", age, "s"
        )
    if node.error is not None:
        last = "" if seen is None else f"; last seen held by {seen.view.holder}"
        since = node.error_since
        unread = 0.0 if since is None else monotonic - since
        if unread > takeover:  # it can neither send nor take over, and cannot vouch for anyone
            text = f"{node.error} for {unread:.0f}s (more than the takeover time, {takeover:g}s)"
            return Check("fail", f"standby ({node.name}): {text}{last}")
        return Check("warn", f"standby ({node.name}): {node.error}{last}")
    if seen is None:
        return Check("warn", f"standby ({node.name}): lease not read yet")
    elapsed = monotonic - seen.at
    view = seen.view
    age = view.since_renewal + elapsed
    left = view.remaining - elapsed
    if view.holder is not None and left > 0:
        text = f"standby ({node.name}); leader {view.holder}, lease renewed {age:.1f}s ago"
        return Check("pass", text, age, "s")
    if -left > takeover:
        text = f"no leader for {-left:.0f}s (more than the takeover time, {takeover:g}s)"
        return Check("fail", f"standby ({node.name}): {text}", age, "s")
    return Check(
        "warn", f"standby ({node.name}): lease of {view.holder} expired, taking over", age, "s"
    )


def with_ha(report: HealthReport, node: HaNode, monotonic: float) -> HealthReport:
    # Keyed lease:renewalAge on /health (the draft's component:measurement), id "ha".
    check = dataclasses.replace(
        ha_check(node, monotonic),
        component="lease",
        measurement="renewalAge",
        component_type="system",
    )
    checks = {**report.checks, "ha": check}
    return dataclasses.replace(report, checks=checks, status=worst(report.status, check.status))
