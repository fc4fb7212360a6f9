"""Two real `depeg-monitor run` processes as an active/standby pair on one throwaway PostgreSQL,
against the simulated SVB weekend: the leader killed, the leader cut off from the database.

Each node sends through its own stand-in address (the webhook path, the mail's From, the SMS's
From), so the sinks' log says which node sent every message and when.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import depeg_bench_stage as stage  # registered by tests/e2e/conftest.py (bench/_stage.py)
import pytest
from sqlalchemy.engine import make_url

from depeg_monitor.simulate import load_scenario

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

SCENARIOS = Path(__file__).parents[2] / "scenarios"
SVB_SCALE = 10.0
COINS = ["USDT", "USDC", "DAI"]
LEASE_TTL, RENEW, MARGIN = 4.0, 1.0, 1.5
POLL = 1.0
CHANNELS = ("discord", "email", "sms")
# USDC's notices per channel over the event, as one monitor sends them.
EXPECTED = {
    "discord": ["MINOR new", "MAJOR escalated", "CRITICAL escalated", "CRITICAL resolved"],
    "email": ["MAJOR escalated", "CRITICAL escalated", "CRITICAL resolved"],
    "sms": ["CRITICAL", "Resolved:"],
}


class PausableProxy:
    """A loopback TCP proxy in front of PostgreSQL that the test can cut. Paused, it relays
    nothing either way and new connections hang (a partition: queries neither answer nor
    fail); resumed, the connections it cut off are closed (as after a partition longer than
    TCP's patience) and new ones relay again."""

    def __init__(self, target_port: int) -> None:
        self._target = target_port
        self._open = asyncio.Event()
        self._open.set()
        self._epoch = 0
        self._conns: set[tuple[int, asyncio.StreamWriter, asyncio.StreamWriter]] = set()
        self._server: asyncio.Server | None = None
        self.port = 0

    async def __aenter__(self) -> PausableProxy:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.resume()
        assert self._server is not None
        self._server.close()
        for _, a, b in list(self._conns):
            a.close()
            b.close()

    def pause(self) -> None:
        self._open.clear()
        self._epoch += 1

    def resume(self) -> None:
        for conn in [c for c in self._conns if c[0] != self._epoch]:
            self._conns.discard(conn)
            conn[1].close()
            conn[2].close()
        self._open.set()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await self._open.wait()
        up_r, up_w = await asyncio.open_connection("127.0.0.1", self._target)
        conn = (self._epoch, writer, up_w)
        self._conns.add(conn)
        await asyncio.gather(
            self._pipe(reader, up_w, conn), self._pipe(up_r, writer, conn), return_exceptions=True
        )
        self._conns.discard(conn)
        writer.close()
        up_w.close()

    async def _pipe(
        self, src: asyncio.StreamReader, dst: asyncio.StreamWriter, conn: tuple[Any, ...]
    ) -> None:
        while data := await src.read(65536):
            await self._open.wait()  # paused: held, then dropped with the connection
            if conn[0] != self._epoch:
                return
            dst.write(data)
            await dst.drain()


def pair(st: Any, db_url: str) -> Any:
    cfg = stage.StageConfig(
        coins=COINS,
        poll_interval=POLL,
        hold_minor=12.0,
        hold_major=3.0,
        clear_hold=20.0,
        confirm_minor_hold=12.0,
        stale_after=30.0,
    )
    ha = {"lease_ttl": LEASE_TTL, "renew_interval": RENEW, "margin": MARGIN}
    return stage.HaPair(st, db_url, cfg, ha)


def sender(m: Any) -> str:
    return str(stage.HaPair.sender(m))


def usdc_notices(messages: list[Any], channel: str) -> list[str]:
    """The channel's USDC notices, as in EXPECTED."""
    if channel == "sms":
        return [m.title.split(" ")[0] for m in messages if "USDC $" in m.title]
    return [f"{sev} {why}" for m in messages for c, sev, why in m.items() if c == "USDC"]


def collapse(notices: list[str]) -> list[str]:
    """A notice sent twice in a row (the one in flight at the takeover) counted once."""
    return [n for i, n in enumerate(notices) if i == 0 or notices[i - 1] != n]


def _resolved(m: Any) -> bool:
    return m.title.lstrip("✅ ").startswith("Resolved:") and "USDC $" in m.title


def event_at(proc: Any, event: str) -> float:
    """When the node logged `event` first (epoch seconds)."""
    for line in proc.log_lines():
        if line.get("event") == event:
            return datetime.fromisoformat(line["timestamp"].replace("Z", "+00:00")).timestamp()
    raise AssertionError(f"no {event!r} in the log:\n{proc.log_text()[-3000:]}")


@contextlib.asynccontextmanager
async def pair_on(tmp_path: Path, db_url: str) -> AsyncIterator[tuple[Any, Any]]:
    scenario = load_scenario(SCENARIOS / "svb.toml").with_time_scale(SVB_SCALE)
    async with stage.Stage(tmp_path, scenario) as st:
        yield st, pair(st, db_url)


async def wait_resolved_everywhere(st: Any) -> None:
    for channel in CHANNELS:
        await st.wait_messages(1, channel, timeout=120, where=_resolved)
    await asyncio.sleep(2.0)  # room for a late duplicate to show up


def where(item: tuple[str, str, str]) -> Callable[[Any], bool]:
    return lambda m: item in m.items()


async def test_kill_9_of_the_leader_mid_event_the_standby_takes_over_and_sends_the_rest(
    tmp_path: Path, pg_url: str
) -> None:
    """The leader killed right after USDC's major: the standby leads within the lease time
    plus one poll, every channel gets every notice (at most one twice, at the takeover, none
    after), all after the kill from the new leader; the old leader, back, is a standby."""
    async with pair_on(tmp_path, pg_url) as (st, pair):
        a = await pair.start("node-a")
        await pair.wait_role("node-a", "leader")
        b = await pair.start("node-b")
        await pair.wait_role("node-b", "standby")
        assert "leader node-a" in await pair.ha("node-b")
        st.restart_scenario_clock()
        await st.wait_messages(1, "discord", 90, where(("USDC", "MAJOR", "escalated")))
        await a.kill()
        killed = time.time()
        await wait_resolved_everywhere(st)
        back = await pair.start("node-a")
        await pair.wait_role("node-a", "standby")
        assert "leader node-b" in await pair.ha("node-a")
        assert await back.terminate() == 0
        assert await b.terminate() == 0

    took_over = event_at(b, "ha_leader") - killed
    assert 0 < took_over <= LEASE_TTL + RENEW + POLL, took_over
    for channel in CHANNELS:
        got = st.inbox.on(channel)
        notices = usdc_notices(got, channel)
        assert collapse(notices) == EXPECTED[channel], (channel, notices)
        assert len(notices) <= len(EXPECTED[channel]) + 1, (channel, notices)
        assert all(sender(m) == "node-b" for m in got if m.at > killed), channel
    assert not any(sender(m) == "node-a" for m in st.inbox.messages if m.at > killed)


async def test_a_leader_cut_off_from_the_database_goes_quiet_before_the_standby_sends(
    tmp_path: Path, pg_url: str, pg_server: Any
) -> None:
    """The leader's database connection cut (a paused proxy) after USDC's first notice: it
    steps down and sends nothing more before the standby takes over; the sinks never see the
    two send in the same moment, every notice still arrives, and the old leader, its database
    back, stays a standby."""
    target = make_url(pg_url)
    async with PausableProxy(int(target.port or 5432)) as proxy:
        via_proxy = target.set(port=proxy.port).render_as_string(hide_password=False)
        async with pair_on(tmp_path, pg_url) as (st, pair):
            a = await pair.start("node-a", via_proxy)
            await pair.wait_role("node-a", "leader")
            b = await pair.start("node-b")
            await pair.wait_role("node-b", "standby")
            st.restart_scenario_clock()
            await st.wait_messages(1, "discord", 90, where(("USDC", "MINOR", "new")))
            proxy.pause()
            cut = time.time()
            await pair.wait_role("node-b", "leader", timeout=LEASE_TTL + RENEW + 10)
            await st.wait_messages(1, "discord", 60, where(("USDC", "MAJOR", "escalated")))
            proxy.resume()
            await wait_resolved_everywhere(st)
            assert (await pair.ha("node-a")).startswith("standby")
            assert "leader node-b" in await pair.ha("node-a")
            assert await a.terminate() == 0
            assert await b.terminate() == 0

    event_at(a, "ha_standby")  # it stepped down by itself
    leads = event_at(b, "ha_leader")
    from_a = [m.at for m in st.inbox.messages if sender(m) == "node-a"]
    from_b = [m.at for m in st.inbox.messages if sender(m) == "node-b"]
    assert from_a and from_b
    # Never both: the old leader's last message came before the new leader's first, and the
    # old leader stopped sending (its sends are gated by the lease's clock) before b led.
    assert max(from_a) < min(from_b) and leads > cut
    assert max(from_a) < leads
    for channel in CHANNELS:
        notices = usdc_notices(st.inbox.on(channel), channel)
        assert collapse(notices) == EXPECTED[channel], (channel, notices)
        assert len(notices) <= len(EXPECTED[channel]) + 1, (channel, notices)
