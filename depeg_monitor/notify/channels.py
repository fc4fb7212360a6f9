"""Delivery channels: apprise (Discord, email, Telegram, Slack, ntfy, …), Twilio SMS, console.

Each channel shapes the Message for its medium, sends it once, and classifies its own errors
as retryable or not (DeliveryError). Errors are scrubbed of the channel's secrets and have
their phone numbers and e-mail addresses masked before they leave the channel, so logs, health
output and the database never see a token, a password or a recipient in full.

apprise is imported only when an apprise channel is built, and then only the plugins its URLs
need (see _PLUGINS); the Twilio SDK only when an SMS channel is. Each stays in memory for the
daemon's lifetime: apprise with three plugins is some 200 modules and 8 MiB, its full plugin
scan 300 modules and 10 MiB more. (Three channel kinds and their builder, some 340 lines: the
delivery-guarantees work splits them one module per kind.)
"""

from __future__ import annotations

import functools
import importlib
import logging
import os
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import parse_qsl, urlsplit

import structlog

from depeg_monitor.alerts.render import discord, plain, sms
from depeg_monitor.mask import mask_personal, mask_phone
from depeg_monitor.model import Message

if TYPE_CHECKING:
    import apprise
    from twilio.base.exceptions import TwilioRestException
    from twilio.http.response import Response

    from depeg_monitor.config import ChannelSettings, Settings

log = structlog.get_logger(__name__)

TWILIO_API = "https://api.twilio.com"
_HTTP_STATUS = re.compile(r"error=(\d{3})")


class DeliveryError(Exception):
    """A send that did not happen; reason is already free of secrets."""

    def __init__(self, reason: str, retryable: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable


class Channel(Protocol):
    name: str

    async def send(self, msg: Message, key: str) -> None:
        """Deliver msg once (key identifies the alert); raise DeliveryError if it failed."""

    async def close(self) -> None: ...


def retryable_status(status: int | None) -> bool:
    """Server trouble and rate limits pass; a 4xx means the request itself is wrong."""
    return status is None or status >= 500 or status in (408, 425, 429)


def secret_parts(url: str) -> list[str]:
    """Pieces of a URL that may be secret: the whole, user, password, path and query values."""
    parts = urlsplit(url)
    found = {url, parts.password or "", parts.username or ""}
    found.update(seg for seg in parts.path.split("/"))
    found.update(v for _, v in parse_qsl(parts.query))
    return sorted((p for p in found if len(p) >= 4), key=len, reverse=True)


def redact(text: str, secrets: list[str]) -> str:
    for s in secrets:
        text = text.replace(s, "***")
    return text


def scrub(text: str, secrets: list[str]) -> str:
    """Secrets out first (a token may look like anything), then personal data masked; the
    host of an SMTP server or webhook may stay."""
    return mask_personal(redact(text, secrets))


class _MaskPersonal(logging.Filter):
    """apprise and the Twilio SDK log through stdlib logging (to stderr, journald), naming
    recipients — 'Sending email to "alice@example.com" failed.': masked before any handler."""

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        masked = mask_personal(text)
        if masked != text:
            record.msg, record.args = masked, None
        return True


_MASK_LIBRARY_LOGS = _MaskPersonal()


def _mask_library_logs() -> None:
    # A filter on a logger applies to records made on that very logger, so each is named.
    for name in ("apprise", "twilio.http_client", "twilio.async_http_client"):
        logger = logging.getLogger(name)
        if _MASK_LIBRARY_LOGS not in logger.filters:
            logger.addFilter(_MASK_LIBRARY_LOGS)


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


def apprise_for(url: str) -> apprise.Apprise:
    """An Apprise object holding url's one service; ValueError if apprise cannot use url."""
    import apprise

    notifier = apprise.Apprise()
    plugin = _known_plugin(urlsplit(url).scheme.lower())
    if plugin is None:
        if not notifier.add(url):
            raise ValueError(_NOT_APPRISE)
        return notifier
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
    return notifier


class AppriseChannel:
    """Any apprise URL; Discord gets markdown, email a subject and plain body."""

    def __init__(self, name: str, url: str) -> None:
        _mask_library_logs()
        self.name = name
        self._scheme = urlsplit(url).scheme.lower()
        self._secrets = secret_parts(url)
        self._apprise = apprise_for(url)

    async def send(self, msg: Message, key: str) -> None:
        if self._scheme.startswith("discord"):
            kwargs: dict[str, Any] = {"body": discord(msg), "body_format": "markdown"}
        else:
            kwargs = {"title": msg.title, "body": msg.body, "body_format": "text"}
        try:
            result = await self._apprise.async_notify(**kwargs)
        except Exception as e:  # a plugin crash is this channel's failure, not the outbox's
            raise DeliveryError(scrub(f"{type(e).__name__}: {e}", self._secrets), True) from None
        if result:
            return
        problems = [e.message for e in result.logs() if e.level in ("WARNING", "ERROR")]
        # An SMTP server's refusal echoes the address in its own spelling, which the URL
        # redaction cannot know: mask_personal catches it.
        reason = scrub("; ".join(problems) or "apprise reported failure", self._secrets)
        m = _HTTP_STATUS.search(reason)
        raise DeliveryError(reason, retryable_status(int(m.group(1)) if m else None))

    async def close(self) -> None:
        return None


@functools.cache
def _base_url_client() -> type[Any]:
    """Twilio's own async client, pointed at another base URL (a local stand-in in tests);
    a class made on first use, since its base class is the SDK's."""
    from twilio.http.async_http_client import AsyncTwilioHttpClient

    class BaseUrlHttpClient(AsyncTwilioHttpClient):  # type: ignore[misc]
        def __init__(self, api_base: str | None) -> None:
            super().__init__(pool_connections=False)
            self._base = api_base.rstrip("/") if api_base else None

        async def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Response:
            if self._base and url.startswith(TWILIO_API):
                url = self._base + url[len(TWILIO_API) :]
            return await super().request(method, url, *args, **kwargs)

    return BaseUrlHttpClient


class TwilioChannel:
    """SMS to one or more numbers; a retry re-sends only to numbers not yet reached."""

    def __init__(self, name: str, cfg: ChannelSettings, sid: str, token: str) -> None:
        if not cfg.from_number:
            raise ValueError("a twilio channel needs from_number")
        _mask_library_logs()
        self.name = name
        self._from = cfg.from_number
        self._to = list(cfg.to_numbers)
        self._secrets = [s for s in (sid, token) if s]
        # Numbers as configured (even if not in + form, which mask_personal would not spot),
        # longest first so one number inside another is replaced whole; a short code or a
        # typo of a few digits is left to mask_personal rather than replaced everywhere.
        self._numbers = sorted(
            (n for n in {*self._to, self._from} if sum(c.isdigit() for c in n) >= 7),
            key=len,
            reverse=True,
        )
        from twilio.rest import Client as TwilioClient

        self._client = TwilioClient(sid, token, http_client=_base_url_client()(cfg.api_base))
        self._reached: dict[str, set[str]] = {}

    async def send(self, msg: Message, key: str) -> None:
        import aiohttp
        from twilio.base.exceptions import TwilioRestException

        text = sms(msg)
        reached = self._reached.setdefault(key, set())
        failures: list[DeliveryError] = []
        for number in self._to:
            if number in reached:
                continue
            try:
                await self._client.messages.create_async(to=number, from_=self._from, body=text)
                reached.add(number)
            except TwilioRestException as e:
                reason = f"twilio {e.status} (code {e.code}) for {number}: {e.msg}"
                failures.append(DeliveryError(self._scrub(reason), _twilio_retry(e)))
            except (aiohttp.ClientError, TimeoutError) as e:
                reason = f"twilio unreachable for {number}: {type(e).__name__}: {e}"
                failures.append(DeliveryError(self._scrub(reason), True))
        if not failures:
            self._reached.pop(key, None)
            return
        if len(self._reached) > 1000:  # forget old keys; a retry storm this long is over
            self._reached = {key: reached}
        raise DeliveryError(
            "; ".join(f.reason for f in failures), any(f.retryable for f in failures)
        )

    def _scrub(self, text: str) -> str:
        text = scrub(text, self._secrets)  # first: Twilio's +1… spelling is masked whole
        for number in self._numbers:
            text = text.replace(number, mask_phone(number))
        return text

    async def close(self) -> None:
        return None


def _twilio_retry(e: TwilioRestException) -> bool:
    return retryable_status(int(e.status) if e.status else None)


class ConsoleChannel:
    """A structlog line per alert: the demo's channel, and a trace in journald."""

    def __init__(self, name: str) -> None:
        self.name = name

    async def send(self, msg: Message, key: str) -> None:
        log.warning("alert", channel=self.name, alert_id=key, text=plain(msg))

    async def close(self) -> None:
        return None


def _build_one(name: str, cfg: ChannelSettings, env: Mapping[str, str]) -> Channel:
    """One channel, or ValueError saying what is missing (never the secret itself)."""
    if cfg.type == "console":
        return ConsoleChannel(name)
    if cfg.type == "twilio":
        sid, token = env.get("TWILIO_ACCOUNT_SID", ""), env.get("TWILIO_AUTH_TOKEN", "")
        missing = [
            k for k, v in (("TWILIO_ACCOUNT_SID", sid), ("TWILIO_AUTH_TOKEN", token)) if not v
        ]
        if missing:
            raise ValueError(f"not configured: set {' and '.join(missing)}")
        return TwilioChannel(name, cfg, sid, token)
    if cfg.url is None:
        raise ValueError(f"not configured: set DEPEG_CHANNELS__{name.upper()}__URL")
    return AppriseChannel(name, cfg.url.get_secret_value())


def build_channels_report(
    settings: Settings, env: Mapping[str, str] | None = None
) -> tuple[dict[str, Channel], dict[str, str]]:
    """(usable channels, channel → why it was skipped)."""
    env = os.environ if env is None else env
    channels: dict[str, Channel] = {}
    skipped: dict[str, str] = {}
    for name, cfg in settings.channels.items():
        try:
            channels[name] = _build_one(name, cfg, env)
        except ValueError as e:
            skipped[name] = str(e)
    return channels, skipped


def build_channels(settings: Settings) -> dict[str, Channel]:
    """Every usable channel; each one skipped gets a single warning naming what to set."""
    channels, skipped = build_channels_report(settings)
    for name, why in skipped.items():
        log.warning("channel_skipped", channel=name, reason=why)
    return channels
