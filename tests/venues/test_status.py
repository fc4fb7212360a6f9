"""The shared status classification: every undecodable body is a VenueError of the kind its
status says, and every wait a header asks for is finite and >= 0."""

from __future__ import annotations

import pytest

from depeg_monitor.venues.contract import ErrorKind, Response, VenueError
from depeg_monitor.venues.status import load_json, retry_after

DEEP = "[" * 10_000 + "]" * 10_000


@pytest.mark.parametrize(
    ("status", "kind"),
    [(200, ErrorKind.MALFORMED), (503, ErrorKind.SERVER_ERROR), (429, ErrorKind.RATE_LIMITED)],
)
@pytest.mark.parametrize("body", [DEEP, '{"a":' * 10_000 + "1" + "}" * 10_000, "9" * 5_000])
def test_undecodable_bodies_are_classified_by_status(
    status: int, kind: ErrorKind, body: str
) -> None:
    """Nesting past the recursion limit or a 5,000-digit number is an undecodable body: on a
    5xx a server error, on a 429 a rate limit, otherwise malformed — never a RecursionError."""
    with pytest.raises(VenueError) as e:
        load_json(Response(status, body))
    assert e.value.kind is kind


def test_a_429_body_that_is_not_json_waits_for_the_venue_default() -> None:
    """A 429 page with no Retry-After gets the venue's documented wait; Retry-After wins."""
    with pytest.raises(VenueError) as e:
        load_json(Response(429, "<html>slow down</html>"), wait=2.0)
    assert e.value.retry_after == 2.0
    with pytest.raises(VenueError) as e:
        load_json(Response(429, "<html>slow down</html>", {"Retry-After": "7"}), wait=2.0)
    assert e.value.retry_after == 7


@pytest.mark.parametrize(
    ("raw", "wait"),
    [
        ("40", 40.0),
        ("0", 0.0),
        ("1.5", 1.5),
        ("nan", None),
        ("inf", None),
        ("-1", None),
        ("1e400", None),
        ("soon", None),
        ("Wed, 21 Oct 2015 07:28:00 GMT", None),  # the HTTP-date form is not read
    ],
)
def test_retry_after_is_only_a_finite_non_negative_number(raw: str, wait: float | None) -> None:
    """Retry-After counts only as seconds >= 0; NaN, infinity, negatives and dates are ignored."""
    assert retry_after(Response(429, "", {"retry-after": raw})) == wait
