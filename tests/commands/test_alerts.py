"""`depeg-monitor alerts` against a database a real daemon wrote (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import update

from depeg_monitor.cli import main
from depeg_monitor.model import Alert, AlertItem, AlertKind, Message, Severity
from depeg_monitor.store import alert_history
from depeg_monitor.store.db import create_engine, upgrade
from depeg_monitor.store.schema import SCHEMA_VERSION, schema_version

from .conftest import HOOK_SECRET, RECIPIENT, Recorded


def test_alerts_lists_the_episode_with_each_channels_outcome(
    recorded: Recorded, capsys: pytest.CaptureFixture[str]
) -> None:
    """The dip's minor, critical and resolved alerts come out in order, with their price and
    deviation, why, the console's delivery and the pager's refusal with its time."""
    assert main(["alerts", "--config", str(recorded.config)]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].startswith(f"{len(recorded.alerts)} alerts since ")
    heads = [line for line in lines if " UTC  " in line and not line.startswith(" ")]
    kinds = [h.split()[4] for h in heads]
    assert kinds[0] == "first" and "escalated" in kinds and kinds[-1] == "resolved"
    first, escalated = heads[0], heads[kinds.index("escalated")]
    assert "minor" in first and "USDC $0.99" in first
    assert "critical" in escalated and "USDC $0.9" in escalated and "-5." in escalated
    assert "why: 🔴 CRITICAL depeg: USDC" in out
    assert "→ console      delivered 20" in out
    pager = next(line for line in lines if "→ pager" in line)
    assert "failed 20" in pager and "1 attempt" in pager and "401" in pager


def test_alerts_never_print_a_recipient_or_the_channel_url(
    recorded: Recorded, capsys: pytest.CaptureFixture[str]
) -> None:
    """The pager's error names its recipient masked (a***@example.com); neither the address
    nor the webhook's secret path appears, in text or JSON."""
    assert main(["alerts", "--config", str(recorded.config)]) == 0
    assert main(["alerts", "--json", "--config", str(recorded.config)]) == 0
    out = capsys.readouterr().out
    assert RECIPIENT not in out and HOOK_SECRET not in out
    assert "a***@example.com" in out


def test_alerts_json_has_kind_severity_price_and_every_delivery(
    recorded: Recorded, capsys: pytest.CaptureFixture[str]
) -> None:
    """--json gives each alert's kind, severity, coins with price and deviation, and each
    delivery's status, attempts and outcome time, as the database holds them."""
    assert main(["alerts", "--json", "--coin", "usdc", "--config", str(recorded.config)]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["coin"] == "USDC"
    got = doc["alerts"]
    assert [a["id"] for a in got] == [a.id for a in recorded.alerts]
    critical = next(a for a in got if a["kind"] == "escalated")
    assert critical["severity"] == "critical"
    (item,) = critical["coins"]
    assert item["coin"] == "USDC" and item["price"] < 0.97 and item["deviation"] < -0.03
    by_channel = {d["channel"]: d for d in critical["deliveries"]}
    assert by_channel["console"]["status"] == "delivered"
    assert by_channel["console"]["outcome_at"] == by_channel["console"]["sent_at"]
    assert by_channel["pager"]["status"] == "failed" and by_channel["pager"]["outcome_at"]
    assert by_channel["pager"]["sent_at"] is None


def test_alerts_for_another_coin_or_an_earlier_window_are_none(
    recorded: Recorded, capsys: pytest.CaptureFixture[str]
) -> None:
    """--coin keeps only that coin's alerts (USDT had none), and --since starts the window:
    one opened just after the first alert leaves it out and keeps the resolution."""
    assert main(["alerts", "--coin", "USDT", "--config", str(recorded.config)]) == 0
    assert capsys.readouterr().out.startswith("0 alerts about USDT since ")
    since = f"{time.time() - recorded.alerts[0].ts - 0.5:.1f}s"
    assert main(["alerts", "--since", since, "--json", "--config", str(recorded.config)]) == 0
    ids = [a["id"] for a in json.loads(capsys.readouterr().out)["alerts"]]
    assert recorded.alerts[0].id not in ids and recorded.alerts[-1].id in ids


@pytest.mark.parametrize("since", ["0s", "7x", "4000d", ""])
def test_alerts_refuses_a_since_that_is_not_a_window(
    since: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A --since that is not a positive duration of at most 3650 days is a usage error (2)."""
    with pytest.raises(SystemExit) as exit_:
        main(["alerts", "--since", since])
    assert exit_.value.code == 2
    assert "--since" in capsys.readouterr().err


def test_an_ack_is_listed_in_its_place_among_the_alerts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`ack` between USDC's first alert and its resolution shows up between them, with who
    (masked when it is an address) and why, in text and JSON."""
    cfg = tmp_path / "config.toml"
    db = f"sqlite+aiosqlite:///{tmp_path / 'state.db'}"
    cfg.write_text(
        f'[coins.USDC]\n[venues.kraken]\nmarkets = ["USDC/USD"]\n[database]\nurl = "{db}"\n'
    )
    now = time.time()

    async def notice(kind: AlertKind, ts: float) -> None:
        engine = create_engine(db)
        try:
            await upgrade(engine)
            async with engine.begin() as conn:
                item = AlertItem("USDC", Severity.MAJOR, kind, None)
                alert = Alert(str(uuid.uuid4()), ts, Severity.MAJOR, kind, (item,), ("console",))
                await alert_history.insert_alert(conn, alert, Message(f"{kind.value} USDC", "b"))
        finally:
            await engine.dispose()

    asyncio.run(notice(AlertKind.FIRST, now - 60))
    ack = ["ack", "USDC", "--by", "alice@example.com", "--reason", "bank run, watching"]
    assert main([*ack, "--config", str(cfg)]) == 0
    asyncio.run(notice(AlertKind.RESOLVED, time.time() + 1))
    capsys.readouterr()
    assert main(["alerts", "--config", str(cfg)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("2 alerts, 1 ack since ")
    first, acked, resolved = (out.index(s) for s in ("first USDC", "UTC  ack ", "resolved USDC"))
    assert first < acked < resolved
    assert "USDC (major) by a***@example.com" in out and "why: bank run, watching" in out
    assert "alice@" not in out
    assert main(["alerts", "--json", "--config", str(cfg)]) == 0
    (got,) = json.loads(capsys.readouterr().out)["acks"]
    assert (got["coin"], got["severity"], got["by"]) == ("USDC", "major", "a***@example.com")


def test_a_database_from_an_older_version_asks_for_an_upgrade(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A database at an older schema than this version reads: one line saying to run
    `db upgrade`, exit 1, for alerts and history alike."""
    cfg = tmp_path / "config.toml"
    db = f"sqlite+aiosqlite:///{tmp_path / 'state.db'}"
    cfg.write_text(
        f'[coins.USDC]\n[venues.kraken]\nmarkets = ["USDC/USD"]\n[database]\nurl = "{db}"\n'
    )

    async def downgrade() -> None:
        engine = create_engine(db)
        try:
            await upgrade(engine)
            async with engine.begin() as conn:
                await conn.execute(update(schema_version).values(version=1))
        finally:
            await engine.dispose()

    asyncio.run(downgrade())
    assert main(["alerts", "--config", str(cfg)]) == 1
    assert main(["history", "USDC", "--config", str(cfg)]) == 1
    err = capsys.readouterr().err.splitlines()
    assert [line.split(":")[0] for line in err] == ["alerts", "history"]
    assert all(f"is at schema version 1, this version reads {SCHEMA_VERSION}" in e for e in err)
    assert all("run `depeg-monitor db upgrade`" in e for e in err)
