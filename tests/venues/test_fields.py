"""The shared field readers: every failure is a VenueError, never a crash or a huge message."""

from __future__ import annotations

import math

import pytest

from depeg_monitor.venues.contract import ErrorKind, VenueError
from depeg_monitor.venues.fields import iso, ms, number, optional, text_of


def test_integers_too_large_for_a_float_are_infinite_like_1e400() -> None:
    """A 400-digit integer is read as the infinity "1e400" already is, so the quality filter
    sees (and counts) a non-finite figure instead of the parser crashing on OverflowError."""
    huge = 10**400
    assert number(huge, "price") == math.inf == number("1e400", "price")
    assert number(-huge, "price") == -math.inf == number("-1e400", "price")
    assert optional(huge) == math.inf and optional(-huge) == -math.inf
    assert ms(huge) == math.inf


@pytest.mark.parametrize("value", [[1], {"a": 1}, "abc", "", [[[]]]])
def test_a_required_number_of_the_wrong_type_is_malformed(value: object) -> None:
    """Lists, objects and words where a price goes are a malformed answer."""
    with pytest.raises(VenueError) as e:
        number(value, "price")
    assert e.value.kind is ErrorKind.MALFORMED


def test_error_messages_never_carry_a_whole_hostile_value() -> None:
    """A megabyte string or a deep list in a price field is named briefly, not repeated."""
    deep: list[object] = []
    for _ in range(900):
        deep = [deep]
    for value in ("x" * 1_000_000, deep):
        with pytest.raises(VenueError) as e:
            number(value, "price")
        assert len(str(e.value)) < 100


@pytest.mark.parametrize("value", [True, False, None, [], {}])
def test_optional_figures_of_the_wrong_type_are_absent(value: object) -> None:
    """Booleans, null and containers in an optional figure become None."""
    assert optional(value) is None


def test_an_iso_time_without_offset_is_utc() -> None:
    """A naive ISO time is read as UTC, not as this host's local time."""
    assert iso("2024-03-13T11:10:41") == iso("2024-03-13T11:10:41Z") == 1710328241.0


@pytest.mark.parametrize("value", ["9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+23:59", "x"])
def test_iso_times_at_the_edge_of_the_calendar_never_raise(value: str) -> None:
    """Times beyond year 1–9999 in UTC, or no time at all, are a number or None."""
    t = iso(value)
    assert t is None or isinstance(t, float)


def test_codes_and_messages_are_read_only_from_strings_and_numbers() -> None:
    """A code sent as a number reads like its string; a nested value reads as nothing."""
    assert text_of(50011) == "50011" and text_of("50011") == "50011"
    assert text_of({"code": "50011"}) == "" and text_of(["x"]) == ""
    assert len(text_of("m" * 10_000)) == 120
