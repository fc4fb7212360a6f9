"""config.example.toml documents every setting, and runs as shipped with no secrets at all."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, get_args, get_origin

import apprise
import pytest
from pydantic import BaseModel

from depeg_monitor.config import Settings, load_settings
from depeg_monitor.config.validate import check

EXAMPLE = Path(__file__).parents[1] / "config.example.toml"
TEXT = EXAMPLE.read_text()
_HEADER = re.compile(r"^\[\[?([A-Za-z0-9_.\-]+)\]\]?\s*(#.*)?$")


def _model(tp: Any) -> tuple[type[BaseModel] | None, bool]:
    """(the model inside an annotation, whether a dict stood in the way: a key in the path)."""
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return tp, False
    for arg in get_args(tp):
        inner, keyed = _model(arg)
        if inner is not None:
            return inner, keyed or get_origin(tp) is dict
    return None, False


def fields(model: type[BaseModel], path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """Every field of every model under Settings, as a path ('*' for a dict key), e.g.
    ('venues', '*', 'poll_interval'); a field holding models is listed and walked into."""
    for name, f in model.model_fields.items():
        here = (*path, name)
        yield here
        inner, keyed = _model(f.annotation)
        if inner is not None:
            yield from fields(inner, (*here, "*") if keyed else here)


def sections() -> list[tuple[tuple[str, ...], str]]:
    """(table path, its text: the comment block right above its header, and its body)."""
    lines = TEXT.splitlines()
    starts = [(i, m.group(1)) for i, line in enumerate(lines) if (m := _HEADER.match(line))]
    out = []
    for n, (i, name) in enumerate(starts):
        end = starts[n + 1][0] if n + 1 < len(starts) else len(lines)
        above = i
        while above > 0 and lines[above - 1].startswith("#"):
            above -= 1
        out.append((tuple(name.split(".")), "\n".join(lines[above:end])))
    return out


def _matches(header: tuple[str, ...], pattern: tuple[str, ...]) -> bool:
    return len(header) == len(pattern) and all(
        p in ("*", h) for h, p in zip(header, pattern, strict=True)
    )


def _scope(path: tuple[str, ...], found: list[tuple[tuple[str, ...], str]]) -> str:
    """The text of the tables the field belongs to: the longest prefix of its path that is a
    table in the file (an inline table, like thresholds, lives in its parent's text)."""
    for n in range(len(path) - 1, -1, -1):
        texts = [text for header, text in found if _matches(header, path[:n])]
        if texts:
            return "\n".join(texts)
    return TEXT


@pytest.mark.parametrize("path", list(fields(Settings)), ids=".".join)
def test_every_setting_is_mentioned_in_its_own_section(path: tuple[str, ...]) -> None:
    """A user reading the example's [health] (or [venues.X], …) finds every key it takes,
    as a key or in a comment; a new setting without a line there fails this test."""
    scope = _scope(path, sections())
    assert re.search(rf"\b{re.escape(path[-1])}\b", scope), (
        f"{'.'.join(path)} is not mentioned in its section of config.example.toml"
    )


def test_the_example_runs_with_no_secrets_alerts_going_to_the_log(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With no secrets set (`make run` on a fresh checkout), the example passes the check run
    makes: its console channel hears every severity at any hour; the rest is only warnings
    that Discord, email and SMS are not configured."""
    env = {"PATH": "/usr/bin"}
    settings = load_settings(EXAMPLE, env)
    verdict = check(settings, settings.environment)
    assert verdict.errors == []
    assert set(verdict.channels) == {"console"}
    assert sorted(p.where for p in verdict.warnings) == [
        "channels.discord",
        "channels.email",
        "channels.sms",
    ]
    assert all("not configured" in p.reason for p in verdict.warnings)
    assert settings.channels["console"].severities == ["minor", "major", "critical"]


CHANNEL_URL = re.compile(r"DEPEG_CHANNELS__(\w+?)__URL=(\S+)")


@pytest.mark.parametrize(
    ("channel", "url"), CHANNEL_URL.findall(TEXT), ids=[c for c, _ in CHANNEL_URL.findall(TEXT)]
)
def test_every_example_channel_url_is_one_apprise_reads(channel: str, url: str) -> None:
    """A channel URL copied from the example's comments (Telegram, Slack, ntfy, PagerDuty, …)
    is one the installed apprise turns into a notifier, not a format it refuses."""
    assert apprise.Apprise.instantiate(url) is not None, f"{channel}: apprise refuses {url}"


def test_the_example_shows_telegram_slack_ntfy_and_pagerduty() -> None:
    """A user looking for these services finds a URL for each in the example."""
    schemes = {url.split("://")[0] for _, url in CHANNEL_URL.findall(TEXT)}
    assert {"tgram", "slack", "ntfy", "pagerduty"} <= schemes
