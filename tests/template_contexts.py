"""A realistic context for every built-in template (`CONTEXTS`: template file name -> the
values the bot renders it with), for rendering them in tests and checking overrides."""

from __future__ import annotations

from typing import Any

from bot.infra.templates import Mrkdwn


def _when(utc: str, local: str) -> dict[str, str]:
    return {"utc": utc, "local": local}


_EVENT = {
    "id": 12,
    "time_utc": "2026-03-02T03:14:05Z",
    "time_local": "2026-03-02T04:14:05+01:00",
    "kind": "incident.status_update",
    "actor": "U0IC",
    "source": "slack",
    "text": "Failover to PORTAL chat done; queue draining (1840 -> 210)",
    "data": {},
}
_ROLE = {"role": "commander", "title": "Incident Commander", "user_id": "U0IC"}
_DONE = {"position": 0, "text": "Timeline exported", "done": True, "done_by": "U0IC"}
# The timeline exports: the warroom.timeline/1 document as bot/exports presents it (empty
# values as ""; tests/test_exports.py renders alerts, drafts and commands too).
EXPORT_CONTEXT: dict[str, Any] = {
    "doc": {
        "schema": "warroom.timeline/1",
        "incident": {
            "id": 7,
            "title": "WhatsApp down",
            "severity": "critical",
            "state": "resolved",
            "is_drill": False,
            "during_maintenance": False,
            "channel_name": "dr-20260302-whatsapp-down",
            "declared_by": "U0ONCALL",
            "acknowledged_by": "U0ONCALL",
            "mitigated_by": "",
            "resolved_by": "U0IC",
            "resolution": "expired WhatsApp token rotated",
        },
        "times": {
            "timezone": "Europe/Amsterdam",
            "created": _when("2026-03-02T03:12:00Z", "2026-03-02T04:12:00+01:00"),
            "acknowledged": _when("2026-03-02T03:13:35Z", "2026-03-02T04:13:35+01:00"),
            "commander_assigned": _when("2026-03-02T03:18:00Z", "2026-03-02T04:18:00+01:00"),
            "mitigated": "",
            "resolved": _when("2026-03-02T03:53:00Z", "2026-03-02T04:53:00+01:00"),
            "last_status_update": _when("2026-03-02T03:14:05Z", "2026-03-02T04:14:05+01:00"),
        },
        "durations_text": dict.fromkeys(
            ["mtta_seconds", "time_to_ic_seconds", "time_to_mitigate_seconds", "mttr_seconds"],
            "6m 00s",
        ),
        "roles": [{**_ROLE, "assigned_by": "", "assigned_at": "2026-03-02T03:18:00Z"}],
        "alerts": [],
        "checklist": [{**_DONE, "done_at": "2026-03-02T04:12:00Z"}],
        "status_updates": [_EVENT],
        "status_drafts": [],
        "commands": [],
        "clock_breaches": [{**_EVENT, "kind": "clock.breach", "text": "status update overdue"}],
    },
    "events": [_EVENT],
}

CONTEXTS: dict[str, dict[str, Any]] = {
    "war_room_intro.md.j2": {
        "emoji": ":red_circle:",
        "severity_label": "CRITICAL",
        "declared_by_mention": Mrkdwn("<@U0ONCALL>"),
        "declared_at": "03:12 CET",
        "is_drill": False,
        "during_maintenance": True,
        "fallbacks": [
            {
                "integration": Mrkdwn("whatsapp"),
                "text": Mrkdwn("Switch chat to the PORTAL channel; queue as WHATSAPP_QUEUED."),
            }
        ],
    },
    "incident_header.txt.j2": {"incident_id": 7, "title": "WhatsApp down", "is_drill": True},
    "alert_list.md.j2": {
        "heading": True,
        "alerts": [
            {
                "emoji": ":red_circle:",
                "summary": "RentGuy queue backlog 1,240 jobs (critical > 1,000)",
                "status": "firing",
                "started": "03:12 CET",
                "description": "Retry age 612s; dead letters 7",
            },
            {
                "emoji": ":white_check_mark:",
                "summary": "WhatsApp sends failing",
                "status": "resolved",
                "started": "",
                "description": "",
            },
        ],
        "more": 3,
    },
    "alert_label_field.md.j2": {"key": "queue", "values": "rentguy, whatsapp", "more": 2},
    "alert_links.md.j2": {
        "links": [
            Mrkdwn("<https://runbooks.example.com/queues|Runbook>"),
            Mrkdwn("<https://grafana.example.com/d/queues|Dashboard>"),
        ]
    },
    "alert_post.md.j2": {
        "emoji": ":large_orange_circle:",
        "severity": "warning",
        "title": "RentGuy queue backlog 640 jobs",
        "first_fired_at": "03:12 CET",
        "fallbacks": [
            {
                "integration": Mrkdwn("whatsapp"),
                "text": Mrkdwn("Switch chat to the PORTAL channel; queue as WHATSAPP_QUEUED."),
            }
        ],
    },
    "alert_post_status.md.j2": {
        "status": "resolved",
        "acknowledged_by_mention": Mrkdwn("<@U0ONCALL>"),
        "room_link": Mrkdwn("<#C123>"),
        "during_maintenance": False,
    },
    "room_alert_summary.md.j2": {"firing": 2, "resolved": 1, "updated_at": "03:20 CET"},
    "resolution_suggestion.md.j2": {"incident_id": 7, "minutes": 10},
    "clock_step.md.j2": {
        "step": "dr_plan",
        "incident_id": 7,
        "title": "WhatsApp down",
        "severity": "critical",
        "late": "0m",
        "every": "15m",
        "open_for": "10m",
        "step_title": "the team lead",
        "who": Mrkdwn("<!here>"),
    },
    "clock_message.md.j2": {
        "incident_id": 7,
        "state": "acknowledged",
        "severity": "critical",
        "open_for": "12m",
        "lines": ["status update: due 03:27 CET", "DR plan announced: due 03:22 CET"],
        "updated": "03:14 CET",
    },
    "incident_stats.md.j2": {
        "days": 30,
        "count": 4,
        "by_severity": "3 critical, 1 warning",
        "open": 1,
        "mtta": "2m",
        "time_to_ic": "6m",
        "mttr": "41m",
        "within_goal": 2,
        "resolved": 3,
        "breaches": 5,
    },
    "state_change.md.j2": {
        "emoji": ":white_check_mark:",
        "incident_id": 7,
        "verb": "resolved",
        "actor_mention": Mrkdwn("<@U0IC>"),
        "summary": "expired WhatsApp token rotated",
    },
    "status_update.md.j2": {
        "actor_mention": Mrkdwn("<@U0IC>"),
        "state": "mitigated",
        "severity": "critical",
        "text": "Failover to PORTAL chat done; queue draining (1840 -> 210)",
    },
    "role_assigned.md.j2": {
        "user_mention": Mrkdwn("<@U0LEAD>"),
        "role_title": "Communications Lead",
        "incident_id": 7,
        "actor_mention": Mrkdwn("<@U0IC>"),
    },
    "role_duties.md.j2": {
        "role_title": "Incident Commander",
        "incident_id": 7,
        "title": "WhatsApp down",
        "room_link": Mrkdwn("<#C123>"),
        "description": "DR lead: owns the incident until it is resolved.",
        "duties": ["Post a status update at least every 15 minutes"],
    },
    "severity_change.md.j2": {
        "emoji": ":red_circle:",
        "incident_id": 7,
        "before": "warning",
        "after": "critical",
        "actor_mention": Mrkdwn("<@U0IC>"),
    },
    "incident_status.md.j2": {
        "incident_id": 7,
        "title": "WhatsApp down",
        "state": "acknowledged",
        "severity": "critical",
        "open_for": "12m",
        "roles": [Mrkdwn("Incident Commander: <@U0IC>")],
        "due": ["status update: due 03:27 CET"],
    },
    "war_room_topic.txt.j2": {
        "severity": "critical",
        "title": "WhatsApp down",
        "state": "triggered",
    },
    "announcement.md.j2": {
        "emoji": ":red_circle:",
        "severity": "critical",
        "incident_id": 7,
        "title": "WhatsApp down",
        "room_link": Mrkdwn("<#C123>"),
    },
    "checklist_heading.md.j2": {"incident_id": 7, "done": 1, "total": 5},
    "declare_reply.md.j2": {
        "room_link": Mrkdwn("<#C123>"),
        "incident_id": 7,
        "severity": "critical",
    },
    "incident_help.md.j2": {"usage_lines": ["/incident help"]},
    "statuspage_draft.txt.j2": {
        "status": "identified",
        "title": "WhatsApp messages not delivered",
        "resolution": "",
        "updates": ["Failover to the PORTAL channel is running."],
        "started_at": "2026-03-02 04:12 CET",
        "every": "15m",
    },
    "post_mortem.md.j2": {
        "incident_id": 7,
        "title": "WhatsApp messages not delivered",
        "severity": "critical",
        "priority": "P1",
        "started": "2026-03-02 04:12",
        "declared_by": "U0ONCALL",
        "resolved": "2026-03-02 04:40",
        "resolved_by": "U0IC",
        "mtta": "1m",
        "time_to_ic": "4m",
        "mttr": "28m",
        "goal": "30m",
        "resolution": "Failover to the PORTAL channel; WAHA session restarted",
        "affected": "whatsapp, whatsapp-outbound",
        "timezone": "Europe/Amsterdam",
        "timeline": [
            "04:12 critical incident declared (U0ONCALL)",
            "04:13 Acknowledged (U0ONCALL)",
        ],
        "timeline_cut": 0,
        "mitigations": ["04:20 Failover running (U0IC)"],
        "breaches": [],
    },
    "customer_email.txt.j2": {
        "status": "identified",
        "headline": "WhatsApp messages not delivered",
        "body": "We have identified the cause and are working on a fix.",
        "every": "15m",
    },
    "escalation_email.txt.j2": {
        "incident_id": 7,
        "severity": "critical",
        "title": "WhatsApp messages not delivered",
        "step_title": "the CTO/owner",
        "open_for": "2h 01m",
        "state": "acknowledged",
        "commander": "Iris (U0IC)",
        "room": "inc-20260302-whatsapp-down",
        "latest_update": "Failover to the PORTAL channel is running.",
    },
    "statuspage_draft_message.md.j2": {
        "version": 2,
        "incident_id": 7,
        "status": "identified",
        "impact": "critical",
        "components": "whatsapp: major_outage",
        "draft_name": "WhatsApp messages not delivered",
        "body_quote": Mrkdwn("> We have identified the cause."),
        "state": "approved",
        "actor_mention": Mrkdwn("<@U0IC>"),
        "published": False,
    },
    "export.md.j2": EXPORT_CONTEXT,
    "export.html.j2": EXPORT_CONTEXT,
}
