"""A simulated market on 127.0.0.1 speaking the nine venues' real APIs, driven by a scenario."""

from __future__ import annotations

from depeg_monitor.simulate.defaults import DEFAULT_MARKETS, VENUE_NAMES
from depeg_monitor.simulate.pricing import PriceModel, Tick
from depeg_monitor.simulate.scenario import Scenario, ScenarioError, load_scenario, parse_scenario
from depeg_monitor.simulate.server import SimulatedMarket

__all__ = [
    "DEFAULT_MARKETS",
    "VENUE_NAMES",
    "PriceModel",
    "Scenario",
    "ScenarioError",
    "SimulatedMarket",
    "Tick",
    "load_scenario",
    "parse_scenario",
]
