"""What is wrong with a configuration, in words: the place (dotted field or variable) and why."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Problem:
    """One finding. where: the dotted setting, or the environment variable that set it,
    e.g. 'DEPEG_VENUES__BINANCE__POLL_INTERVAL (venues.binance.poll_interval)'; reason says
    what is wrong, with the offending value unless it is a secret. A warning does not stop
    the monitor; an error does (exit 2)."""

    where: str
    reason: str
    warning: bool = False

    def line(self) -> str:
        return f"  {self.where}: {self.reason}"


def errors(problems: Iterable[Problem]) -> list[Problem]:
    return [p for p in problems if not p.warning]


def warnings(problems: Iterable[Problem]) -> list[Problem]:
    return [p for p in problems if p.warning]


def report(source: str, problems: Sequence[Problem]) -> str:
    """The text check-config and run print: errors first, then warnings."""
    out: list[str] = []
    bad, notes = errors(problems), warnings(problems)
    if bad:
        out.append(f"invalid configuration ({source}):")
        out.extend(p.line() for p in bad)
    if notes:
        out.append(f"configuration warnings ({source}):")
        out.extend(p.line() for p in notes)
    return "\n".join(out)


class ConfigError(Exception):
    """The configuration cannot be used; .problems says where and why (errors, and any
    warnings found on the way); .source names what was read."""

    def __init__(self, source: str, problems: Sequence[Problem]) -> None:
        self.source = source
        self.problems = list(problems)
        super().__init__(report(source, self.problems))
