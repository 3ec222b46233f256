"""Settings of the operational slash commands: queues, integrations, campaigns, permissions.

Paths are the seeds' defaults ("Backends called" in DESIGN.md): the observability playbook's
`GET /metrics/queues` and `POST /integrations/<queue>/deadletter/replay`, the incident
runbooks' `/api/integrations/status?force=true` and the campaign `stop` / `start` /
`status` endpoints. Each dataclass is built from YAML by `bot.config.schema.build`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Literal

from bot.config.durations import format_duration


def _placeholders(template: str) -> set[str]:
    return set(re.findall(r"\{([^}]*)\}", template))


def _require_placeholder(setting: str, template: str, name: str) -> None:
    found = _placeholders(template)
    if found != {name}:
        extra = sorted(found - {name})
        problem = f"unknown field {{{extra[0]}}}" if extra else f"{{{name}}} is missing"
        raise ValueError(f'{setting}: "{template}" — {problem}; write it like /x/{{{name}}}/y')


@dataclass(frozen=True)
class QueueThresholds:
    """When a queue is in warning or critical: the observability playbook's alert thresholds.

    The playbook names the knobs (ALERT_QUEUE_WARNING_BACKLOG / ..._CRITICAL_BACKLOG,
    ..._WARNING_RETRY_AGE_MS / ..._CRITICAL_RETRY_AGE_MS, ALERT_QUEUE_DEAD_LETTER_WARNING)
    but not their values. The defaults follow the alerts the seeds show: a backlog of
    420 is a warning and 1,240 is "critical > 1,000"; a retry age of 95 s is a warning and
    7 min is critical; any dead letter deserves a look. Reaching a threshold counts.
    """

    warning_backlog: int = 250
    critical_backlog: int = 1000
    warning_retry_age: timedelta = timedelta(minutes=1)
    critical_retry_age: timedelta = timedelta(minutes=5)
    # Dead letters never make a queue critical on their own, only a warning.
    dead_letter_warning: int = 1

    def __post_init__(self) -> None:
        for name in ("warning_backlog", "critical_backlog"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name}: {getattr(self, name)} — use 0 or more jobs")
        if self.dead_letter_warning < 1:
            raise ValueError(
                f"dead_letter_warning: {self.dead_letter_warning} — use 1 or more dead letters"
            )
        if self.warning_backlog > self.critical_backlog:
            raise ValueError(
                f"warning_backlog {self.warning_backlog:,} is above critical_backlog "
                f"{self.critical_backlog:,} — the warning threshold must be at most the "
                "critical one"
            )
        if self.warning_retry_age > self.critical_retry_age:
            raise ValueError(
                f"warning_retry_age {format_duration(self.warning_retry_age)} is above "
                f"critical_retry_age {format_duration(self.critical_retry_age)} — the warning "
                "threshold must be at most the critical one"
            )


@dataclass(frozen=True)
class QueuesSettings:
    backend: str = "queues"
    metrics_path: str = "/metrics/queues"
    replay_path: str = "/integrations/{queue}/deadletter/replay"
    thresholds: QueueThresholds = field(default_factory=QueueThresholds)
    # A queue listed here uses its own thresholds; fields it leaves out take the built-in
    # defaults above (not `thresholds`), so write every field that differs.
    per_queue: dict[str, QueueThresholds] = field(default_factory=dict)
    # Queue names offered to people (usage text, suggestions); empty: whatever the metrics list.
    known: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _require_placeholder("replay_path", self.replay_path, "queue")

    def thresholds_for(self, queue: str) -> QueueThresholds:
        return self.per_queue.get(queue, self.thresholds)


@dataclass(frozen=True)
class IntegrationSettings:
    # Empty: this integration's health comes from the aggregate status endpoint.
    health_path: str = ""
    # What people do meanwhile, shown next to a degraded or down integration.
    fallback: str = ""
    # None: the backend client's default timeout.
    timeout: timedelta | None = None
    # The severity of the probe's alert when this integration is down (a runbook may call
    # one integration down a warning and keep critical for a wider outage).
    severity: Literal["critical", "warning", "info"] = "critical"


def default_integrations() -> dict[str, IntegrationSettings]:
    """The integrations of the seed runbooks, with their fallbacks where a runbook gives one."""
    return {
        "mawaqit": IntegrationSettings(
            fallback="Mosques enter availability by hand (mosque_availability); "
            "serve cached prayer times."
        ),
        "whatsapp": IntegrationSettings(
            fallback="Switch chat to the PORTAL channel, show the WhatsApp banner, e-mail "
            "families; queue messages as WHATSAPP_QUEUED. Pause campaigns that send."
        ),
        "insurer": IntegrationSettings(
            fallback="Mark submitted claims API_PENDING; funeral directors download the PDF "
            "invoices and upload them to the insurer portal (source = MANUAL)."
        ),
        "pms": IntegrationSettings(
            fallback="Webhooks retry by themselves; use manual sync in the admin panel, "
            "notify tenants if it lasts, and check for data gaps after recovery."
        ),
        "waha": IntegrationSettings(
            fallback="Failed sends retry per the retry policy; restart the WAHA session or "
            "reconnect via QR, then check the dead-letter queue."
        ),
        "voucher-preview": IntegrationSettings(
            fallback='Tell support in #ops: "Voucher previews unavailable; fallback to code '
            'view." Make sure the Admin UI shows its degraded copy.'
        ),
    }


@dataclass(frozen=True)
class IntegrationsSettings:
    backend: str = "integrations"
    aggregate_path: str = "/api/integrations/status"
    items: dict[str, IntegrationSettings] = field(default_factory=default_integrations)
    # How long a status answer is reused; `/integration-status --force` skips it.
    cache_for: timedelta = timedelta(seconds=30)
    # The periodic probe; None turns it off.
    probe_every: timedelta | None = timedelta(minutes=1)
    # This many failed checks in a row raise an internal alert.
    fail_after: int = 3

    def __post_init__(self) -> None:
        if self.fail_after < 1:
            raise ValueError(f"fail_after: {self.fail_after} — use 1 or more checks")
        if self.probe_every is not None and self.probe_every <= timedelta(0):
            raise ValueError("probe_every: use a duration above 0, or null to turn it off")


@dataclass(frozen=True)
class CampaignsSettings:
    backend: str = "campaigns"
    stop_path: str = "/campaigns/{id}/stop"
    start_path: str = "/campaigns/{id}/start"
    status_path: str = "/campaigns/{id}/status"
    # Campaign ids people may type; anything else is refused before a backend is called.
    id_pattern: str = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"

    def __post_init__(self) -> None:
        for name in ("stop_path", "start_path", "status_path"):
            _require_placeholder(name, getattr(self, name), "id")
        try:
            re.compile(self.id_pattern)
        except re.error as exc:
            raise ValueError(f"id_pattern: not a regular expression ({exc})") from None

    def accepts_id(self, campaign_id: str) -> bool:
        return re.fullmatch(self.id_pattern, campaign_id) is not None


@dataclass(frozen=True)
class CommandPermission:
    """Who may run one slash command: Slack user IDs (U…) and user-group IDs (S…)."""

    users: tuple[str, ...] = ()
    usergroups: tuple[str, ...] = ()
    # A second listed person must approve each run.
    two_person: bool = False

    def __post_init__(self) -> None:
        if self.two_person and len(set(self.users)) < 2 and not self.usergroups:
            raise ValueError(
                "two_person: true needs at least two people to choose from — list another "
                "user or a usergroup"
            )


def default_permissions() -> dict[str, CommandPermission]:
    """Nothing configured: read-only commands are open, mutating ones are off."""
    return {}
