"""Outbox claims fenced by the lease: a delivery is sent only by the node that claimed it under
the current lease token, in a transaction that first checks the lease is still its own.

A stale leader (its lease lapsed or taken over) cannot complete a claim: the lease check finds
another token, or too little time left, and nothing is claimed. Rows another node is claiming
at this moment are skipped (FOR UPDATE SKIP LOCKED), never waited for.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import bindparam, text, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from depeg_monitor.model import DeliveryStatus
from depeg_monitor.store.schema import deliveries

Key = tuple[str, str]  # (alert id, channel)

# FOR SHARE: a takeover's UPDATE of the lease row waits for this claim's commit, so a claim
# and a change of holder never interleave. The margin must still be left, by the database's
# clock: what is claimed is sent within it, before any standby may take over.
_LEASE_HELD = text(
    "SELECT token FROM leases WHERE name = :name AND holder = :holder AND token = :token"
    " AND expires_at > now() + make_interval(secs => :margin) FOR SHARE"
)


async def holds(conn: AsyncConnection, name: str, holder: str, token: int) -> bool:
    """Whether, in this transaction, the lease is still `holder`'s under `token` (and stays so
    until it commits): a decision is recorded only by the leader that made it."""
    params = {"name": name, "holder": holder, "token": token, "margin": 0.0}
    return (await conn.execute(_LEASE_HELD, params)).first() is not None


@dataclass(frozen=True, slots=True)
class Claim:
    """What a claim got: keys this node may send now, and keys it must let go of."""

    granted: frozenset[Key]
    gone: frozenset[Key]  # no longer pending, or claimed under a newer token: not ours
    # Keys in neither set have no row yet (still waiting to be written) or are being claimed
    # by another node at this moment: ask again later.


async def claim(
    engine: AsyncEngine, name: str, holder: str, token: int, margin: float, keys: Sequence[Key]
) -> Claim | None:
    """Claim the pending deliveries `keys` under `token`; None if the lease is not ours with
    more than `margin` left (send nothing)."""
    async with engine.begin() as conn:
        held = await conn.execute(
            _LEASE_HELD, {"name": name, "holder": holder, "token": token, "margin": margin}
        )
        if held.first() is None:
            return None
        wanted = tuple_(deliveries.c.alert_id, deliveries.c.channel).in_(list(keys))
        rows = (
            await conn.execute(
                deliveries.select()
                .with_only_columns(
                    deliveries.c.id,
                    deliveries.c.alert_id,
                    deliveries.c.channel,
                    deliveries.c.status,
                    deliveries.c.claim_token,
                )
                .where(wanted)
                .with_for_update(skip_locked=True)
            )
        ).all()
        granted, gone, ids = set(), set(), []
        for r in rows:
            key = (r.alert_id, r.channel)
            mine = r.claim_token is None or r.claim_token <= token
            if r.status == DeliveryStatus.PENDING.value and mine:
                granted.add(key)
                ids.append(r.id)
            else:
                gone.add(key)
        if ids:
            await conn.execute(
                deliveries.update()
                .where(deliveries.c.id.in_(bindparam("ids", expanding=True)))
                .values(claim_token=token),
                {"ids": ids},
            )
    return Claim(frozenset(granted), frozenset(gone))
