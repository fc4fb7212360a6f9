"""Replay on small generated files: timeline, event delays, false alerts, messy input."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from depeg_monitor.cli import main
from depeg_monitor.model import AlertKind, Severity
from depeg_monitor.replay.decide import TransitionReporter
from depeg_monitor.replay.manifest import ManifestError, load_manifest, parse_time
from depeg_monitor.replay.report import build_report
from depeg_monitor.replay.runner import run_replay

START = datetime(2024, 1, 1, tzinfo=UTC).timestamp()
CRASH_AT = 120  # minute index where USDC falls to 0.95
RECOVER_AT = 180


def iso(minute: int) -> str:
    return datetime.fromtimestamp(START + 60 * minute, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def usdc_usd(minute: int) -> float:
    return 0.95 if CRASH_AT <= minute < RECOVER_AT else 1.0


def write_market(tmp: Path) -> None:
    """Three files shaped like the real ones: trade minutes with gaps, klines with
    zero-volume repeats and one wild print, and a USDT/USD reference at a 1 % premium."""
    kraken = ["timestamp,open,high,low,close,volume_usdc,trades"]
    for m in range(300):
        if m % 7 == 3:
            continue  # no trade this minute
        p = usdc_usd(m)
        kraken.append(f"{iso(m)},{p},{p},{p},{p},5000.0,3")
    (tmp / "kraken_usdcusd.csv").write_text("\n".join(kraken) + "\n")

    binance = ["timestamp,open,high,low,close,volume_usdc"]
    last = 1.0 / 1.01
    for m in range(300):
        if m % 5 == 0:
            binance.append(f"{iso(m)},{last},{last},{last},{last},0.0")  # no trade: repeat
            continue
        last = usdc_usd(m) / 1.01  # USDT is worth 1.01 USD
        price = 0.80 if m == 40 else last  # a wild single print in calm times
        binance.append(f"{iso(m)},{price},{price},{price},{price},8000.0")
    binance.append("not-a-time,1,1,1,1,1")
    (tmp / "binance_usdcusdt.csv").write_text("\n".join(binance) + "\n")

    usdt = ["timestamp,close,volume_usdt"]
    usdt += [f"{iso(m)},1.01,100000" for m in range(300)]
    (tmp / "coinbase_usdtusd.csv").write_text("\n".join(usdt) + "\n")

    bitstamp = ["timestamp,close"]
    bitstamp += [f"{iso(m)},{usdc_usd(m)}" for m in range(0, 300, 2)]
    (tmp / "bitstamp_usdcusd.csv").write_text("\n".join(bitstamp) + "\n")


MANIFEST = f"""
title = "generated"
[settings.aggregation]
max_quote_age = 180
[settings.coins.USDT]
alert_on_premium = false
[[series]]
path = "kraken_usdcusd.csv"
venue = "kraken"
coin = "USDC"
quote_ccy = "USD"
volume = "volume_usdc"
[[series]]
path = "binance_usdcusdt.csv"
venue = "binance"
coin = "USDC"
quote_ccy = "USDT"
volume = "volume_usdc"
[[series]]
path = "coinbase_usdtusd.csv"
venue = "coinbase"
coin = "USDT"
quote_ccy = "USD"
volume = "volume_usdt"
volume_unit = "quote"
[[series]]
path = "bitstamp_usdcusd.csv"
venue = "bitstamp"
coin = "USDC"
quote_ccy = "USD"
[[events]]
coin = "USDC"
start = "{iso(CRASH_AT - 5)}"
end = "{iso(RECOVER_AT + 30)}"
expect = "critical"
"""


@pytest.fixture
def manifest_path(tmp_path: Path) -> Path:
    write_market(tmp_path)
    path = tmp_path / "m.toml"
    path.write_text(MANIFEST)
    return path


def test_crash_is_caught_and_calm_with_wild_print_is_quiet(manifest_path: Path) -> None:
    """The 5 % fall is critical within a minute of the data holding it, the calm hours with a
    wild 0.80 print raise nothing, and the messy rows are counted."""
    report = build_report(run_replay(load_manifest(manifest_path)))
    (event,) = report.events
    assert not event.missed
    assert event.truth.crossing(Severity.CRITICAL).held is not None
    assert event.delay is not None and event.delay <= 60
    assert report.false_alerts == {"minor": 0, "major": 0, "critical": 0}
    kinds = [(t.coin, t.severity, t.kind) for t in report.timeline]
    assert ("USDC", Severity.CRITICAL, AlertKind.FIRST) in kinds
    assert any(k == AlertKind.RESOLVED for _, _, k in kinds)
    binance = next(s for s in report.series if s["venue"] == "binance")
    assert binance["zero_volume_rows"] == 60 and binance["bad_rows"] == 1
    first = next(t for t in report.timeline if t.severity == Severity.CRITICAL)
    assert first.price is not None and abs(first.price - 0.95) < 0.001
    assert {"kraken", "bitstamp"} <= set(first.venues)


def test_usdt_premium_is_not_mistaken_for_usdc_premium(manifest_path: Path) -> None:
    """USDC/USDT at 0.990 with USDT at 1.01 USD is USDC at par, not a 1 % discount."""
    run = run_replay(load_manifest(manifest_path), TransitionReporter())
    calm = [a for a in run.alerts if a.ts < START + 60 * CRASH_AT]
    assert calm == []


def test_transition_reporter_marks_onset_and_resolution(manifest_path: Path) -> None:
    """The fallback stage alerts on the confirmed onset and on the resolution."""
    run = run_replay(load_manifest(manifest_path), TransitionReporter())
    assert [(a.coins, a.kind) for a in run.alerts] == [
        (("USDC",), AlertKind.FIRST),
        (("USDC",), AlertKind.RESOLVED),
    ]


def test_cli_json_report(manifest_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`replay --json` prints the timeline and the per-event delay as JSON."""
    assert main(["replay", str(manifest_path), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["events"][0]["missed"] is False
    assert parse_time(data["events"][0]["first_alert"]) >= START + 60 * CRASH_AT
    assert data["timeline"][0]["severity"] == "critical"


def test_cli_text_report(manifest_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The text report lists the alert and the event's delay."""
    assert main(["replay", str(manifest_path)]) == 0
    out = capsys.readouterr().out
    assert "USDC   critical first" in out
    assert "missed events: 0 of 1" in out


def test_missing_column_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A manifest naming a column the file lacks fails with the file, column and columns."""
    (tmp_path / "a.csv").write_text("timestamp,close\n2024-01-01T00:00:00Z,1.0\n")
    (tmp_path / "m.toml").write_text(
        '[[series]]\npath = "a.csv"\nvenue = "x"\ncoin = "USDC"\nquote_ccy = "USD"\n'
        'price = "last"\n'
    )
    assert main(["replay", str(tmp_path / "m.toml")]) == 2
    err = capsys.readouterr().err
    assert "no column 'last'" in err and "timestamp, close" in err


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("title = 1\n", r"no \[\[series\]\]"),
        ("[[series]\n", "not valid TOML"),
        (
            '[[series]]\npath = "nope.csv"\nvenue = "x"\ncoin = "A"\nquote_ccy = "USD"\n',
            "nope.csv: no such file",
        ),
        (
            '[[series]]\npath = "a"\nvenue = "x"\ncoin = "A"\nquote_ccy = "USD"\n'
            '[[events]]\ncoin = "A"\nstart = "2024-01-02"\nend = "2024-01-01"\n',
            "end must be after start",
        ),
        (
            '[[series]]\npath = "a"\nvenue = "x"\ncoin = "A"\nquote_ccy = "USD"\n'
            "[settings.aggregation]\nmin_venues = 0\n",
            "min_venues",
        ),
    ],
)
def test_bad_manifests_raise_manifest_error(tmp_path: Path, text: str, message: str) -> None:
    """Each kind of bad manifest is a ManifestError that says what is wrong."""
    path = tmp_path / "m.toml"
    path.write_text(text)
    with pytest.raises(ManifestError, match=message):
        run_replay(load_manifest(path))


def test_cli_with_config_says_which_channels_would_have_heard(
    manifest_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """With --config, each message names the configured channels its route would reach."""
    cfg = tmp_path / "routes.toml"
    cfg.write_text(
        '[channels.discord]\ntype = "console"\n[channels.sms]\ntype = "console"\n'
        '[[alerts.routes.critical]]\nchannels = ["discord", "sms"]\n'
    )
    assert main(["replay", str(manifest_path), "--config", str(cfg), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    critical = next(t for t in data["timeline"] if t["severity"] == "critical")
    assert critical["channels"] == ["discord", "sms"]
    assert critical["held"] is None
