"""Real payload shapes from ../shared/exchange-apis, loaded for the venue tests.

The folder lives beside the clone, not in it; without it a test that needs a payload is
skipped (with the path it looked for), and the tests that need none still run.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

SHARED = Path(__file__).parents[2] / ".." / "shared" / "exchange-apis"
MISSING = f"shared exchange payloads not found at {SHARED.resolve()}"


def skip_without_shared() -> None:
    """Skip the calling test (or module, at import) when the shared payloads are absent."""
    if not SHARED.is_dir():
        pytest.skip(MISSING, allow_module_level=True)


@pytest.fixture
def shared() -> Callable[[str], Any]:
    """Load one of the shared example answers by file name (skips without the folder)."""
    skip_without_shared()

    def load(name: str) -> Any:
        return json.loads((SHARED / name).read_text())

    return load
