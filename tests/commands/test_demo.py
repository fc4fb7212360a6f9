"""The demo: the real daemon against the simulated market (its chain too), ending by itself."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from depeg_monitor.cli import main
from depeg_monitor.commands.demo import demo_settings
from depeg_monitor.config import load_settings
from depeg_monitor.simulate.chain.config import pool_tables

from ..test_daemon import tweak

REPO = Path(__file__).parents[2]


def test_demo_on_a_calm_market_ends_by_itself_with_prices_and_no_alert(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A calm scenario played fast prints price lines and a summary with no message sent."""
    code = main(["demo", "--scenario", str(REPO / "scenarios" / "calm.toml"), "--speed", "60"])
    out = capsys.readouterr().out
    assert code == 0
    assert "USDC 1.000" in out or "USDC 0.999" in out
    assert "summary:" in out
    assert "discord  0 message(s)" in out
    assert "sms      0 message(s)" in out


def test_demo_settings_point_every_venue_at_the_simulator_and_scale_holds(tmp_path: Path) -> None:
    """Every venue polls the local market each second, and holds shrink with the speed."""
    base = load_settings(REPO / "config.example.toml")
    urls = {name: f"http://127.0.0.1:1/{name}" for name in base.venues}
    s = demo_settings(base, urls, 10.0, tmp_path)
    assert {v.base_url for v in s.venues.values()} == set(urls.values())
    assert s.classification.hold_minor == base.classification.hold_minor / 10
    assert s.database.resolved_url().endswith(str(tmp_path / "demo.db"))
    assert set(s.channels) == {"discord", "email", "sms"}


def test_demo_of_the_usde_day_watches_the_pools_and_chainlink(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """On the on-chain USDe scenario the demo watches the simulated pools with no pool
    configured: it says how many, prints each pool's price in its quote coin beside the block
    and the Chainlink USDe/USD answer, and sends nothing major or critical."""
    code = main(["demo", "--scenario", "usde-dislocation", "--speed", "60"])
    out = capsys.readouterr().out
    assert code == 0
    assert "and 5 on-chain pools" in out.splitlines()[0]
    chain = [line for line in out.splitlines() if "ethereum block" in line]
    assert chain, out
    assert re.search(r"curve-usde-usdc USDE (0\.99|1\.00)\d+ USDC", chain[-1]), chain[-1]
    assert re.search(r"univ3-usde-usdt USDE (0\.99|1\.00)\d+ USDT", chain[-1]), chain[-1]
    assert re.search(r"Chainlink USDE/USD (0\.99|1\.00)\d+", chain[-1]), chain[-1]
    assert "email    0 message(s)" in out and "sms      0 message(s)" in out


def test_demo_points_configured_chains_at_the_simulated_node_only(tmp_path: Path) -> None:
    """A configured chain the simulator serves polls its node (faster with the speed); one it
    does not serve is left out with its pools, so a demo never asks a real RPC endpoint."""
    pools = pool_tables({"USDC", "USDT", "DAI"}, only={"curve-3pool"})
    pools["elsewhere"] = pools["curve-3pool"] | {"chain": "arbitrum"}
    base = tweak(
        load_settings(REPO / "config.example.toml"),
        chains={
            "ethereum": {"rpc_url": "https://mainnet.example/v3/KEY"},
            "arbitrum": {"rpc_url": "https://arb.example/v3/KEY"},
        },
        pools=pools,
    )
    node = "http://127.0.0.1:1/ethereum"
    s = demo_settings(base, {}, 10.0, tmp_path, rpc_urls={"ethereum": node})
    assert set(s.chains) == {"ethereum"} and set(s.pools) == {"curve-3pool"}
    rpc_url = s.chains["ethereum"].rpc_url
    assert rpc_url is not None and rpc_url.get_secret_value() == node
    assert s.chains["ethereum"].poll_interval == 1.2
