"""The alert messages: what they show in each state, and that alert text can never ping,
mention, link or overflow."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.config.settings import AlertSettings
from bot.core.alerts import NormalizedAlert, parse_alertmanager, parse_generic
from bot.core.slack_text import TRUNCATION_MARKER
from bot.db.models import Alert
from bot.infra.templates import Templates
from bot.sandbox.methods_blocks import block_errors
from bot.slack.alert_messages import (
    AlertLike,
    GroupFacts,
    IncidentFacts,
    Message,
    alert_post,
    resolution_suggestion,
    room_alert_summary,
    war_room_intro,
)

FIXTURES = Path(__file__).parent / "fixtures" / "alertmanager"
AMSTERDAM = ZoneInfo("Europe/Amsterdam")
T0 = datetime(2026, 11, 22, 2, 12, tzinfo=UTC)  # 03:12 CET
HOSTILE = "<!channel> <@U123> <https://evil.example|click> @here & <!subteam^S1>"
BROADCAST = re.compile(r"@(channel|here|everyone)\b", re.IGNORECASE)


@pytest.fixture
def templates() -> Templates:
    return Templates()


def fixture_alerts() -> list[NormalizedAlert]:
    body = json.loads((FIXTURES / "v4-firing.json").read_text())
    return parse_alertmanager(body, AlertSettings())


def make_alert(**changes: Any) -> NormalizedAlert:
    return replace(fixture_alerts()[1], **changes)


def hostile_alert() -> NormalizedAlert:
    return make_alert(
        summary=HOSTILE,
        description=f"description {HOSTILE}",
        labels={"alertname": HOSTILE, HOSTILE: "@everyone & <@U999>", "queue": "a&b"},
        links={HOSTILE: "https://ok.example/a?b=1&c=2", "runbook": "https://ok.example/rb"},
    )


def incident(**changes: Any) -> IncidentFacts:
    facts = IncidentFacts(
        id=7,
        title="RentGuy backlog critical",
        severity="critical",
        state="triggered",
        declared_by=None,
        created_at=T0,
    )
    return replace(facts, **changes)


def group(**changes: Any) -> GroupFacts:
    facts = GroupFacts(
        id=3, title="Queue backlog", severity="warning", status="firing", first_fired_at=T0
    )
    return replace(facts, **changes)


def all_messages(templates: Templates, alerts: Sequence[AlertLike]) -> list[Message]:
    return [
        war_room_intro(templates, incident(), alerts, AMSTERDAM),
        alert_post(templates, group(), alerts, AMSTERDAM),
        alert_post(templates, group(acknowledged_by="U0ONCALL"), alerts, AMSTERDAM),
        alert_post(templates, group(status="resolved"), alerts, AMSTERDAM),
        room_alert_summary(templates, alerts, T0, AMSTERDAM),
    ]


def action_ids(message: Message) -> list[str]:
    return [
        element["action_id"]
        for block in message.blocks
        if block["type"] == "actions"
        for element in block["elements"]
    ]


def mrkdwn_json(message: Message) -> str:
    """Everything Slack parses as mrkdwn: the fallback text and every block but headers
    (plain_text, shown as typed)."""
    parsed = [block for block in message.blocks if block["type"] != "header"]
    return json.dumps({"text": message.text, "blocks": parsed}, ensure_ascii=False)


def assert_valid(message: Message) -> None:
    assert block_errors(message.blocks) == []
    assert 0 < len(message.text) <= 40_000 and len(message.blocks) <= 50


# --- the intro ------------------------------------------------------------------------


def test_intro_shows_what_fired_severity_labels_links_and_buttons(templates: Templates) -> None:
    message = war_room_intro(templates, incident(), fixture_alerts(), AMSTERDAM)
    assert_valid(message)
    assert message.blocks[0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": "Incident #7: RentGuy backlog critical"},
    }
    dumped = mrkdwn_json(message)
    assert ":red_circle: *CRITICAL* incident declared by an alert at 03:12 CET" in dumped
    assert "RentGuy queue backlog 1,240 jobs (critical &gt; 1,000)" in dumped
    assert "since 14:02 CET" in dumped and "Retry age 612s; dead letters 7" in dumped
    assert "*queue*\\nrentguy" in dumped and "*instance*\\nworker-2" in dumped
    assert "<https://runbooks.example.com/queues#backlog-critical|Runbook>" in dumped
    assert "<http://prometheus.example.com/graph?g0.expr=queue_backlog|Source>" in dumped
    assert "DRILL" not in dumped and "maintenance" not in dumped
    assert action_ids(message) == [
        "incident_ack",
        "incident_ic",
        "incident_update",
        "incident_resolve",
    ]
    buttons = message.blocks[-1]["elements"]
    assert {b["value"] for b in buttons} == {"7"} and buttons[-1]["style"] == "danger"
    assert message.text == "Incident #7: RentGuy backlog critical"


def test_intro_names_the_declarer_and_marks_drills_and_maintenance(templates: Templates) -> None:
    facts = incident(declared_by="U0ONCALL", is_drill=True, during_maintenance=True)
    message = war_room_intro(templates, facts, fixture_alerts(), AMSTERDAM)
    assert_valid(message)
    dumped = mrkdwn_json(message)
    assert "declared by <@U0ONCALL> at 03:12 CET" in dumped
    assert "*DRILL*" in dumped and ":wrench: Opened during a maintenance window" in dumped
    assert message.blocks[0]["text"]["text"].startswith("DRILL · Incident #7")
    # a declarer that is not a Slack id is shown, never parsed
    odd = war_room_intro(templates, incident(declared_by="<!here>"), [], AMSTERDAM)
    assert "&lt;!here&gt;" in mrkdwn_json(odd) and "<!" not in mrkdwn_json(odd)


def test_intro_title_is_plain_in_the_header_and_escaped_in_the_fallback(
    templates: Templates,
) -> None:
    message = war_room_intro(templates, incident(title=HOSTILE * 10), [], AMSTERDAM)
    assert_valid(message)
    header = message.blocks[0]["text"]
    assert header["type"] == "plain_text" and len(header["text"]) == 150
    assert header["text"].endswith(TRUNCATION_MARKER)
    assert "<" not in message.text and not BROADCAST.search(message.text)


def test_intro_lists_five_alerts_then_counts_the_rest(templates: Templates) -> None:
    alerts = [make_alert(summary=f"alert {i}") for i in range(8)]
    dumped = mrkdwn_json(war_room_intro(templates, incident(), alerts, AMSTERDAM))
    assert dumped.count("*alert ") == 5 and "_+3 more_" in dumped
    paged = war_room_intro(templates, incident(), alerts, AMSTERDAM, total=20)
    assert "_+15 more_" in mrkdwn_json(paged)


# --- the alerts-channel post ----------------------------------------------------------


def test_firing_post_offers_ack_and_open_war_room(templates: Templates) -> None:
    message = alert_post(templates, group(), fixture_alerts(), AMSTERDAM)
    assert_valid(message)
    assert action_ids(message) == ["alert_ack", "alert_open_room"]
    assert {
        e["value"] for b in message.blocks if b["type"] == "actions" for e in b["elements"]
    } == {"3"}
    dumped = mrkdwn_json(message)
    assert ":large_orange_circle: *WARNING* · Queue backlog" in dumped
    assert "First fired at 03:12 CET" in dumped and "*alertname*" in dumped
    assert message.text.startswith(":large_orange_circle: *WARNING* · Queue backlog")


def test_acknowledged_post_names_who_and_drops_the_ack_button(templates: Templates) -> None:
    message = alert_post(templates, group(acknowledged_by="U123"), fixture_alerts(), AMSTERDAM)
    assert_valid(message)
    assert action_ids(message) == ["alert_open_room"]
    assert "Acknowledged by <@U123>" in mrkdwn_json(message)


def test_resolved_post_has_no_buttons(templates: Templates) -> None:
    facts = group(status="resolved", acknowledged_by="U123")
    message = alert_post(templates, facts, fixture_alerts(), AMSTERDAM)
    assert_valid(message)
    assert action_ids(message) == []
    assert ":white_check_mark: Resolved" in mrkdwn_json(message)


def test_post_links_the_war_room_instead_of_offering_one(templates: Templates) -> None:
    message = alert_post(
        templates, group(incident_channel_id="C0ROOM"), fixture_alerts(), AMSTERDAM
    )
    assert_valid(message)
    assert action_ids(message) == ["alert_ack"]
    assert "War room: <#C0ROOM>" in mrkdwn_json(message)


def test_maintenance_is_noted_on_the_post(templates: Templates) -> None:
    message = alert_post(templates, group(during_maintenance=True), fixture_alerts(), AMSTERDAM)
    assert ":wrench: Fired during a maintenance window" in mrkdwn_json(message)


def test_info_groups_and_smoke_tests_get_no_war_room_button(templates: Templates) -> None:
    smoke = parse_generic({"type": "smoke", "message": "alert-test"}, AlertSettings(), T0)
    facts = group(title="alert-test", severity=smoke[0].severity)
    message = alert_post(templates, facts, smoke, AMSTERDAM)
    assert_valid(message)
    assert action_ids(message) == ["alert_ack"]
    assert "alert-test" in mrkdwn_json(message)


# --- the war room's summary -----------------------------------------------------------


def test_room_summary_counts_and_lists_firing_first_newest_first(templates: Templates) -> None:
    alerts = [
        make_alert(summary="old firing", starts_at=T0),
        make_alert(summary="resolved one", status="resolved", starts_at=T0 + timedelta(hours=1)),
        make_alert(summary="new firing", starts_at=T0 + timedelta(minutes=30)),
    ]
    now = T0 + timedelta(hours=2, minutes=2)
    message = room_alert_summary(templates, alerts, now, AMSTERDAM)
    assert_valid(message)
    assert message.text == "*2 firing · 1 resolved*\n_updated 05:14 CET_"
    listing = message.blocks[1]["text"]["text"]
    assert listing.index("new firing") < listing.index("old firing") < listing.index("resolved")
    assert "since 03:42 CET" in listing and ":white_check_mark: *resolved one*" in listing


def test_room_summary_lists_ten_and_uses_given_totals(templates: Templates) -> None:
    alerts = [make_alert(summary=f"alert {i}") for i in range(14)]
    message = room_alert_summary(templates, alerts, T0, AMSTERDAM)
    assert mrkdwn_json(message).count("*alert ") == 10 and "_+4 more_" in mrkdwn_json(message)
    paged = room_alert_summary(templates, alerts, T0, AMSTERDAM, totals=(30, 10))
    assert paged.text.startswith("*30 firing · 10 resolved*") and "_+30 more_" in paged.text + (
        mrkdwn_json(paged)
    )


def test_times_are_shown_in_the_given_zone(templates: Templates) -> None:
    new_york = ZoneInfo("America/New_York")
    message = room_alert_summary(templates, fixture_alerts(), T0, new_york)
    assert "updated 21:12 EST" in message.text
    assert "since 08:02 EST" in mrkdwn_json(message)
    naive = room_alert_summary(templates, [], T0.replace(tzinfo=None), AMSTERDAM)
    assert "updated 03:12 CET" in naive.text


# --- the resolution suggestion --------------------------------------------------------


def test_resolution_suggestion_only_offers_a_resolve_button(templates: Templates) -> None:
    message = resolution_suggestion(templates, 7, timedelta(minutes=10))
    assert_valid(message)
    assert message.text == (
        ":white_check_mark: All alerts of incident #7 have resolved and nothing fired for "
        "10 minutes. If the service is healthy, resolve it: `/incident resolve &lt;summary&gt;`"
    )
    assert action_ids(message) == ["incident_resolve"]
    assert message.blocks[-1]["elements"][0]["value"] == "7"
    one = resolution_suggestion(templates, 7, timedelta(seconds=75))
    assert "nothing fired for 1 minute." in one.text


# --- untrusted text -------------------------------------------------------------------


def test_alert_text_never_pings_mentions_or_links(templates: Templates) -> None:
    for message in all_messages(templates, [hostile_alert()]):
        assert_valid(message)
        dumped = mrkdwn_json(message)
        assert "<!" not in dumped and "<@U123" not in dumped and "<@U999" not in dumped
        assert "<https://evil" not in dumped and not BROADCAST.search(dumped)
        assert "&lt;!channel&gt;" in dumped and "&lt;@U123&gt;" in dumped
        assert "&amp;" in dumped and not re.search(r"&(?!amp;|lt;|gt;)", dumped)


def test_links_are_escaped_inside_the_markup(templates: Templates) -> None:
    dumped = mrkdwn_json(war_room_intro(templates, incident(), [hostile_alert()], AMSTERDAM))
    links = re.findall(r"<(https?://[^>]*)>", dumped)
    assert len(links) == 2 and all(link.count("|") == 1 for link in links)
    assert "https://ok.example/rb|Runbook" in links
    assert links[0].startswith("https://ok.example/a?b=1&amp;c=2|&lt;!channel&gt;")


def test_links_from_stored_rows_must_be_http(templates: Templates) -> None:
    row = Alert(
        source="generic",
        status="firing",
        severity="warning",
        summary="stored",
        description="",
        labels={"queue": "rentguy"},
        links={"runbook": "javascript:alert(1)", "dashboard": "https://grafana.example/d/1"},
        starts_at=T0,
    )
    dumped = mrkdwn_json(war_room_intro(templates, incident(), [row], AMSTERDAM))
    assert "javascript" not in dumped and "<https://grafana.example/d/1|Dashboard>" in dumped


def test_very_long_fields_are_cut_with_the_marker(templates: Templates) -> None:
    huge = "x&" * 5000
    alert = make_alert(
        summary=huge,
        description=huge,
        labels={"alertname": huge, huge: "v"},
        links={huge: "https://ok.example/" + "a" * 3000},
    )
    long_title = group(title=huge)
    for message in [
        *all_messages(templates, [alert]),
        alert_post(templates, long_title, [alert], AMSTERDAM),
    ]:
        assert_valid(message)
        assert TRUNCATION_MARKER in mrkdwn_json(message)
        assert "a" * 3000 not in mrkdwn_json(message)  # a link too long to show is left out


def test_two_hundred_alerts_stay_within_slack_limits(templates: Templates) -> None:
    alerts = [
        make_alert(
            summary=f"alert {i} " + "s" * 400,
            labels={f"label{j}": f"value {i}" for j in range(30)},
            links={"runbook": f"https://runbooks.example.com/{i}"},
        )
        for i in range(200)
    ]
    for message in all_messages(templates, alerts):
        assert_valid(message)
    intro = war_room_intro(templates, incident(), alerts, AMSTERDAM)
    assert "_+195 more_" in mrkdwn_json(intro)
    fields = next(b["fields"] for b in intro.blocks if "fields" in b)
    assert len(fields) == 8 and fields[0]["text"].endswith("_+197 more_")


def test_key_labels_come_first_and_fields_are_capped(templates: Templates) -> None:
    labels = {f"a{j:02}": "x" for j in range(20)}
    labels |= {"env": "prod", "job": "worker", "alertname": "QueueBacklog", "queue": "rentguy"}
    message = alert_post(templates, group(), [make_alert(labels=labels)], AMSTERDAM)
    fields = next(b["fields"] for b in message.blocks if "fields" in b)
    names = [f["text"].split("\n")[0] for f in fields]
    assert names == ["*alertname*", "*queue*", "*job*", "*env*", "*a00*", "*a01*", "*a02*", "*a03*"]


def test_stored_alert_rows_render_like_normalized_alerts(templates: Templates) -> None:
    source = fixture_alerts()[1]
    row = Alert(
        source=source.source,
        status=source.status,
        severity=source.severity,
        summary=source.summary,
        description=source.description,
        labels=source.labels,
        links=source.links,
        starts_at=source.starts_at,
    )
    rows: list[AlertLike] = [row]
    normalized: list[AlertLike] = [source]
    for facts in (group(), group(status="resolved")):
        assert alert_post(templates, facts, rows, AMSTERDAM) == alert_post(
            templates, facts, normalized, AMSTERDAM
        )
