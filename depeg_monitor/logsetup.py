"""structlog, configured once: JSON lines for journald, a readable console on a terminal."""

from __future__ import annotations

import logging
import sys
from typing import TextIO

import structlog

from depeg_monitor.config import LoggingSettings


class _Std:
    """Whatever sys.stdout (or sys.stderr) is at write time: tests swap them."""

    def __init__(self, name: str) -> None:
        self._name = name

    def _stream(self) -> TextIO:
        stream: TextIO = getattr(sys, self._name)
        return stream

    def write(self, text: str) -> int:
        return self._stream().write(text)

    def flush(self) -> None:
        self._stream().flush()

    def isatty(self) -> bool:
        return self._stream().isatty()


def configure_logging(settings: LoggingSettings, to_stderr: bool = False) -> None:
    out = _Std("stderr" if to_stderr else "stdout")
    level = getattr(logging, settings.level.upper())
    fmt = settings.format
    if fmt == "auto":
        fmt = "console" if getattr(out, "isatty", lambda: False)() else "json"
    renderer: structlog.typing.Processor = (
        structlog.dev.ConsoleRenderer() if fmt == "console" else structlog.processors.JSONRenderer()
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=out),  # type: ignore[arg-type]
        cache_logger_on_first_use=False,
    )
    # Libraries that use stdlib logging (apprise, twilio) stay quiet below warnings.
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
