"""The HTTP client the Twilio SDK sends SMS through: one aiohttp session, closed by its owner.

The SDK's own AsyncTwilioHttpClient either keeps a session made outside any event loop, or
(pool_connections=False) makes one per request and leaves it open when the request raises:
'Unclosed client session' once per failed SMS. This one makes its session lazily inside the
running loop, bounds each whole request by the channel's timeout and each answer's size, and
builds the Authorization header itself (aiohttp deprecates BasicAuth and auth=).

Imported only when an SMS channel is built: it imports the SDK.
"""

from __future__ import annotations

import aiohttp
from twilio.http import AsyncHttpClient
from twilio.http.response import Response

TWILIO_API = "https://api.twilio.com"
MAX_ANSWER = 1 << 20  # bytes; Twilio's answers are a few KiB, anything bigger is not Twilio


class SessionHttpClient(AsyncHttpClient):  # type: ignore[misc]  # the SDK is untyped
    """Requests to Twilio's API (or api_base, a local stand-in) within timeout seconds each."""

    def __init__(self, timeout: float, api_base: str | None = None) -> None:
        # The SDK's request logging names the account SID in every URL: not used.
        super().__init__(logger=None, is_async=True, timeout=timeout)
        self._base = api_base.rstrip("/") if api_base else None
        self._session: aiohttp.ClientSession | None = None

    async def request(
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 (the SDK's signature)
        allow_redirects: bool = False,
    ) -> Response:
        if self._base and url.startswith(TWILIO_API):
            url = self._base + url[len(TWILIO_API) :]
        sent = dict(headers or {})
        if auth is not None:
            sent["Authorization"] = aiohttp.encode_basic_auth(*auth)
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession()
        async with self._session.request(
            method.upper(),
            url,
            params=_pairs(params),
            data=_pairs(data),
            headers=sent,
            timeout=aiohttp.ClientTimeout(total=timeout or self.timeout),
            allow_redirects=allow_redirects,
        ) as answer:
            body = await _read_bounded(answer)
            return Response(answer.status, body.decode("utf-8", "replace"), answer.headers)

    async def close(self) -> None:
        """Close the session, if one was ever made."""
        if self._session is not None:
            await self._session.close()
            self._session = None


def _pairs(values: dict[str, object] | None) -> list[tuple[str, str]] | None:
    """The SDK's form and query values as pairs, a list value (MediaUrl) as one pair each."""
    if values is None:
        return None
    return [
        (key, str(item))
        for key, value in values.items()
        for item in (value if isinstance(value, list | tuple) else [value])
    ]


async def _read_bounded(answer: aiohttp.ClientResponse) -> bytes:
    body = bytearray()
    while chunk := await answer.content.read(MAX_ANSWER + 1 - len(body)):
        body += chunk
        if len(body) > MAX_ANSWER:
            raise aiohttp.ClientPayloadError(f"answer longer than {MAX_ANSWER // 1024} KiB")
    return bytes(body)
