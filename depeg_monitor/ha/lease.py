"""The leader's lease: one row in PostgreSQL with its holder, a fencing token and an expiry.

Why a lease row and not `pg_advisory_lock`: an advisory lock belongs to a database session. When
the leader's connection drops (a partition, a NAT timeout, a proxy restart), the server ends the
session and frees the lock at a moment the old leader does not learn of — it only finds out on
its next query, and until then it believes it leads while a standby already holds the lock: two
senders. A session lock also carries no number, so nothing written under it can tell an old
leader's work from the new one's. The row instead has an expiry both sides can reason about —
the old leader knows, by its own monotonic clock, when it must stop (expiry minus a margin,
counted from before its renewal was sent, so never later than the database's expiry), and the
standby may take over only after the expiry by the database's clock — and a token that grows
with every new holder, which the outbox's claims are fenced with (ha/fence.py).

Every acquisition and renewal is one short transaction using the database's own clock (now()),
so the machines' clocks never matter; only their rates (monotonic seconds) do.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from depeg_monitor.clock import Clock
from depeg_monitor.ha.rules import LEASE_NAME, HaRules

# One statement: take the lease if it has expired (whoever held it: a new token), or extend it
# if this node holds it with this token and it has not expired (the same token). A holder whose
# lease lapsed, or was taken over, matches neither: a stale holder cannot renew. Two nodes
# racing for an expired lease serialise on the row; the loser's WHERE is re-checked against the
# winner's fresh row and fails.
_TRY_LEAD = text(
    """
    INSERT INTO leases AS l (name, holder, token, acquired_at, renewed_at, expires_at)
    VALUES (:name, :holder, 1, now(), now(), now() + make_interval(secs => :ttl))
    ON CONFLICT (name) DO UPDATE SET
        token = CASE WHEN l.holder = :holder AND l.token = :token AND l.expires_at > now()
                     THEN l.token ELSE l.token + 1 END,
        acquired_at = CASE WHEN l.holder = :holder AND l.token = :token AND l.expires_at > now()
                           THEN l.acquired_at ELSE now() END,
        holder = EXCLUDED.holder,
        renewed_at = now(),
        expires_at = EXCLUDED.expires_at
    WHERE (l.holder = :holder AND l.token = :token AND l.expires_at > now())
       OR l.expires_at <= now()
    """
)
_READ = text(
    """
    SELECT holder, token,
           extract(epoch FROM expires_at - now()) AS remaining,
           extract(epoch FROM now() - renewed_at) AS since_renewal
    FROM leases WHERE name = :name
    """
)
# A clean shutdown hands the lease over at once instead of leaving the pair leaderless for
# lease_ttl: expire it now (only if still ours, under our token).
_RELEASE = text(
    "UPDATE leases SET expires_at = now() WHERE name = :name AND holder = :holder"
    " AND token = :token AND expires_at > now()"
)


@dataclass(frozen=True, slots=True)
class LeaseView:
    """The lease as the database saw it at one read (seconds by the database's clock)."""

    holder: str | None  # None: nobody ever held it
    token: int
    mine: bool  # this node holds it
    remaining: float  # left before it expires (negative: expired that long ago)
    since_renewal: float  # since its holder last renewed it
    acquired: bool = False  # this read made this node the holder under a new token


class Lease:
    """This node's side of the lease: try to lead, know how long it may act on it."""

    def __init__(self, engine: AsyncEngine, rules: HaRules, clock: Clock) -> None:
        self._engine = engine
        self._rules = rules
        self._clock = clock
        self.token: int | None = None  # the token this node holds the lease under
        self._valid_until = float("-inf")  # monotonic: when the lease may have run out

    @property
    def holder(self) -> str:
        return self._rules.node

    def may_act(self) -> bool:
        """Whether this node may still send: it holds the lease with more than the margin
        left, by its own monotonic clock (no database round trip)."""
        left = self._valid_until - self._clock.monotonic()
        return self.token is not None and left > self._rules.margin

    async def try_lead(self, timeout: float | None = None) -> LeaseView:  # noqa: ASYNC109
        """Acquire or renew in one short transaction; the lease as it is now, whoever holds
        it. Raises what the database raises (or TimeoutError): the caller keeps its last view,
        and may_act() turns false by itself when the lease may have lapsed."""
        sent = self._clock.monotonic()  # before the statement: the database's now() is later
        params = {
            "name": LEASE_NAME,
            "holder": self.holder,
            "token": self.token,
            "ttl": self._rules.lease_ttl,
        }
        async with asyncio.timeout(timeout), self._engine.begin() as conn:
            await conn.execute(_TRY_LEAD, params)
            row = (await conn.execute(_READ, {"name": LEASE_NAME})).one()
        mine = row.holder == self.holder
        remaining = float(row.remaining)
        acquired = mine and row.token != self.token
        if mine:
            self.token = int(row.token)
            self._valid_until = sent + remaining
        else:
            self.token = None
            self._valid_until = float("-inf")
        return LeaseView(
            row.holder, int(row.token), mine, remaining, float(row.since_renewal), acquired
        )

    def forget(self) -> None:
        """Act as if the lease were lost (a demotion this node decided on its own)."""
        self.token = None
        self._valid_until = float("-inf")

    async def release(self) -> None:
        """Give the lease up (clean shutdown), so a standby takes over within one poll."""
        token, self.token = self.token, None
        self._valid_until = float("-inf")
        if token is None:
            return
        params = {"name": LEASE_NAME, "holder": self.holder, "token": token}
        async with asyncio.timeout(self._rules.renew_interval), self._engine.begin() as conn:
            await conn.execute(_RELEASE, params)
