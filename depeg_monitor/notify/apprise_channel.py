"""An apprise channel: Discord, e-mail, Telegram, Slack, ntfy, webhooks, any apprise URL.

One send is one apprise notify with no retries of apprise's own (the outbox retries), its
socket timeouts set from the channel's timeout and apprise's own per-service time budget just
above them: a receiver that answers slowly is waited for, never cut off and sent to again
while the first request is still in flight (apprise's default 4 s read timeout did exactly
that to a webhook answering in 20 s).

apprise is imported only when an apprise channel is built, and then only the plugins its URLs
need (see _PLUGINS). It stays in memory for the daemon's lifetime: apprise with three plugins
is some 200 modules and 8 MiB, its full plugin scan 300 modules and 10 MiB more.
"""

from __future__ import annotations

import importlib
import logging
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from depeg_monitor.alerts.render import discord
from depeg_monitor.mask import mask_personal
from depeg_monitor.model import Message
from depeg_monitor.notify.channel import (
    DEFAULT_TIMEOUT,
    MACHINE,
    DeliveryError,
    is_personal,
    mask_library_logs,
    retryable_status,
    scrub,
    secret_parts,
)

if TYPE_CHECKING:
    import apprise

_HTTP_STATUS = re.compile(r"error=(\d{3})")
CONNECT_TIMEOUT = 10.0  # at most: a host that has not accepted a connection by then will not
# apprise's budget for a notify sits this far past connect + read, so the library's own timeout
# ends a slow request (and its worker thread) before apprise stops waiting for it…
_BUDGET_SLACK = 1.0
# …and apprise gives up waiting a moment after its budget: the channel's timeout allows that.
_APPRISE_GRACE = 1.0
_MAX_NAMED = 5  # recipients named in an error, then "+N more"

# apprise finds a URL's plugin by importing every one of its plugins. For the schemes below
# the plugin is imported alone; any other scheme, or a service's own https:// URL (which only
# the scan can recognise), goes through apprise's full lookup.
_PLUGINS: Mapping[str, tuple[str, str]] = {
    "discord": ("apprise.plugins.discord", "NotifyDiscord"),
    "mailto": ("apprise.plugins.email", "NotifyEmail"),
    "mailtos": ("apprise.plugins.email", "NotifyEmail"),
    "json": ("apprise.plugins.custom_json", "NotifyJSON"),
    "jsons": ("apprise.plugins.custom_json", "NotifyJSON"),
    "ntfy": ("apprise.plugins.ntfy", "NotifyNtfy"),
    "ntfys": ("apprise.plugins.ntfy", "NotifyNtfy"),
    "tgram": ("apprise.plugins.telegram", "NotifyTelegram"),
    "slack": ("apprise.plugins.slack", "NotifySlack"),
}
_NOT_APPRISE = "not a URL apprise understands"


class _AsIfPropagated(logging.Handler):
    """apprise's records handed on to the root logger's handlers, as propagation would, but
    only those at the level the root logs."""

    def emit(self, record: logging.LogRecord) -> None:
        root = logging.getLogger()
        if record.levelno >= root.getEffectiveLevel():
            root.handle(record)


_AS_IF_PROPAGATED = _AsIfPropagated()


def _hear_apprise_warnings() -> None:
    """apprise says why a send failed (the HTTP status, the SMTP refusal) only in warning log
    lines it captures per send: with the daemon logging at error they were never made, and a
    404 read 'apprise reported failure' and was retried. So the apprise logger always makes
    them, and the daemon's own handlers still get only what its level lets through."""
    logger = logging.getLogger("apprise")
    logger.setLevel(min(logging.WARNING, logging.getLogger().getEffectiveLevel()))
    if _AS_IF_PROPAGATED not in logger.handlers:
        logger.addHandler(_AS_IF_PROPAGATED)
        logger.propagate = False


def plugin_schemes(plugin: Any) -> set[str]:
    """The URL schemes an apprise plugin class declares (protocol, secure_protocol)."""
    found: set[str] = set()
    for declared in (plugin.protocol, plugin.secure_protocol):
        if isinstance(declared, str):
            found.add(declared.lower())
        elif declared:
            found.update(str(d).lower() for d in declared)
    return found


def _known_plugin(scheme: str) -> Any | None:
    """The plugin class for scheme, imported alone; None if the scheme is not in _PLUGINS or
    this apprise keeps that plugin elsewhere (then the full lookup finds it)."""
    where = _PLUGINS.get(scheme)
    if where is None:
        return None
    try:
        plugin = getattr(importlib.import_module(where[0]), where[1])
    except (ImportError, AttributeError):
        return None
    return plugin if scheme in plugin_schemes(plugin) else None


def _is_smtp(service: Any) -> bool:
    # By name, so that checking does not import the e-mail plugin for every other service.
    return any(cls.__name__ == "NotifyEmail" for cls in type(service).__mro__)


def _limit(service: Any, timeout: float) -> None:
    """Set service's own socket timeouts from the channel's and turn its retries off."""
    # smtplib has one timeout, for the connection and for every reply after it: a server
    # that scans a message for 15 s before its 250 must not be cut off at 10.
    service.socket_connect_timeout = timeout if _is_smtp(service) else min(timeout, CONNECT_TIMEOUT)
    service.socket_read_timeout = timeout
    service.retry = 0  # the outbox retries, on its own schedule and deadline


def apprise_for(url: str, timeout: float = DEFAULT_TIMEOUT) -> apprise.Apprise:
    """An Apprise object holding url's one service, its timeouts set from timeout (see
    _limit); ValueError if apprise cannot use url."""
    import apprise

    # apprise's own per-service budget (60 s by default) must never end a notify before the
    # socket timeouts do, or it would report a failure while the request is still in flight:
    # connect + read is at most twice the timeout. AppriseChannel bounds each notify tighter.
    asset = apprise.AppriseAsset(service_timeout=2 * timeout + _BUDGET_SLACK)
    notifier = apprise.Apprise(asset=asset)
    plugin = _known_plugin(urlsplit(url).scheme.lower())
    if plugin is None:
        if not notifier.add(url):
            raise ValueError(_NOT_APPRISE)
    else:
        # What Apprise.instantiate does once it has found the plugin.
        args = plugin.parse_url(url.replace("/#", "/%23"))
        if not args:
            raise ValueError(_NOT_APPRISE)
        args.update(tag=set(), asset=notifier.asset)
        try:
            service = plugin(**args)
        except Exception:  # a plugin refusing its arguments, however it says so
            raise ValueError(_NOT_APPRISE) from None
        if not service.enabled or not notifier.add(service):
            raise ValueError(_NOT_APPRISE)
    for service in notifier:
        _limit(service, timeout)
    return notifier


def notify_budget(notifier: apprise.Apprise) -> float:
    """Seconds a notify through notifier may take: its slowest service's connect + read."""
    slowest = max(s.socket_connect_timeout + s.socket_read_timeout for s in notifier)
    return float(slowest) + _BUDGET_SLACK


def describe_target(url: str, service: Any) -> str:
    """Which service, for whom, through which host — safe to show: 'E-Mail to
    o***@example.com via 127.0.0.1:2525'. A host is named only if it is a machine's name (in
    many apprise URLs the host position holds a key); recipients are masked."""
    name = str(getattr(service, "service_name", "") or urlsplit(url).scheme)
    if _is_smtp(service):
        host, port = str(service.smtp_host or ""), service.port
        recipients = [addr for _, addr in service.targets] + sorted(service.cc | service.bcc)
    else:
        parts = urlsplit(url)
        host, port = parts.hostname or "", None
        try:
            port = parts.port
        except ValueError:  # tgram://BOT:TOKEN/… has a key where a port would be
            host = ""
        items = [unquote(seg) for seg in parts.path.split("/")]
        for pair in parts.query.split("&"):
            key, _, value = pair.partition("=")
            if unquote(key).lower() != "from":
                items += [unquote(v) for v in re.split(r"[\s,;]+", value)]
        recipients = [i for i in dict.fromkeys(items) if i and is_personal(i)]
    words = [name]
    if recipients:
        named = ", ".join(mask_personal(r) for r in recipients[:_MAX_NAMED])
        more = len(recipients) - _MAX_NAMED
        words.append(f"to {named}" + (f" (+{more} more)" if more > 0 else ""))
    if host and MACHINE.fullmatch(host):
        words.append(f"via {host}" + (f":{port}" if port else ""))
    return " ".join(words)


class AppriseChannel:
    """Any apprise URL; Discord gets markdown, email a subject and plain body."""

    def __init__(self, name: str, url: str, timeout: float = DEFAULT_TIMEOUT) -> None:
        mask_library_logs()
        self.name = name
        self._scheme = urlsplit(url).scheme.lower()
        self._secrets = secret_parts(url)
        self._apprise = apprise_for(url, timeout)
        self._target = describe_target(url, self._apprise[0])
        self._budget = notify_budget(self._apprise)
        self.timeout = self._budget + _APPRISE_GRACE

    async def send(self, msg: Message, key: str) -> None:
        if self._scheme.startswith("discord"):
            kwargs: dict[str, Any] = {"body": discord(msg), "body_format": "markdown"}
        else:
            kwargs = {"title": msg.title, "body": msg.body, "body_format": "text"}
        _hear_apprise_warnings()  # each time: the daemon may have set its logging up since
        try:
            result = await self._apprise.async_notify(timeout=self._budget, **kwargs)
        except Exception as e:  # a plugin crash is this channel's failure, not the outbox's
            reason = scrub(f"{type(e).__name__}: {e}", self._secrets)
            raise DeliveryError(f"{self._target}: {reason}", True) from None
        if result:
            return
        problems = [e.message for e in result.logs() if e.level in ("WARNING", "ERROR")]
        # An SMTP server's refusal echoes the address in its own spelling, which the URL
        # redaction cannot know: mask_personal catches it.
        reason = scrub("; ".join(problems) or "apprise reported failure", self._secrets)
        m = _HTTP_STATUS.search(reason)
        raise DeliveryError(
            f"{self._target}: {reason}", retryable_status(int(m.group(1)) if m else None)
        )

    async def close(self) -> None:
        return None
