"""The e2e stage (bench/_stage.py, shared with the daemon benchmarks), loaded by path.

Registered as the module `depeg_bench_stage`, so test modules can `import depeg_bench_stage`.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).parents[2]
SCENARIOS = ROOT / "scenarios"


def _load_stage() -> ModuleType:
    path = ROOT / "bench" / "_stage.py"
    spec = importlib.util.spec_from_file_location("depeg_bench_stage", path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


stage = _load_stage()
