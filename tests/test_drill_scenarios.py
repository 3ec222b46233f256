"""Drill scenarios: the format, every kind of bad input with a clear message, the shipped
scenarios (each valid, also under its example config), the report's verdicts. Pure."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.config.settings import Settings
from bot.core.drill_keys import drill_routing, mark_alert, new_mark
from bot.core.timeline import EventKind, TimelineEntry
from bot.drill.catalog import resolve_scenario, shipped_paths
from bot.drill.report import DrillReport, IncidentSummary, build_report, offset_text
from bot.drill.report_render import render_blocks, render_markdown
from bot.drill.scenario import (
    MAX_BYTES,
    AlertStep,
    SayStep,
    ScenarioError,
    load_scenario,
    parse_scenario,
)
from bot.drill.scenario_alerts import parse_alert
from bot.infra.config_loader import load_config
from tests.example_configs import env_for

ROOT = Path(__file__).resolve().parents[1]
GOOD = """
name: queue-drill
title: A queue backs up
runbook: Observability playbook, section 4
steps:
  - at: 0s
    alert:
      source: generic
      payload: {queue: rentguy, severity: critical, backlog: 1240, message: Backlog}
  - at: 90s
    say: Who is IC?
  - at: 2m
    alert:
      source: generic
      payload: {queue: rentguy, severity: critical, status: resolved}
"""


def test_injects_may_come_before_the_first_alert() -> None:
    text = GOOD.replace(
        "steps:\n", "steps:\n  - at: 0s\n    say: It is 03:00; you are on call.\n", 1
    )
    scenario = parse_scenario(text, "drill.yaml")
    assert [s.kind for s in scenario.steps] == ["say", "alert", "say", "alert"]


def problems_of(text: str) -> list[str]:
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(text, "drill.yaml")
    return caught.value.problems


def test_a_good_scenario_parses_with_a_default_duration() -> None:
    scenario = parse_scenario(GOOD, "drill.yaml")
    assert scenario.name == "queue-drill" and scenario.runbook.startswith("Observability")
    assert [type(s) for s in scenario.steps] == [AlertStep, SayStep, AlertStep]
    assert [s.at for s in scenario.steps] == [
        timedelta(0),
        timedelta(seconds=90),
        timedelta(minutes=2),
    ]
    assert scenario.duration == timedelta(minutes=7)  # last step + 5m
    assert scenario.steps[1] == SayStep(timedelta(seconds=90), "Who is IC?")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", r"drill.yaml: the file is empty"),
        ("- a\n- b\n", r"drill.yaml: the file is a list"),
        ("name: [unclosed\n", r"drill.yaml:\d+:\d+: not valid YAML"),
        (GOOD + "colour: red\n", r"drill.yaml: unknown key `colour`"),
        (GOOD.replace("runbook:", "runbok:"), r"unknown key `runbok` — did you mean `runbook`"),
        (GOOD.replace("name: queue-drill", "name: Queue Drill!"), r"drill.yaml: name: .*slug"),
        (GOOD.replace("title: A queue backs up\n", "title: ''\n"), r"drill.yaml: title: must be"),
        (GOOD.replace("name: queue-drill\n", ""), r"drill.yaml: name: is required"),
        (GOOD.replace("at: 90s", "at: '1:75'"), r"steps\[1\]\.at: .*or as the drill prints"),
        (
            GOOD.replace(
                "source: generic\n      payload: {queue: rentguy, severity: critical, b",
                "source: generic\n      payload_file: x.json\n      payload: {queue: "
                "rentguy, severity: critical, b",
            ),
            r"steps\[0\]\.alert: needs exactly one of `payload:` .* or `payload_file:`",
        ),
        (
            GOOD.replace(
                "payload: {queue: rentguy, severity: critical, backlog: 1240, message: Backlog}",
                "payload_file: firing.json",
            ),
            r"steps\[0\]\.alert\.payload_file: only a scenario read from a file",
        ),
        (
            GOOD.replace("at: 90s", "at: 2 minutes"),
            r"steps\[1\]\.at: \"2 minutes\" is not a duration — write 2m",
        ),
        (GOOD.replace("at: 90s", "at: -30s"), r"steps\[1\]\.at: .*negative"),
        (
            GOOD.replace("at: 90s", "at: 5m"),
            r"steps\[2\]\.at: 2m comes before the previous step's 5m",
        ),
        (
            GOOD.replace(
                "source: generic\n      payload: {queue: rentguy, severity: critical, backlog",
                "source: nagios\n      payload: {queue: rentguy, severity: critical, backlog",
            ),
            r"steps\[0\]\.alert\.source: `nagios` — use one of alertmanager, grafana, generic, "
            r"pagerduty",
        ),
        (
            GOOD.replace(
                "{queue: rentguy, severity: critical, backlog: 1240, message: Backlog}",
                "{severity: critical}",
            ),
            r"steps\[0\]\.alert\.payload\.queue: expected a queue alert .* intake would answer 400",
        ),
        (
            GOOD.replace("backlog: 1240", "backlog: lots"),
            r"steps\[0\]\.alert\.payload\.backlog: .*400",
        ),
        (
            GOOD.replace(
                "    say: Who is IC?\n",
                "    say: Who is IC?\n    alert: {source: generic, payload: {}}\n",
            ),
            r"steps\[1\]: needs exactly one of `alert:` or `say:` \(has 2\)",
        ),
        (GOOD.replace("  - at: 90s\n", "  - when: 90s\n"), r"steps\[1\]: unknown key `when`"),
        ("name: x\ntitle: t\nrunbook: r\nsteps: []\n", r"steps: must be a non-empty list"),
        ("name: x\ntitle: t\nrunbook: r\n", r"steps: is required"),
        (GOOD + "duration: 1m\n", r"duration: 1m ends before the last step"),
        (GOOD + "duration: 9h\n", r"duration: 9h — a drill lasts at most 4h"),
        (GOOD.replace("at: 2m", "at: 5h"), r"steps: the last step at 5h is too late"),
        (GOOD.replace("backlog: 1240", "backlog: " + "9" * 5000), r"a value cannot be read"),
        (GOOD.replace("say: Who is IC?", "say: 42"), r"steps\[1\]\.say: must be non-empty text"),
        (
            GOOD.replace("  - at: 90s\n    say: Who is IC?\n", "  - null\n"),
            r"steps\[1\]: must be a mapping",
        ),
        (
            GOOD.replace(
                "payload: {queue: rentguy, severity: critical, status: resolved}", "payload: [1]"
            ),
            r"steps\[2\]\.alert\.payload: must be a mapping",
        ),
        (
            GOOD.replace(
                "payload: {queue: rentguy, severity: critical, backlog: 1240, message: Backlog}",
                "payload: {queue: rentguy, severity: critical, status: resolved}",
            ),
            r"steps\[0\]: the first `alert:` must be firing",
        ),
        (
            "name: n\ntitle: t\nrunbook: r\nsteps:\n  - {at: 0s, say: hi}\n",
            r"steps: no `alert:` step",
        ),
        ("a: &x [1, 2]\nb: *x\n", r"anchors and aliases"),
    ],
)
def test_every_problem_names_its_place_and_the_fix(text: str, expected: str) -> None:
    found = problems_of(text)
    assert any(re.search(expected, p) for p in found), found


def test_all_problems_are_listed_at_once() -> None:
    text = GOOD.replace("at: 90s", "at: soon").replace("name: queue-drill", "name: BAD NAME")
    found = problems_of(text + "extra: 1\n")
    assert len(found) >= 3, found
    assert all(p.startswith("drill.yaml") for p in found)


def test_a_huge_or_missing_file_is_refused(tmp_path: Path) -> None:
    huge = tmp_path / "huge.yaml"
    huge.write_text("# " + "x" * MAX_BYTES + "\n")
    with pytest.raises(ScenarioError, match="at most"):
        load_scenario(huge)
    with pytest.raises(ScenarioError, match="file not found"):
        load_scenario(tmp_path / "nope.yaml")
    with pytest.raises(ScenarioError, match="is a directory"):
        load_scenario(tmp_path)


def test_yaml_dates_in_payloads_become_iso_text() -> None:
    text = GOOD.replace("backlog: 1240,", "backlog: 1240, timestamp: 2026-11-23T03:12:00Z,")
    scenario = parse_scenario(text, "drill.yaml")
    step = scenario.steps[0]
    assert isinstance(step, AlertStep) and step.payload["timestamp"] == "2026-11-23T03:12:00Z"


SHIPPED = sorted(shipped_paths())


def test_one_scenario_per_seed_runbook_is_shipped() -> None:
    assert len(SHIPPED) >= 5


@pytest.mark.parametrize("name", SHIPPED)
def test_each_shipped_scenario_is_valid_short_and_names_its_sources(name: str) -> None:
    path = shipped_paths()[name]
    scenario = load_scenario(path)
    assert scenario.name == name == path.stem
    # Playable on a real clock, and long enough for the ack deadline (5m in the examples).
    assert timedelta(minutes=4) <= scenario.duration <= timedelta(minutes=12)
    text = path.read_text()
    example = re.search(r"examples/[\w-]+\.yaml", text)
    assert example and (ROOT / example.group(0)).is_file(), "names its example config"
    assert "runbook" in text.lower().split("name:")[0], "a comment names its runbook section"
    runtime = load_config(str(ROOT / example.group(0)), env=env_for(ROOT / example.group(0)))
    under = load_scenario(path, runtime.settings.alerts)  # valid under that config too
    severities = {
        alert.severity
        for step in under.steps
        if isinstance(step, AlertStep)
        for alert in parse_alert(step.source, step.payload, runtime.settings.alerts, T0)
    }
    assert "critical" in severities, "the example's severity rules see the critical alert"
    assert resolve_scenario(name).name == name


# --- keys ------------------------------------------------------------------------------

T0 = datetime(2026, 11, 23, 3, 12, tzinfo=UTC)


def test_drill_alerts_are_namespaced_per_run_and_on_the_drill_clock() -> None:
    settings = Settings().alerts
    alert = parse_alert("generic", {"queue": "q", "severity": "critical"}, settings, T0)[0]
    one, two = new_mark("x"), new_mark("x")
    assert one.key != two.key
    marked = mark_alert(alert, one, T0 + timedelta(hours=1))
    assert marked.group_key.startswith(one.key) and marked.fingerprint.startswith(one.key)
    assert marked.starts_at == T0 + timedelta(hours=1)
    assert mark_alert(alert, two, T0).group_key != marked.group_key


def test_drill_routing_opens_the_runs_incident_for_any_firing_alert() -> None:
    from bot.core.routing import Action, GroupView

    mark = new_mark("x")
    view = GroupView("g", None, "info", True, True, False, False, None)
    assert drill_routing(view, mark).action is Action.OPEN_INCIDENT
    assert drill_routing(view, mark).incident_key == mark.key
    joined = GroupView("g", None, "critical", True, False, True, False, None)
    assert drill_routing(joined, mark).action is Action.UPDATE_ROOM


# --- the report ------------------------------------------------------------------------


def entry(
    kind: EventKind, minutes: float, actor: str | None = None, **data: object
) -> TimelineEntry:
    return TimelineEntry(
        kind, T0 + timedelta(minutes=minutes), kind.value, actor, "slack", dict(data)
    )


OPEN_QUEUE = IncidentSummary(7, "Queue", "critical", T0, "triggered", None)


def queue_report(
    events: list[TimelineEntry], minutes: float, incident: IncidentSummary = OPEN_QUEUE
) -> DrillReport:
    """The report of a drill of the queue incident that ran for `minutes`."""
    return build_report(
        scenario="q", title="Queue", runbook="r", started_at=T0,
        ended_at=T0 + timedelta(minutes=minutes), incident=incident, events=events,
        policies=Settings().escalation,
    )  # fmt: skip


def test_the_report_measures_duties_against_the_policy() -> None:
    incident = IncidentSummary(7, "Queue", "critical", T0, "resolved", "inc-drill-queue")
    events = [
        entry(EventKind.ALERT_FIRED, 0),
        entry(EventKind.CLOCK_BREACH, 2, step="ack"),
        entry(EventKind.STATE_CHANGED, 3, "U0ONCALL", before="triggered", after="acknowledged"),
        entry(EventKind.ROLE_ASSIGNED, 4, "U0ONCALL", role="commander", user="U0IC"),
        entry(EventKind.STATUS_UPDATE, 5, "U0IC"),
        entry(EventKind.STATE_CHANGED, 6, "U0IC", before="acknowledged", after="resolved"),
    ]
    report = queue_report(events, 6, incident)
    ack, ic, updates = report.duties
    assert ack.breached and ack.verdict == "breached by 1m" and ack.by == "U0ONCALL"
    assert ack.done_at == timedelta(minutes=3)
    assert not ic.breached and ic.by == "U0IC" and ic.verdict == "met (6m to spare)"
    assert not updates.breached
    assert report.ended_because == "resolved" and report.resolved_at == timedelta(minutes=6)
    assert report.breaches == 1 and [s.text for s in report.steps] == ["ack breached"]
    markdown = render_markdown(report)
    assert "| Acknowledge | within 2m | +03:00 | U0ONCALL | BREACH: breached by 1m |" in markdown
    text, blocks = render_blocks(report)
    assert "DRILL" in text and "<@U0ONCALL>" in str(blocks)


def test_duties_not_yet_due_when_the_drill_ends_are_not_breaches() -> None:
    report = queue_report([], 4)
    ack, ic, _updates = report.duties
    assert ack.breached and ack.verdict == "never (due +02:00)"
    assert not ic.breached and "not due before the drill ended" in ic.verdict
    assert offset_text(timedelta(hours=1, seconds=5)) == "+1:00:05"


def test_a_raised_severity_starts_the_stricter_clock() -> None:
    events = [
        entry(EventKind.SEVERITY_CHANGED, 1, before="warning", after="critical"),
        entry(EventKind.STATE_CHANGED, 3.5, "U0ONCALL", before="triggered", after="acknowledged"),
    ]
    report = queue_report(events, 5)
    ack, _ic, _updates = report.duties
    assert report.opened_severity == "warning"
    assert ack.policy == "within 2m (critical)"  # due +03:00, before warning's +05:00
    assert ack.breached and ack.verdict == "breached by 30s"
    assert "(warning → critical)" in render_markdown(report)


def test_an_unknown_name_lists_the_shipped_scenarios() -> None:
    with pytest.raises(ScenarioError, match="known: dj-queue-backlog"):
        resolve_scenario("no-such-drill")


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=400))
def test_any_text_is_a_scenario_or_a_clear_error(text: str) -> None:
    try:
        parse_scenario(text, "fuzz.yaml")
    except ScenarioError as exc:
        assert exc.problems and all(p.startswith("fuzz.yaml") for p in exc.problems)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(JSONISH, st.sampled_from(["alertmanager", "grafana", "generic"]), JSONISH)
def test_any_structure_is_a_scenario_or_a_clear_error(
    at: object, source: str, payload: object
) -> None:
    doc = {"name": "x", "title": "t", "runbook": "r", "steps": [
        {"at": at, "alert": {"source": source, "payload": payload}}, {"at": at, "say": payload},
    ]}  # fmt: skip
    try:
        parse_scenario(yaml.safe_dump(doc), "fuzz.yaml")
    except ScenarioError as exc:
        assert exc.problems and all(p.startswith("fuzz.yaml") for p in exc.problems)


def test_a_deadline_missed_before_the_raise_stays_a_breach() -> None:
    events = [
        entry(EventKind.SEVERITY_CHANGED, 6, before="warning", after="critical"),
        entry(EventKind.STATE_CHANGED, 7, "U0ONCALL", before="triggered", after="acknowledged"),
    ]
    report = queue_report(events, 9)
    ack = report.duties[0]
    assert ack.policy == "within 5m (warning)" and ack.verdict == "breached by 2m"


RECORDED = ROOT / "tests" / "fixtures" / "alertmanager"


def test_a_minimal_file_takes_its_name_from_the_file_and_plays_recorded_payloads(
    tmp_path: Path,
) -> None:
    (tmp_path / "recorded").mkdir()
    for name in ("v4-firing.json", "v4-resolved.json"):
        (tmp_path / "recorded" / name).write_bytes((RECORDED / name).read_bytes())
    path = tmp_path / "night-shift.yaml"
    path.write_text(
        "steps:\n"
        "  - {at: 0s, alert: {source: alertmanager, payload_file: recorded/v4-firing.json}}\n"
        "  - {at: '+01:30', say: 'Who has the pager?'}\n"
        "  - {at: 2:30, alert: {source: pagerduty, payload: {event_action: trigger,"
        " dedup_key: pd-1, payload: {summary: Disk full, severity: critical, source: db1}}}}\n"
        "  - at: '0:04:00'\n"
        "    alert: {source: alertmanager, payload_file: recorded/v4-resolved.json}\n"
    )
    scenario = load_scenario(path)
    assert (scenario.name, scenario.title, scenario.runbook) == (
        "night-shift",
        "night-shift",
        "not named",
    )
    assert [s.at for s in scenario.steps] == [
        timedelta(0),
        timedelta(minutes=1, seconds=30),
        timedelta(minutes=2, seconds=30),  # YAML reads 2:30 as 150 (base 60)
        timedelta(minutes=4),
    ]
    first, _, paged, resolved = scenario.steps
    assert isinstance(first, AlertStep) and isinstance(resolved, AlertStep)
    assert first.payload == json.loads((RECORDED / "v4-firing.json").read_text())
    assert resolved.payload["status"] == "resolved"
    assert isinstance(paged, AlertStep) and paged.source == "generic"


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, r"payload_file \(p.json\): file not found — paths start at the scenario's folder"),
        ("{not: [json", r"payload_file \(p.json\): not valid JSON or YAML"),
        ("[1, 2]", r"payload_file \(p.json\): must hold a JSON object"),
        ('{"version": "4", "alerts": []}', r"payload_file \(p.json\)\.\w+.*would answer 400"),
        ("a: &x [1]\nb: *x\n", r"payload_file \(p.json\): not valid JSON or YAML"),
        ("x" * (300 * 1024), r"payload_file \(p.json\): larger than 262,144 bytes"),
    ],
)
def test_a_bad_payload_file_is_named_with_its_step(
    tmp_path: Path, content: str | None, expected: str
) -> None:
    if content is not None:
        (tmp_path / "p.json").write_text(content)
    path = tmp_path / "drill.yaml"
    path.write_text(
        "name: d\nsteps:\n  - {at: 0s, alert: {source: alertmanager, payload_file: p.json}}\n"
    )
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    assert any(re.search(r"steps\[0\]\.alert\." + expected, p) for p in caught.value.problems), (
        caught.value.problems
    )
