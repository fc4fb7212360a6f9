"""The one source of truth for the database schema (sql/schema.sql is generated from it).

Times are timezone-aware timestamps; a DBA can read every table without the code.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Double,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
)

SCHEMA_VERSION = 4  # 2: deliveries.first_tried_at, sent_at; 3: acks; 4: leases, claim_token

metadata = MetaData()

# BIGINT identity on PostgreSQL, INTEGER PRIMARY KEY (rowid) on SQLite.
_Id = BigInteger().with_variant(Integer(), "sqlite")

TS = DateTime(timezone=True)

schema_version = Table(
    "schema_version",
    metadata,
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("applied_at", TS, nullable=False),
)

# Every venue's parsed answer, kept N days.
quotes = Table(
    "quotes",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("ts", TS, nullable=False),  # when received
    Column("ts_exchange", TS),
    Column("venue", String(32), nullable=False),
    Column("coin", String(16), nullable=False),
    Column("quote_ccy", String(16), nullable=False),
    Column("price", Double, nullable=False),
    Column("bid", Double),
    Column("ask", Double),
    Column("volume_base_24h", Double),
    Column("volume_quote_24h", Double),
    Index("ix_quotes_coin_ts", "coin", "ts"),
    Index("ix_quotes_ts", "ts"),
)

# Per-coin aggregates: 'raw' every cycle, downsampled into '1m' and '1h' by the retention job.
aggregates = Table(
    "aggregates",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("ts", TS, nullable=False),
    Column("coin", String(16), nullable=False),
    Column("resolution", String(4), nullable=False),  # raw | 1m | 1h
    Column("price", Double),  # NULL: no quorum this cycle
    Column("price_min", Double),
    Column("price_max", Double),
    Column("deviation", Double),
    Column("venues_used", SmallInteger, nullable=False),
    Column("spread", Double),
    Column("severity", SmallInteger, nullable=False),  # 0 none … 3 critical
    Index("ix_aggregates_coin_res_ts", "coin", "resolution", "ts"),
    Index("ix_aggregates_res_ts", "resolution", "ts"),
)

alerts = Table(
    "alerts",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("ts", TS, nullable=False),
    Column("severity", SmallInteger, nullable=False),
    Column("kind", String(24), nullable=False),  # first|escalated|reminder|resolved|monitor_*|test
    Column("coins", String(200), nullable=False),  # comma-separated, for people reading SQL
    Column("title", Text, nullable=False),
    Column("body", Text, nullable=False),
    Column("suppressed", String(64)),  # why it was recorded but not sent (silence, quiet hours)
    Index("ix_alerts_ts", "ts"),
)

# One row per coin in an alert: what restart recovery reads to rebuild the firing state.
alert_items = Table(
    "alert_items",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("alert_id", String(36), ForeignKey("alerts.id", ondelete="CASCADE"), nullable=False),
    Column("coin", String(16), nullable=False),
    Column("severity", SmallInteger, nullable=False),
    Column("kind", String(24), nullable=False),
    Column("price", Double),
    Column("deviation", Double),
    Index("ix_alert_items_coin", "coin", "alert_id"),
)

# The outbox: written before sending, updated with the outcome.
deliveries = Table(
    "deliveries",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("alert_id", String(36), ForeignKey("alerts.id", ondelete="CASCADE"), nullable=False),
    Column("channel", String(64), nullable=False),
    Column("status", String(16), nullable=False),  # pending|delivered|failed|expired|suppressed
    Column("attempts", Integer, nullable=False, default=0),
    Column("error", Text),  # free of secrets
    Column("fallback_for", String(64)),  # set when this delivery replaces a failed channel
    Column("created_at", TS, nullable=False),
    Column("updated_at", TS, nullable=False),
    Column("first_tried_at", TS),  # the first attempt, so a late page can say how late
    Column("sent_at", TS),  # when the channel took it
    # [ha]: the fencing token of the leader that claimed it to send (ha/fence.py)
    Column("claim_token", BigInteger),
    Index("ix_deliveries_status", "status"),
    Index("ix_deliveries_alert", "alert_id"),
)

# [ha]: who may send. One row per lease name; the token grows with each new holder, so a
# deposed leader's claims are told apart from the current one's (ha/lease.py).
leases = Table(
    "leases",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("holder", String(128), nullable=False),
    Column("token", BigInteger, nullable=False),
    Column("acquired_at", TS, nullable=False),
    Column("renewed_at", TS, nullable=False),
    Column("expires_at", TS, nullable=False),
)

silences = Table(
    "silences",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("coin", String(16)),  # NULL: every coin
    Column("starts_at", TS, nullable=False),
    Column("ends_at", TS, nullable=False),
    Column("reason", Text, nullable=False),
    Column("created_at", TS, nullable=False),
    Column("expired_at", TS),  # set by `silence expire`
)

# `depeg-monitor ack`: someone has seen a coin's episode; its reminders stop (alerts/acks.py).
acks = Table(
    "acks",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("coin", String(16), nullable=False),
    Column("episode_since", TS, nullable=False),  # the episode acknowledged: when it began
    Column("severity", SmallInteger, nullable=False),  # its peak when acknowledged
    Column("acked_by", String(64), nullable=False),
    Column("reason", Text, nullable=False),  # may be empty
    Column("created_at", TS, nullable=False),
    Index("ix_acks_coin", "coin", "id"),
)

health_history = Table(
    "health_history",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("ts", TS, nullable=False),
    Column("component", String(64), nullable=False),
    Column("status", String(8), nullable=False),  # pass|warn|fail
    Column("error", Text),
    Column("detail", JSON),
    Index("ix_health_history_ts", "ts"),
)
