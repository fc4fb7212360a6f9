"""The HTTP-status classification every venue shares, and the waits its headers ask for.

A venue's `check` reads its own error envelope first and falls back to these for the rest.
"""

from __future__ import annotations

import json
import math
from typing import Any

from depeg_monitor.venues.contract import ErrorKind, Response, VenueError


def seconds(raw: str | None, scale: float = 1.0) -> float | None:
    """A header's wait as seconds (`raw` / `scale`): only finite, non-negative figures count."""
    if raw is None:
        return None
    try:
        value = float(raw) / scale
    except (ValueError, OverflowError):
        return None
    return value if math.isfinite(value) and value >= 0 else None


def retry_after(resp: Response) -> float | None:
    """Retry-After in seconds. The HTTP-date form is ignored (None): the venues here send
    seconds, and a date would have to be read against a clock this module does not have."""
    return seconds(resp.header("Retry-After"))


def rate_limited(resp: Response, detail: str, default: float | None = None) -> VenueError:
    """A rate-limit refusal waiting for Retry-After if sent, else the venue's `default`."""
    wait = retry_after(resp)
    return VenueError(ErrorKind.RATE_LIMITED, detail, wait if wait is not None else default)


def http_error(resp: Response, detail: str = "", wait: float | None = None) -> VenueError | None:
    """The classification every venue shares for non-2xx statuses (None for 2xx); `wait` is
    the venue's documented pause for a 429 that sends no Retry-After."""
    s = resp.status
    if 200 <= s < 300:
        return None
    if s == 429:
        return rate_limited(resp, detail or "HTTP 429", wait)
    if s == 418:
        return VenueError(ErrorKind.BANNED, detail or "HTTP 418", retry_after(resp))
    if s == 451:
        return VenueError(ErrorKind.GEO_BLOCKED, detail or "HTTP 451")
    if s >= 500:
        return VenueError(ErrorKind.SERVER_ERROR, f"HTTP {s}")
    return VenueError(ErrorKind.CLIENT_ERROR, f"HTTP {s}" + (f" {detail}" if detail else ""))


def raise_for_status(resp: Response, detail: str = "", wait: float | None = None) -> None:
    """Raise the shared classification of a non-2xx status; return quietly on 2xx."""
    err = http_error(resp, detail, wait)
    if err is not None:
        raise err


def load_json(resp: Response, wait: float | None = None) -> Any:
    """Decode the body; an undecodable body is classified by its status (a 5xx is a server
    error, a 429 a rate limit of Retry-After or `wait`), and is malformed on 2xx.

    Undecodable includes nesting deeper than Python's recursion limit (RecursionError) and
    integers of more digits than int() accepts (ValueError), not only broken syntax.
    """
    try:
        return json.loads(resp.text)
    except (ValueError, RecursionError):
        err = http_error(resp, wait=wait)
        if err is not None:
            raise err from None
        raise VenueError(ErrorKind.MALFORMED, "body is not JSON") from None
