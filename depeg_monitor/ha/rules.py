"""The pair's timings, compiled once from [ha]."""

from __future__ import annotations

from dataclasses import dataclass

LEASE_NAME = "leader"  # the one row every node of a pair competes for


@dataclass(frozen=True, slots=True)
class HaRules:
    node: str  # this node's name in the lease (the host name by default)
    lease_ttl: float  # a lease lasts this long after its last renewal (database time)
    renew_interval: float  # the leader renews, a standby tries to acquire, this often
    margin: float  # the leader sends only while more than this is left of its lease

    @property
    def takeover_time(self) -> float:
        """The longest a dead leader's lease keeps the pair leaderless: it expires lease_ttl
        after its last renewal and a standby asks within one renew_interval of that."""
        return self.lease_ttl + self.renew_interval
