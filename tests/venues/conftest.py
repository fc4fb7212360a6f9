"""Real payload shapes from ../shared/exchange-apis, loaded for the venue tests."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

SHARED = Path(__file__).parents[2] / ".." / "shared" / "exchange-apis"


@pytest.fixture
def shared() -> Callable[[str], Any]:
    """Load one of the shared example answers by file name."""

    def load(name: str) -> Any:
        return json.loads((SHARED / name).read_text())

    return load
