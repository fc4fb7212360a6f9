"""`depeg-monitor config show`: the settings the monitor would run with, every default filled
in and every environment override applied, secrets and personal data masked.

As TOML (a comment names the variable or credential that set a value, or where a default came
from) or, with --json, as one JSON document. A secret keeps only its scheme (`discord://***`);
phone numbers and e-mail addresses are masked as in the log (depeg_monitor/mask.py).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator, Mapping
from typing import Any

from depeg_monitor.commands.settings import settings_or_exit
from depeg_monitor.config import Settings
from depeg_monitor.config.routes import DEFAULT_ROUTES
from depeg_monitor.config.shown import masked

TWILIO = ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN")
INLINE = frozenset({"thresholds"})  # written `key = { … }`, as config.example.toml does

Notes = dict[tuple[str, ...], str]


def effective(settings: Settings) -> tuple[dict[str, Any], Notes]:
    """The masked settings with what a running monitor falls back to written in, and a note
    per value saying where it came from (a variable, a credential, a default)."""
    tree: dict[str, Any] = masked(settings)
    notes: Notes = {path: f"from {label}" for path, label in settings.origin.variables.items()}
    for coin, c in settings.coins.items():
        entry = tree["coins"][coin]
        if c.thresholds is None:
            entry["thresholds"] = masked(settings.classification.thresholds)
            notes[("coins", coin.lower(), "thresholds")] = "[classification] thresholds"
        if c.min_venues is None:
            entry["min_venues"] = settings.aggregation.min_venues
            notes[("coins", coin.lower(), "min_venues")] = "[aggregation] min_venues"
    if not settings.alerts.routes:
        tree["alerts"]["routes"] = masked(DEFAULT_ROUTES)
        notes[("alerts", "routes")] = "none configured: the default routes"
    from depeg_monitor.venues import VENUES  # the venues' registry, on use

    for name, v in settings.venues.items():
        spec = VENUES.get(name)
        if v.base_url is None and spec is not None:
            tree["venues"][name]["base_url"] = spec.base_url
            notes[("venues", name, "base_url")] = "the venue's own"
    for name, ch in settings.channels.items():
        if ch.type == "twilio":  # its credentials are no setting: only whether each is given
            given = [f"{k} {'set' if settings.environment.get(k) else 'NOT SET'}" for k in TWILIO]
            notes[("channels", name)] = ", ".join(given)
    if settings.database.url is None:
        tree["database"]["url"] = settings.database.resolved_url()
        notes[("database", "url")] = "not set: a SQLite file in the state directory"
    return tree, notes


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, list):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{_key(k)} = {_value(x)}" for k, x in v.items()) + " }"
    return repr(v)


def _key(k: str) -> str:
    bare = k.replace("_", "").replace("-", "").isalnum() and k.isascii()
    return k if bare else json.dumps(k)


def _table(key: str, v: Any) -> bool:
    """Written as a [table] or [[array of tables]] rather than as a value."""
    if isinstance(v, dict):
        return key not in INLINE
    return isinstance(v, list) and bool(v) and all(isinstance(x, dict) for x in v)


def _comment(notes: Notes, path: tuple[str, ...]) -> str:
    note = notes.get(tuple(p.lower() for p in path))
    return f"  # {note}" if note else ""


def _toml(data: Mapping[str, Any], path: tuple[str, ...], notes: Notes) -> Iterator[str]:
    """Keys of this table first, then its sub-tables and arrays of tables."""
    later: list[tuple[str, Any]] = []
    for k, v in data.items():
        here = (*path, k)
        if v is None:
            yield f"# {_key(k)} is not set{_comment(notes, here)}"
        elif _table(k, v):
            later.append((k, v))
        else:
            yield f"{_key(k)} = {_value(v)}{_comment(notes, here)}"
    for k, v in later:
        here = (*path, k)
        name = ".".join(_key(p) for p in here)
        if isinstance(v, list):
            for item in v:
                yield ""
                yield f"[[{name}]]{_comment(notes, here)}"
                yield from _toml(item, here, notes)
        else:
            if not v or any(not _table(k2, x) for k2, x in v.items()) or _comment(notes, here):
                yield ""  # a table holding only tables needs no header of its own
                yield f"[{name}]{_comment(notes, here)}"
            yield from _toml(v, here, notes)


def render_toml(settings: Settings) -> str:
    tree, notes = effective(settings)
    head = [
        f"# The effective configuration: {settings.origin.source()}",
        "# (defaults filled in, environment overrides applied, secrets masked)",
    ]
    body = list(_toml(tree, (), notes))
    while body and body[0] == "":
        body.pop(0)
    return "\n".join([*head, "", *body]) + "\n"


def render_json(settings: Settings) -> str:
    tree, _ = effective(settings)
    return json.dumps({"source": settings.origin.source(), "settings": tree}, indent=2) + "\n"


def run(args: argparse.Namespace) -> int:
    settings = settings_or_exit(args)
    print(render_json(settings) if args.json else render_toml(settings), end="")
    return 0
