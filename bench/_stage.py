"""A stage for the real daemon: simulated market, local channel sinks, `depeg-monitor run`.

Shared by the end-to-end tests (loaded by path) and the daemon benchmarks.
Everything listens on 127.0.0.1 on free ports:

- the simulated market (in this process, SystemClock) for a scenario;
- a webhook sink standing in for Discord (apprise `json://`), an SMTP server (aiosmtpd) for
  email, and a Twilio API stand-in for SMS; each records what arrives and when;
- `depeg-monitor run` as a subprocess (`sys.executable -m depeg_monitor`), configured by a TOML
  file written into the work dir, with STATE_DIRECTORY (the SQLite file) in the work dir too.

Waiting is asyncio-based throughout: the market and the sinks run on the caller's event loop,
so nothing here may block it.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import sys
import time
import tomllib
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
from aiohttp import web
from aiosmtpd.controller import Controller

from depeg_monitor.clock import SystemClock
from depeg_monitor.simulate import Scenario, SimulatedMarket

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_CONFIG = ROOT / "config.example.toml"

TWILIO_SID = "AC" + "e2e0" * 8
TWILIO_TOKEN = "stage-twilio-token"
SMS_FROM = "+15550000000"
SMS_TO = "+15551234567"

# "USDC — CRITICAL (escalated)": one line per coin in a Discord/email body.
_ITEM = re.compile(
    r"^(?P<coin>[A-Z0-9]+) — (?P<severity>[A-Z]+) \((?P<why>[^)]+)\)\r?$", re.M
)  # email bodies end lines with CRLF

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Received:
    """One message as a channel's local stand-in received it."""

    channel: str  # discord | email | sms
    title: str  # webhook title, email subject, or the SMS text
    body: str  # plain body ("" for SMS)
    at: float  # arrival, epoch seconds
    sender: str = ""  # the webhook path's last part, the mail's From, the SMS's From

    def items(self) -> list[tuple[str, str, str]]:
        """(coin, SEVERITY, why) per coin named in the body, e.g. ('USDC', 'MAJOR', 'new')."""
        return [(m["coin"], m["severity"], m["why"]) for m in _ITEM.finditer(self.body)]


@dataclass
class Inbox:
    """Everything the stand-ins received, in arrival order."""

    messages: list[Received] = field(default_factory=list)
    webhook_statuses: list[int] = field(default_factory=list)  # answers to give first
    # channel → seconds a stand-in takes to answer after it has taken the message (a slow
    # receiver: the message counts as received even if the sender never hears back)
    delays: dict[str, float] = field(default_factory=dict)

    async def answer_later(self, channel: str) -> None:
        """Wait the channel's delay, or until its delay is lifted."""
        until = time.monotonic() + self.delays.get(channel, 0.0)
        while channel in self.delays and time.monotonic() < until:  # noqa: ASYNC110 (a test's dict)
            await asyncio.sleep(0.05)

    def on(self, channel: str) -> list[Received]:
        return [m for m in self.messages if m.channel == channel]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- channel stand-ins ------------------------------------------------------------------------


class _Mailbox:
    def __init__(self, inbox: Inbox) -> None:
        self._inbox = inbox

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        mail = message_from_bytes(envelope.original_content, policy=policy.default)
        part = mail.get_body(preferencelist=("plain", "html"))
        body = part.get_content() if part is not None else ""
        self._inbox.messages.append(
            Received("email", str(mail["Subject"]), body, time.time(), str(envelope.mail_from))
        )
        await self._inbox.answer_later("email")
        return "250 OK"


def _accept(*_: Any) -> Any:
    from aiosmtpd.smtp import AuthResult

    return AuthResult(success=True)


async def _serve(app: web.Application) -> tuple[web.AppRunner, int]:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, int(runner.addresses[0][1])


def _webhook_app(inbox: Inbox) -> web.Application:
    async def hook(request: web.Request) -> web.Response:
        status = inbox.webhook_statuses.pop(0) if inbox.webhook_statuses else 200
        if status != 200:
            return web.Response(status=status, text="unavailable")
        data = await request.json()
        inbox.messages.append(
            Received(
                "discord",
                str(data.get("title", "")),
                str(data.get("message", "")),
                time.time(),
                request.path.rsplit("/", 1)[-1],
            )
        )
        await inbox.answer_later("discord")
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/{tail:.*}", hook)
    return app


def _twilio_app(inbox: Inbox) -> web.Application:
    async def messages(request: web.Request) -> web.Response:
        form = {k: str(v) for k, v in (await request.post()).items()}
        inbox.messages.append(
            Received("sms", form.get("Body", ""), "", time.time(), form.get("From", ""))
        )
        await inbox.answer_later("sms")
        sid = request.match_info["sid"]
        return web.json_response(
            {"sid": "SM" + "0" * 32, "account_sid": sid, "status": "queued", **form}, status=201
        )

    app = web.Application()
    app.router.add_post("/2010-04-01/Accounts/{sid}/Messages.json", messages)
    return app


# --- configuration ----------------------------------------------------------------------------


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, list | tuple):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{k} = {_toml_value(x)}" for k, x in v.items()) + " }"
    raise TypeError(f"cannot write {type(v).__name__} to TOML")


INLINE_TABLES = frozenset({"thresholds"})  # written `key = { … }`, as config.example.toml does


def toml_dumps(data: Mapping[str, Any], prefix: str = "") -> str:
    """Enough TOML for a config: tables, arrays of tables, scalars, lists, inline dicts."""
    lines: list[str] = []
    tables: list[str] = []
    for key, v in data.items():
        name = f"{prefix}.{key}" if prefix else key
        if isinstance(v, dict) and key not in INLINE_TABLES:
            tables.append(f"[{name}]\n" + toml_dumps(v, name))
        elif isinstance(v, list) and v and all(isinstance(x, dict) for x in v):
            tables.extend(f"[[{name}]]\n" + toml_dumps(x, name) for x in v)
        else:
            lines.append(f"{key} = {_toml_value(v)}")
    return "\n".join(lines) + ("\n" if lines else "") + "\n".join(tables)


@dataclass(frozen=True)
class StageConfig:
    """What the daemon is told. Times are wall seconds (already scaled to the scenario)."""

    coins: Sequence[str] | None = None  # None: every coin of config.example.toml
    venues: Sequence[str] | None = None  # None: every venue the scenario serves
    poll_interval: float = 1.0
    hold_minor: float = 120.0
    hold_major: float = 30.0
    hold_critical: float = 0.0
    clear_hold: float = 300.0
    confirm_minor_hold: float = 600.0
    stale_after: float = 120.0
    degraded_after: float = 60.0
    max_quote_age: float = 60.0
    db_flush_interval: float = 2.0
    db_batch_size: int = 500
    volatility_widen_max: float = 1.5
    dislocation_hold: float = 60.0
    # severity → channels (one route each, at any hour so no test depends on the clock)
    routes: Mapping[str, Sequence[str]] = field(
        default_factory=lambda: {
            "minor": ["discord"],
            "major": ["discord", "email"],
            "critical": ["discord", "email", "sms"],
        }
    )
    health_alert_channels: Sequence[str] = ()
    log_level: str = "info"
    streams: bool = True  # the venues that have one stream from the simulator; False: poll only


def build_config(
    cfg: StageConfig,
    base_urls: Mapping[str, str],
    health_port: int,
    twilio_base: str,
    stream_urls: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    with EXAMPLE_CONFIG.open("rb") as f:
        example = tomllib.load(f)
    coins = {c: s for c, s in example["coins"].items() if cfg.coins is None or c in set(cfg.coins)}
    venues: dict[str, Any] = {}
    for name, url in base_urls.items():
        if cfg.venues is not None and name not in cfg.venues:
            continue
        v = dict(example["venues"].get(name, {}))
        markets = [m for m in v.get("markets", []) if m.split("/")[0] in coins]
        if not markets:
            continue
        venues[name] = {
            **v,
            "base_url": url,
            "poll_interval": cfg.poll_interval,
            "markets": markets,
            "breaker_max_backoff": max(5.0, 5 * cfg.poll_interval),
        }
        stream = (stream_urls or {}).get(name) if cfg.streams else None
        venues[name].update({"stream": True, "stream_url": stream} if stream else {"stream": False})
    return {
        "coins": coins,
        "venues": venues,
        "aggregation": {**example["aggregation"], "max_quote_age": cfg.max_quote_age},
        "classification": {
            "thresholds": example["classification"]["thresholds"],
            "hold_minor": cfg.hold_minor,
            "hold_major": cfg.hold_major,
            "hold_critical": cfg.hold_critical,
            "clear_ratio": example["classification"]["clear_ratio"],
            "clear_hold": cfg.clear_hold,
            "volatility_widen_max": cfg.volatility_widen_max,
        },
        "alerts": {
            "timezone": "UTC",
            "confirm_minor_hold": cfg.confirm_minor_hold,
            "dislocation_hold": cfg.dislocation_hold,
            "routes": {sev: [{"channels": list(chs)}] for sev, chs in cfg.routes.items()},
        },
        "channels": {
            "discord": {"type": "apprise"},
            "email": {"type": "apprise"},
            "sms": {
                "type": "twilio",
                "from_number": SMS_FROM,
                "to_numbers": [SMS_TO],
                "api_base": twilio_base,
            },
        },
        "database": {"flush_interval": cfg.db_flush_interval, "batch_size": cfg.db_batch_size},
        "health": {
            "host": "127.0.0.1",
            "port": health_port,
            "stale_after": cfg.stale_after,
            "degraded_after": cfg.degraded_after,
            "alert_channels": list(cfg.health_alert_channels),
        },
        "logging": {"level": cfg.log_level, "format": "json"},
    }


# --- the daemon -------------------------------------------------------------------------------


class DaemonProcess:
    """One `depeg-monitor run` subprocess; its output goes to a log file."""

    def __init__(self, proc: asyncio.subprocess.Process, log_path: Path) -> None:
        self.proc = proc
        self.log_path = log_path

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def running(self) -> bool:
        return self.proc.returncode is None

    def log_lines(self) -> list[dict[str, Any]]:
        """The daemon's JSON log lines (others, e.g. a traceback, are skipped)."""
        out = []
        for line in self.log_path.read_text(errors="replace").splitlines():
            if line.startswith("{"):
                try:
                    out.append(json.loads(line))
                except json.JSONDecodeError:
                    continue
        return out

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")

    async def terminate(self, timeout: float = 30.0) -> int:  # noqa: ASYNC109
        """SIGTERM, then wait for the exit code (TimeoutError if it does not exit in time)."""
        if self.running:
            self.proc.send_signal(signal.SIGTERM)
        return await asyncio.wait_for(self.proc.wait(), timeout)

    async def kill(self) -> None:
        """kill -9: no chance to flush or say goodbye."""
        if self.running:
            self.proc.kill()
        await self.proc.wait()


class Stage:
    """Market + sinks + daemon on loopback. Use `async with Stage(workdir, scenario) as st:`."""

    def __init__(self, workdir: Path, scenario: Scenario) -> None:
        self.workdir = workdir
        self.state_dir = workdir / "state"
        self.scenario = scenario
        self.market = SimulatedMarket(scenario, SystemClock())
        self.inbox = Inbox()
        self.health_port = free_port()
        self.daemons: list[DaemonProcess] = []
        self._runners: list[web.AppRunner] = []
        self._smtp: Controller | None = None
        self.webhook_url = ""
        self.twilio_base = ""
        self.smtp_port = 0
        self._http: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Stage:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def start(self) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        await self.market.start()
        runner, port = await _serve(_webhook_app(self.inbox))
        self._runners.append(runner)
        self.webhook_url = f"json://127.0.0.1:{port}/webhooks/stage-webhook-token"
        runner, port = await _serve(_twilio_app(self.inbox))
        self._runners.append(runner)
        self.twilio_base = f"http://127.0.0.1:{port}"
        self.smtp_port = free_port()
        self._smtp = Controller(
            _Mailbox(self.inbox),
            hostname="127.0.0.1",
            port=self.smtp_port,
            auth_require_tls=False,
            auth_required=False,
            authenticator=_accept,
        )
        self._smtp.start()
        self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5))

    async def close(self) -> None:
        for d in self.daemons:
            await d.kill()
        if self._http is not None:
            await self._http.close()
        if self._smtp is not None:
            self._smtp.stop()
        for r in self._runners:
            await r.cleanup()
        await self.market.stop()

    # -- configuration -------------------------------------------------------------------------

    def write_config(self, cfg: StageConfig, name: str = "config.toml") -> Path:
        data = build_config(
            cfg,
            self.market.base_urls(),
            self.health_port,
            self.twilio_base,
            self.market.stream_urls(),
        )
        path = self.workdir / name
        path.write_text(toml_dumps(data))
        return path

    def env(self) -> dict[str, str]:
        """The daemon's environment: secrets the way a user sets them, state dir, no proxy."""
        mail = (
            f"mailto://monitor:stage-pass@127.0.0.1:{self.smtp_port}?smtp=127.0.0.1"
            "&mode=insecure&from=monitor@example.com&to=ops@example.com"
        )
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("DEPEG_") and k.lower() not in ("http_proxy", "https_proxy")
        }
        env.update(
            {
                "STATE_DIRECTORY": str(self.state_dir),
                "DEPEG_CHANNELS__DISCORD__URL": self.webhook_url,
                "DEPEG_CHANNELS__EMAIL__URL": mail,
                "TWILIO_ACCOUNT_SID": TWILIO_SID,
                "TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
                "NO_PROXY": "127.0.0.1,localhost",
                "PYTHONUNBUFFERED": "1",
            }
        )
        return env

    @property
    def db_path(self) -> Path:
        return self.state_dir / "depeg-monitor.db"

    # -- the daemon ----------------------------------------------------------------------------

    async def start_daemon(
        self,
        config: Path,
        ready_timeout: float = 60.0,
        env: Mapping[str, str] | None = None,
        health_port: int | None = None,
    ) -> DaemonProcess:
        """Start `depeg-monitor run` and wait until /health answers (on health_port: a second
        daemon beside the first; env: added to the daemon's environment)."""
        log_path = self.workdir / f"daemon-{len(self.daemons) + 1}.log"
        with log_path.open("wb") as out:
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "depeg_monitor",
                "run",
                "--config",
                str(config),
                env={**self.env(), **(env or {})},
                cwd=str(self.workdir),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=out,
                stderr=asyncio.subprocess.STDOUT,
            )
        daemon = DaemonProcess(proc, log_path)
        self.daemons.append(daemon)

        async def answering() -> bool:
            if not daemon.running:
                raise RuntimeError(f"daemon exited early:\n{daemon.log_text()[-3000:]}")
            try:
                await self.health(health_port)
            except (aiohttp.ClientError, TimeoutError):
                return False
            return True

        await wait_until(answering, ready_timeout, what="the daemon's /health to answer")
        return daemon

    def restart_scenario_clock(self) -> None:
        """Scenario time 0 is now: call once the daemon is up, so start-up costs no scenario."""
        self.market.started_at = time.time()

    async def health(self, port: int | None = None) -> tuple[int, dict[str, Any]]:
        assert self._http is not None
        url = f"http://127.0.0.1:{port or self.health_port}/health"
        async with self._http.get(url) as r:
            return r.status, await r.json(content_type=None)

    async def wait_messages(
        self,
        n: int,
        channel: str | None = None,
        timeout: float = 60.0,  # noqa: ASYNC109
        where: Callable[[Received], bool] | None = None,
    ) -> list[Received]:
        """Wait until at least n matching messages arrived; return the matching ones."""

        def matching() -> list[Received]:
            return [
                m
                for m in self.inbox.messages
                if (channel is None or m.channel == channel) and (where is None or where(m))
            ]

        async def enough() -> bool:
            return len(matching()) >= n

        await wait_until(enough, timeout, what=f"{n} message(s) on {channel or 'any channel'}")
        return matching()


async def wait_until(
    check: Callable[[], Awaitable[bool]],
    timeout: float,  # noqa: ASYNC109
    interval: float = 0.1,
    what: str = "condition",
) -> None:
    """Poll an async predicate until true; TimeoutError naming `what` otherwise."""
    loop = asyncio.get_running_loop()
    until = loop.time() + timeout
    while not await check():
        if loop.time() >= until:
            raise TimeoutError(f"timed out after {timeout:g}s waiting for {what}")
        await asyncio.sleep(interval)


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty sample."""
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[k]


# --- watching a running daemon ----------------------------------------------------------------


def proc_kib(pid: int, field: str) -> int | None:
    """A kB figure of /proc/<pid>/status (VmRSS, VmHWM, …); None once the process is gone."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    for line in text.splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return None


@dataclass
class Watch:
    """What a background watcher saw of one daemon: /health reports and resident memory."""

    # (epoch seconds, HTTP status or 0 for no answer, the report or {})
    health: list[tuple[float, int, dict[str, Any]]] = field(default_factory=list)
    max_rss_kib: int = 0
    killed_at_kib: int | None = None  # set when the watcher killed the daemon for its memory

    def checks(self, component: str) -> list[tuple[float, dict[str, Any]]]:
        """(at, check) of one component (its componentId, e.g. "venue:okx") in every report
        that had it."""
        out = []
        for at, _, report in self.health:
            entry = health_check(report, component)
            if entry is not None:
                out.append((at, entry))
        return out


def health_checks(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """A detailed /health report's checks by componentId ("venue:okx", "coin:USDC", "db",
    "venues", …): the draft keys them by component:measurement ("okx:answerAge")."""
    return {
        entry["componentId"]: entry
        for entries in report.get("checks", {}).values()
        for entry in entries
        if "componentId" in entry
    }


def health_check(report: dict[str, Any], component: str) -> dict[str, Any] | None:
    return health_checks(report).get(component)


async def watch_daemon(
    st: Stage,
    daemon: DaemonProcess,
    into: Watch,
    *,
    health_every: float = 0.5,
    rss_every: float = 0.1,
    rss_cap_kib: int | None = None,
) -> None:
    """Sample /health and VmRSS until cancelled (run it as a task). Past rss_cap_kib the daemon
    is killed, so a runaway read cannot take the machine down with it."""

    async def memory() -> None:
        while daemon.running:
            rss = proc_kib(daemon.pid, "VmRSS")
            if rss is not None:
                into.max_rss_kib = max(into.max_rss_kib, rss)
                if rss_cap_kib is not None and rss > rss_cap_kib:
                    into.killed_at_kib = rss
                    await daemon.kill()
                    return
            await asyncio.sleep(rss_every)

    async def health() -> None:
        while daemon.running:
            try:
                code, report = await st.health()
            except (aiohttp.ClientError, TimeoutError, ValueError):
                code, report = 0, {}
            into.health.append((time.time(), code, report))
            await asyncio.sleep(health_every)

    await asyncio.gather(memory(), health())


# --- an active/standby pair ([ha]) ------------------------------------------------------------

HA_NODES = ("node-a", "node-b")
HA_SMS_FROM = {"node-a": "+15550000001", "node-b": "+15550000002"}


class HaPair:
    """Two `depeg-monitor run` nodes of one [ha] pair on a shared PostgreSQL, each on its own
    /health port and sending through its own stand-in address (webhook path, mail From, SMS
    From), so the sinks' log says which node sent every message."""

    def __init__(self, st: Stage, db_url: str, cfg: StageConfig, ha: Mapping[str, Any]) -> None:
        self.st = st
        self.db_url = db_url
        self.cfg = cfg
        self.ha_settings = dict(ha)
        self.ports = {n: free_port() for n in HA_NODES}
        self.procs: dict[str, DaemonProcess] = {}

    def config(self, node: str, db_url: str) -> Path:
        st = self.st
        data = build_config(
            self.cfg,
            st.market.base_urls(),
            self.ports[node],
            st.twilio_base,
            st.market.stream_urls(),
        )
        data["database"]["url"] = db_url
        data["channels"]["sms"]["from_number"] = HA_SMS_FROM[node]
        data["ha"] = {"enabled": True, "node": node, **self.ha_settings}
        path = st.workdir / f"{node}.toml"
        path.write_text(toml_dumps(data))
        return path

    async def start(self, node: str, db_url: str | None = None) -> DaemonProcess:
        st = self.st
        env = {
            "DEPEG_CHANNELS__DISCORD__URL": st.webhook_url.rsplit("/", 1)[0] + f"/{node}",
            "DEPEG_CHANNELS__EMAIL__URL": st.env()["DEPEG_CHANNELS__EMAIL__URL"].replace(
                "from=monitor@", f"from={node}@"
            ),
        }
        proc = await st.start_daemon(
            self.config(node, db_url or self.db_url), env=env, health_port=self.ports[node]
        )
        self.procs[node] = proc
        return proc

    async def ha(self, node: str) -> str:
        """The node's 'ha' line on /health ('' while it cannot answer)."""
        try:
            _, report = await self.st.health(self.ports[node])
        except Exception:
            return ""
        return str(report["checks"].get("lease:renewalAge", [{}])[0].get("output", ""))

    async def wait_role(self, node: str, role: str, timeout: float = 30.0) -> None:  # noqa: ASYNC109
        async def there() -> bool:
            said = await self.ha(node)  # a standby: once it has seen who leads
            return said.startswith(role) and (role == "leader" or "; leader " in said)

        await wait_until(there, timeout, what=f"{node} to be {role}")

    @staticmethod
    def sender(m: Received) -> str:
        """Which node sent a message, from the address it came through."""
        for node in HA_NODES:
            if m.sender in (node, f"{node}@example.com", HA_SMS_FROM[node]):
                return node
        raise AssertionError(f"unknown sender {m.sender!r}")
