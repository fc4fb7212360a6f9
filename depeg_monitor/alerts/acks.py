"""Which acknowledgement (model.Ack) names a coin's open episode."""

from __future__ import annotations

from collections.abc import Sequence

from depeg_monitor.model import Ack

# An episode is named by when it began. The live policy keeps that time as the float it
# decided at, the database to the microsecond: they agree well within this. Two episodes of
# one coin are cycles apart, never this close.
SAME_EPISODE = 0.001


def ack_for(coin: str, since: float, acks: Sequence[Ack]) -> Ack | None:
    """The newest acknowledgement of coin's episode that began at since, if any: one made
    for an earlier episode no longer applies."""
    found = [a for a in acks if a.coin == coin and abs(a.since - since) < SAME_EPISODE]
    return max(found, key=lambda a: (a.at, a.id), default=None)
