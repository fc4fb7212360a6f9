"""One GET to a venue, with transport failures classified (and no URL in the error text)."""

from __future__ import annotations

import aiohttp

from depeg_monitor.venues.base import ErrorKind, Request, Response, VenueError


async def fetch(
    session: aiohttp.ClientSession, base_url: str, req: Request, time_limit: float
) -> Response:
    url = base_url + req.path
    try:
        async with session.get(
            url, params=list(req.params), timeout=aiohttp.ClientTimeout(total=time_limit)
        ) as r:
            body = await r.read()
            return Response(r.status, body.decode("utf-8", "replace"), dict(r.headers))
    except TimeoutError:
        raise VenueError(ErrorKind.TIMEOUT, f"no answer within {time_limit:.3g}s") from None
    except aiohttp.ClientError as e:
        # str(e) of aiohttp errors names the URL, which may carry a proxy token.
        raise VenueError(ErrorKind.NETWORK, type(e).__name__) from None
