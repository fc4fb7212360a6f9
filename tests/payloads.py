"""The real exchange payloads in ../shared/exchange-apis, for the tests that replay them.

The folder lives beside the clone, not in it; without it a test that needs a payload is
skipped, naming the path it looked for.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

SHARED = Path(__file__).parents[1] / ".." / "shared" / "exchange-apis"
MISSING = f"shared exchange payloads not found at {SHARED.resolve()}"


def skip_without_shared() -> None:
    """Skip the calling test (or module, at import) when the shared payloads are absent."""
    if not SHARED.is_dir():
        pytest.skip(MISSING, allow_module_level=True)


def payload(name: str) -> Any:
    """One shared example answer, parsed; skips the test without the folder."""
    skip_without_shared()
    return json.loads((SHARED / name).read_text())


def ws_frames(name: str) -> list[str]:
    """The text frames a shared websocket file holds as received (skips without ../shared)."""
    skip_without_shared()
    path = SHARED / "websocket" / name
    if path.suffix == ".json":
        return [path.read_text()]
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    return [
        r["raw"] if "raw" in r else json.dumps(r["frame"], separators=(",", ":"))
        for r in rows
        if r["dir"] == "recv"
    ]
