"""Settings as an operator may see them: every secret and every personal detail masked.

One walk over a settings value (model_dump(mode="python")) for `config show` and for the
reload's summary of what changed. A SecretStr (webhook and channel URLs, the database URL with
its password, RPC URLs, the heartbeat URL) keeps only its scheme — `discord://***` — so the
operator sees which kind is set; every other string has its e-mail addresses and phone numbers
masked (depeg_monitor/mask.py), so a Twilio `to_numbers` list reads `+1555****567`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import time
from pathlib import Path
from typing import Any

from pydantic import BaseModel, SecretStr

from depeg_monitor.mask import mask_personal

MASKED = "***"
_SCHEME = re.compile(r"[A-Za-z][\w+.-]{0,30}(?=://)")
_LONGEST = 120  # a value quoted in a one-line summary is cut here


def secret(value: SecretStr) -> str:
    """`scheme://***` for a URL, `***` for anything else: never a character of the secret."""
    m = _SCHEME.match(value.get_secret_value())
    return f"{m.group()}://{MASKED}" if m else MASKED


def masked(value: Any) -> Any:
    """value with secrets and personal data masked, as plain JSON-able data."""
    if isinstance(value, SecretStr):
        return secret(value)
    if isinstance(value, BaseModel):
        return masked(value.model_dump(mode="python"))
    if isinstance(value, str):
        return mask_personal(value)
    if isinstance(value, Mapping):
        return {str(k): masked(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [masked(v) for v in value]
    if isinstance(value, Path | time):
        return str(value)
    return value


def one_line(value: Any) -> str:
    """A masked value for a log line: short, on one line."""
    if value is None:
        return "unset"
    shown = masked(value)
    text = shown if isinstance(shown, str) else repr(shown)
    text = " ".join(text.split())
    return text if len(text) <= _LONGEST else text[: _LONGEST - 1] + "…"
