"""The `depeg-monitor` command line: each command's name, arguments and help, and dispatch.

Building the parser imports argparse and nothing else: a command's module under
depeg_monitor.commands — and with it pydantic, SQLAlchemy, aiohttp, apprise… — is imported
only once its command has been chosen, so `--version` and `--help` start as fast as Python
itself. Each declaration below is a small function: summary, description, examples, arguments.
They are all here (some 400 lines) because that is what keeps them import-free.
"""

from __future__ import annotations

import argparse
import importlib
import os
import re
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from depeg_monitor import __version__

DESCRIPTION = """\
Watches stablecoin prices across exchanges and alerts the right person — on Discord, by
email or by SMS — when a coin leaves its peg."""

EPILOG = """\
examples:
  depeg-monitor demo                     watch it work against a simulated market, no accounts
  depeg-monitor check-config --config config.toml
  depeg-monitor config show --config config.toml
  depeg-monitor test-alert --config config.toml --channel discord
  depeg-monitor run --config config.toml
  depeg-monitor status --config config.toml
  depeg-monitor alerts --since 7d
  depeg-monitor history USDC --since 24h --plot usdc.png
  depeg-monitor silence add --coin USDT --for 2h --reason "exchange maintenance"
  depeg-monitor ack USDC --reason "bank run, following the news"

Settings come from the TOML file given by --config (default: $DEPEG_CONFIG) and from
DEPEG_<SECTION>__<KEY> environment variables, which win; secrets belong in the environment.
`depeg-monitor COMMAND --help` describes one command."""

# Scenarios shipped inside the package (depeg_monitor/simulate/scenarios/, linked from the
# repository's scenarios/); named here so --help can list them without reading the package.
SCENARIOS = (
    "svb",
    "calm",
    "single-venue-faults",
    "all-down",
    "hostile-venues",
    "latency",
    "two-venue-dislocation",
    "usdt-lead",
    "usde-dislocation",
    "onchain-all-fall",
)

if TYPE_CHECKING:
    _Sub = argparse._SubParsersAction[argparse.ArgumentParser]


class _Help(argparse.HelpFormatter):
    """Prose wrapped to the terminal; a paragraph with indented lines (examples) kept as is."""

    def __init__(self, prog: str) -> None:
        super().__init__(prog, max_help_position=30)

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        paragraphs = text.split("\n\n")
        return "\n\n".join(
            "\n".join(indent + line for line in p.splitlines())
            if any(line.startswith("  ") for line in p.splitlines())
            else super(_Help, self)._fill_text(p, width, indent)
            for p in paragraphs
        )


def _command(
    sub: _Sub, name: str, module: str, summary: str, description: str, examples: Sequence[str]
) -> argparse.ArgumentParser:
    """A command's parser: `summary` in the list of commands, the rest in its own --help."""
    epilog = "examples:\n" + "\n".join(f"  {e}" for e in examples) if examples else None
    p: argparse.ArgumentParser = sub.add_parser(
        name,
        help=summary,
        description=description,
        epilog=epilog,
        formatter_class=_Help,
    )
    p.set_defaults(_module=module)
    return p


CONFIG_HELP = "TOML configuration file (default: $DEPEG_CONFIG)"


def _config(parser: argparse.ArgumentParser, help: str = CONFIG_HELP) -> None:
    """--config on this parser. Every parser on the way to a command takes it, so it may come
    before the command, after it or after its action; the one nearest the end wins. SUPPRESS
    keeps a level where it was not given from overwriting one where it was (main() fills in
    None when it was given nowhere)."""
    parser.add_argument("--config", metavar="PATH", default=argparse.SUPPRESS, help=help)


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)([smhdw])")
MAX_SILENCE = 365 * 86400.0  # past this, an end date stops being meaningful (or printable)


def parse_duration(text: str) -> float:
    """'90s', '30m', '2h', '1d12h' → seconds, for `silence add --for`; ArgumentTypeError
    for anything else, zero, or more than a year."""
    t = text.strip().lower()
    parts = _DURATION.findall(t)
    if not parts or "".join(n + u for n, u in parts) != t:
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (try 30m, 2h, 1d)")
    seconds = sum(float(n) * _UNITS[u] for n, u in parts)
    if seconds <= 0:
        raise argparse.ArgumentTypeError("a silence must last longer than zero")
    if seconds > MAX_SILENCE:
        raise argparse.ArgumentTypeError(
            "a silence lasts at most a year; to stop watching a coin, remove it from the "
            "configuration"
        )
    return seconds


MAX_ID = 2**63 - 1  # the largest row id a database stores (BIGINT; SQLite's INTEGER)


def parse_silence_id(text: str) -> int:
    """A silence's number as `silence list` shows it: a positive integer a database can hold."""
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a silence number: {text!r}") from None
    if not 0 < n <= MAX_ID:
        raise argparse.ArgumentTypeError(f"no silence has the number {text} (see `silence list`)")
    return n


def positive(text: str) -> float:
    """A speed or scale: a finite number above zero."""
    try:
        x = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 < x < float("inf"):
        raise argparse.ArgumentTypeError(f"must be above zero: {text}")
    return x


def port(text: str) -> int:
    """A TCP port, 0 for any free one."""
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= n <= 65535:
        raise argparse.ArgumentTypeError(f"a port is 0..65535, not {text}")
    return n


def count(text: str) -> int:
    """A number of lines: zero or more."""
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if n < 0:
        raise argparse.ArgumentTypeError(f"must be zero or more: {text}")
    return n


def reason(text: str) -> str:
    """Why a silence was added: something for whoever reads `silence list` later."""
    if not text.strip():
        raise argparse.ArgumentTypeError("say why, for whoever reads `silence list` later")
    return text


def parse_coin(text: str) -> str:
    """A coin symbol as given to `silence add --coin`, upper-cased; blank is refused."""
    coin = text.strip().upper()
    if not coin:
        raise argparse.ArgumentTypeError("a coin symbol, e.g. USDT (leave --coin out for all)")
    return coin


# --- the commands, in the order --help lists them ---------------------------------------------


def _run(sub: _Sub) -> None:
    p = _command(
        sub,
        "run",
        "run",
        "run the monitor daemon",
        "Poll every enabled venue, classify each coin's distance from its peg and send alerts "
        "through the configured channels until stopped. SIGTERM or Ctrl-C stops it cleanly: "
        "history is flushed and deliveries in progress finish (exit 0). SIGHUP (systemctl "
        "reload) reads the configuration again: a bad one is refused and the running one kept.",
        ["depeg-monitor run --config /etc/depeg-monitor/config.toml"],
    )
    _config(p)


def _check_config(sub: _Sub) -> None:
    p = _command(
        sub,
        "check-config",
        "check_config",
        "validate the configuration and summarise it",
        "Read the configuration (file and environment) and print the coins, venues, channels, "
        "database and health endpoint it sets up; a channel whose secret is missing is named. "
        "Exit 0 if it is valid, 2 listing each bad setting and why.",
        ["depeg-monitor check-config --config config.example.toml"],
    )
    _config(p)


def _config_show(sub: _Sub) -> None:
    p = _command(
        sub,
        "config",
        "config_show",
        "print the effective configuration (config show)",
        "Print the settings the monitor would run with: every default filled in, every "
        "DEPEG_ environment variable and systemd credential applied (a comment names which set "
        "a value), secrets masked to their scheme (discord://***) and phone numbers and e-mail "
        "addresses masked. Exit 2 listing each problem if the configuration cannot be read.",
        ["depeg-monitor config show --config config.toml", "depeg-monitor config show --json"],
    )
    _config(p)
    actions = p.add_subparsers(dest="config_command", required=True, metavar="ACTION")
    show = actions.add_parser("show", help="the effective settings, secrets masked")
    show.add_argument("--json", action="store_true", help="one JSON document instead of TOML")
    _config(show)


def _quotes(sub: _Sub) -> None:
    p = _command(
        sub,
        "quotes",
        "quotes",
        "poll every enabled venue once and print a price table",
        "Ask each enabled venue for its prices once and print a coin × venue table, then one "
        "line per venue that failed and why. A venue that cannot be resolved or refuses the "
        "connection is not asked again, and none is waited for longer than 15 s. Exit 1 if no "
        "venue answered. With --stream, open each streaming venue's WebSocket instead and "
        "print every update for a few seconds, then each stream's state.",
        ["depeg-monitor quotes --config config.toml", "depeg-monitor quotes --stream 10"],
    )
    p.add_argument(
        "--stream",
        metavar="SECONDS",
        nargs="?",
        const=5.0,
        default=None,
        type=_positive_seconds,
        help="show live streamed updates for SECONDS (default 5)",
    )
    _config(p)


def _positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0 < value <= 3600:
        raise argparse.ArgumentTypeError(f"{text} must be between 0 and 3600 seconds")
    return value


def _status(sub: _Sub) -> None:
    p = _command(
        sub,
        "status",
        "status",
        "print whether the daemon runs, prices, alerts, silences and health",
        "Show what the daemon last recorded in its database — found as `run` finds it, from "
        "any directory: whether it is still reporting (its last health row against "
        "[health] history_interval), each coin's price and severity, the alerts firing now, "
        "the silences in force or to come, the latest alerts with each channel's delivery, "
        "and the health of each component. Reads the database only; exit 1 if it cannot.",
        ["depeg-monitor status --config config.toml"],
    )
    _config(p)


MAX_SINCE = 3650 * 86400.0  # the hourly aggregates' longest default retention


def parse_since(text: str) -> float:
    """'30m', '24h', '7d', '2w' → seconds back from now, for `alerts` and `history --since`."""
    t = text.strip().lower()
    parts = _DURATION.findall(t)
    if not parts or "".join(n + u for n, u in parts) != t:
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (try 30m, 24h, 7d)")
    seconds = sum(float(n) * _UNITS[u] for n, u in parts)
    if not 0 < seconds <= MAX_SINCE:
        raise argparse.ArgumentTypeError(f"{text}: look back more than 0 and at most 3650 days")
    return seconds


def _alerts(sub: _Sub) -> None:
    p = _command(
        sub,
        "alerts",
        "alerts",
        "list past alerts and what each channel did with them",
        "List the alerts the daemon recorded in its database over a window — kind, severity, "
        "price, deviation and why — with each channel's delivery outcome and its time "
        "(delivered, failed, expired or still pending, and after how many attempts). "
        "Recipients in delivery errors are masked. Reads the database only; exit 1 if it "
        "cannot.",
        [
            "depeg-monitor alerts --config config.toml",
            "depeg-monitor alerts --since 30d --coin USDC",
            "depeg-monitor alerts --since 24h --json | jq '.alerts[].deliveries'",
        ],
    )
    p.add_argument(
        "--since",
        type=parse_since,
        default=7 * 86400.0,
        metavar="DURATION",
        help="how far back, e.g. 24h, 7d, 2w (default 7d)",
    )
    p.add_argument("--coin", type=parse_coin, help="only alerts about this coin")
    p.add_argument("--json", action="store_true", help="print them as JSON")
    _config(p)


def _history(sub: _Sub) -> None:
    p = _command(
        sub,
        "history",
        "history",
        "a coin's recorded prices, per venue, with a summary and a chart",
        "Read a coin's aggregate price and each venue's prices from the database over a "
        "window and summarise them: lowest, highest, furthest from the peg, and the time "
        "spent beyond each of the coin's configured levels (minor, major, critical), with the "
        "alerts of the window. --plot draws the aggregate, each venue, the peg, the severity "
        "bands and the alerts into a PNG (needs the plot extra: pip install "
        "'depeg-monitor[plot]'). Reads the database only; exit 1 if it cannot, 2 for a coin "
        "the configuration does not watch, 3 for --plot without matplotlib.",
        [
            "depeg-monitor history USDC --config config.toml",
            "depeg-monitor history USDC --since 7d --plot usdc.png",
            "depeg-monitor history DAI --since 6h --json > dai.json",
        ],
    )
    p.add_argument("coin", type=parse_coin, metavar="COIN", help="coin symbol, e.g. USDC")
    p.add_argument(
        "--since",
        type=parse_since,
        default=86400.0,
        metavar="DURATION",
        help="how far back, e.g. 6h, 7d (default 24h)",
    )
    p.add_argument("--json", action="store_true", help="print the series and summary as JSON")
    p.add_argument("--plot", metavar="FILE.png", help="draw the chart into this PNG file")
    _config(p)


def _silence(sub: _Sub) -> None:
    p = _command(
        sub,
        "silence",
        "silence",
        "add, list or expire alert silences",
        "Silence alerts for one coin (or all) for a while, e.g. during an exchange's "
        "maintenance. The running daemon honours silences within a cycle.",
        [
            'depeg-monitor silence add --coin USDT --for 2h --reason "Binance maintenance"',
            "depeg-monitor silence list --all",
            "depeg-monitor silence expire 3",
        ],
    )
    _config(p)
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    add = actions.add_parser("add", help="silence one coin (or all) for a while")
    add.add_argument("--coin", type=parse_coin, help="coin symbol, e.g. USDT (default: every coin)")
    add.add_argument(
        "--for",
        dest="duration",
        type=parse_duration,
        required=True,
        metavar="DURATION",
        help="how long, e.g. 30m, 2h, 1d12h",
    )
    add.add_argument(
        "--reason", type=reason, required=True, help="why, for whoever reads the list later"
    )
    lst = actions.add_parser("list", help="silences in force or still to come")
    lst.add_argument("--all", action="store_true", help="include ended and expired ones")
    exp = actions.add_parser("expire", help="end a silence now")
    exp.add_argument(
        "id", type=parse_silence_id, help="the silence's number, as `silence list` shows it"
    )
    for action in (add, lst, exp):
        _config(action)


def one_line(text: str) -> str:
    """Free text for a message (who acknowledged, and why): on one line, spaces collapsed."""
    return " ".join(text.split())


def who(text: str) -> str:
    """A name for `ack --by`, on one line; blank is refused (the message says who it was)."""
    name = one_line(text)
    if not name:
        raise argparse.ArgumentTypeError("a name, e.g. alice (leave --by out for your user name)")
    return name


def _ack(sub: _Sub) -> None:
    p = _command(
        sub,
        "ack",
        "ack",
        "acknowledge a coin's open episode: no more reminders for it",
        "Say you have seen COIN's open depeg episode. Its reminders stop until it escalates "
        "past the level it has reached or resolves; the next message for it (the escalation "
        "or the resolution) says who acknowledged it, when and why. A later episode is not "
        "acknowledged. The running daemon picks it up within seconds; `status` shows it. "
        "Exit 1 if the coin has no open episode.",
        ['depeg-monitor ack USDC --reason "bank run, following the news"'],
    )
    p.add_argument("coin", metavar="COIN", type=parse_coin, help="coin symbol, e.g. USDC")
    p.add_argument("--reason", type=one_line, default="", help="why, said in the next message")
    p.add_argument(
        "--by", type=who, metavar="NAME", help="who acknowledges (default: your user name)"
    )
    _config(p)


def _test_alert(sub: _Sub) -> None:
    p = _command(
        sub,
        "test-alert",
        "test_alert",
        "send a marked test message through each channel",
        "Send a message marked as a test through every configured channel (or one), and say "
        "for each whether it was delivered or why not. Exit 1 if any was not.",
        [
            "depeg-monitor test-alert --config config.toml",
            "DEPEG_CHANNELS__DISCORD__URL=discord://ID/TOKEN "
            "depeg-monitor test-alert --channel discord",
        ],
    )
    _config(p)
    p.add_argument("--channel", metavar="NAME", help="only this channel")


def _replay(sub: _Sub) -> None:
    p = _command(
        sub,
        "replay",
        "replay",
        "backtest the detection pipeline on historical files",
        "Drive the same aggregate → classify → alert pipeline from the historical price files "
        "a manifest names, on a simulated clock, and score it against the manifest's ground "
        "truth: each event's first alert and its delay after the data crossed, missed events, "
        "alerts above a ceiling, false alerts. Nothing is sent. Exit status: 0 when every "
        "check holds, 1 when an event is missed or an alert is above an event's or a calm "
        "stretch's ceiling (with --strict also: a first alert later than its event's "
        "'within', or a bound the data itself does not support), 2 when the manifest or a "
        "file it names cannot be used.",
        [
            "depeg-monitor replay manifests/usdc-svb-2023-03.toml",
            "depeg-monitor replay manifests/usdc-svb-2023-03.toml --json > report.json",
            "depeg-monitor replay manifests/binance-hourly-baseline.toml --strict  # for CI",
        ],
    )
    p.add_argument("manifest", metavar="MANIFEST.toml", help="replay manifest")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument(
        "--strict",
        action="store_true",
        help="also fail (exit 1) on an alert later than its event's 'within' after the data "
        "held the level, and on an event or ceiling the reference data does not support",
    )
    p.add_argument(
        "--timeline-limit",
        type=count,
        default=200,
        metavar="N",
        help="alert timeline lines in the text report (default 200)",
    )
    p.add_argument(
        "--plot",
        metavar="FILE.png",
        help="draw one panel per coin (aggregate, venues, levels, events, alerts) into this "
        "PNG (needs matplotlib: pip install 'depeg-monitor[plot]'; exit 3 without it)",
    )
    _config(
        p,
        "take channels and routes (quiet hours included) from this configuration, "
        "to see which channel would have received each message; nothing is sent",
    )


def _db(sub: _Sub) -> None:
    p = _command(
        sub,
        "db",
        "db",
        "database schema management (db upgrade)",
        "Create the configured database's tables, or bring them to this version's schema. "
        "Safe to run repeatedly; the daemon does it at start-up too. The default state "
        "directory is created if missing; a directory named in [database] url is not (a "
        "typo there must not start an empty history elsewhere).",
        ["depeg-monitor db upgrade --config config.toml"],
    )
    _config(p)
    actions = p.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    up = actions.add_parser("upgrade", help="create or upgrade the schema (safe to run repeatedly)")
    _config(up)


_SCENARIO_HELP = f"a scenario shipped with depeg-monitor ({', '.join(SCENARIOS)}) or a TOML file"


def _simulate(sub: _Sub) -> None:
    p = _command(
        sub,
        "simulate",
        "simulate",
        "serve a simulated market on 127.0.0.1 from a scenario",
        "Serve the nine venues' APIs (same paths, payloads and errors) on 127.0.0.1 with prices "
        "and faults from a scenario, until Ctrl-C; print the environment variables that point "
        "the monitor at it.",
        ["depeg-monitor simulate svb --time-scale 10", "depeg-monitor simulate my-scenario.toml"],
    )
    p.add_argument("scenario", metavar="SCENARIO", help=_SCENARIO_HELP)
    p.add_argument("--host", default="127.0.0.1", help="address to listen on")
    p.add_argument("--port", type=port, default=0, help="port (default: any free one)")
    p.add_argument(
        "--time-scale",
        type=positive,
        default=None,
        metavar="X",
        help="play the scenario X times faster than written",
    )
    _config(
        p,
        "print the variables for the venues this configuration enables, and name any of them "
        "the scenario does not simulate (the monitor would poll the real exchange)",
    )


def _demo(sub: _Sub) -> None:
    p = _command(
        sub,
        "demo",
        "demo",
        "run the daemon against a simulated market, no accounts needed",
        "Run the real daemon against a simulated market (by default the USDC/SVB weekend of "
        "March 2023, 8× faster) and print the prices and each message as Discord, email and "
        "SMS would have received it. History goes to a temporary SQLite file; it ends by "
        "itself with a summary.",
        ["depeg-monitor demo", "depeg-monitor demo --scenario single-venue-faults --speed 20"],
    )
    _config(p)
    p.add_argument(
        "--scenario", metavar="SCENARIO", default="svb", help=_SCENARIO_HELP + " (default svb)"
    )
    p.add_argument(
        "--speed", type=positive, default=8.0, help="scenario seconds per real second (default 8)"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="depeg-monitor",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=_Help,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    _config(parser)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for declare in (
        _run,
        _check_config,
        _config_show,
        _quotes,
        _status,
        _alerts,
        _history,
        _silence,
        _ack,
        _test_alert,
        _replay,
        _db,
        _simulate,
        _demo,
    ):
        declare(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if not hasattr(args, "config"):
        args.config = None  # given nowhere: $DEPEG_CONFIG, read by the settings loader
    command = importlib.import_module(f"depeg_monitor.commands.{args._module}")
    try:
        return int(command.run(args))
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `status | head`: the reader left. Point stdout at /dev/null so the interpreter's
        # final flush does not fail again, and exit as a program killed by SIGPIPE would.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
