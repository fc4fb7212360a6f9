"""Personal data masked for logs, errors, health output and the database.

`mask_phone("+15551234567") == "+1555****567"` and `mask_email("alice@example.com") ==
"a***@example.com"`: enough for an operator to tell which recipient failed, not enough to
text or mail them. `mask_personal(text)` does the same to every address and number it finds
in free text. Masking is idempotent, so text masked at the channel can be masked again by
whatever stores or shows it.

Phone numbers are recognised in international form — `+` (or `%2B` in a URL) and 7 or more
digits, optionally spaced, hyphenated or with a bracketed area code, which is what Twilio and
apprise write — and in North American punctuation, `(555) 123-4567` or `555-123-4567`. A
bare run of digits is left alone: it cannot be told from a timestamp, an id or an error code.
A sender that knows the exact number it used (the SMS channel) masks that value as well.
"""

from __future__ import annotations

import re

_ATEXT = r"\w!#$%&'*+/=?^`{|}~.-"  # what an unquoted local part may contain (RFC 5322)
_PERSONAL = re.compile(
    # The local part must start where a run of such characters starts, and is consumed
    # possessively: a long run with no "@" is scanned once, not once per character.
    rf"(?P<email>(?<![{_ATEXT}])[{_ATEXT}]++@[\w-]++(?:\.[\w-]++)+)"
    # Possessive too. "+1234567.89" is masked as well: no deviation or count we print has
    # seven digits before its point, and a number must not slip out as a "decimal".
    r"|(?P<intl>(?:\+|%2[Bb])\d(?:[ -]?(?:\d|\(\d{1,4}\)))*+)"
    r"|(?P<nanp>(?<!\w)(?:\(\d{3}\) ?|\d{3}-)\d{3}-\d{4}(?!\w))"
)
# In "to=a@x", "mailto://a@x" or "'a@x'" the address starts after the = / or quote (all legal
# in a local part, but never where one starts in practice); a run ending in one is all local.
_LEAD = re.compile(r"(.*[=&/?'`{|}])(?=.)")
_MASKED_LOCAL = re.compile(r"[^*]?\*\*\*")  # "a***" / "***": already masked, keep as is
_MIN_DIGITS = 7  # the shortest international numbers (+290 1234)


def mask_email(address: str) -> str:
    """The first letter of the local part and the whole domain: `a***@example.com`."""
    local, at, domain = address.rpartition("@")
    if not at:
        return "***"
    if _MASKED_LOCAL.fullmatch(local):
        return address
    return f"{local[0] if len(local) > 1 else ''}***@{domain}"


def mask_phone(number: str) -> str:
    """Country code and the next digits, then the last three: `+1555****567`.

    Separators stay where they were; shorter numbers keep fewer digits, never more than half.
    """
    start = 3 if number[:3].upper() == "%2B" else 0  # the 2 of %2B is not part of the number
    where = [i for i, ch in enumerate(number) if ch.isdigit() and i >= start]
    n = len(where)
    head, tail = min(4, max(0, n - 6)), min(3, n // 3)
    hidden = set(where[head : n - tail])
    return "".join("*" if i in hidden else ch for i, ch in enumerate(number))


def _mask_one(m: re.Match[str]) -> str:
    found = m.group()
    if m.lastgroup == "email":
        lead = _LEAD.match(found.rpartition("@")[0])
        cut = lead.end() if lead else 0
        return mask_personal(found[:cut]) + mask_email(found[cut:])  # "to=+1555…&from=a@x"
    if m.lastgroup == "intl":
        digits = sum(ch.isdigit() for ch in found) - (1 if found[0] == "%" else 0)
        if digits < _MIN_DIGITS:
            return found  # "+3", "+00": an offset or a count, not a number to call
        # More than 15 digits is a number run into what follows it: masked all the same.
    return mask_phone(found)


def mask_personal(text: str) -> str:
    """text with every e-mail address and phone number in it masked."""
    return _PERSONAL.sub(_mask_one, text)
