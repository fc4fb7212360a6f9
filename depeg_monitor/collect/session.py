"""The one aiohttp ClientSession every collector shares."""

from __future__ import annotations

import aiohttp

from depeg_monitor import __version__

USER_AGENT = f"depeg-monitor/{__version__}"


def make_session(connect_timeout: float = 5.0, read_timeout: float = 10.0) -> aiohttp.ClientSession:
    """A session with connect/read timeouts and our User-Agent; call inside the event loop."""
    timeout = aiohttp.ClientTimeout(
        total=None, sock_connect=connect_timeout, sock_read=read_timeout
    )
    return aiohttp.ClientSession(
        timeout=timeout,
        headers={"User-Agent": USER_AGENT},
        trust_env=False,  # no proxy settings from the environment unless configured as base_url
    )
