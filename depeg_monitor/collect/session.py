"""The one aiohttp ClientSession every collector shares."""

from __future__ import annotations

import aiohttp

from depeg_monitor import __version__

USER_AGENT = f"depeg-monitor/{__version__}"

# A venue's header block is held whole before any body check can run: these bound it to
# ~0.5 MiB (aiohttp's own defaults, stated here so an upgrade cannot silently widen them).
MAX_LINE_SIZE = 8190  # status line and each header line, bytes
MAX_FIELD_SIZE = 8190  # one header field's value, bytes
MAX_HEADERS = 64  # header fields per answer; real venues send about 20


def make_session(connect_timeout: float = 5.0, read_timeout: float = 10.0) -> aiohttp.ClientSession:
    """A session with connect/read timeouts, our User-Agent and bounded answer headers;
    call inside the event loop.

    Automatic decompression is off: aiohttp would inflate a body before anyone could count
    it, so a caller that wants the body reads it through collect.http.fetch, which inflates
    within a byte budget.
    """
    timeout = aiohttp.ClientTimeout(
        total=None, sock_connect=connect_timeout, sock_read=read_timeout
    )
    return aiohttp.ClientSession(
        timeout=timeout,
        headers={"User-Agent": USER_AGENT},
        trust_env=False,  # no proxy settings from the environment unless configured as base_url
        auto_decompress=False,
        max_line_size=MAX_LINE_SIZE,
        max_field_size=MAX_FIELD_SIZE,
        max_headers=MAX_HEADERS,
    )
