"""Replies of the operational slash commands: integration and queue status, the confirmation
flow of mutating commands and their results. Pure: no IO; time and timezone are parameters.

Untrusted text (anything a backend said, a name a person typed, an integration's last
error, even configured names) is escaped here with `safe`. Parameters documented as
mrkdwn (confirmation summary lines, `operation_closed`'s and `denied`'s text) are already
safe: the caller built them from escaped parts.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from difflib import get_close_matches
from typing import Literal, TypeVar
from zoneinfo import ZoneInfo

from bot.backends.errors import BackendError
from bot.config.platform import IntegrationsSettings
from bot.core.integration_health import ProbeResult, Status
from bot.core.queue_health import LEVEL_RANK, Level, QueueJudgement, QueueReading
from bot.core.slack_text import MESSAGE_TEXT_LIMIT, SECTION_TEXT_LIMIT, safe, truncate
from bot.slack import blocks as kit

RED, YELLOW, GREEN = ":red_circle:", ":large_yellow_circle:", ":large_green_circle:"
# worst first: the headlines rely on this order
STATUS_EMOJI: dict[Status, str] = {"down": RED, "degraded": YELLOW, "up": GREEN}
LEVEL_EMOJI: dict[Level, str] = {"critical": RED, "warning": YELLOW, "ok": GREEN}
_STATUS_RANK: dict[Status, int] = {"down": 0, "degraded": 1, "up": 2}
NAME_CAP = 80
ERROR_CAP = 120
FALLBACK_CAP = 300
REASON_CAP = 200
STATUS_CAP = 40
MAX_LIST_SECTIONS = 45  # + headline, "more" note and context: within Slack's 50 blocks
TOKEN_LIMIT = 64
INDENT = "\u2003"
_CAMPAIGN_DONE = {
    "paused": ("Paused", ":double_vertical_bar:", {"paused", "stopped"}),
    "resumed": ("Resumed", ":arrow_forward:", {"running", "active", "sending", "started"}),
}
_RETRY_KINDS = ("rate_limited", "circuit_open")
S = TypeVar("S", bound=str)


@dataclass(frozen=True)
class Rendered:
    text: str  # the notification fallback (mrkdwn, safe)
    blocks: list[kit.Block]


# --- /integration-status ---------------------------------------------------------------


def integration_status(
    results: Sequence[ProbeResult],
    settings: IntegrationsSettings,
    *,
    now: datetime,
    tz: ZoneInfo,
    cached_at: datetime | None,
    only: str | None = None,
) -> Rendered:
    """Worst first (down, degraded, up, then by name); `only`: one integration by name."""
    shown = sorted(results, key=lambda r: (_STATUS_RANK[r.status], r.name.lower(), r.name))
    if only is not None:
        shown = [r for r in shown if r.name.lower() == only.strip().lower()]
        if not shown:
            known = sorted({*(r.name for r in results), *settings.items})
            return _not_found("integration", only, known)
    headline = _integrations_headline(shown, single=only is not None)
    lines = [_integration_line(r, settings, now, tz) for r in shown]
    notes = [_checked(now, tz, cached_at)]
    reported = {r.name for r in results}
    missing = sorted(name for name in settings.items if name not in reported)
    if missing and only is None:
        listed = ", ".join(_name(n) for n in missing)
        notes.append(truncate(f"Not in the answer: {listed}", SECTION_TEXT_LIMIT))
    found = [kit.section(headline), *_sections(lines, "integrations"), kit.context(*notes)]
    return _rendered(headline, found)


def _integrations_headline(shown: Sequence[ProbeResult], *, single: bool) -> str:
    if not shown:
        return ":white_circle: *No integrations reported* — the status answer listed none."
    if single:
        return f"{STATUS_EMOJI[shown[0].status]} *{_name(shown[0].name)}* is {shown[0].status}"
    return _headline([r.status for r in shown], "integration", STATUS_EMOJI)


def _integration_line(
    result: ProbeResult, settings: IntegrationsSettings, now: datetime, tz: ZoneInfo
) -> str:
    latency = "—" if result.latency_ms is None else f"{round(result.latency_ms):,} ms"
    success = "—" if result.last_success is None else _clock(result.last_success, tz, now)
    head = (
        f"{STATUS_EMOJI[result.status]} *{_name(result.name)}* {result.status}"
        f" · {latency} · last success {success}"
    )
    details = []
    if result.last_error:
        details.append(f"Last error: {safe(_one_line(result.last_error), ERROR_CAP)}")
    fallback = _fallback(result, settings)
    if fallback:
        details.append(f"Fallback: {fallback}")
    return "\n".join([head, *(INDENT + d for d in details)])


def _fallback(result: ProbeResult, settings: IntegrationsSettings) -> str:
    if result.status == "up":
        return ""
    item = settings.items.get(result.name)
    if item is None:
        item = next(
            (v for k, v in settings.items.items() if k.lower() == result.name.lower()), None
        )
    return safe(_one_line(item.fallback), FALLBACK_CAP) if item and item.fallback.strip() else ""


def _checked(now: datetime, tz: ZoneInfo, cached_at: datetime | None) -> str:
    if cached_at is None:
        return f"Checked {_clock(now, tz, now)}"
    age = _span(max(_aware(now) - _aware(cached_at), timedelta(0)))
    return f"Checked {_clock(cached_at, tz, now)} (cached {age} ago — add --force to check now)"


# --- /queue-status ---------------------------------------------------------------------


def queue_status(
    readings: Sequence[QueueReading],
    judgements: Sequence[QueueJudgement],
    *,
    now: datetime,
    tz: ZoneInfo,
    generated_at: datetime | None,
) -> Rendered:
    """Worst first (critical, warning, ok, then by name); a queue not judged counts as ok."""
    judged = {j.name: j for j in judgements}
    empty = QueueJudgement("", "ok", ())
    rows = [(r, judged.get(r.name, empty)) for r in readings]
    rows.sort(key=lambda row: (-LEVEL_RANK[row[1].level], row[0].name.lower(), row[0].name))
    levels = [j.level for _, j in rows]
    headline = _headline(levels, "queue", LEVEL_EMOJI) if rows else ":white_circle: *No queues*"
    lines = [_queue_line(reading, judgement) for reading, judgement in rows]
    checked = f"checked {_clock(now, tz, now)}"
    if generated_at is not None:
        age = _span(max(_aware(now) - _aware(generated_at), timedelta(0)))
        checked = f"Metrics from {_clock(generated_at, tz, now)} ({age} old) · {checked}"
    found = [kit.section(headline), *_sections(lines, "queues"), kit.context(checked.capitalize())]
    return _rendered(headline, found)


def queue_not_found(name: str, known: Sequence[str]) -> Rendered:
    return _not_found("queue", name, known)


def _queue_line(reading: QueueReading, judgement: QueueJudgement) -> str:
    letters = "dead letter" if reading.dead_letters == 1 else "dead letters"
    head = (
        f"{LEVEL_EMOJI[judgement.level]} *{_name(reading.name)}* {judgement.level}"
        f" · backlog {reading.backlog:,} · {reading.active_jobs:,} active"
        f" · retry age {_age(reading.retry_age)} · {reading.dead_letters:,} {letters}"
    )
    if not judgement.reasons:
        return head
    reasons = "; ".join(safe(_one_line(r), REASON_CAP) for r in judgement.reasons)
    return f"{head}\n{INDENT}{reasons}"


# --- confirmation flow -----------------------------------------------------------------


def confirm_prompt(
    summary_lines: Sequence[str],
    token: str,
    *,
    needs_second: bool,
    expires_in: timedelta,
    danger: bool = False,
) -> Rendered:
    """Shown to the requester only. `summary_lines`: safe mrkdwn; `danger`: e.g. a replay."""
    _check_token(token)
    then = (
        "After you confirm, *a second allowed person must approve* before anything runs."
        if needs_second
        else "Nothing runs until you confirm."
    )
    body = f"*This will:*\n{_bullets(summary_lines)}\n{then}"
    buttons = kit.actions(
        "op_confirm_actions",
        kit.button("Confirm", "op_confirm", token, "danger" if danger else "primary"),
        kit.button("Cancel", "op_cancel", token),
    )
    expiry = kit.context(f":hourglass_flowing_sand: Expires in {_span(expires_in)}.")
    return _rendered("Confirm: " + "; ".join(summary_lines), [kit.section(body), expiry, buttons])


def approval_request(requester: str, summary_lines: Sequence[str], token: str) -> Rendered:
    """Posted in the channel; `requester` is a Slack user id."""
    _check_token(token)
    ask = f"{kit.user_mention(requester)} asks to run this — a second allowed person must approve:"
    buttons = kit.actions(
        "op_approval_actions",
        kit.button("Approve", "op_approve", token, "primary"),
        kit.button("Cancel", "op_cancel", token),
    )
    found = [kit.section(f"{ask}\n{_bullets(summary_lines)}"), buttons]
    return _rendered(f"{ask} " + "; ".join(summary_lines), found)


def operation_closed(what: str) -> Rendered:
    """Replaces a prompt once it is settled. `what`: safe mrkdwn ("Cancelled by <@U1>.")."""
    text = what.strip() or "Closed."
    return _rendered(text, [kit.section(text)])


# --- results ---------------------------------------------------------------------------


def campaign_result(
    action: Literal["paused", "resumed"], campaign_id: str, before: object, after: object
) -> Rendered:
    """`before`/`after`: the campaigns backend's JSON (or None); any field may be off."""
    verb, emoji, expected = _CAMPAIGN_DONE[action]
    name = _text(after, "name", NAME_CAP) or _text(before, "name", NAME_CAP)
    label = f"*{_name(campaign_id)}*" + (f" ({name})" if name else "")
    headline = f"{emoji} {verb} campaign {label}."
    status, was = _text(after, "status", STATUS_CAP), _text(before, "status", STATUS_CAP)
    lines = [headline]
    if status is None:
        lines.append("Status now: unknown — the backend did not report it.")
    else:
        change = f" (was {was})" if was and was != status else ""
        lines.append(f"Status now: *{status}*{change}")
        if status.lower() not in expected:
            lines.append(
                f":warning: Expected it to be {action}, but the backend reports *{status}*. "
                "Check the campaign again in a moment."
            )
    lines.append(_targets(after))
    return _rendered(headline, [kit.section("\n".join(lines))])


def replay_result(queue: str, data: object, *, dry_run: bool, limit: int | None = None) -> Rendered:
    """`data`: the replay answer {"queue","dry_run","replayed","would_replay","remaining"}."""
    fields: Mapping[object, object] = data if isinstance(data, Mapping) else {}
    said = fields.get("dry_run")
    effective = said if isinstance(said, bool) else dry_run
    shown_limit = limit if limit is not None else _count(fields.get("limit"))
    where = f"*{_name(queue)}*"
    text = (
        _dry_run_text(where, _count(fields.get("would_replay")), shown_limit)
        if effective
        else _replayed_text(where, _count(fields.get("replayed")), _count(fields.get("remaining")))
    )
    if effective != dry_run:
        text = (
            ":warning: The backend treated this as a dry run; nothing was replayed.\n"
            if effective
            else ":warning: The backend ignored --dry-run and replayed them.\n"
        ) + text
    return _rendered(text, [kit.section(text)])


def _dry_run_text(where: str, count: int | None, limit: int | None) -> str:
    cap = f" (limit {limit:,})" if limit is not None else ""
    text = f":mag: Dry run: {_letters(count)} would be replayed from {where}{cap}."
    return text if count == 0 else f"{text} Run without --dry-run to replay them."


def _replayed_text(where: str, count: int | None, remaining: int | None) -> str:
    rest = "" if remaining is None else f"; {remaining:,} remain" + ("s" if remaining == 1 else "")
    return f":recycle: Replayed {_letters(count)} from {where}{rest}."


def denied(reason: str) -> Rendered:
    """`reason`: safe text from the permission core."""
    text = f":no_entry: {reason.strip()}"
    return _rendered(text, [kit.section(text)])


def backend_failed(error: BackendError, *, what: str) -> Rendered:
    """`what`: plain text ("pause campaign cmp-1001"), escaped here like the error."""
    text = (
        f":warning: Could not {safe(_one_line(what), 200)}: {safe(_one_line(error.message), 1500)}"
    )
    wait = error.retry_after
    if error.kind in _RETRY_KINDS and wait is not None and math.isfinite(wait) and wait >= 0:
        text += f" Try again in {_span(timedelta(seconds=math.ceil(wait) or 1))}."
    where = f"{_name(error.backend)} backend" + (f" · HTTP {error.status}" if error.status else "")
    return _rendered(text, [kit.section(text), kit.context(where)])


# --- shared parts ----------------------------------------------------------------------


def _headline(states: Sequence[S], noun: str, emoji: Mapping[S, str]) -> str:
    """`states` worst first, `emoji` worst first: "*2 of 6 integrations down*, 1 degraded"."""
    total, worst, (_, middle, best) = len(states), states[0], list(emoji)
    nouns = noun if total == 1 else f"{noun}s"
    if worst == best:
        return f"{emoji[worst]} *All {total} {nouns} {best}*"
    more = states.count(middle) if worst != middle else 0
    extra = f", {more} {middle}" if more else ""
    return f"{emoji[worst]} *{states.count(worst)} of {total} {nouns} {worst}*{extra}"


def _rendered(text: str, found: list[kit.Block]) -> Rendered:
    return Rendered(text=truncate(text, MESSAGE_TEXT_LIMIT), blocks=found)


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


def _name(name: str) -> str:
    return safe(_one_line(name), NAME_CAP)


def _sections(lines: Sequence[str], noun: str) -> list[kit.Block]:
    """Lines packed into as few sections as fit; past MAX_LIST_SECTIONS, a "more" note."""
    chunks: list[str] = []
    for i, line in enumerate(lines):
        cut = truncate(line, SECTION_TEXT_LIMIT)
        if chunks and len(chunks[-1]) + 1 + len(cut) <= SECTION_TEXT_LIMIT:
            chunks[-1] += "\n" + cut
        elif len(chunks) < MAX_LIST_SECTIONS:
            chunks.append(cut)
        else:
            chunks.append(f"…and {len(lines) - i} more {noun} not shown.")
            break
    return [kit.section(chunk) for chunk in chunks]


def _not_found(kind: str, name: str, known: Sequence[str]) -> Rendered:
    text = f":grey_question: No {kind} named *{_name(name)}*."
    close = get_close_matches(name.strip(), list(known), n=1)
    if close:
        text += f" Did you mean *{_name(close[0])}*?"
    if known:
        text += f"\nKnown {kind}s: " + ", ".join(_name(k) for k in list(known)[:30])
    return _rendered(text, [kit.section(text)])


def _check_token(token: str) -> None:
    if not token or len(token) > TOKEN_LIMIT:
        raise ValueError(f"token: {len(token)} characters — use 1 to {TOKEN_LIMIT}")


def _bullets(lines: Sequence[str]) -> str:
    if not lines:
        raise ValueError("summary_lines: give at least one line saying what will happen")
    return lines[0] if len(lines) == 1 else "\n".join(f"• {line}" for line in lines)


def _aware(moment: datetime) -> datetime:
    """A naive datetime is taken as UTC (as the database returns it)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _clock(moment: datetime, tz: ZoneInfo, now: datetime) -> str:
    """Local `HH:MM`; with the date when it is not today."""
    local = _aware(moment).astimezone(tz)
    today = local.date() == _aware(now).astimezone(tz).date()
    return local.strftime("%H:%M" if today else "%Y-%m-%d %H:%M")


def _span(delta: timedelta) -> str:
    """`12 s`, `10 min`, `1 h 30 min`: the two largest units."""
    seconds = int(delta.total_seconds())
    parts = [(seconds // 86400, "d"), (seconds % 86400 // 3600, "h")]
    parts += [(seconds % 3600 // 60, "min"), (seconds % 60, "s")]
    shown = [f"{n} {unit}" for n, unit in parts if n][:2]
    return " ".join(shown) or "0 s"


def _age(delta: timedelta) -> str:
    """A retry age as config spells it: `45s`, `7m`, `1m35s`; under a second in ms."""
    if delta < timedelta(seconds=1):
        return f"{int(delta / timedelta(milliseconds=1))}ms"
    return _span(delta).replace(" min", "m").replace(" ", "")


def _letters(count: int | None) -> str:
    if count is None:
        return "an unknown number of dead letters"
    return "no dead letters" if count == 0 else f"{count:,} dead letter" + "s" * (count != 1)


def _count(value: object) -> int | None:
    """A whole count from JSON, or None when missing, negative or not a number."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return int(value) if math.isfinite(value) and value >= 0 else None


def _text(data: object, key: str, cap: int) -> str | None:
    value = data.get(key) if isinstance(data, Mapping) else None
    return safe(_one_line(value), cap) if isinstance(value, str) and value.strip() else None


def _targets(data: object) -> str:
    targets = data.get("targets") if isinstance(data, Mapping) else None
    counts = [
        (key, _count(targets.get(key)) if isinstance(targets, Mapping) else None)
        for key in ("sent", "pending", "failed")
    ]
    shown = [f"{n:,} {key}" for key, n in counts if n is not None]
    return "Targets: " + (" · ".join(shown) if shown else "not reported.")
