"""Frozen dataclasses built as fast as plain ones.

A frozen dataclass's generated __init__ sets each field through object.__setattr__ (to get past
its own refusing __setattr__): a global lookup, an attribute lookup and a call per field, which
makes the detect → decide values of every cycle (snapshots, contexts, assessments, states) three
times slower to build than they need be. With slots, each field is a member descriptor whose
__set__ writes the slot directly; `fast_init` regenerates __init__ to call those. Everything
else — frozenness, eq, hash, repr, replace(), defaults and default factories — stays the
dataclass's own.
"""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

T = TypeVar("T")

_NO_DEFAULT = "_no_default"


def fast_init(cls: type[T]) -> type[T]:
    """Give a frozen, slotted dataclass an __init__ that writes its slots directly."""
    params = getattr(cls, "__dataclass_params__", None)
    if params is None or not params.frozen or "__slots__" not in cls.__dict__:
        raise TypeError(f"{cls.__name__}: fast_init needs @dataclass(frozen=True, slots=True)")
    if hasattr(cls, "__post_init__"):
        raise TypeError(f"{cls.__name__}: fast_init does not run __post_init__")
    namespace: dict[str, Any] = {}
    args: list[str] = []
    body: list[str] = []
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        if not f.init:
            raise TypeError(f"{cls.__name__}.{f.name}: fast_init needs every field in __init__")
        namespace[f"_set_{f.name}"] = getattr(cls, f.name).__set__
        if f.default is not dataclasses.MISSING:
            namespace[f"_default_{f.name}"] = f.default
            args.append(f"{f.name}=_default_{f.name}")
            body.append(f" _set_{f.name}(self, {f.name})")
        elif f.default_factory is not dataclasses.MISSING:
            namespace[f"_factory_{f.name}"] = f.default_factory
            args.append(f"{f.name}={_NO_DEFAULT}")
            body.append(
                f" _set_{f.name}(self, _factory_{f.name}() "
                f"if {f.name} is {_NO_DEFAULT} else {f.name})"
            )
        else:
            args.append(f.name)
            body.append(f" _set_{f.name}(self, {f.name})")
    namespace[_NO_DEFAULT] = object()
    source = f"def __init__(self, {', '.join(args)}) -> None:\n" + ("\n".join(body) or " pass")
    exec(source, namespace)
    init = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__doc__ = cls.__init__.__doc__
    setattr(cls, "__init__", init)  # noqa: B010 — a method assignment mypy would refuse
    return cls
