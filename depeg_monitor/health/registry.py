"""Components report successes and failures here; /health and the health history read it."""

from __future__ import annotations

from dataclasses import dataclass, field

from depeg_monitor.mask import mask_personal


@dataclass(slots=True)
class ComponentState:
    name: str
    last_ok: float | None = None
    last_error: float | None = None
    error: str | None = None  # last error text, already free of secrets
    note: str | None = None  # works, but not fully (figures ignored, markets set aside): warn
    consecutive_failures: int = 0
    detail: dict[str, object] = field(default_factory=dict)

    @property
    def failing(self) -> bool:
        return self.error is not None and (
            self.last_ok is None or (self.last_error or 0) >= self.last_ok
        )


class HealthRegistry:
    """A plain in-memory board: 'venue:binance', 'aggregator', 'db', 'notifier:discord', …"""

    def __init__(self) -> None:
        self._states: dict[str, ComponentState] = {}

    def _get(self, name: str) -> ComponentState:
        st = self._states.get(name)
        if st is None:
            st = self._states[name] = ComponentState(name)
        return st

    def ok(self, name: str, now: float, note: str | None = None, **detail: object) -> None:
        """The component did its job; `note` says what it had to leave out (shown as warn)."""
        st = self._get(name)
        st.last_ok = now
        st.error = None
        st.note = None if note is None else mask_personal(note)
        st.consecutive_failures = 0
        st.detail.update(detail)

    def error(self, name: str, now: float, error: str, **detail: object) -> None:
        st = self._get(name)
        st.last_error = now
        # The one way into /health and the health history: no phone number or address passes.
        st.error = mask_personal(error)
        st.consecutive_failures += 1
        st.detail.update(detail)

    def register(self, name: str) -> None:
        """Make a component known before it first reports (so /health can say 'never')."""
        self._get(name)

    def get(self, name: str) -> ComponentState | None:
        return self._states.get(name)

    def all(self) -> dict[str, ComponentState]:
        return dict(self._states)
