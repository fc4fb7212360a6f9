"""Loading: the TOML file, systemd credentials and DEPEG_<SECTION>__<KEY> variables, merged
by pydantic-settings' own sources in one step (environment > credentials > file).

Every problem names where it came from: the dotted field in the file, or the variable (or
credential file) that set it. A DEPEG_ variable that matches no setting is an error too, and
the environment is read from a mapping — nothing is ever written into os.environ; Twilio's
credentials reach the SMS channel through Settings.environment.
"""

from __future__ import annotations

import difflib
import os
import tomllib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails
from pydantic_settings import (
    EnvSettingsSource,
    NestedSecretsSettingsSource,
    PydanticBaseSettingsSource,
    SecretsSettingsSource,
    SettingsError,
    TomlConfigSettingsSource,
)

from depeg_monitor.config import schema
from depeg_monitor.config.problems import ConfigError, Problem
from depeg_monitor.config.settings import ENV_PREFIX, Origin, Settings
from depeg_monitor.config.storage import state_dir

CONFIG_VARIABLE = "DEPEG_CONFIG"  # the file's path; the one DEPEG_ variable that is no setting
CREDENTIALS = "CREDENTIALS_DIRECTORY"  # systemd's LoadCredential= directory
TWILIO_PREFIX = "TWILIO_"  # credentials the SMS channel reads, not settings
_DELIMITER = "__"
_SHOWN = 60  # longest value quoted back in a message


class _Verbatim:
    """A value that is not JSON goes on as written: a list may be given as a,b,c (split by
    the models), and a wrong value reaches validation, which names it, rather than failing in
    the source with a traceback."""

    def decode_complex_value(self, field_name: str, field: FieldInfo, value: Any) -> Any:
        try:
            return super().decode_complex_value(field_name, field, value)  # type: ignore[misc]
        except ValueError:
            return value


class _Environment(_Verbatim, EnvSettingsSource):
    """DEPEG_ variables from the given mapping rather than os.environ."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._given = {k.lower(): v for k, v in environ.items()}
        super().__init__(Settings)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return self._given


class _Credentials(_Verbatim, NestedSecretsSettingsSource):
    """Files named like the variables (DEPEG_CHANNELS__DISCORD__URL) in $CREDENTIALS_DIRECTORY."""


class _File(TomlConfigSettingsSource):
    pass


def _toml(path: Path, shown: str) -> _File:
    """The file's source; ConfigError in one line if it cannot be read or parsed."""

    def fail(reason: str) -> ConfigError:
        return ConfigError(shown, [Problem(shown, reason)])

    if not path.exists():
        raise fail("no such file")
    if path.is_dir():
        raise fail("is a directory, not a TOML file")
    if not path.is_file():
        raise fail("is not a regular file")
    try:
        return _File(Settings, toml_file=path)
    except PermissionError:
        raise fail("cannot be read: permission denied") from None
    except OSError as e:
        raise fail(f"cannot be read: {e.strerror or type(e).__name__}") from None
    except UnicodeDecodeError:
        raise fail("not valid TOML: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as e:
        raise fail(f"not valid TOML: {e}") from None


def _credentials(directory: str) -> _Credentials:
    def fail(reason: str) -> ConfigError:
        where = f"${CREDENTIALS}={directory}"
        return ConfigError(where, [Problem(where, reason)])

    try:
        return _Credentials(
            SecretsSettingsSource(Settings, secrets_dir=directory),
            secrets_dir_missing="error",
            secrets_nested_delimiter=_DELIMITER,
        )
    except SettingsError as e:
        raise fail(str(e)) from None
    except UnicodeDecodeError:
        raise fail("a credential file is not UTF-8 text") from None
    except OSError as e:
        raise fail(f"cannot be read: {e.strerror or type(e).__name__}") from None


def _leaves(data: Any, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    if isinstance(data, dict) and data:
        for k, v in data.items():
            yield from _leaves(v, (*prefix, str(k).lower()))
    elif prefix:
        yield prefix


def _unknown(name: str, shown: str) -> Problem | None:
    """A problem if the variable (lower-cased, DEPEG_ prefixed) can match no setting."""
    parts = name[len(ENV_PREFIX) :].split(_DELIMITER)
    sections = list(Settings.model_fields)
    if all(parts) and parts[0] in sections:
        return None  # deeper keys are checked by the models, which forbid unknown ones
    if not all(parts):
        return Problem(shown, f"matches no setting: sections and keys are joined by {_DELIMITER}")
    head = parts[0]
    hint = ""
    for section in sections:
        key = head.removeprefix(section + "_")
        if key != head and key:
            hint = f" (did you mean {ENV_PREFIX}{section.upper()}{_DELIMITER}{key.upper()}? "
            hint += "two underscores between a section and its key)"
            break
    else:
        close = difflib.get_close_matches(head, sections, n=1)
        if close:
            rest = _DELIMITER.join(parts[1:]).upper()
            hint = f" (did you mean {ENV_PREFIX}{close[0].upper()}{_DELIMITER}{rest}?)"
    hint = hint or f" (sections: {', '.join(sections)})"
    return Problem(shown, f"matches no setting: there is no section {head!r}{hint}")


def _shown(value: Any) -> str | None:
    if isinstance(value, bool | int | float | str):
        text = repr(value)
        return text if len(text) <= _SHOWN else text[: _SHOWN - 1] + "…'"
    return None


def _reason(err: ErrorDetails) -> str:
    loc = tuple(err["loc"])
    if err["type"] == "extra_forbidden":
        close = difflib.get_close_matches(
            str(loc[-1]).lower(), schema.field_names(Settings, loc[:-1]), n=1
        )
        return "unknown setting" + (f" (did you mean {close[0]}?)" if close else "")
    msg = err["msg"].removeprefix("Value error, ")
    value = None if schema.is_secret(Settings, loc) else _shown(err.get("input"))
    if value is not None and value not in msg and str(err.get("input")) not in msg:
        msg += f" (got {value})"
    return msg


def load_settings(
    path: str | Path | None = None, environ: Mapping[str, str] | None = None
) -> Settings:
    """The TOML at path (else $DEPEG_CONFIG; else none), under credentials and the environment
    (environ: os.environ by default). ConfigError names every problem with its place."""
    env = dict(os.environ if environ is None else environ)
    given_by = "--config" if path is not None else ""
    if path is None and env.get(CONFIG_VARIABLE):
        path, given_by = env[CONFIG_VARIABLE], f"${CONFIG_VARIABLE}"
    file = Path(path).expanduser() if path is not None else None
    shown = str(path) if path is not None else "the environment"

    sources: list[PydanticBaseSettingsSource] = []
    variables: dict[tuple[str, ...], str] = {}
    problems: list[Problem] = []
    environ_out = dict(env)

    def note(name: str, label: str) -> None:
        problem = _unknown(name, label)
        if problem is not None:
            problems.append(problem)
        else:
            variables.setdefault(tuple(name[len(ENV_PREFIX) :].split(_DELIMITER)), label)

    prefix = ENV_PREFIX.lower()
    ours = {k: v for k, v in env.items() if k.lower().startswith(prefix)}
    ours = {k: v for k, v in ours.items() if k.upper() != CONFIG_VARIABLE}
    for name in ours:
        note(name.lower(), name)
    sources.append(_Environment(ours))

    if env.get(CREDENTIALS):
        creds = _credentials(env[CREDENTIALS])
        for name, value in creds.env_vars.items():
            label = f"${CREDENTIALS}/{name.upper()}"
            if name.startswith(prefix):
                note(name, label)
            elif name.upper().startswith(TWILIO_PREFIX) and value is not None:
                environ_out.setdefault(name.upper(), value)  # the environment wins
        sources.append(creds)

    file_keys: frozenset[tuple[str, ...]] = frozenset()
    if file is not None:
        toml = _toml(file, shown)
        file_keys = frozenset(_leaves(toml.toml_data))
        sources.append(toml)

    origin = Origin(
        path=file,
        given_by=given_by,
        variables=variables,
        file_keys=file_keys,
        environ=environ_out,
    )
    try:
        settings = Settings(_build_sources=(tuple(sources), {}))
    except ValidationError as e:
        problems += [
            Problem(origin.where(tuple(err["loc"])), _reason(err))
            for err in e.errors(include_url=False)
        ]
        raise ConfigError(origin.source(), problems) from None
    if problems:
        raise ConfigError(origin.source(), problems)

    settings._origin = origin
    settings.database._state_dir = state_dir(environ_out, file)

    from depeg_monitor.config.validate import venue_problems  # the venues' registry, on use

    unknown_venues = venue_problems(settings)
    if unknown_venues:
        raise ConfigError(origin.source(), unknown_venues)
    return settings
