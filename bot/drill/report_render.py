"""The drill report as Markdown (stdout, `--report FILE`) and as Block Kit (the drill room).
Pure. Untrusted text (alert summaries, updates) is escaped for Slack."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, timedelta
from typing import Any

from bot.config.durations import format_duration
from bot.core.slack_text import escape
from bot.drill.report import DrillReport, Duty, Moment, offset_text
from bot.slack import blocks

MAX_LINES = 40  # per list in Slack; the uploaded export has everything

Mention = Callable[[str], str]


def _when(report: DrillReport) -> str:
    start = report.started_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    ran = format_duration(report.ended_at - report.started_at)
    resolved = offset_text(report.resolved_at or timedelta(0))
    ended = {
        "resolved": f"the incident was resolved at {resolved}",
        "duration": "its duration was reached (the incident was not resolved)",
        "stopped": "it was stopped early (the incident was not resolved)",
        "no incident": "no incident was opened",
    }[report.ended_because]
    return f"Started {start}, ran {ran}; ended because {ended}."


def _policy_name(report: DrillReport) -> str:
    opened, now = report.opened_severity, report.incident.severity if report.incident else None
    if opened is None:
        return "none"
    return f"{opened} → {now}" if now and now != opened else opened


def _incident_line(report: DrillReport, room: Callable[[str], str]) -> str:
    incident = report.incident
    if incident is None:
        return "No incident was opened: check the scenario's first alert."
    raised = (
        f" (opened as {report.opened_severity})"
        if report.opened_severity and report.opened_severity != incident.severity
        else ""
    )
    where = room(incident.room) if incident.room else "no room"
    return (
        f"Incident #{incident.id}: {incident.title} — {incident.severity}{raised}, "
        f"state {incident.state}, room {where}."
    )


def _duty_cells(duty: Duty, mention: Mention) -> list[str]:
    done = offset_text(duty.done_at) if duty.done_at is not None else "—"
    by = mention(duty.by) if duty.by else "—"
    mark = "BREACH" if duty.breached else "ok"
    return [duty.name, duty.policy, done, by, f"{mark}: {duty.verdict}"]


def _moment(moment: Moment, mention: Mention, text: Callable[[str], str]) -> str:
    who = f" ({mention(moment.actor)})" if moment.actor else ""
    return f"{offset_text(moment.at)} {text(moment.text)}{who}"


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(report: DrillReport) -> str:
    """The report for a terminal or a file (user ids as they are)."""
    plain: Mention = str
    lines = [
        f"# DRILL report: {report.title} ({report.scenario})",
        "",
        f"Runbook: {report.runbook}",
        "",
        _when(report),
        "",
        _incident_line(report, lambda name: f"#{name}"),
        "",
        f"## Against the escalation policy ({_policy_name(report)})",
        "",
        "| duty | policy | done at | by | verdict |",
        "|---|---|---|---|---|",
    ]
    for duty in report.duties:
        lines.append("| " + " | ".join(_md_cell(c) for c in _duty_cells(duty, plain)) + " |")
    sections = (
        ("Escalation steps that fired", report.steps, "none"),
        ("Alerts", report.alerts, "none"),
        ("People", report.people, "nobody acted"),
        ("Commands run", report.commands, "none"),
    )
    for title, moments, empty in sections:
        lines += ["", f"## {title}", ""]
        lines += [f"- {_moment(m, plain, str)}" for m in moments] or [f"- {empty}"]
    lines += [
        "",
        f"Breaches: {report.breaches}. The full timeline is in the export uploaded to the "
        "drill room (`/incident export` makes it again).",
        "",
    ]
    return "\n".join(lines)


def render_blocks(report: DrillReport) -> tuple[str, list[dict[str, Any]]]:
    """(fallback text, blocks) for the drill room."""
    mention: Mention = blocks.user_mention
    title = f"DRILL report: {report.title}"
    found: list[dict[str, Any]] = [
        blocks.header(title),
        blocks.section(
            f":construction: *DRILL* `{escape(report.scenario)}` — runbook: "
            f"{escape(report.runbook)}\n{_when(report)}\n"
            f"{_incident_line(report, lambda name: '#' + escape(name))}"
        ),
    ]
    duty_lines = [
        f"• *{d.name}* ({d.policy}): "
        + (f"{offset_text(d.done_at)} by {mention(d.by) if d.by else '—'} — " if d.done_at else "")
        + (f":x: {d.verdict}" if d.breached else f":white_check_mark: {d.verdict}")
        for d in report.duties
    ]
    found.append(
        blocks.section(
            f"*Against the escalation policy ({_policy_name(report)})*\n"
            + ("\n".join(duty_lines) or "no duties: no incident")
        )
    )
    for name, moments in (
        ("Escalation steps that fired", report.steps),
        ("Alerts", report.alerts),
        ("People", report.people),
        ("Commands run", report.commands),
    ):
        if not moments:
            continue
        shown = [_moment(m, mention, escape) for m in moments[:MAX_LINES]]
        more = len(moments) - len(shown)
        tail = f"\n… and {more} more (see the export)" if more > 0 else ""
        found.append(blocks.section(f"*{name}*\n" + "\n".join(shown) + tail))
    found.append(blocks.context(f"Breaches: {report.breaches} · the timeline export follows"))
    return f"{title} — {report.breaches} breach(es)", found
