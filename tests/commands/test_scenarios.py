"""Scenarios by name: the packaged ones answer to svb, calm, …; files still work by path."""

from __future__ import annotations

from pathlib import Path

import pytest

from depeg_monitor.cli import main
from depeg_monitor.commands import scenarios
from depeg_monitor.simulate import ScenarioError, load_scenario

REPO = Path(__file__).parents[2]


def test_the_repositorys_scenarios_folder_is_the_packaged_one() -> None:
    """scenarios/ in the repository and the package's scenarios are the same files, so the
    documented paths and the bare names read the same scenario."""
    in_repo = sorted(p.stem for p in (REPO / "scenarios").glob("*.toml"))
    assert in_repo == scenarios.packaged()
    assert (REPO / "scenarios").resolve() == (REPO / "depeg_monitor/simulate/scenarios").resolve()


@pytest.mark.parametrize("spec", ["svb", "svb.toml", "calm", "hostile-venues"])
def test_a_bare_name_reads_the_packaged_scenario(spec: str) -> None:
    """`--scenario svb` (or svb.toml) reads the same scenario as scenarios/svb.toml."""
    name = spec.removesuffix(".toml")
    assert scenarios.load(spec) == load_scenario(REPO / "scenarios" / f"{name}.toml")


def test_a_file_is_read_by_its_path_even_when_it_shares_a_packaged_name(tmp_path: Path) -> None:
    """A user's own calm.toml is read, not the packaged one of the same name."""
    mine = tmp_path / "calm.toml"
    mine.write_text('[scenario]\nname = "mine"\nduration = 60\n')
    assert scenarios.load(str(mine)).scenario.name == "mine"


@pytest.mark.parametrize("spec", ["nosuch", "..", "svb/extra", "/nonexistent/svb.toml"])
def test_neither_a_file_nor_a_packaged_name_is_a_clear_error(spec: str) -> None:
    """An unknown name says which names exist; a missing path says the file is missing."""
    with pytest.raises(ScenarioError) as e:
        scenarios.load(spec)
    if "/" not in spec:
        assert "svb" in str(e.value) and "calm" in str(e.value)


@pytest.mark.parametrize("argv", [["simulate", "nosuch"], ["demo", "--scenario", "nosuch"]])
def test_commands_refuse_an_unknown_scenario_with_the_names_and_exit_2(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """simulate and demo name the shipped scenarios and exit 2, no traceback."""
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "nosuch" in err and "single-venue-faults" in err
    assert "Traceback" not in err
