"""fast_init: frozen dataclasses keep every dataclass behaviour with the faster __init__."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import pytest

from depeg_monitor.frozen import fast_init
from depeg_monitor.model import Snapshot, SnapshotContext


@fast_init
@dataclass(frozen=True, slots=True)
class _Point:
    x: float
    y: float = 2.0
    tags: tuple[str, ...] = field(default_factory=tuple)
    seen: list[int] = field(default_factory=list)


def test_positional_keyword_and_default_arguments_fill_the_fields() -> None:
    """Arguments given by position or name and the defaults land in the right fields."""
    assert _Point(1.0) == _Point(x=1.0, y=2.0, tags=(), seen=[])
    assert _Point(1.0, 3.0, ("a",)).tags == ("a",)
    assert _Point(y=5.0, x=4.0).y == 5.0


def test_each_instance_gets_its_own_default_factory_value() -> None:
    """A default factory is called per instance, as the dataclass's own __init__ does."""
    a, b = _Point(1.0), _Point(1.0)
    a.seen.append(1)
    assert b.seen == []


def test_the_instance_stays_frozen_hashable_and_replaceable() -> None:
    """Assigning a field still raises; hash, equality and replace() are unchanged."""
    p = _Point(1.0, tags=("t",))
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.x = 3.0  # type: ignore[misc]
    q = dataclasses.replace(p, y=9.0)
    assert (q.x, q.y, q.tags) == (1.0, 9.0, ("t",))
    assert hash(SnapshotContext(spread=0.1)) == hash(SnapshotContext(spread=0.1))
    with pytest.raises(TypeError):
        _Point()  # type: ignore[call-arg]


def test_a_model_snapshot_builds_with_its_default_context() -> None:
    """The model's own values (here Snapshot) still get their defaults through fast_init."""
    s = Snapshot("USDC", 1.0, 1.0, None, None, (), ())
    assert s.context == SnapshotContext()
    assert s.dislocation is None


def test_a_class_that_is_not_frozen_and_slotted_is_refused() -> None:
    """fast_init refuses a class its descriptors cannot serve, instead of misbehaving."""

    @dataclass
    class Plain:
        x: int

    with pytest.raises(TypeError, match="frozen=True, slots=True"):
        fast_init(Plain)
