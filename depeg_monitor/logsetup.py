"""Logging, configured once: JSON lines for journald, a readable console on a terminal.

structlog's own events and the stdlib records of libraries (apprise, aiohttp, asyncio,
twilio, SQLAlchemy) go through one chain and come out alike: the same JSON line or console
line, every configured secret replaced by `***` and personal data masked, and — when stdout
is journald's stream — the `<N>` syslog prefix journald reads as the line's priority, so
`journalctl -p warning` filters.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from collections.abc import Iterable, Iterator, Mapping
from typing import TextIO
from urllib.parse import quote, unquote, urlsplit

import structlog
from pydantic import BaseModel, SecretStr
from structlog.typing import EventDict, Processor, WrappedLogger

from depeg_monitor.config import LoggingSettings, Settings
from depeg_monitor.mask import mask_personal
from depeg_monitor.notify.channel import MACHINE, secret_parts

# Shorter values are not redacted: "***" for every "abc" in every line would hide more than
# it protects (secret_parts draws the same line).
MIN_SECRET = 4
REDACTED = "***"

# Syslog priorities (sd-daemon(3)) journald reads from a "<N>" line prefix.
_PRIORITY = {"critical": 2, "exception": 3, "error": 3, "warning": 4, "warn": 4, "info": 6}
_DEBUG = 7
_NOT_SCRUBBED = frozenset({"timestamp", "level", "logger"})  # ours, never a secret

# A URL's scheme and network location, even when "://" was mistyped ("https//discord.com/…").
_LOOSE_URL = re.compile(r"(?P<scheme>[A-Za-z][\w+.-]*):?/{1,2}(?P<netloc>[^/?#]*)")


class _Std:
    """Whatever sys.stdout (or sys.stderr) is at write time: tests swap them."""

    def __init__(self, name: str) -> None:
        self._name = name

    def current(self) -> TextIO:
        stream: TextIO = getattr(sys, self._name)
        return stream

    def write(self, text: str) -> int:
        return self.current().write(text)

    def flush(self) -> None:
        self.current().flush()

    def isatty(self) -> bool:
        return self.current().isatty()


# --- what to redact ------------------------------------------------------------------------


def url_secrets(url: str) -> list[str]:
    """The pieces of a channel or heartbeat URL that may be secret (secret_parts, and what
    sits in the host and port position: tgram://BOT:TOKEN/…), but not its scheme or a real
    host name: a mistyped "https//discord.com/…" must not put "https" and "discord.com" on
    the list, or every venue's address would read "***://…"."""
    found = set(secret_parts(url))
    m = _LOOSE_URL.match(url)
    if m is None:
        return sorted(found, key=len, reverse=True)
    userinfo, _, hostport = m.group("netloc").rpartition("@")
    host, _, port = hostport.partition(":")
    found.update(p for p in userinfo.split(":") if len(p) >= MIN_SECRET)
    if port and not port.isdigit():
        found.add(port)
    public = {m.group("scheme")}
    if MACHINE.fullmatch(host):
        public.add(host)
    elif len(host) >= MIN_SECRET:
        found.add(host)
    return sorted(found - public, key=len, reverse=True)


def _database_secrets(url: str) -> list[str]:
    """The URL and its password only: the database name and path are not secret, and a name
    like "depeg-monitor" redacted everywhere would blank half of every line."""
    try:
        password = urlsplit(url).password
    except ValueError:  # not a URL urlsplit can read: the whole of it is all we know
        password = None
    return [url, *((password, unquote(password)) if password else ())]


def _secret_values(value: object) -> Iterator[str]:
    """Every SecretStr anywhere in a settings value (a model, a mapping or a list of them)."""
    if isinstance(value, SecretStr):
        yield value.get_secret_value()
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            yield from _secret_values(getattr(value, name))
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _secret_values(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _secret_values(item)


def settings_secrets(settings: Settings, env: Mapping[str, str] | None = None) -> list[str]:
    """What must never appear in a log line: channel URLs and their secret parts, the
    heartbeat URL's, the database password, Twilio's SID and token, any other secret field."""
    env = os.environ if env is None else env
    found = set(_secret_values(settings))
    for channel in settings.channels.values():
        if channel.url is not None:
            found.update(url_secrets(channel.url.get_secret_value()))
    if settings.health.heartbeat_url is not None:
        found.update(url_secrets(settings.health.heartbeat_url.get_secret_value()))
    if settings.database.url is not None:
        found.update(_database_secrets(settings.database.url.get_secret_value()))
    found.update(env.get(k, "") for k in ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN"))
    return sorted((s for s in found if len(s) >= MIN_SECRET), key=len, reverse=True)


# --- processors ----------------------------------------------------------------------------


class Redact:
    """A processor: each secret replaced by *** and personal data masked, in every string of
    the event (its text, its values, a rendered traceback), whoever logged it."""

    def __init__(self, secrets: Iterable[str]) -> None:
        # A secret as given and percent-encoded (how a library may log it inside a URL);
        # longest first, so one secret inside another is replaced whole.
        found = {v for s in secrets if len(s) >= MIN_SECRET for v in (s, quote(s, safe=""))}
        ordered = sorted(found, key=len, reverse=True)
        self._pattern = re.compile("|".join(map(re.escape, ordered))) if ordered else None

    def text(self, text: str) -> str:
        if self._pattern is not None:
            text = self._pattern.sub(REDACTED, text)
        return mask_personal(text)

    def value(self, value: object) -> object:
        if isinstance(value, str):
            return self.text(value)
        if value is None or isinstance(value, bool | int | float):
            return value
        if isinstance(value, Mapping):
            return {self.value(k): self.value(v) for k, v in value.items()}
        if isinstance(value, list | tuple | set | frozenset):
            return [self.value(v) for v in value]
        return self.text(repr(value))  # what either renderer would have printed

    def __call__(self, logger: WrappedLogger, method: str, event_dict: EventDict) -> EventDict:
        return {k: v if k in _NOT_SCRUBBED else self.value(v) for k, v in event_dict.items()}


class _ConsoleLines:
    """ConsoleRenderer with each multi-line value on lines of its own below the event: the
    renderer alone shows it as one quoted string with a literal \\n between the lines."""

    def __init__(self, renderer: Processor) -> None:
        self._renderer = renderer

    def __call__(self, logger: WrappedLogger, method: str, event_dict: EventDict) -> str:
        long = {
            k: v
            for k, v in event_dict.items()
            if isinstance(v, str) and "\n" in v and k not in ("event", "exception", "stack")
        }
        rest = {k: v for k, v in event_dict.items() if k not in long}
        text = str(self._renderer(logger, method, rest))
        for key, value in long.items():
            text += f"\n  {key}:" + "".join(f"\n    {line}" for line in value.splitlines())
        return text


class _JournaldPriority:
    """The rendered line(s) prefixed with "<N>", the event's syslog priority."""

    def __init__(self, renderer: Processor) -> None:
        self._renderer = renderer

    def __call__(self, logger: WrappedLogger, method: str, event_dict: EventDict) -> str:
        level = str(event_dict.get("level", method)).lower()
        prefix = f"<{_PRIORITY.get(level, _DEBUG)}>"
        text = str(self._renderer(logger, method, event_dict))
        # Each line is a journal entry of its own: a traceback's lines keep the priority.
        return prefix + text.replace("\n", "\n" + prefix)


def _is_journal(stream: TextIO, env: Mapping[str, str]) -> bool:
    """systemd sets $JOURNAL_STREAM to the device:inode of the stream it connected to the
    journal (systemd.exec(5)); stdout redirected elsewhere (a file, a pipe) does not match."""
    want = env.get("JOURNAL_STREAM", "")
    dev, sep, ino = want.partition(":")
    if not (sep and dev.isdigit() and ino.isdigit()):
        return False
    try:
        st = os.fstat(stream.fileno())
    except (AttributeError, OSError, ValueError):  # a StringIO, a closed or detached stream
        return False
    return (st.st_dev, st.st_ino) == (int(dev), int(ino))


def _library_level(level: int) -> int:
    """Libraries speak at warning and above, or at the configured level if that is higher;
    at debug, everything."""
    return logging.DEBUG if level <= logging.DEBUG else max(level, logging.WARNING)


def configure_logging(
    settings: LoggingSettings,
    to_stderr: bool = False,
    *,
    secrets: Iterable[str] = (),
    environ: Mapping[str, str] | None = None,
) -> None:
    """Configure structlog and stdlib logging alike; secrets (e.g. settings_secrets(settings))
    are redacted from every line. environ: where $JOURNAL_STREAM is read (os.environ)."""
    env = os.environ if environ is None else environ
    out = _Std("stderr" if to_stderr else "stdout")
    level = logging.getLevelNamesMapping()[settings.level.upper()]
    journal = _is_journal(out.current(), env)
    fmt = settings.format
    if fmt == "auto":
        fmt = "console" if out.isatty() else "json"
    renderer: Processor = (
        _ConsoleLines(structlog.dev.ConsoleRenderer())
        if fmt == "console"
        else structlog.processors.JSONRenderer()
    )
    if journal:
        renderer = _JournaldPriority(renderer)
    before: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    after: list[Processor] = [structlog.processors.format_exc_info, Redact(secrets), renderer]
    structlog.configure(
        processors=[*before, *after],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=out),  # type: ignore[arg-type]
        cache_logger_on_first_use=False,
    )
    _route_stdlib(out, level, before, after)


class _Handler(logging.StreamHandler):  # type: ignore[type-arg]
    """Ours, so a second configure_logging replaces it rather than adding another."""


def _route_stdlib(out: _Std, level: int, before: list[Processor], after: list[Processor]) -> None:
    """One root handler: a library's record is rendered by structlog's chain, named by its
    logger ("apprise", "aiohttp.client"), never as bare "ERROR:apprise:…" text."""
    handler = _Handler(out)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[*before, structlog.stdlib.add_logger_name],
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *after],
        )
    )
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _Handler)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(_library_level(level))
    logging.captureWarnings(True)  # warnings.warn (SQLAlchemy's, aiohttp's) as records too
