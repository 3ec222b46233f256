"""Turn parsed YAML into frozen, typed settings dataclasses, collecting every problem.

The dataclasses' type hints are the schema: str, int, float, bool, timedelta (a duration),
datetime.time (HH:MM), Literal[...], tuples, dict[str, X], X | None and nested dataclasses.
A field's metadata may carry `help` (shown when the value is wrong).
"""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from dataclasses import dataclass
from datetime import time, timedelta
from typing import Any, TypeVar, get_args, get_origin

from bot.config.durations import DurationError, parse_duration
from bot.errors import WarroomError

T = TypeVar("T")


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the configuration: where, what, and how to fix it."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class ConfigError(WarroomError):
    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


_MISSING = object()


def build(cls: type[T], raw: object, path: str, problems: list[Problem]) -> T:
    """Build dataclass `cls` from `raw`; unknown keys and bad values become problems."""
    value = _convert(cls, raw, path, problems)
    if value is _MISSING:
        return cls()  # every settings dataclass has full defaults
    return typing.cast(T, value)


def _join(path: str, key: object) -> str:
    return f"{path}.{key}" if path else str(key)


def _convert(tp: Any, raw: object, path: str, problems: list[Problem]) -> Any:
    origin = get_origin(tp)
    if origin in (types.UnionType, typing.Union):
        options = [a for a in get_args(tp) if a is not type(None)]
        if raw is None:
            return None
        return _convert(options[0], raw, path, problems)
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        return _convert_dataclass(tp, raw, path, problems)
    if origin is tuple:
        return _convert_tuple(get_args(tp)[0], raw, path, problems)
    if origin is dict:
        return _convert_dict(get_args(tp)[1], raw, path, problems)
    if origin is typing.Literal:
        return _convert_literal(get_args(tp), raw, path, problems)
    return _convert_scalar(tp, raw, path, problems)


def _convert_dataclass(cls: type, raw: object, path: str, problems: list[Problem]) -> Any:
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        problems.append(Problem(path, f"expected a mapping of settings, got {_show(raw)}"))
        return _MISSING
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    hints = typing.get_type_hints(cls)
    for key in raw:
        if key not in fields:
            close = difflib.get_close_matches(str(key), list(fields), n=1)
            fix = (
                f" — did you mean `{close[0]}`?" if close else f" — known keys: {', '.join(fields)}"
            )
            problems.append(Problem(_join(path, key), f"unknown setting{fix}"))
    values: dict[str, Any] = {}
    before = len(problems)
    for name, field in fields.items():
        if name not in raw:
            continue
        converted = _convert(hints[name], raw[name], _join(path, name), problems)
        if converted is not _MISSING:
            values[name] = converted
        elif help_text := field.metadata.get("help"):
            problems.append(Problem(_join(path, name), help_text))
    try:
        return cls(**values)
    except ValueError as exc:  # a dataclass's own __post_init__ check
        if len(problems) == before:
            problems.append(Problem(path, str(exc)))
        return _MISSING


def _convert_tuple(item: Any, raw: object, path: str, problems: list[Problem]) -> Any:
    if isinstance(raw, str | dict) or not isinstance(raw, list):
        problems.append(Problem(path, f"expected a list, got {_show(raw)}"))
        return _MISSING
    out = [_convert(item, v, f"{path}[{i}]", problems) for i, v in enumerate(raw)]
    return tuple(v for v in out if v is not _MISSING)


def _convert_dict(item: Any, raw: object, path: str, problems: list[Problem]) -> Any:
    if not isinstance(raw, dict):
        problems.append(Problem(path, f"expected a mapping, got {_show(raw)}"))
        return _MISSING
    out = {str(k): _convert(item, v, _join(path, k), problems) for k, v in raw.items()}
    return {k: v for k, v in out.items() if v is not _MISSING}


def _convert_literal(
    choices: tuple[Any, ...], raw: object, path: str, problems: list[Problem]
) -> Any:
    if raw in choices:
        return raw
    listed = ", ".join(str(c) for c in choices)
    problems.append(Problem(path, f"{_show(raw)} is not allowed — use one of: {listed}"))
    return _MISSING


def _convert_scalar(tp: Any, raw: object, path: str, problems: list[Problem]) -> Any:
    if tp is timedelta:
        try:
            return parse_duration(raw)
        except DurationError as exc:
            problems.append(Problem(path, str(exc)))
            return _MISSING
    if tp is time:
        return _convert_time(raw, path, problems)
    if tp is bool:
        if isinstance(raw, bool):
            return raw
        problems.append(Problem(path, f"{_show(raw)} is not true or false"))
        return _MISSING
    if tp is int:
        if isinstance(raw, int) and not isinstance(raw, bool):
            return raw
        problems.append(Problem(path, f"{_show(raw)} is not a whole number"))
        return _MISSING
    if tp is float:
        if isinstance(raw, int | float) and not isinstance(raw, bool):
            return float(raw)
        problems.append(Problem(path, f"{_show(raw)} is not a number"))
        return _MISSING
    if tp is str:
        if isinstance(raw, str):
            return raw
        if isinstance(raw, int | float) and not isinstance(raw, bool):
            return str(raw)
        problems.append(Problem(path, f"expected text, got {_show(raw)}"))
        return _MISSING
    raise TypeError(f"settings type {tp!r} at {path} is not supported")


def _convert_time(raw: object, path: str, problems: list[Problem]) -> Any:
    # YAML 1.1 reads an unquoted 02:00 as the sexagesimal integer 120.
    if isinstance(raw, int) and not isinstance(raw, bool) and 0 <= raw < 24 * 60:
        return time(raw // 60, raw % 60)
    if isinstance(raw, str):
        try:
            return time.fromisoformat(raw.strip())
        except ValueError:
            pass
    problems.append(Problem(path, f'{_show(raw)} is not a time of day — write it as "HH:MM"'))
    return _MISSING


def _show(raw: object) -> str:
    if isinstance(raw, str):
        return f'"{raw}"'
    if isinstance(raw, dict):
        return "a mapping"
    if isinstance(raw, list):
        return "a list"
    return repr(raw)
