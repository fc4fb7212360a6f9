"""Scenarios by name or by file: the ones shipped in depeg_monitor/simulate/scenarios/ (the
repository's scenarios/) answer to their bare name — svb, calm, … — wherever the package is
installed; anything else is read as a TOML file."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from depeg_monitor.simulate import Scenario, ScenarioError, load_scenario

_FOLDER = resources.files("depeg_monitor.simulate").joinpath("scenarios")


def packaged() -> list[str]:
    """The names of the scenarios shipped with the package, sorted."""
    return sorted(
        entry.name.removesuffix(".toml")
        for entry in _FOLDER.iterdir()
        if entry.name.endswith(".toml")
    )


def load(spec: str) -> Scenario:
    """The scenario file at spec, or else the packaged scenario spec names (with or without
    .toml); ScenarioError saying which names exist if it is neither."""
    path = Path(spec)
    if path.is_file() or len(path.parts) != 1:
        return load_scenario(path)
    name = spec.removesuffix(".toml")
    if name not in packaged():
        known = ", ".join(packaged())
        raise ScenarioError(spec, [("(file)", f"no such file or packaged scenario ({known})")])
    with resources.as_file(_FOLDER.joinpath(f"{name}.toml")) as packaged_path:
        return load_scenario(packaged_path)
