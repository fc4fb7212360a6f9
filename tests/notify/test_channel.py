"""What a channel's error may show of its URL: hosts and masked recipients, never a secret."""

from __future__ import annotations

import pytest

from depeg_monitor.notify.channel import retryable_status, scrub, secret_parts

EMAIL = (
    "mailtos://monitor:s3cret%40pass@smtp.example.com:587?mode=starttls"
    "&from=monitor@example.com&to=ops@example.com,Bob@Example.com"
)


def test_email_url_keeps_host_and_masks_recipients_but_redacts_the_password() -> None:
    """An SMTP failure quoting the host, the recipients and the password shows the host, the
    recipients masked, and no password in either spelling."""
    text = (
        "smtp.example.com:587 refused ops@example.com and Bob@Example.com "
        "after AUTH s3cret@pass (s3cret%40pass), mode starttls"
    )
    out = scrub(text, secret_parts(EMAIL))
    assert "smtp.example.com:587" in out and "starttls" in out
    assert "o***@example.com" in out and "B***@Example.com" in out
    assert "ops@example.com" not in out and "Bob@Example.com" not in out
    assert "s3cret" not in out


@pytest.mark.parametrize(
    ("url", "secret", "public"),
    [
        ("discord://123456789012/WebhookToken-abc", "WebhookToken-abc", None),
        # A webhook id in the host position is no host name: redacted with the token.
        ("discord://123456789012/WebhookToken-abc", "123456789012", None),
        ("json://hooks.example.com/hooks/tok3n-SECRET?format=text", "tok3n-SECRET", "text"),
        ("json://hooks.example.com/hooks/tok3n-SECRET", "tok3n-SECRET", "hooks.example.com"),
        ("tgram://123456789:bot-token-abc/424242/", "bot-token-abc", None),
        ("ntfy://ntfy.example/alerts-topic-77", "alerts-topic-77", "ntfy.example"),
        ("slack://T1234ABCD/B5678EFGH/xoxbtoken99/#alerts", "xoxbtoken99", None),
        ("json://10.0.0.5:8080/x?token=qwerty-1234", "qwerty-1234", "10.0.0.5"),
    ],
)
def test_tokens_are_redacted_and_host_names_stay(url: str, secret: str, public: str | None) -> None:
    """Keys in the path, the host position or the query are secret; a machine's name is not."""
    found = secret_parts(url)
    assert secret in found and url in found
    if public is not None:
        assert public not in found


def test_phone_numbers_in_a_url_are_masked_not_redacted() -> None:
    """A number in an SMS-style URL is shown as +1555****567, its SID and token are not."""
    url = "twilio://ACsid0001:authtok99@+15550000000/+15551234567"
    out = scrub("to +15551234567 from +15550000000 as ACsid0001/authtok99", secret_parts(url))
    assert "+1555****567" in out and "+1555****000" in out
    assert "ACsid0001" not in out and "authtok99" not in out and "5551234567" not in out


def test_a_list_mixing_an_address_and_a_token_is_redacted_item_by_item() -> None:
    """In to=a@x.com,TOKEN the token is a secret on its own; the address is only masked."""
    out = scrub("a@x.com got sekrit-99", secret_parts("json://h.example.com/?to=a@x.com,sekrit-99"))
    assert out == "***@x.com got ***"


@pytest.mark.parametrize(
    ("status", "retryable"), [(None, True), (500, True), (503, True), (429, True), (408, True),
                              (400, False), (401, False), (404, False)],
)  # fmt: skip
def test_server_trouble_is_retried_and_a_bad_request_is_not(
    status: int | None, retryable: bool
) -> None:
    """5xx, 408, 425 and 429 (or no status at all) are retried; any other 4xx is final."""
    assert retryable_status(status) is retryable
