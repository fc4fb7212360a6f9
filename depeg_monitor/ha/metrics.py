"""The pair's Prometheus metrics, registered on the monitor's own registry."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge

ROLES = ("leader", "standby")


class HaMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self._role = Gauge(
            "depeg_ha_role",
            "1 for this node's current role (leader or standby)",
            ["role"],
            registry=registry,
        )
        self.renewals = Counter(
            "depeg_ha_lease_renewals",
            "Lease renewals by this node while leading",
            registry=registry,
        )
        self.takeovers = Counter(
            "depeg_ha_takeovers", "Times this node became the leader", registry=registry
        )

    def role(self, role: str) -> None:
        for r in ROLES:
            self._role.labels(r).set(1.0 if r == role else 0.0)
