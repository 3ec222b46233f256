"""Parsing `/incident …`: one dataclass per subcommand; a `UsageError` says what is wrong.

In a war room the incident is implied; elsewhere it is named as `#42` (or `42` where no
free text follows). Slack sends mentions escaped (`<@U123|ana>`), as the manifest asks.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from bot.config.settings import Severity
from bot.core.severity import UnknownSeverity, parse_severity
from bot.exports.formats import ExportFormat
from commands.base import UsageError

MAX_TITLE = 150
MAX_TEXT = 3000
DEFAULT_TIMELINE = 15
MAX_TIMELINE = 50
MAX_STATS_DAYS = 366
EXPORT_FORMATS = tuple(f.value for f in ExportFormat)

USAGE = {
    "declare": "/incident declare <critical|warning|info|P1-P4> <title>",
    "ack": "/incident ack [#id]",
    "ic": "/incident ic [@user] [#id]",
    "role": "/incident role <role> @user [#id]",
    "severity": "/incident severity <critical|warning|info|P1-P4> [#id]",
    "update": "/incident update [#id] <text>",
    "note": "/incident note [#id] <text>",
    "mitigated": "/incident mitigated [#id]",
    "resolve": "/incident resolve [#id] [summary]",
    "reopen": "/incident reopen [#id]",
    "status": "/incident status [#id]",
    "timeline": "/incident timeline [N] [#id]",
    "stats": "/incident stats [days]",
    "export": "/incident export [md|json|csv|html] [#id]",
    "drill": "/incident drill [scenario]",
    "help": "/incident help",
}

_MENTION = re.compile(r"^<@([A-Z0-9]{2,32})(?:\|[^>]*)?>$")
_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,31}$")
_ID = re.compile(r"^#?(\d{1,12})$")
_SCENARIO = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


@dataclass(frozen=True)
class Help:
    pass


@dataclass(frozen=True)
class Declare:
    severity: Severity
    title: str


@dataclass(frozen=True)
class Targeted:
    """A subcommand about one incident: `incident_id` None means "this war room's"."""

    sub: str
    incident_id: int | None = None
    user: str | None = None
    role: str | None = None
    severity: Severity | None = None
    text: str = ""
    count: int = DEFAULT_TIMELINE


@dataclass(frozen=True)
class Stats:
    days: int = 30


@dataclass(frozen=True)
class Drill:
    """`/incident drill`: list the scenarios; `/incident drill <name>`: start one."""

    scenario: str | None = None


IncidentArgs = Help | Declare | Targeted | Stats | Drill


def usage_error(sub: str, why: str) -> UsageError:
    return UsageError(f"{why} — `{USAGE[sub]}`")


def parse(text: str, priorities: dict[str, Severity]) -> IncidentArgs:
    words = text.split(maxsplit=1)
    if not words or words[0].lower() == "help":
        return Help()
    sub, rest = words[0].lower(), words[1].strip() if len(words) > 1 else ""
    if sub == "declare":
        return _declare(rest, priorities)
    if sub == "stats":
        return _stats(rest)
    if sub == "drill":
        return _drill(rest)
    parser = _PARSERS.get(sub)
    if parser is None:
        raise UsageError(f"`/incident {sub}` is not a subcommand — try: {', '.join(USAGE)}")
    return parser(sub, rest, priorities)


def _declare(rest: str, priorities: dict[str, Severity]) -> Declare:
    parts = rest.split(maxsplit=1)
    if len(parts) < 2:
        raise usage_error("declare", "declare needs a severity and a title")
    severity = _severity("declare", parts[0], priorities)
    title = " ".join(parts[1].split())
    if len(title) > MAX_TITLE:
        raise UsageError(f"the title is {len(title)} characters — keep it under {MAX_TITLE}")
    return Declare(severity, title)


def _stats(rest: str) -> Stats:
    if not rest:
        return Stats()
    if rest.isdigit() and 0 < int(rest) <= MAX_STATS_DAYS:
        return Stats(int(rest))
    raise usage_error("stats", f"`{rest}` is not a number of days (1-{MAX_STATS_DAYS})")


def _drill(rest: str) -> Drill:
    words = rest.split()
    if not words:
        return Drill()
    if len(words) > 1:
        raise usage_error("drill", "name one scenario")
    name = words[0].lower()
    if not _SCENARIO.match(name):
        raise usage_error("drill", f"`{words[0][:64]}` is not a scenario name")
    return Drill(name)


def _severity(sub: str, word: str, priorities: dict[str, Severity]) -> Severity:
    try:
        return parse_severity(word, priorities)
    except UnknownSeverity as exc:
        raise usage_error(sub, str(exc)) from exc


def _take_id(words: list[str]) -> tuple[int | None, list[str]]:
    """An incident number anywhere among `words` (`#42` or `42`)."""
    for i, word in enumerate(words):
        if match := _ID.match(word):
            return int(match.group(1)), words[:i] + words[i + 1 :]
    return None, words


def _user(sub: str, word: str) -> str:
    if match := _MENTION.match(word):
        return match.group(1)
    if _USER_ID.match(word):
        return word
    raise usage_error(sub, f"`{word}` is not a person — mention them, like @ana")


def _bare(sub: str, rest: str, _p: dict[str, Severity]) -> Targeted:
    incident_id, left = _take_id(rest.split())
    if left:
        raise usage_error(sub, f"`{' '.join(left)}` is not understood here")
    return Targeted(sub, incident_id)


def _ic(sub: str, rest: str, _p: dict[str, Severity]) -> Targeted:
    incident_id, left = _take_id(rest.split())
    if len(left) > 1:
        raise usage_error(sub, "name one person")
    return Targeted(sub, incident_id, user=_user(sub, left[0]) if left else None)


def _role(sub: str, rest: str, _p: dict[str, Severity]) -> Targeted:
    incident_id, left = _take_id(rest.split())
    if len(left) != 2:
        raise usage_error(sub, "role needs a role and a person")
    return Targeted(sub, incident_id, role=left[0].lower(), user=_user(sub, left[1]))


def _severity_change(sub: str, rest: str, priorities: dict[str, Severity]) -> Targeted:
    incident_id, left = _take_id(rest.split())
    if len(left) != 1:
        raise usage_error(sub, "severity needs one new severity")
    return Targeted(sub, incident_id, severity=_severity(sub, left[0], priorities))


Parser = Callable[[str, str, dict[str, Severity]], Targeted]


def _text(required: bool) -> Parser:
    def parse_text(sub: str, rest: str, _p: dict[str, Severity]) -> Targeted:
        incident_id = None
        first, _, remainder = rest.partition(" ")
        if first.startswith("#") and (match := _ID.match(first)):
            incident_id, rest = int(match.group(1)), remainder.strip()
        if required and not rest:
            raise usage_error(sub, f"{sub} needs some text")
        if len(rest) > MAX_TEXT:
            raise UsageError(f"that is {len(rest)} characters — keep it under {MAX_TEXT}")
        return Targeted(sub, incident_id, text=rest)

    return parse_text


def _timeline(sub: str, rest: str, _p: dict[str, Severity]) -> Targeted:
    words = rest.split()
    incident_id = None
    count = DEFAULT_TIMELINE
    for word in words:
        if word.startswith("#") and (match := _ID.match(word)):
            incident_id = int(match.group(1))
        elif word.isdigit() and 0 < int(word) <= MAX_TIMELINE:
            count = int(word)
        else:
            raise usage_error(sub, f"`{word}` is neither a count nor an incident number")
    return Targeted(sub, incident_id, count=count)


def _export(sub: str, rest: str, _p: dict[str, Severity]) -> Targeted:
    """`/incident export [md|json|csv|html] [#id]`: the format is carried as `text`."""
    incident_id, left = _take_id(rest.split())
    if len(left) > 1:
        raise usage_error(sub, "name one format")
    fmt = left[0].lower() if left else "md"
    if fmt not in EXPORT_FORMATS:
        raise usage_error(sub, f"`{left[0]}` is not an export format")
    return Targeted(sub, incident_id, text=fmt)


_PARSERS: dict[str, Parser] = {
    "ack": _bare,
    "mitigated": _bare,
    "reopen": _bare,
    "status": _bare,
    "ic": _ic,
    "role": _role,
    "severity": _severity_change,
    "update": _text(required=True),
    "note": _text(required=True),
    "resolve": _text(required=False),
    "timeline": _timeline,
    "export": _export,
}
