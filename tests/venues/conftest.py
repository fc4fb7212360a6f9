"""Real payload shapes from ../shared/exchange-apis, loaded for the venue tests.

The folder lives beside the clone, not in it; without it a test that needs a payload is
skipped (with the path it looked for), and the tests that need none still run.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from ..payloads import SHARED, skip_without_shared


@pytest.fixture
def shared() -> Callable[[str], Any]:
    """Load one of the shared example answers by file name (skips without the folder)."""
    skip_without_shared()

    def load(name: str) -> Any:
        return json.loads((SHARED / name).read_text())

    return load
