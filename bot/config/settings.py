"""Typed, frozen settings. Defaults come from the seed runbooks (see warroom.example.yaml).

Secrets are not here as config keys: they come from the environment only (`Secrets`).
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from datetime import time, timedelta
from typing import Literal
from urllib.parse import parse_qsl, urlsplit

from bot.config.backends import BackendSettings
from bot.config.platform import (
    CampaignsSettings,
    CommandPermission,
    IntegrationsSettings,
    QueuesSettings,
    default_permissions,
)

Severity = Literal["critical", "warning", "info"]
SEVERITIES: tuple[Severity, ...] = ("critical", "warning", "info")
Via = Literal["dm", "mention", "usergroup", "channel"]


def _minutes(n: float) -> timedelta:
    return timedelta(minutes=n)


@dataclass(frozen=True)
class ServerSettings:
    host: str = "0.0.0.0"
    port: int = 8080
    # Where people and Slack reach this server; used for links and the sandbox.
    public_url: str = ""
    max_body_bytes: int = 1_048_576


@dataclass(frozen=True)
class Link:
    title: str = ""
    url: str = ""


ROOM_NAME_FIELDS = frozenset({"prefix", "date", "id", "slug", "severity"})


@dataclass(frozen=True)
class WarRoomSettings:
    # Channel name; {prefix}, {date} (YYYYMMDD in `timezone`), {id}, {slug}, {severity}.
    # Slack allows a-z 0-9 - _ and 80 characters; a taken name gets -2, -3, ...
    prefix: str = "inc"
    name_template: str = "{prefix}-{date}-{slug}"
    private: bool = False
    invite_users: tuple[str, ...] = ()
    invite_usergroups: tuple[str, ...] = ()
    bookmarks: tuple[Link, ...] = ()

    def __post_init__(self) -> None:
        unknown = set(re.findall(r"\{([^}]*)\}", self.name_template)) - ROOM_NAME_FIELDS
        if unknown:
            raise ValueError(
                f"name_template: unknown field {{{sorted(unknown)[0]}}} — use "
                + ", ".join(f"{{{f}}}" for f in sorted(ROOM_NAME_FIELDS))
            )


def default_slack_rates() -> dict[str, float]:
    return {
        "conversations.create": 20,
        "chat.postMessage": 60,
        "chat.update": 50,
        "conversations.invite": 50,
        "conversations.setTopic": 20,
        "pins.add": 20,
        "bookmarks.add": 20,
        "usergroups.users.list": 20,
        "conversations.list": 20,
    }


@dataclass(frozen=True)
class SlackSettings:
    # Observability playbook §5: criticals to #dr-war-room, alerts to #alerts-queues.
    announce_channel: str = "dr-war-room"
    alerts_channel: str = "alerts-queues"
    oncall_channel: str = "oncall-ops"
    war_room: WarRoomSettings = field(default_factory=WarRoomSettings)
    # Calls per minute the outbox allows itself per method (chat.postMessage: per channel),
    # below Slack's rate tiers; listed methods override the defaults, unlisted ones get 50.
    rate_per_minute: dict[str, float] = field(default_factory=default_slack_rates)

    def __post_init__(self) -> None:
        for method, rate in self.rate_per_minute.items():
            if rate <= 0:
                raise ValueError(f"rate_per_minute.{method}: {rate} — use a rate above 0")


@dataclass(frozen=True)
class NotifyTarget:
    users: tuple[str, ...] = ()
    usergroups: tuple[str, ...] = ()
    via: Via = "mention"


@dataclass(frozen=True)
class EscalationPolicy:
    """One severity's clock. A step set to None is off for that severity."""

    ack_within: timedelta | None = None
    ack_reminder_every: timedelta | None = None
    ic_within: timedelta | None = None
    update_every: timedelta | None = None
    team_lead_after: timedelta | None = None
    cto_after: timedelta | None = None
    product_owner_after: timedelta | None = None
    dr_plan_after: timedelta | None = None
    ticket_after: timedelta | None = None
    notify: dict[str, NotifyTarget] = field(default_factory=dict)


def default_escalation() -> dict[str, EscalationPolicy]:
    """Observability playbook §4-5 and the integration runbook's escalation path."""
    return {
        "critical": EscalationPolicy(
            ack_within=_minutes(2),
            ack_reminder_every=_minutes(2),
            ic_within=_minutes(10),
            update_every=_minutes(15),
            team_lead_after=_minutes(30),
            cto_after=_minutes(120),
            product_owner_after=_minutes(30),
            dr_plan_after=_minutes(10),
            ticket_after=timedelta(0),
        ),
        "warning": EscalationPolicy(
            ack_within=_minutes(5),
            ack_reminder_every=_minutes(5),
            update_every=_minutes(15),
            team_lead_after=_minutes(30),
            cto_after=_minutes(120),
            ticket_after=_minutes(15),
        ),
        "info": EscalationPolicy(),
    }


@dataclass(frozen=True)
class RoleSpec:
    title: str = ""
    description: str = ""
    duties: tuple[str, ...] = ()


def default_roles() -> dict[str, RoleSpec]:
    return {
        "commander": RoleSpec(
            "Incident Commander",
            "DR lead: owns the incident until it is resolved.",
            (
                "Decide, delegate and keep the timeline honest",
                "Post a status update at least every 15 minutes",
                "Approve status-page drafts",
            ),
        ),
        "comms": RoleSpec(
            "Communications Lead",
            "Tells customers and stakeholders what is going on.",
            ("Draft and publish status-page updates", "Answer support and stakeholders"),
        ),
        "ops": RoleSpec(
            "Ops Engineer",
            "Hands on keyboard: diagnoses and mitigates.",
            ("Follow the runbook", "Report findings with /incident note"),
        ),
    }


@dataclass(frozen=True)
class MaintenanceWindow:
    """Operational runbook: scheduled maintenance on Sundays 02:00-04:00 UTC."""

    weekday: Literal[
        "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"
    ] = "sunday"
    start: time = time(2, 0)
    end: time = time(4, 0)
    timezone: str = "UTC"


@dataclass(frozen=True)
class GrafanaHmacSettings:
    """Grafana webhook HMAC signatures; off while `secret` is empty.

    Write the secret as ${GRAFANA_WEBHOOK_SECRET} (secrets live in the environment only).
    """

    secret: str = field(default="", repr=False)
    header: str = "X-Grafana-Alerting-Signature"
    # Empty: Grafana signs the body alone. Set: it signs `<timestamp>:<body>` and the
    # timestamp must be within `max_age` of now.
    timestamp_header: str = ""
    max_age: timedelta = field(default_factory=lambda: _minutes(5))


@dataclass(frozen=True)
class AlertSettings:
    severity_label: str = "severity"
    # label value -> Warroom severity; anything unmapped counts as warning
    severity_map: dict[str, Severity] = field(
        default_factory=lambda: {
            "critical": "critical",
            "page": "critical",
            "p1": "critical",
            "error": "critical",
            "warning": "warning",
            "warn": "warning",
            "p2": "warning",
            "p3": "warning",
            "info": "info",
            "p4": "info",
            "none": "info",
        }
    )
    throttle: timedelta = field(default_factory=lambda: _minutes(2))
    # Playbook: several queues failing at once is one DR incident, not one per queue.
    group_queues: bool = True
    multi_queue_window: timedelta = field(default_factory=lambda: _minutes(5))
    # New alerts in a war room refresh one summary message at most this often.
    room_summary_debounce: timedelta = field(default_factory=lambda: timedelta(seconds=5))
    resolve_quiet_period: timedelta = field(default_factory=lambda: _minutes(10))
    warning_promote_after: timedelta = field(default_factory=lambda: _minutes(15))
    # Queue alerts and smoke tests say only "firing": like Alertmanager's resolve_timeout,
    # one not sent again within this counts as resolved.
    resolve_timeout: timedelta = field(default_factory=lambda: _minutes(5))
    grafana_hmac: GrafanaHmacSettings = field(default_factory=GrafanaHmacSettings)


@dataclass(frozen=True)
class TicketSettings:
    """The ticket webhook (observability playbook: `ALERT_JIRA_ENDPOINT`, project OPS);
    off while `url` is empty. Write it as ${ALERT_JIRA_ENDPOINT}: it may carry a secret."""

    url: str = field(default="", repr=False)
    project: str = "OPS"
    timeout: timedelta = field(default_factory=lambda: timedelta(seconds=10))
    # The resolution the ticket promises: created + this (the seeds' MTTR goal).
    expected_resolution: timedelta = field(default_factory=lambda: _minutes(30))

    def __post_init__(self) -> None:
        if self.url and not self.url.startswith(("http://", "https://")):
            raise ValueError("tickets.url must start with http:// or https://")

    def backend(self) -> BackendSettings:
        """The webhook as the backends port's `tickets` backend (TICKETS_BACKEND): `url`
        without its query (`query()` goes with each call) and `timeout`. One try per call
        and no waiting out a 429 in it: the outbox retries a ticket, after its Retry-After.
        A URL the port cannot take (user:password@ in it) leaves the backend unconfigured,
        so a ticket is refused with "check tickets.url" on its timeline."""
        unconfigured = BackendSettings(retries=0, max_retry_after=timedelta(0))
        try:
            base = urlsplit(self.url)._replace(query="", fragment="").geturl()
            return dataclasses.replace(unconfigured, base_url=base, timeout=self.timeout)
        except ValueError:
            return unconfigured

    def query(self) -> list[tuple[str, str]]:
        """The query of `url` (a token, say), sent with each ticket call."""
        return parse_qsl(urlsplit(self.url).query, keep_blank_values=True)


BACKEND_NAMES = ("integrations", "queues", "campaigns")
# The ticket webhook's backend, made from `tickets` (not from `backends`).
TICKETS_BACKEND = "tickets"
StatusValue = Literal["investigating", "identified", "monitoring", "resolved"]
ComponentStatus = Literal[
    "operational", "degraded_performance", "partial_outage", "major_outage", "under_maintenance"
]


def _default_impact() -> dict[str, str]:
    return {"critical": "critical", "warning": "minor", "info": "none"}


def _default_component_status() -> dict[str, ComponentStatus]:
    return {"critical": "major_outage", "warning": "partial_outage", "info": "degraded_performance"}


@dataclass(frozen=True)
class StatuspageSettings:
    """Status-page drafts in Atlassian Statuspage's incident fields. Publishing is on when
    `page_id` is set and `backends.<backend>` points at the Statuspage API (its `auth_env`
    holds "OAuth <api key>"); otherwise approved drafts are copy-ready text."""

    page_id: str = ""
    backend: str = "statuspage"
    # Alert labels whose values name affected components, looked up in `components`.
    component_labels: tuple[str, ...] = ("component", "integration", "queue")
    components: dict[str, str] = field(default_factory=dict)  # label value -> component id
    impact: dict[str, str] = field(default_factory=_default_impact)  # severity -> impact
    component_status: dict[str, ComponentStatus] = field(default_factory=_default_component_status)


def default_backends() -> dict[str, BackendSettings]:
    return {name: BackendSettings() for name in BACKEND_NAMES}


def default_checklist() -> tuple[str, ...]:
    """The integration runbook's post-mortem checklist and the playbook's post-alert steps."""
    return (
        "Timeline documented (the export is attached above)",
        "Logs collected into the incident file (/share/incidents/…)",
        "Root cause analysis done",
        "Customers told; the final status-page update published",
        "Tickets set to Resolved with the root cause",
        "Alerts quiet for at least 10 minutes",
        "Preventive measures identified, with owners and due dates",
        "Monitoring improved (new alerts where they were missing)",
        "Runbook updated with the lessons learned",
        "Post-mortem meeting scheduled",
    )


@dataclass(frozen=True)
class PostIncidentSettings:
    # At most 10 (one Slack checkbox group); ticked in the room after resolve.
    checklist: tuple[str, ...] = field(default_factory=default_checklist)
    # Archive the war room this long after resolve; None keeps it (the default).
    archive_after: timedelta | None = None

    def __post_init__(self) -> None:
        if not 1 <= len(self.checklist) <= 10:
            raise ValueError("checklist: list 1 to 10 items (Slack shows at most 10 checkboxes)")
        if any(not item.strip() or len(item) > 75 for item in self.checklist):
            raise ValueError("checklist: each item is 1 to 75 characters (a Slack checkbox)")


@dataclass(frozen=True)
class Settings:
    server: ServerSettings = field(default_factory=ServerSettings)
    slack: SlackSettings = field(default_factory=SlackSettings)
    timezone: str = "Europe/Amsterdam"
    # Integration runbook's P1-P4 next to Warroom's severities.
    priorities: dict[str, Severity] = field(
        default_factory=lambda: {"P1": "critical", "P2": "warning", "P3": "warning", "P4": "info"}
    )
    escalation: dict[str, EscalationPolicy] = field(default_factory=default_escalation)
    roles: dict[str, RoleSpec] = field(default_factory=default_roles)
    maintenance: tuple[MaintenanceWindow, ...] = (MaintenanceWindow(),)
    alerts: AlertSettings = field(default_factory=AlertSettings)
    tickets: TicketSettings = field(default_factory=TicketSettings)
    statuspage: StatuspageSettings = field(default_factory=StatuspageSettings)
    post_incident: PostIncidentSettings = field(default_factory=PostIncidentSettings)
    # The platform's APIs the operational commands call (none is called until configured).
    backends: dict[str, BackendSettings] = field(default_factory=default_backends)
    integrations: IntegrationsSettings = field(default_factory=IntegrationsSettings)
    queues: QueuesSettings = field(default_factory=QueuesSettings)
    campaigns: CampaignsSettings = field(default_factory=CampaignsSettings)
    # Who may run which command; mutating ones are denied until listed here.
    permissions: dict[str, CommandPermission] = field(default_factory=default_permissions)
    templates_dir: str | None = None
    # The team's own drill scenarios (*.yaml), besides the shipped ones; /incident drill lists both.
    drills_dir: str | None = None


@dataclass(frozen=True)
class Secrets:
    """Read from the environment only; never logged (repr hides the values)."""

    slack_bot_token: str | None = field(default=None, repr=False)
    slack_signing_secret: str | None = field(default=None, repr=False)
    slack_app_token: str | None = field(default=None, repr=False)
    alert_token: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class RuntimeConfig:
    """Everything `warroom serve` needs: the file's settings plus the environment's."""

    settings: Settings
    secrets: Secrets
    database_url: str
    slack_api_url: str
    config_path: str | None
    # No SLACK_BOT_TOKEN: run against the built-in Slack sandbox.
    sandbox: bool = False
    # Where this process reaches its own HTTP server (the embedded sandbox uses it).
    self_url: str = "http://127.0.0.1:8080"
