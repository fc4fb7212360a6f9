"""The settings models as a tree: what type lives at a dotted path, and which fields exist.

Used to word problems (is the value at this path a secret? which keys were meant?) and by the
test that holds config.example.toml to documenting every field.
"""

from __future__ import annotations

import types
from collections.abc import Iterator
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, SecretStr


def _members(tp: Any) -> tuple[Any, ...]:
    """The alternatives of a union (X | None → X, None), the type itself otherwise."""
    if get_origin(tp) is Annotated:
        return _members(get_args(tp)[0])
    if get_origin(tp) in (Union, types.UnionType):
        return tuple(m for a in get_args(tp) for m in _members(a))
    return (tp,)


def _step(tp: Any, key: str | int) -> Any | None:
    for member in _members(tp):
        if isinstance(member, type) and issubclass(member, BaseModel):
            f = member.model_fields.get(str(key))
            if f is not None:
                return f.annotation
        origin = get_origin(member)
        args = get_args(member)
        if origin is dict and args:
            return args[-1]
        if origin in (list, tuple, set, frozenset) and args:
            return args[0]
    return None


def annotation_at(root: type[BaseModel], loc: tuple[str | int, ...]) -> Any | None:
    """The annotation of the value at loc (dict keys and list indexes step inside), or None
    when loc leads nowhere in the models."""
    tp: Any = root
    for key in loc:
        tp = _step(tp, key)
        if tp is None:
            return None
    return tp


def is_secret(root: type[BaseModel], loc: tuple[str | int, ...]) -> bool:
    """Whether the value at loc (or the one it belongs to) is a SecretStr."""
    return any(SecretStr in _members(annotation_at(root, loc[:n])) for n in range(len(loc), 0, -1))


def field_names(root: type[BaseModel], loc: tuple[str | int, ...]) -> list[str]:
    """The fields of the model at loc ([] if loc is not a model)."""
    for member in _members(annotation_at(root, loc)):
        if isinstance(member, type) and issubclass(member, BaseModel):
            return list(member.model_fields)
    return []


def models(root: type[BaseModel]) -> Iterator[type[BaseModel]]:
    """root and every model reachable from its fields, each once."""
    seen: set[type[BaseModel]] = set()

    def walk(tp: Any) -> Iterator[type[BaseModel]]:
        for member in _members(tp):
            if isinstance(member, type) and issubclass(member, BaseModel):
                if member not in seen:
                    seen.add(member)
                    yield member
                    for f in member.model_fields.values():
                        yield from walk(f.annotation)
            else:
                for arg in get_args(member):
                    yield from walk(arg)

    yield from walk(root)
