"""What `run` needs beyond the schema, checked once for check-config and run alike.

check(settings) returns every problem — errors stop the monitor (exit 2), warnings do not —
with the channels it could build, so run starts with exactly what check-config approved.
Nothing here prints a secret: a channel's URL or a database password is never quoted back.
"""

from __future__ import annotations

import contextlib
import difflib
import importlib.util
import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from depeg_monitor.config.problems import Problem
from depeg_monitor.config.settings import Settings

if TYPE_CHECKING:
    from depeg_monitor.alerts.rules import RouteRule
    from depeg_monitor.notify.channel import Channel

SEVERITIES = ("minor", "major", "critical")
USD = "USD"
# backend+driver → the module that must be importable; anything else is not supported.
DRIVERS = {
    "sqlite+aiosqlite": "aiosqlite",
    "postgresql": "psycopg",
    "postgresql+psycopg": "psycopg",
    "postgresql+psycopg_async": "psycopg",
}
SUPPORTED_DRIVERS = "sqlite+aiosqlite:///PATH, postgresql+psycopg://USER@HOST/DB"
# What a working URL looks like, for the schemes people mistype.
URL_EXAMPLES = {
    "discord": "discord://WEBHOOK_ID/WEBHOOK_TOKEN",
    "mailto": "mailto://USER:PASSWORD@HOST?to=ADDRESS",
    "mailtos": "mailtos://USER:APP-PASSWORD@gmail.com?to=ADDRESS",
    "tgram": "tgram://BOT_TOKEN/CHAT_ID",
    "slack": "slack://TOKEN_A/TOKEN_B/TOKEN_C/#CHANNEL",
    "ntfy": "ntfy://TOPIC",
    "ntfys": "ntfys://HOST/TOPIC",
    "pagerduty": "pagerduty://INTEGRATION_KEY@API_KEY",
    "json": "json://HOST:PORT/PATH",
}
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass(frozen=True)
class Verdict:
    """Every problem found, and the channels that could be built (what run will use)."""

    problems: tuple[Problem, ...]
    channels: Mapping[str, Channel] = field(default_factory=dict)
    skipped: Mapping[str, str] = field(default_factory=dict)  # channel → why not built

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if not p.warning]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.warning]


def _closest(name: str, known: list[str]) -> str:
    close = difflib.get_close_matches(name, known, n=1)
    return f"did you mean {close[0]}? " if close else ""


def venue_problems(settings: Settings) -> list[Problem]:
    """A [venues.NAME] this program has no module for (checked at load: quotes needs it)."""
    from depeg_monitor.venues import VENUES

    known = list(VENUES)
    return [
        Problem(
            settings.origin.where(("venues", name)),
            f"unknown venue {name!r} ({_closest(name, known)}known: {', '.join(known)})",
        )
        for name in settings.venues
        if name not in VENUES
    ]


def chain_problems(settings: Settings) -> list[Problem]:
    """[pools.X] and [oracles.X] on a configured chain, each pool one its venue module
    accepts; every chain in use with its rpc_url (a secret, like a channel's: only from the
    environment or a credential; never quoted back)."""
    from depeg_monitor.config.chains import PoolSettings, feed_venue, pool_venue

    origin, chains = settings.origin, list(settings.chains)
    shown = ", ".join(chains) or "none defined"
    out: list[Problem] = []
    used: set[str] = set()
    for section, table in (("pools", settings.pools), ("oracles", settings.oracles)):
        for name, item in table.items():
            if not item.enabled:
                continue
            if item.chain not in settings.chains:
                out.append(
                    Problem(
                        origin.where((section, name, "chain")),
                        f"unknown chain {item.chain!r} ({_closest(item.chain, chains)}chains: "
                        f"{shown}); add a [chains.{item.chain}] table",
                    )
                )
                continue
            used.add(item.chain)
            try:
                if isinstance(item, PoolSettings):
                    pool_venue(name, item)
                else:
                    feed_venue(name, item)
            except ValueError as e:
                out.append(Problem(origin.where((section, name)), str(e)))
    for name, chain in settings.chains.items():
        variable = f"DEPEG_CHAINS__{name.upper()}__RPC_URL"
        if chain.rpc_url is None:
            out.append(
                Problem(
                    origin.where(("chains", name, "rpc_url")),
                    f"no rpc_url: set {variable} in the environment (or as a systemd "
                    "credential); it is a secret, provider URLs carry API keys",
                    name not in used,
                )
            )
        elif origin.from_file("chains", name, "rpc_url"):
            out.append(_secret_in_file(settings, ("chains", name, "rpc_url")))
    return out


def _listing(settings: Settings, coin: str) -> tuple[list[str], list[str]]:
    """(enabled venues with a market for coin, those of them whose quotes can count: weight
    above 0 and quoted in USD or a reference coin the aggregate converts). An enabled pool on a
    configured chain is a venue like an exchange (each pool its own venue in the aggregate)."""
    convertible = {USD, *settings.aggregation.reference_quotes} - {coin}
    listing, counting = [], []
    venues = [(n, v.enabled, v.markets, v.weight) for n, v in settings.venues.items()]
    venues += [
        (n, p.enabled, p.markets, p.weight)
        for n, p in settings.pools.items()
        if p.chain in settings.chains
    ]
    for name, enabled, markets, weight in venues:
        if not enabled:
            continue
        quotes = {m.partition("/")[2] for m in markets if m.partition("/")[0] == coin}
        if quotes:
            listing.append(name)
            if weight > 0 and quotes & convertible:
                counting.append(name)
    return listing, counting


def _watching(settings: Settings) -> list[Problem]:
    """Something to watch, somewhere to watch it, and a quorum each coin can reach."""
    origin = settings.origin
    if not settings.coins and origin.path is None and not origin.variables:
        return [
            Problem(
                "configuration",
                "no configuration file, so nothing to watch: --config was not given and "
                "$DEPEG_CONFIG is not set; pass --config PATH or set DEPEG_CONFIG=PATH "
                "(config.example.toml is a complete example)",
            )
        ]
    out: list[Problem] = []
    if not settings.coins:
        where = f"{origin.path} sets no coins" if origin.path else "no coins are set"
        out.append(
            Problem(
                "coins",
                f"nothing to watch: {where}; add a [coins.SYMBOL] table per coin "
                "(e.g. [coins.USDC] with peg = 1.0)",
            )
        )
    enabled = [n for n, v in settings.venues.items() if v.enabled and v.markets]
    enabled += [n for n, p in settings.pools.items() if p.enabled and p.chain in settings.chains]
    for name, v in settings.venues.items():
        if v.enabled and not v.markets:
            where = origin.where(("venues", name, "markets"))
            out.append(Problem(where, "no markets: it would poll nothing", True))
    if not enabled:
        why = (
            "every venue is disabled or lists no markets"
            if settings.venues
            else "no [venues.NAME] table is set"
        )
        out.append(Problem("venues", f"no enabled venue to poll: {why}; add one with its markets"))
        return out
    global_min = settings.aggregation.min_venues
    for coin, c in settings.coins.items():
        listing, counting = _listing(settings, coin)
        if not listing:
            out.append(
                Problem(
                    origin.where(("coins", coin)),
                    f"no enabled venue lists {coin}: add a market such as {coin}/USD or "
                    f"{coin}/USDT to a venue's markets, or remove the coin",
                )
            )
            continue
        need = c.min_venues if c.min_venues is not None else global_min
        if len(counting) < need:
            loc = ("coins", coin, "min_venues") if c.min_venues is not None else None
            where = origin.where(loc) if loc else origin.where(("aggregation", "min_venues"))
            names = ", ".join(counting) or "none"
            out.append(
                Problem(
                    where,
                    f"{coin} needs {need} venues for a price but only {len(counting)} can give "
                    f"one ({names}), so it would never have a price: list it on more venues "
                    f"or set [coins.{coin}] min_venues = {max(1, len(counting))}",
                )
            )
    return out


def database_parts(url: str) -> tuple[str, str, str | None]:
    """(backend+driver, host or SQLite path, password) of a database URL, read without
    SQLAlchemy (check-config loads no database library); ValueError if it is not a URL."""
    scheme, sep, rest = url.partition("://")
    if not sep or not scheme or any(c in scheme for c in "/@:?# "):
        raise ValueError("not a URL")
    if scheme.startswith("sqlite"):
        path = rest[1:].partition("?")[0] if rest.startswith("/") else rest.partition("?")[0]
        return scheme, path, None
    parts = urlsplit(url)
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        raise ValueError("not a URL") from None
    return scheme, f"{parts.hostname or 'localhost'}{port}{parts.path}", parts.password


def _database(settings: Settings) -> list[Problem]:
    db = settings.database
    where = settings.origin.where(("database", "url"))
    try:
        driver, place, password = database_parts(db.resolved_url())
    except ValueError:  # the URL is not quoted back: it may hold a password
        return [Problem(where, f"not a database URL (e.g. {SUPPORTED_DRIVERS})")]
    out: list[Problem] = []
    module = DRIVERS.get(driver.lower())
    if module is None:
        hint = " (SQLite needs the async driver: sqlite+aiosqlite:///PATH)"
        out.append(
            Problem(
                where,
                f"unsupported database driver {driver[:30]!r}"
                + (hint if driver.startswith("sqlite") else "")
                + f"; supported: {SUPPORTED_DRIVERS}",
            )
        )
    elif importlib.util.find_spec(module) is None:
        out.append(Problem(where, f"database driver {module} is not installed"))
    elif db.url is not None and module == "aiosqlite" and place and place != ":memory:":
        directory = Path(place).expanduser().parent
        if not directory.is_dir():
            out.append(Problem(where, f"the SQLite file's directory does not exist: {directory}"))
    if db.url is not None and settings.origin.from_file("database", "url") and password:
        out.append(_secret_in_file(settings, ("database", "url")))
    return out


def _ha(settings: Settings) -> list[Problem]:
    """[ha] needs PostgreSQL: the lease and the shared outbox live in a database both machines
    reach; a SQLite file is one machine's."""
    if not settings.ha.enabled:
        return []
    try:
        driver = database_parts(settings.database.resolved_url())[0]
    except ValueError:
        return []  # _database says why
    if driver.lower().startswith("postgresql"):
        return []
    return [
        Problem(
            settings.origin.where(("ha", "enabled")),
            f"true needs PostgreSQL, but the database is {driver.partition('+')[0]!r}: both "
            "nodes must share one database for the lease and the outbox (set [database] url "
            "= postgresql+psycopg://USER@HOST/DB), or set ha.enabled = false",
        )
    ]


def _secret_in_file(settings: Settings, loc: tuple[str, ...]) -> Problem:
    variable = "DEPEG_" + "__".join(p.upper() for p in loc)
    return Problem(
        ".".join(loc),
        f"a secret written in {settings.origin.path}: set {variable} in the environment "
        "(or as a systemd credential) instead",
        True,
    )


@contextlib.contextmanager
def _quiet(logger_name: str) -> Iterator[None]:
    """apprise logs a URL it cannot use in full ('Unsupported URL: https//…/TOKEN'): while
    channels are built for checking, its own lines are dropped — the check says it in words."""
    logger = logging.getLogger(logger_name)
    before = logger.level
    logger.setLevel(logging.CRITICAL + 1)
    try:
        yield
    finally:
        logger.setLevel(before)


def _url_reason(why: str, url: str | None) -> str:
    scheme = urlsplit(url or "").scheme.lower()[:20] if url and "://" in url else ""
    if not scheme:
        return f"{why}: no scheme:// in it (e.g. {URL_EXAMPLES['discord']})"
    example = URL_EXAMPLES.get(scheme)
    return f"{why} for {scheme}://" + (f" (expected {example})" if example else "")


def _channels(
    settings: Settings, env: Mapping[str, str]
) -> tuple[list[Problem], dict[str, Channel], dict[str, str]]:
    from depeg_monitor.notify.build import build_channels_report

    origin = settings.origin
    out: list[Problem] = []
    with _quiet("apprise"):
        built, skipped = build_channels_report(settings, env)
    for name, why in skipped.items():
        cfg = settings.channels[name]
        if cfg.type == "twilio":
            given = [k for k in ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN") if env.get(k)]
            if len(given) == 1:
                out.append(
                    Problem(
                        origin.where(("channels", name)),
                        f"{given[0]} is set but not its pair: SMS needs both "
                        "TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN",
                    )
                )
                continue
        if why.startswith("not configured"):
            out.append(Problem(origin.where(("channels", name)), f"{why}; skipped", True))
        elif cfg.type == "apprise":
            url = cfg.url.get_secret_value() if cfg.url else None
            out.append(Problem(origin.where(("channels", name, "url")), _url_reason(why, url)))
        else:
            out.append(Problem(origin.where(("channels", name)), why))
    for name, cfg in settings.channels.items():
        if cfg.url is not None and origin.from_file("channels", name, "url"):
            out.append(_secret_in_file(settings, ("channels", name, "url")))
    return out, built, skipped


def _names(settings: Settings) -> list[Problem]:
    """Every channel a route, a fallback or [health] alert_channels names exists."""
    origin, known = settings.origin, list(settings.channels)
    shown = ", ".join(known) or "none defined"

    def missing(loc: tuple[str | int, ...], names: list[str]) -> Iterator[Problem]:
        for n in names:
            if n not in settings.channels:
                yield Problem(
                    origin.where(loc),
                    f"no channel named {n!r} ({_closest(n, known)}channels: {shown})",
                )

    out: list[Problem] = []
    for sev, routes in settings.alerts.routes.items():
        for i, r in enumerate(routes):
            out += missing(("alerts", "routes", sev, i, "channels"), r.channels)
    for name, cfg in settings.channels.items():
        out += missing(("channels", name, "fallback"), cfg.fallback)
    out += missing(("health", "alert_channels"), settings.health.alert_channels)
    return out


def _gaps(rules: tuple[RouteRule, ...], deliverable: set[str]) -> list[str]:
    """Times of the week (alert time zone) no rule with a deliverable channel covers, as
    'Sat 00:00–24:00'; coverage changes only at the rules' own start and end times."""
    from depeg_monitor.alerts.routing import in_window

    live = [r for r in rules if any(c in deliverable for c in r.channels)]
    marks = sorted({time(0, 0), *(r.start for r in live), *(r.end for r in live if r.end)})
    monday = datetime(2024, 1, 1)  # a Monday; only weekday and time of day matter
    out: list[str] = []
    for day in range(7):
        date = monday + timedelta(days=day)
        spans: list[tuple[str, str]] = []
        for i, start in enumerate(marks):
            if any(in_window(r, datetime.combine(date.date(), start)) for r in live):
                continue
            end = marks[i + 1].strftime("%H:%M") if i + 1 < len(marks) else "24:00"
            if spans and spans[-1][1] == f"{start:%H:%M}":
                spans[-1] = (spans[-1][0], end)  # one span, however many marks it crosses
            else:
                spans.append((f"{start:%H:%M}", end))
        out += [f"{_WEEKDAYS[day]} {a}–{b}" for a, b in spans]
    return out


def _reach(settings: Settings, built: Mapping[str, Channel]) -> list[Problem]:
    """Who hears each severity: a channel in no route, a severity nobody can be told of
    (critical: an error), and hours when critical reaches nobody."""
    from depeg_monitor.config.routes import routing
    from depeg_monitor.model import Severity

    routes = routing(settings).routes
    routed = {c for rules in routes.values() for r in rules for c in r.channels}
    fallbacks = {f for c in settings.channels.values() for f in c.fallback}
    out: list[Problem] = []
    for name in settings.channels:
        if name not in routed and name not in fallbacks:
            out.append(
                Problem(
                    settings.origin.where(("channels", name)),
                    "in no route, so it hears no alert: name it in an [[alerts.routes.SEVERITY]] "
                    f"or give it severities (DEPEG_CHANNELS__{name.upper()}__SEVERITIES=critical)",
                    True,
                )
            )
    deliverable = set(built)
    defaults = "" if settings.alerts.routes else "; no [alerts.routes], so the default ones"
    for label in SEVERITIES:
        rules = routes.get(Severity.parse(label), ())
        reach = [c for r in rules for c in r.channels if c in deliverable]
        if not reach:
            named = list(dict.fromkeys(c for r in rules for c in r.channels))
            absent = [c for c in named if c not in settings.channels]
            unset = [c for c in named if c in settings.channels]
            why = "; ".join(
                [f"{', '.join(unset)} not configured"] * bool(unset)
                + [f"no channel named {', '.join(absent)}"] * bool(absent)
            )
            why = f"routed to {', '.join(named)}: {why}{defaults}" if named else "no route"
            critical = label == "critical"
            out.append(
                Problem(
                    f"alerts.routes.{label}",
                    f"{label} alerts would reach no one ({why}); set a channel's secret or "
                    "route a console channel"
                    + (" — a monitor that can wake no one must not run" if critical else ""),
                    not critical,
                )
            )
        elif label == "critical":
            gaps = _gaps(rules, deliverable)
            if gaps:
                shown = ", ".join(gaps[:3]) + (", …" if len(gaps) > 3 else "")
                out.append(
                    Problem(
                        "alerts.routes.critical",
                        f"critical alerts reach no one at some hours ({shown}, "
                        f"{settings.alerts.timezone}): add a route at any hour",
                        True,
                    )
                )
    return out


def _other_secrets(settings: Settings) -> list[Problem]:
    h = settings.health
    return [
        _secret_in_file(settings, ("health", name))
        for name, value in (("heartbeat_url", h.heartbeat_url), ("token", h.token))
        if value is not None and settings.origin.from_file("health", name)
    ]


def check(settings: Settings, env: Mapping[str, str] | None = None) -> Verdict:
    """Everything run needs; env is what the channels read (default: the settings' own)."""
    env = settings.environment if env is None else env
    problems = _watching(settings)
    if problems and problems[0].where == "configuration":
        return Verdict(tuple(problems))
    problems += venue_problems(settings)
    problems += chain_problems(settings)
    problems += _database(settings)
    problems += _ha(settings)
    channel_problems, built, skipped = _channels(settings, env)
    problems += channel_problems
    problems += _names(settings)
    if settings.channels:
        problems += _reach(settings, built)
    else:
        problems.append(
            Problem(
                "channels",
                "no channel is defined, so no alert can reach anyone: add one, e.g. "
                '[channels.console] type = "console", severities = ["critical"] (alerts into '
                "the log), or DEPEG_CHANNELS__PAGER__URL=ntfy://TOPIC with "
                "DEPEG_CHANNELS__PAGER__SEVERITIES=critical",
            )
        )
    problems += _other_secrets(settings)
    return Verdict(tuple(problems), built, skipped)


def problems(settings: Settings, env: Mapping[str, str] | None = None) -> list[Problem]:
    return list(check(settings, env).problems)
