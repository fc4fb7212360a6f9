"""[chains.X], [pools.X], [oracles.X]: the example's commented pools load, check-config names
a pool on an unknown chain or of an unknown kind, a bad address, a chain without its rpc_url
(a secret, never quoted back), and no chain configured compiles to no chain source."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from depeg_monitor.config import ConfigError, load_settings
from depeg_monitor.config.validate import chain_problems, check
from depeg_monitor.rules import compile_rules

EXAMPLE = Path(__file__).parents[2] / "config.example.toml"
SECRET = "https://mainnet.example/v3/KEY-abc123"
ENV = {"DEPEG_CHAINS__ETHEREUM__RPC_URL": SECRET}


def onchain_example() -> str:
    """The example with its on-chain block uncommented (chain, pools, oracles)."""
    text = EXAMPLE.read_text()
    out = []
    for line in text.splitlines():
        m = re.match(
            r"^# (\[(chains|pools|oracles)\.[a-z0-9-]+\].*|[a-z_]+ = .*|  \{ .*|\]$)", line
        )
        if m and (not line.startswith("#   ") or line.startswith("#   {")):
            out.append(m.group(1))
        else:
            out.append(line)
    return "\n".join(out)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def test_the_examples_pools_load_and_compile_with_the_rpc_url_from_the_environment(
    tmp_path: Path,
) -> None:
    s = load_settings(write(tmp_path, onchain_example()), ENV)
    assert set(s.pools) == {
        "curve-3pool",
        "curve-usde-usdc",
        "curve-crvusd-usdc",
        "curve-frax-usdc",
        "univ3-usdc-usdt",
    }
    assert set(s.oracles) == {"chainlink-usdc-usd", "chainlink-usde-usd"}
    assert not [p for p in check(s).problems if "chain" in p.where or "pool" in p.where]
    (chain,) = compile_rules(s).chains
    assert chain.chain == "ethereum" and len(chain.pools) == 5 and len(chain.feeds) == 2
    assert chain.rpc_url == SECRET
    assert SECRET not in repr(chain) and SECRET not in repr(s)


def test_the_example_as_shipped_has_no_chain_source() -> None:
    s = load_settings(EXAMPLE, {})
    assert not s.chains and not s.pools and compile_rules(s).chains == ()


def test_a_pool_on_an_unknown_chain_is_named_with_the_value(tmp_path: Path) -> None:
    text = onchain_example().replace('chain = "ethereum"', 'chain = "etherium"', 1)
    s = load_settings(write(tmp_path, text), ENV)
    (p,) = chain_problems(s)
    assert p.where == "pools.curve-3pool.chain" and not p.warning
    assert "unknown chain 'etherium'" in p.reason and "did you mean ethereum?" in p.reason
    with pytest.raises(ConfigError):
        compile_rules(s)


def test_an_unknown_kind_and_a_bad_address_are_refused_at_load_with_the_value(
    tmp_path: Path,
) -> None:
    text = onchain_example().replace('kind = "curve"\n', 'kind = "balancer"\n', 1)
    with pytest.raises(ConfigError) as e:
        load_settings(write(tmp_path, text), ENV)
    assert "pools.curve-3pool.kind" in str(e.value) and "balancer" in str(e.value)
    text = onchain_example().replace(
        "0xbebc44782c7db0a1a60cb6fe97d0b483032ff1c7", "0xbebc44782c7db0a1a60cb6fe97d0b483032ff1c", 1
    )
    with pytest.raises(ConfigError) as e:
        load_settings(write(tmp_path, text), ENV)
    assert "pools.curve-3pool.address" in str(e.value)
    assert "0xbebc44782c7db0a1a60cb6fe97d0b483032ff1c" in str(e.value)
    assert "not an address" in str(e.value)


def test_a_pool_its_venue_module_refuses_is_named(tmp_path: Path) -> None:
    """Uniswap sorts token0 below token1: swapped tokens would be read inverted."""
    text = onchain_example()
    usdc = (
        '{ symbol = "USDC", address = "0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48", decimals = 6 }'
    )
    usdt = (
        '{ symbol = "USDT", address = "0xdac17f958d2ee523a2206206994597c13d831ec7", decimals = 6 }'
    )
    head, sep, tail = text.partition("[pools.univ3-usdc-usdt]")
    tail = tail.replace(f"  {usdc},\n  {usdt},", f"  {usdt},\n  {usdc},", 1)
    s = load_settings(write(tmp_path, head + sep + tail), ENV)
    (p,) = chain_problems(s)
    assert p.where == "pools.univ3-usdc-usdt" and "token0" in p.reason


def test_a_chain_without_its_rpc_url_is_a_missing_secret(tmp_path: Path) -> None:
    s = load_settings(write(tmp_path, onchain_example()), {})
    (p,) = chain_problems(s)
    assert p.where == "chains.ethereum.rpc_url" and not p.warning
    assert "DEPEG_CHAINS__ETHEREUM__RPC_URL" in p.reason
    with pytest.raises(ConfigError):
        compile_rules(s)


def test_an_rpc_url_written_in_the_file_is_a_warning_that_never_quotes_it(tmp_path: Path) -> None:
    text = onchain_example().replace(
        "[chains.ethereum]", f'[chains.ethereum]\nrpc_url = "{SECRET}"', 1
    )
    s = load_settings(write(tmp_path, text), {})
    (p,) = chain_problems(s)
    assert p.warning and "DEPEG_CHAINS__ETHEREUM__RPC_URL" in p.reason
    assert SECRET not in p.reason
    bad = text.replace(SECRET, "ftp://KEY-abc123")
    with pytest.raises(ConfigError) as e:
        load_settings(write(tmp_path, bad), {})
    assert "KEY-abc123" not in str(e.value) and "rpc_url" in str(e.value)


POOL_QUORUM = """\
[coins.USDE]
min_venues = 2
[venues.kraken]
markets = ["USDE/USD"]
[chains.ethereum]
[pools.curve-usde-usdc]
kind = "curve"
address = "0x02950460e2b9529d0e00284a5fa2d7bdf3fa4d72"
coins = [
  { symbol = "USDE", address = "0x4c9edd5852cd905f086c759e8383e09bff1e68b3", decimals = 18 },
  { symbol = "USDC", address = "0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48", decimals = 6 },
]
markets = ["USDE/USDC"]
"""


def test_an_enabled_pool_counts_as_a_venue_for_the_quorum(tmp_path: Path) -> None:
    """USDE on one exchange and one pool reaches min_venues = 2; the pool disabled, or on a
    chain nobody configured, does not count."""

    def quorum(text: str) -> list[str]:
        s = load_settings(write(tmp_path, text), ENV)
        return [p.reason for p in check(s).problems if "needs 2 venues" in p.reason]

    assert quorum(POOL_QUORUM) == []
    off = POOL_QUORUM.replace('kind = "curve"', 'kind = "curve"\nenabled = false')
    (said,) = quorum(off)
    assert "only 1 can give one (kraken)" in said
    elsewhere = POOL_QUORUM.replace('kind = "curve"', 'kind = "curve"\nchain = "base"')
    assert len(quorum(elsewhere)) == 1
