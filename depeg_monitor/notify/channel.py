"""What every delivery channel is, and how its errors are made safe to show.

A channel shapes the Message for its medium, sends it once within its `timeout`, and classifies
its own errors as retryable or not (DeliveryError). Errors are scrubbed of the channel's secrets
and have their phone numbers and e-mail addresses masked before they leave the channel, so logs,
health output and the database never see a token, a password or a recipient in full, yet still
name the host that failed and whom the message was for (`a***@example.com`).
"""

from __future__ import annotations

import logging
import re
from typing import Protocol
from urllib.parse import unquote, urlsplit

from depeg_monitor.mask import mask_email, mask_personal
from depeg_monitor.model import Message

DEFAULT_TIMEOUT = 30.0  # ChannelSettings.timeout's default, for channels built without one
MIN_SECRET = 4  # shorter pieces are not redacted: "***" for every "abc" would hide everything

# A host that names a machine (a DNS name, an address): apprise keeps API keys in the host
# position of many URLs (ifttt://KEY/…, discord://WEBHOOK_ID/…), but a key has no top-level
# domain.
MACHINE = re.compile(
    r"(?:[\w-]+\.)+[A-Za-z]{2,63}|\d{1,3}(?:\.\d{1,3}){3}|localhost|\[[\dA-Fa-f:.]+\]"
)
# apprise options whose values say how to send, never to whom or with what key.
_OPTIONS = frozenset({"mode", "format", "overflow", "verify", "rto", "cto", "retry", "wait"})
_ITEMS = re.compile(r"[\s,;]+")  # a list value: to=a@x.com,b@y.com
_PHONE = re.compile(r"(?:\+|%2[Bb])[\d ()-]{7,}")


class DeliveryError(Exception):
    """A send that did not happen; reason is already free of secrets."""

    def __init__(self, reason: str, retryable: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable


class Channel(Protocol):
    name: str
    # Seconds one send() may take: the channel sets its libraries' own timeouts so that send()
    # ends within about this, and the outbox's backstop waits this long before giving up on it.
    timeout: float

    async def send(self, msg: Message, key: str) -> None:
        """Deliver msg once (key identifies the alert); raise DeliveryError if it failed."""

    async def close(self) -> None: ...


def retryable_status(status: int | None) -> bool:
    """Server trouble and rate limits pass; a 4xx means the request itself is wrong."""
    return status is None or status >= 500 or status in (408, 425, 429)


def is_personal(item: str) -> bool:
    """item is one e-mail address or one phone number: masked where it shows, not redacted."""
    if _PHONE.fullmatch(item):
        return mask_personal(item) != item
    return "@" in item and mask_personal(item) == mask_email(item) != item


def _public(piece: str) -> bool:
    """Safe to show as it is (a host name) or once masked (addresses, numbers, lists of them)."""
    if MACHINE.fullmatch(piece) or (piece.isdigit() and len(piece) <= 5):  # a host or a port
        return True
    items = [i for i in _ITEMS.split(piece) if i]
    return bool(items) and all(is_personal(i) for i in items)


def _split_netloc(netloc: str) -> tuple[str, str, str]:
    """(userinfo, host, port) of a netloc, IPv6 brackets kept with the host."""
    userinfo, _, hostport = netloc.rpartition("@")
    if hostport.startswith("[") and "]" in hostport:
        host, _, rest = hostport.partition("]")
        return userinfo, host + "]", rest.removeprefix(":")
    host, _, port = hostport.partition(":")
    return userinfo, host, port


def secret_parts(url: str) -> list[str]:
    """Pieces of a URL that may be secret, longest first: the whole URL, the user and password,
    a key in the host position, path segments (webhook tokens) and query values. Host names,
    ports and apprise's sending options stay readable; e-mail addresses and phone numbers are
    left for mask_personal, so an error can say whom it was for."""
    parts = urlsplit(url)
    userinfo, host, port = _split_netloc(parts.netloc)
    pieces = [*userinfo.split(":"), host, port, *parts.path.split("/")]
    for pair in parts.query.split("&"):
        key, _, value = pair.partition("=")
        if unquote(key).lower() not in _OPTIONS:
            pieces += [value, *_ITEMS.split(value)]
    # apprise decodes what it parses and may echo either spelling.
    found = {p for raw in pieces for p in (raw, unquote(raw)) if len(p) >= MIN_SECRET}
    secrets = {p for p in found if not _public(p)} | {url}
    return sorted(secrets, key=len, reverse=True)


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


def mask_library_logs() -> None:
    """Mask personal data in apprise's and the Twilio SDK's own log records."""
    # A filter on a logger applies to records made on that very logger, so each is named.
    for name in ("apprise", "twilio.http_client", "twilio.async_http_client"):
        logger = logging.getLogger(name)
        if _MASK_LIBRARY_LOGS not in logger.filters:
            logger.addFilter(_MASK_LIBRARY_LOGS)
