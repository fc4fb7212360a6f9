"""Settings → rules, once, at the composition root.

The validated Settings are compiled here into the small frozen rule values each stage takes
(Alertmanager's NewRoute → RouteOpts; structlog's processors compile their options in
__init__). Nothing below the root reads settings: detect/ gets DetectionRules, alerts/ gets
AlertRules and parsed routes. The daemon, replay and the commands call compile_rules.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass

from depeg_monitor.alerts.rules import AlertRules
from depeg_monitor.collect.chain_rules import ChainRules
from depeg_monitor.collect.rules import CollectorRules, StreamRules
from depeg_monitor.config import ConfigError, Settings
from depeg_monitor.config.chains import feed_venue, pool_venue
from depeg_monitor.config.routes import DEFAULT_ROUTES as DEFAULT_ROUTES  # re-exported
from depeg_monitor.config.routes import Routing as Routing
from depeg_monitor.config.routes import routing as routing
from depeg_monitor.config.validate import chain_problems, venue_problems
from depeg_monitor.config.venues import VenueSettings
from depeg_monitor.detect.rules import (
    AggregationRules,
    ClassifyRules,
    CoinRules,
    DetectionRules,
    Levels,
)
from depeg_monitor.ha.rules import HaRules
from depeg_monitor.health.evaluate import HealthRules
from depeg_monitor.model import Severity
from depeg_monitor.notify.outbox import OutboxRules
from depeg_monitor.store.retention import RetentionRules
from depeg_monitor.store.writer import WriterRules
from depeg_monitor.venues import VENUES
from depeg_monitor.venues.streams import STREAMS


def detection_rules(settings: Settings) -> DetectionRules:
    agg, cls = settings.aggregation, settings.classification
    coins = tuple(
        CoinRules(
            coin=name,
            peg=c.peg,
            levels=_levels(settings, name),
            # A coin listed on one venue only (e.g. an aggregator) may lower its own quorum.
            min_venues=c.min_venues if c.min_venues is not None else agg.min_venues,
            alert_on_discount=c.alert_on_discount,
            alert_on_premium=c.alert_on_premium,
        )
        for name, c in settings.coins.items()
    )
    return DetectionRules(
        coins=coins,
        aggregation=AggregationRules(
            max_quote_age=agg.max_quote_age,
            outlier_mad_k=agg.outlier_mad_k,
            outlier_min_band=agg.outlier_min_band,
            arbitrage_fee=agg.arbitrage_fee,
            reference_quotes=frozenset(agg.reference_quotes),
            baseline_window=agg.baseline_window,
            volatility_window=agg.volatility_window,
            reference_tolerance=agg.reference_tolerance,
            quote_move_coins=agg.quote_move_coins,
            quote_move_min=agg.quote_move_min,
            volume_window=agg.volume_window,
            volume_warmup=agg.volume_warmup,
            venue_weights={
                **{name: v.weight for name, v in settings.venues.items()},
                **{name: p.weight for name, p in settings.pools.items()},
            },
            cluster_band=agg.cluster_band,
            venue_liquidity={
                name: v.liquidity_usd
                for name, v in settings.venues.items()
                if v.liquidity_usd is not None
            },
        ),
        classify=ClassifyRules(
            holds=(cls.hold_minor, cls.hold_major, cls.hold_critical),
            clear_ratio=cls.clear_ratio,
            clear_hold=cls.clear_hold,
            volatility_widen_max=cls.volatility_widen_max,
            hold_cycles=(cls.hold_cycles_minor, cls.hold_cycles_major, cls.hold_cycles_critical),
            confirm_venues=cls.confirm_venues,
        ),
    )


def _levels(settings: Settings, coin: str) -> Levels:
    t = settings.thresholds_for(coin)
    return Levels(t.minor, t.major, t.critical)


def alert_rules(settings: Settings) -> AlertRules:
    a = settings.alerts
    return AlertRules(
        reminders={
            Severity.MINOR: a.reminder_minor,
            Severity.MAJOR: a.reminder_major,
            Severity.CRITICAL: a.reminder_critical,
        },
        reminder_backoff=a.reminder_backoff,
        reminder_max=a.reminder_max,
        confirm_minor_hold=a.confirm_minor_hold,
        confirm_volume_spike=a.confirm_volume_spike,
        confirm_spread=a.confirm_spread,
        dislocation_hold=a.dislocation_hold,
    )


def collector_rules(settings: Settings) -> tuple[CollectorRules, ...]:
    """One rule per enabled venue; an unknown venue name is a configuration error."""
    unknown = venue_problems(settings)
    if unknown:
        raise ConfigError(settings.origin.source(), unknown)
    pegs = {coin: c.peg for coin, c in settings.coins.items()}
    out = []
    for name, v in settings.venues.items():
        if not v.enabled:
            continue
        spec = VENUES[name]
        overrides: dict[str, str] = {}
        if spec.names_by_coin_id:
            for m in v.markets:
                coin = settings.coins.get(m.partition("/")[0])
                if coin is not None and coin.coingecko_id:
                    overrides[m] = coin.coingecko_id
        out.append(
            CollectorRules(
                venue=name,
                base_url=v.base_url or spec.base_url,
                markets=tuple(v.markets),
                pegs=pegs,
                poll_interval=v.poll_interval,
                timeout=v.timeout,
                max_age=v.max_age,
                price_band=v.price_band,
                max_clock_skew=v.max_clock_skew,
                listing_interval=v.listing_interval,
                max_body=v.max_body,
                breaker_threshold=v.breaker_threshold,
                breaker_max_backoff=v.breaker_max_backoff,
                symbol_overrides=overrides,
                stream=_stream_rules(name, v),
            )
        )
    return tuple(out)


def chain_rules(settings: Settings) -> tuple[ChainRules, ...]:
    """One rule per chain its enabled pools are read on; a pool on an unknown chain, one its
    venue module refuses, or a chain in use without its rpc_url is a configuration error."""
    bad = [p for p in chain_problems(settings) if not p.warning]
    if bad:
        raise ConfigError(settings.origin.source(), bad)
    pegs = {coin: c.peg for coin, c in settings.coins.items()}
    out = []
    for name, c in settings.chains.items():
        pools = tuple(
            pool_venue(n, p) for n, p in settings.pools.items() if p.enabled and p.chain == name
        )
        feeds = tuple(
            feed_venue(n, o) for n, o in settings.oracles.items() if o.enabled and o.chain == name
        )
        if not pools or c.rpc_url is None:
            continue
        out.append(
            ChainRules(
                chain=name,
                rpc_url=c.rpc_url.get_secret_value(),
                pools=pools,
                feeds=feeds,
                pegs=pegs,
                timeout=c.timeout,
                requests_per_second=c.requests_per_second,
                poll_interval=c.poll_interval,
                max_block_age=c.max_block_age,
                max_clock_skew=c.max_clock_skew,
                breaker_threshold=c.breaker_threshold,
                breaker_max_backoff=c.breaker_max_backoff,
                max_body=c.max_body,
            )
        )
    return tuple(out)


def _stream_rules(name: str, v: VenueSettings) -> StreamRules | None:
    """The venue's stream rules, where it has a stream and it is on. A venue whose base_url
    is set (a proxy, a regional host, the simulator) streams only from a stream_url set too:
    its REST was sent elsewhere, so its stream must not quietly go to the public endpoint."""
    spec = STREAMS.get(name)
    if not v.stream or spec is None:
        return None
    if v.base_url is not None and v.stream_url is None:
        return None
    return StreamRules(
        url=v.stream_url or spec.url,
        poll_interval=v.stream_poll_interval,
        silent_after=v.stream_silent_after,
        reconcile_band=v.stream_reconcile_band,
        connect_timeout=max(v.timeout, 5.0),
    )


def health_rules(settings: Settings) -> HealthRules:
    h = settings.health
    return HealthRules(tuple(settings.coins), h.stale_after, h.stall_after)


def writer_rules(settings: Settings) -> WriterRules:
    d = settings.database
    return WriterRules(
        d.batch_size, d.flush_interval, d.buffer_max, settings.health.history_interval
    )


def retention_rules(settings: Settings) -> RetentionRules:
    d = settings.database
    return RetentionRules(
        d.quotes_retention_days,
        d.minute_retention_days,
        d.hour_retention_days,
        d.retention_hour_utc,
    )


def ha_rules(settings: Settings) -> HaRules | None:
    """None unless [ha] enabled (check-config has made sure the database is PostgreSQL)."""
    h = settings.ha
    if not h.enabled:
        return None
    return HaRules(h.node or socket.gethostname(), h.lease_ttl, h.renew_interval, h.margin)


def outbox_rules(settings: Settings) -> OutboxRules:
    a = settings.alerts
    age = a.outbox_max_age
    return OutboxRules(
        failover_after=a.delivery_deadline,
        max_age={
            Severity.NONE: age.minor,
            Severity.MINOR: age.minor,
            Severity.MAJOR: age.major,
            Severity.CRITICAL: age.critical,
        },
        fallbacks={name: tuple(c.fallback) for name, c in settings.channels.items()},
    )


@dataclass(frozen=True, slots=True)
class Rules:
    """Everything the daemon's parts take, compiled once from the settings."""

    detection: DetectionRules
    alerts: AlertRules
    routing: Routing
    collectors: tuple[CollectorRules, ...]
    health: HealthRules
    writer: WriterRules
    retention: RetentionRules
    outbox: OutboxRules
    database_url: str  # a secret: never logged
    database_default: bool  # no url configured: the state directory, created if missing
    health_server: tuple[str, int] | None  # (host, port); None: no /health endpoint
    degraded_after: float  # /health failing this long sends "monitor degraded"
    alert_channels: tuple[str, ...]  # who hears it (empty: every channel)
    heartbeat_url: str | None  # a secret: never logged
    heartbeat_interval: float
    chains: tuple[ChainRules, ...] = ()  # on-chain sources: none unless pools are configured
    health_token: str | None = None  # a secret: the detailed /health for whoever sends it
    ha: HaRules | None = None  # active/standby on PostgreSQL; None: this node always sends


def compile_rules(settings: Settings) -> Rules:
    """Every part's rules; raises ConfigError for what validation alone cannot see."""
    h = settings.health
    return Rules(
        detection=detection_rules(settings),
        alerts=alert_rules(settings),
        routing=routing(settings),
        collectors=collector_rules(settings),
        health=health_rules(settings),
        writer=writer_rules(settings),
        retention=retention_rules(settings),
        outbox=outbox_rules(settings),
        database_url=settings.database.resolved_url(),
        database_default=settings.database.url is None,
        health_server=(h.host, h.port) if h.enabled else None,
        degraded_after=h.degraded_after,
        alert_channels=tuple(h.alert_channels),
        heartbeat_url=h.heartbeat_url.get_secret_value() if h.heartbeat_url else None,
        heartbeat_interval=h.heartbeat_interval,
        chains=chain_rules(settings),
        health_token=h.token.get_secret_value() if h.token else None,
        ha=ha_rules(settings),
    )
