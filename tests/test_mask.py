"""Phone numbers and e-mail addresses are masked wherever they turn up in text."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from depeg_monitor.mask import mask_email, mask_personal, mask_phone

E164 = st.from_regex(r"\+[1-9][0-9]{6,14}", fullmatch=True)
COMMON_EMAIL = st.from_regex(
    r"[a-z0-9][a-z0-9._+-]{0,20}@[a-z0-9-]{1,10}(\.[a-z]{2,6}){1,2}", fullmatch=True
)
TEXT = st.text(max_size=40)


def test_a_phone_number_keeps_its_country_code_and_last_digits() -> None:
    """An operator sees which recipient it was, not a number they could call."""
    assert mask_phone("+15551234567") == "+1555****567"
    assert mask_phone("+44 7911 123456") == "+44 79** ***456"
    assert mask_phone("+2901234") == "+2****34"  # short numbers keep fewer digits


def test_an_email_address_keeps_its_first_letter_and_domain() -> None:
    """The domain (often the company) stays readable; the person does not."""
    assert mask_email("alice@example.com") == "a***@example.com"
    assert mask_email("b@example.com") == "***@example.com"


def test_addresses_and_numbers_in_real_error_shapes_are_masked() -> None:
    """Twilio's and apprise's own error sentences come out with the recipient masked."""
    cases = {
        "twilio 400 (code 21211) for +15551234567: The 'To' number is not valid.": (
            "twilio 400 (code 21211) for +1555****567: The 'To' number is not valid."
        ),
        'Sending email to "alice@example.com" failed.': (
            'Sending email to "a***@example.com" failed.'
        ),
        "to=%2B15551234567&from=ops@example.org": "to=%2B1555****567&from=o***@example.org",
        "mailto://alice@example.com 'bob@example.com'": (
            "mailto://a***@example.com 'b***@example.com'"
        ),
        "call (555) 123-4567 or +1 555-123-4567": "call (555) 1**-*567 or +1 555-***-*567",
    }
    for text, masked in cases.items():
        assert mask_personal(text) == masked


@given(E164, TEXT, TEXT)
def test_no_phone_number_survives(number: str, before: str, after: str) -> None:
    """Whatever surrounds it, an international number never comes out whole."""
    assert number not in mask_personal(before + number + after)


@given(st.emails(), TEXT, TEXT)
def test_no_email_address_survives(address: str, before: str, after: str) -> None:
    """Whatever surrounds it, an address comes out masked (one that already looks like a
    mask, a***@x.org or *@x.org, may stay as it is)."""
    local = address.rpartition("@")[0]
    looks_masked = mask_email(address) == address or set(local) == {"*"}
    assert address not in mask_personal(before + address + after) or looks_masked


@given(E164, COMMON_EMAIL)
def test_in_a_sentence_each_is_replaced_by_its_mask(number: str, address: str) -> None:
    """Between ordinary punctuation the mask is exactly mask_phone / mask_email."""
    text = f'for {number}: failed; sending email to "{address}" failed.'
    assert mask_personal(text) == (
        f'for {mask_phone(number)}: failed; sending email to "{mask_email(address)}" failed.'
    )


@given(st.lists(st.one_of(st.emails(), E164, TEXT)).map("".join))
def test_masking_twice_changes_nothing_more(text: str) -> None:
    """Text masked by a channel can be masked again by the outbox or /health unchanged."""
    once = mask_personal(text)
    assert mask_personal(once) == once


PRICE = st.floats(0, 1e6, allow_nan=False).map(lambda p: f"${p:.4f}")
# A stablecoin at up to $101: a "+" and seven digits would be taken for a phone number.
DEVIATION = st.floats(-1, 100, allow_nan=False).flatmap(
    lambda d: st.sampled_from([f"{d:+.2%}", f"{d * 100:+.3f}%", f"{d:+.4f}"])
)
WHEN = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1)).flatmap(
    lambda t: st.sampled_from(
        [
            t.strftime("%Y-%m-%d %H:%M:%S UTC"),
            t.strftime("%Y-%m-%d %H:%M"),
            t.replace(tzinfo=UTC).isoformat(),
            str(int(t.replace(tzinfo=UTC).timestamp())),
            str(int(t.replace(tzinfo=UTC).timestamp() * 1000)),
        ]
    )
)
STATUS = st.integers(100, 599).map(lambda s: f"HTTP {s}")
TWILIO_CODE = st.integers(10000, 99999).map(lambda c: f"(code {c})")
WORD = st.sampled_from(
    ["USDC", "DAI", "kraken", "okx", "CRITICAL", "rate-limited", "venues", "@here", "—", "🔴"]
)
URL = st.sampled_from(
    [
        "https://api.kraken.com/0/public/Ticker?pair=USDCUSD",
        "https://api.binance.com/api/v3/ticker/24hr?symbols=%5B%22USDCUSDT%22%5D",
        "mailto://monitor:***@smtp.example.com",
    ]
)
ORDINARY = st.lists(
    st.one_of(PRICE, DEVIATION, WHEN, STATUS, TWILIO_CODE, WORD, URL), min_size=1, max_size=12
).flatmap(lambda parts: st.sampled_from([" ", ", ", "; ", "\n"]).map(lambda s: s.join(parts)))


@given(ORDINARY)
def test_ordinary_alert_and_error_text_is_untouched(text: str) -> None:
    """Prices, deviations, timestamps, HTTP statuses and error codes are not mistaken for
    personal data."""
    assert mask_personal(text) == text
