"""One GET to a venue (or a JSON POST to a node): a bounded, streamed read, with failures
classified (no URL in the text).

Whatever a venue sends, at most `max_body` bytes of answer are ever held: a declared
Content-Length over the cap is refused before reading, the body is read chunk by chunk and
reading stops the moment the cap is passed, and gzip/deflate are inflated here (aiohttp's own
decompression is off) with every zlib call limited to the budget left, so a gzip bomb never
inflates past it. Redirects are not followed: a venue answers for itself or not at all.
"""

from __future__ import annotations

import re
import zlib
from urllib.parse import urlsplit

import aiohttp

from depeg_monitor.venues.contract import ErrorKind, Request, Response, VenueError

# Bytes read from the socket per step; the most read beyond the cap before it is noticed.
CHUNK = 64 * 1024
# Only what BoundedBody can inflate within a budget (never br or zstd: no bounded decoder here).
ACCEPT_ENCODING = "gzip, deflate"

_GZIP = 16 + zlib.MAX_WBITS
_ZLIB = zlib.MAX_WBITS
_RAW_DEFLATE = -zlib.MAX_WBITS
_TOKEN = re.compile(r"[a-z0-9._-]{1,16}")


def human_bytes(n: int) -> str:
    """1048576 → "1 MiB", 1536 → "1.5 KiB", 1000 → "1000 bytes"."""
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size:
            return f"{n // size} {unit}" if n % size == 0 else f"{n / size:.1f} {unit}"
    return f"{n} bytes"


def too_large(max_body: int) -> VenueError:
    return VenueError(ErrorKind.MALFORMED, f"answer larger than {human_bytes(max_body)}")


class BoundedBody:
    """An answer's body fed as it arrives (still content-encoded), kept to `max_body` bytes.

    The cap holds for the decoded body and for the bytes on the wire alike (a real compressed
    answer is smaller than its body; this also bounds a flood of empty gzip members). Raises
    VenueError(MALFORMED) on overflow, on an encoding it cannot bound and on a corrupt or
    truncated compressed stream.
    """

    def __init__(self, content_encoding: str | None, max_body: int) -> None:
        enc = (content_encoding or "identity").strip().lower()
        if enc in ("", "identity"):
            self._wbits: int | None = None
        elif enc in ("gzip", "x-gzip"):
            self._wbits = _GZIP
        elif enc == "deflate":
            self._wbits = _ZLIB  # or raw deflate: decided on the first byte, as aiohttp does
        else:
            shown = enc if _TOKEN.fullmatch(enc) else "?"  # venue text: only a short token
            raise VenueError(ErrorKind.MALFORMED, f"answer in unsupported encoding {shown!r}")
        self._name = "gzip" if self._wbits == _GZIP else "deflate"
        self._max = max_body
        self._wire = 0
        self._out = bytearray()
        self._inflater: zlib._Decompress | None = None

    def feed(self, chunk: bytes) -> None:
        if not chunk:
            return
        self._wire += len(chunk)
        if self._wire > self._max:
            raise too_large(self._max)
        if self._wbits is None:
            self._out += chunk
            return
        if self._inflater is None:
            if self._wbits == _ZLIB and chunk[0] & 0x0F != 8:
                # "deflate" sent without its zlib header (RFC 1950 CM=8), as many servers do.
                self._wbits = _RAW_DEFLATE
            self._inflater = zlib.decompressobj(self._wbits)
        data = chunk
        try:
            while data:
                # At most one byte past the budget per call: enough to know it overflowed.
                out = self._inflater.decompress(data, self._max - len(self._out) + 1)
                self._out += out
                if len(self._out) > self._max:
                    raise too_large(self._max)
                if self._inflater.eof:
                    # Concatenated members (RFC 1952 2.2): each needs a fresh decompressor.
                    data = self._inflater.unused_data
                    if data:
                        self._inflater = zlib.decompressobj(self._wbits)
                else:
                    data = self._inflater.unconsumed_tail
        except zlib.error:
            raise VenueError(ErrorKind.MALFORMED, f"corrupt {self._name} stream") from None

    def finish(self) -> bytes:
        """The whole decoded body; MALFORMED if a compressed stream stopped part-way."""
        if self._inflater is not None and not self._inflater.eof:
            raise VenueError(ErrorKind.MALFORMED, f"truncated {self._name} stream")
        return bytes(self._out)


async def fetch(
    session: aiohttp.ClientSession,
    base_url: str,
    req: Request,
    time_limit: float,
    max_body: int,
) -> Response:
    """GET base_url + req.path (POST req.body as JSON, if it has one) within `time_limit`
    seconds (connect, headers and the whole body), keeping at most `max_body` decoded bytes;
    a 3xx comes back as it is."""
    url = base_url + req.path
    try:
        async with session.request(
            "GET" if req.body is None else "POST",
            url,
            params=list(req.params),
            json=req.body,
            headers={"Accept-Encoding": ACCEPT_ENCODING},
            timeout=aiohttp.ClientTimeout(total=time_limit),  # also bounds every body read
            allow_redirects=False,
            auto_decompress=False,
        ) as r:
            try:
                if r.content_length is not None and r.content_length > max_body:
                    raise too_large(max_body)
                body = BoundedBody(r.headers.get("Content-Encoding"), max_body)
                async for chunk in r.content.iter_chunked(CHUNK):
                    body.feed(chunk)
                data = body.finish()
            except VenueError:
                r.close()  # drop the connection: draining the rest is what we refuse to do
                if 200 <= r.status < 300:
                    raise
                # An oversized or garbled error page: its status still says what happened
                # (429, 5xx, 404), so the venue's classification gets the status, not the page.
                return Response(r.status, "", dict(r.headers))
            return Response(r.status, data.decode("utf-8", "replace"), dict(r.headers))
    except TimeoutError:
        raise VenueError(ErrorKind.TIMEOUT, f"no answer within {time_limit:.3g}s") from None
    except aiohttp.ClientError as e:
        raise VenueError(ErrorKind.NETWORK, network_trouble(e, url)) from None


def network_trouble(e: aiohttp.ClientError, url: str) -> str:
    """What went wrong, in words, naming the host only: str(e) of aiohttp errors names the
    whole URL, whose path or query may carry a proxy token."""
    u = urlsplit(url)
    host = u.hostname or "the venue"
    at = f"{host}:{u.port}" if u.port else host
    if isinstance(e, aiohttp.ClientConnectorDNSError):
        return f"cannot resolve {host}"
    if isinstance(e, aiohttp.ClientConnectorCertificateError | aiohttp.ClientSSLError):
        return f"TLS failed with {host}"
    if isinstance(e, aiohttp.ClientConnectorError):
        if isinstance(e.os_error, ConnectionRefusedError):
            return f"connection refused by {at}"
        return f"cannot connect to {at}"
    if isinstance(e, aiohttp.ServerDisconnectedError):
        return f"{host} closed the connection"
    if isinstance(e, aiohttp.ClientPayloadError):
        return f"the answer from {host} was cut off"
    if isinstance(e, aiohttp.ClientOSError):
        return f"connection to {host} failed"
    return f"{type(e).__name__} from {host}"
