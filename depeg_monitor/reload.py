"""`systemctl reload` (SIGHUP): the configuration read and checked again, exactly as at
start-up, and what a running monitor can take swapped in between two cycles.

A bad configuration is refused — each problem logged with its setting and why, the running
one kept. A good one is compiled into new frozen rules (rules.py) and handed to the parts that
keep state, which keep it: each coin's classifier state, the open episodes, the outbox's
queued deliveries. What can change while running:

- coins: each coin's thresholds, min_venues, alert_on_discount / alert_on_premium;
- [classification]: default thresholds, holds, clear band and hold, widening, confirm_venues;
- [alerts]: reminders, confirmation, routes and quiet hours, time zone, outbox ages, deadline;
- [channels]: added, removed or changed (a changed one is rebuilt; an unchanged one is kept).

Everything else needs a restart, and a reload says so and keeps the running value: which coins
and venues are watched (the collectors and their sockets), a coin's peg and coingecko_id,
[aggregation] (its rolling state is built from it), [database], [health] (the listening port,
the heartbeat), [logging], [chains], [pools], [oracles], [ha]. The environment is the process's own:
a changed EnvironmentFile needs a restart; systemd credentials are read again.
"""

from __future__ import annotations

import asyncio
import fnmatch
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any

import structlog

from depeg_monitor.alerts.policy import AlertPolicy
from depeg_monitor.alerts.routing import Router
from depeg_monitor.config import ConfigError, Settings, load_settings
from depeg_monitor.config.problems import Problem
from depeg_monitor.config.shown import one_line
from depeg_monitor.config.validate import Verdict, check
from depeg_monitor.detect.detector import Detector
from depeg_monitor.health.evaluate import HealthRules
from depeg_monitor.health.sdnotify import SdNotifier
from depeg_monitor.health.selfwatch import SelfWatch
from depeg_monitor.model import Severity
from depeg_monitor.notify.channel import Channel
from depeg_monitor.notify.outbox import Outbox
from depeg_monitor.rules import Rules, compile_rules

log = structlog.get_logger(__name__)

# Settings sections a running monitor takes whole; `coins` in part (COIN_FIELDS); the rest
# (RESTART_SECTIONS) only at start-up.
RELOADED_SECTIONS = ("classification", "alerts", "channels")
COIN_FIELDS = ("thresholds", "min_venues", "alert_on_discount", "alert_on_premium")
RESTART_SECTIONS = (
    "venues",
    "aggregation",
    "database",
    "health",
    "logging",
    "chains",
    "pools",
    "oracles",
    "ha",  # a node's name and lease timings: the lease it holds was taken under them
)
_ABSENT = object()


@dataclass(frozen=True, slots=True)
class Change:
    """One setting whose value differs, with both values masked for the log."""

    where: str  # dotted, e.g. classification.thresholds.major
    old: str  # "" when the whole table was added or removed (new says which)
    new: str

    def line(self) -> str:
        return f"{self.where}: {self.old} → {self.new}" if self.old else f"{self.where}: {self.new}"


@dataclass(frozen=True, slots=True)
class Plan:
    """What a reload does: the settings to run with, what changes, what waits for a restart."""

    settings: Settings  # the new file's values where they can be reloaded, the running ones else
    changes: tuple[Change, ...]
    needs_restart: tuple[Change, ...]


def _diff(old: Any, new: Any, path: str = "") -> Iterator[Change]:
    if isinstance(old, dict) and isinstance(new, dict):
        for key in dict.fromkeys([*old, *new]):
            where = f"{path}.{key}" if path else str(key)
            a, b = old.get(key, _ABSENT), new.get(key, _ABSENT)
            if a is _ABSENT or b is _ABSENT:  # a coin, venue or channel added or removed
                yield Change(where, "", "added" if a is _ABSENT else "removed")
            else:
                yield from _diff(a, b, where)
    elif old != new:  # SecretStr compares its secret: a changed webhook URL is a change
        yield Change(path, one_line(old), one_line(new))


def changes(old: Settings, new: Settings) -> tuple[Change, ...]:
    """Every setting that differs, each value masked (secrets as scheme://***)."""
    return tuple(_diff(old.model_dump(mode="python"), new.model_dump(mode="python")))


def plan(running: Settings, new: Settings) -> Plan:
    """The settings to run with after a reload: new ones where a running monitor can take
    them, the running ones where only a restart can change them."""
    coins = {}
    for name, was in running.coins.items():
        now = new.coins.get(name)
        if now is None:
            coins[name] = was  # a coin removed: watched until a restart
        else:
            coins[name] = was.model_copy(update={f: getattr(now, f) for f in COIN_FIELDS})
    kept = {section: getattr(running, section) for section in RESTART_SECTIONS}
    merged = new.model_copy(update={"coins": coins, **kept})
    return Plan(merged, changes(running, merged), changes(merged, new))


def reloadable(where: str) -> bool:
    """Whether a reload applies the setting at this dotted path (the rest need a restart)."""
    patterns = [f"{s}.*" for s in RELOADED_SECTIONS] + [f"coins.*.{f}*" for f in COIN_FIELDS]
    return any(fnmatch.fnmatchcase(where, p) for p in patterns)


def critical_reach(rules: Rules, channels: Mapping[str, Channel]) -> tuple[str, ...]:
    """The channels a critical alert can reach (health: a monitor that can wake no one fails)."""
    critical = rules.routing.routes.get(Severity.CRITICAL, ())
    return tuple(dict.fromkeys(c for rt in critical for c in rt.channels if c in channels))


@dataclass(frozen=True, slots=True)
class Reloaded:
    """A reload that was applied: what the daemon now runs with."""

    settings: Settings
    rules: Rules
    channels: Mapping[str, Channel]
    health: HealthRules  # with the channels a critical now reaches


class Refused(Exception):
    """The new configuration cannot be used; the running one stays."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(f"{p.where}: {p.reason}" for p in problems))
        self.problems = problems


def default_loader(settings: Settings) -> Callable[[], Settings]:
    """Read the configuration again the way start-up read it: the same file (--config, else
    $DEPEG_CONFIG, else none) under this process's environment."""
    origin = settings.origin
    path = origin.path if origin.given_by == "--config" else None
    return lambda: load_settings(path)


def _verified(load: Callable[[], Settings]) -> tuple[Settings, Verdict]:
    """Load and check, as `run` does before it starts (in a worker thread: the loop, the
    collectors and /health go on meanwhile)."""
    try:
        new = load()
    except ConfigError as e:
        raise Refused(e.problems) from None
    return new, check(new)


class Reloader:
    """Re-reads the configuration and swaps the reloadable rules into the running parts.

    Called by the daemon's main loop between two cycles, so no cycle ever sees half of two
    configurations."""

    def __init__(
        self,
        settings: Settings,
        rules: Rules,
        channels: dict[str, Channel],
        *,
        detector: Detector,
        policy: AlertPolicy,
        outbox: Outbox,
        selfwatch: SelfWatch,
        load: Callable[[], Settings] | None = None,
        accepted: Callable[[Settings], None] | None = None,
    ) -> None:
        self.settings = settings
        self.rules = rules
        self.channels = channels
        self._detector = detector
        self._policy = policy
        self._outbox = outbox
        self._selfwatch = selfwatch
        self._load = load or default_loader(settings)
        self._accepted = accepted  # e.g. the log's redaction list extended with new secrets

    async def reload(self, sd: SdNotifier) -> Reloaded | None:
        """One reload; None when the new configuration was refused (the running one stays)."""
        sd.reloading()
        try:
            return await self._reload()
        except Exception:  # a bug met by one reload must not end the monitor
            log.exception("config_reload_failed", action="kept the running configuration")
            return None
        finally:
            sd.ready()

    async def _reload(self) -> Reloaded | None:
        log.info("config_reloading", source=self.settings.origin.source())
        try:
            new, verdict = await asyncio.to_thread(_verified, self._load)
            if verdict.errors:
                for ch in verdict.channels.values():
                    await ch.close()
                raise Refused(verdict.errors)
            if self._accepted is not None:
                self._accepted(new)  # before anything below can log a new secret
            p = plan(self.settings, new)
            try:
                rules = compile_rules(p.settings)
            except ConfigError as e:
                raise Refused(e.problems) from None
        except Refused as e:
            for problem in e.problems:
                log.error("config_reload_problem", where=problem.where, problem=problem.reason)
            log.error(
                "config_reload_refused",
                problems=len(e.problems),
                action="kept the running configuration",
            )
            return None
        channels = await self._channels(new, verdict)
        self._apply(rules, channels)
        self.settings, self.rules, self.channels = p.settings, rules, channels
        for problem in verdict.warnings:
            log.warning("config_warning", where=problem.where, problem=problem.reason)
        if p.needs_restart:
            log.warning(
                "config_needs_restart",
                settings=[c.line() for c in p.needs_restart],
                action="kept the running values; restart to apply them",
            )
        log.info(
            "config_reloaded",
            changed=[c.line() for c in p.changes] or "nothing",
            needs_restart=len(p.needs_restart),
        )
        reach = critical_reach(rules, channels)
        return Reloaded(p.settings, rules, channels, replace(rules.health, critical_channels=reach))

    async def _channels(self, new: Settings, verdict: Verdict) -> dict[str, Channel]:
        """The new channels, keeping each one whose settings (and Twilio's credentials) are
        unchanged: its connections and its place in the outbox go on as they were."""
        old_env, new_env = self.settings.environment, new.environment
        twilio = ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN")
        out: dict[str, Channel] = {}
        unused: list[Channel] = []
        for name, built in verdict.channels.items():
            was, cfg = self.channels.get(name), new.channels[name]
            same = was is not None and self.settings.channels.get(name) == cfg
            if same and cfg.type == "twilio":
                same = all(old_env.get(k) == new_env.get(k) for k in twilio)
            if was is not None and same:
                out[name] = was
                unused.append(built)
            else:
                out[name] = built
        for ch in unused:  # built only to be checked
            await ch.close()
        return out

    def _apply(self, rules: Rules, channels: dict[str, Channel]) -> None:
        self._detector.retune(rules.detection)
        router = Router(rules.routing.routes, rules.routing.timezone, set(channels))
        self._policy.retune(rules.alerts, router)
        self._outbox.retune(channels, rules.outbox)
        self._selfwatch.retarget(rules.alert_channels or tuple(channels))
