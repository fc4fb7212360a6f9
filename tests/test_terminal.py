"""Text from a venue or the database cannot drive the terminal it is printed on."""

from __future__ import annotations

import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from depeg_monitor.terminal import printable

BIDI_CONTROLS = {*map(chr, range(0x202A, 0x202F)), *map(chr, range(0x2066, 0x206A))}


def dangerous(ch: str) -> bool:
    """Moves the cursor, starts a sequence, breaks a line, or reorders what follows."""
    return unicodedata.category(ch) == "Cc" or ch in BIDI_CONTROLS or ch in "\u2028\u2029"


def test_escape_sequences_and_forged_lines_become_visible() -> None:
    """A screen clear, a carriage return and a fake next line print as escapes on one line."""
    hostile = "EGeneral:Invalid\x1b[2J\r\nFAKE LINE\x07\x08\x7f\x9b31m\u202etxt.exe"
    assert printable(hostile) == (
        "EGeneral:Invalid\\x1b[2J\\r\\nFAKE LINE\\x07\\x08\\x7f\\x9b31m\\u202etxt.exe"
    )


def test_ordinary_text_is_unchanged() -> None:
    """Prices, names, accents, emoji and backslashes print exactly as they are."""
    text = "USDC $0.9629 (-3.71%) kraken — rate-limited, retry in 30 s 🔴 Zürich C:\\tmp"
    assert printable(text) == text


@given(st.text())
def test_no_dangerous_character_survives(text: str) -> None:
    """Whatever a venue sends, the printed form holds no control or bidi character."""
    assert not any(dangerous(ch) for ch in printable(text))


@given(st.text().filter(lambda t: not any(dangerous(ch) for ch in t)))
def test_safe_text_passes_through(text: str) -> None:
    """Text without such characters is left exactly as it was."""
    assert printable(text) == text
