"""The operational commands' settings: seed defaults, YAML-ish dicts, and their problems."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.config.platform import (
    CampaignsSettings,
    CommandPermission,
    IntegrationSettings,
    IntegrationsSettings,
    QueuesSettings,
    QueueThresholds,
)
from bot.config.schema import Problem, build


def test_defaults_come_from_the_seeds() -> None:
    queues = QueuesSettings()
    assert (queues.metrics_path, queues.replay_path) == (
        "/metrics/queues",
        "/integrations/{queue}/deadletter/replay",
    )
    assert queues.thresholds == QueueThresholds(
        250, 1000, timedelta(minutes=1), timedelta(minutes=5), 1
    )
    integrations = IntegrationsSettings()
    assert integrations.aggregate_path == "/api/integrations/status"
    assert list(integrations.items) == [
        "mawaqit",
        "whatsapp",
        "insurer",
        "pms",
        "waha",
        "voucher-preview",
    ]
    assert "PORTAL" in integrations.items["whatsapp"].fallback
    assert all(item.health_path == "" for item in integrations.items.values())
    assert (integrations.cache_for, integrations.probe_every, integrations.fail_after) == (
        timedelta(seconds=30),
        timedelta(minutes=1),
        3,
    )
    assert CampaignsSettings().stop_path == "/campaigns/{id}/stop"


def test_queue_settings_build_from_yaml() -> None:
    problems: list[Problem] = []
    raw = {
        "backend": "platform",
        "thresholds": {"warning_backlog": 400, "critical_retry_age": "10m"},
        "per_queue": {"whatsapp-outbound": {"warning_backlog": 50, "critical_backlog": 200}},
        "known": ["rentguy", "whatsapp-outbound"],
    }
    settings = build(QueuesSettings, raw, "queues", problems)
    assert problems == []
    assert settings.backend == "platform"
    assert settings.thresholds.warning_backlog == 400
    assert settings.thresholds.critical_retry_age == timedelta(minutes=10)
    assert settings.thresholds_for("whatsapp-outbound").critical_backlog == 200
    assert settings.thresholds_for("rentguy") == settings.thresholds
    assert settings.known == ("rentguy", "whatsapp-outbound")


def test_warning_above_critical_is_a_problem() -> None:
    problems: list[Problem] = []
    raw = {"thresholds": {"warning_backlog": 3000, "critical_backlog": 2000}}
    settings = build(QueuesSettings, raw, "queues", problems)
    assert [p.path for p in problems] == ["queues.thresholds"]
    assert "warning_backlog 3,000 is above critical_backlog 2,000" in problems[0].message
    assert settings.thresholds == QueueThresholds()  # the default stands in


def test_per_queue_retry_age_inverted_is_a_problem() -> None:
    problems: list[Problem] = []
    raw = {"per_queue": {"rentguy": {"warning_retry_age": "10m", "critical_retry_age": "2m"}}}
    build(QueuesSettings, raw, "queues", problems)
    assert [str(p) for p in problems] == [
        "queues.per_queue.rentguy: warning_retry_age 10m is above critical_retry_age 2m — "
        "the warning threshold must be at most the critical one"
    ]


def test_threshold_values_are_checked_directly_too() -> None:
    with pytest.raises(ValueError, match="warning_retry_age"):
        QueueThresholds(warning_retry_age=timedelta(minutes=9))
    with pytest.raises(ValueError, match="dead_letter_warning"):
        QueueThresholds(dead_letter_warning=0)
    with pytest.raises(ValueError, match="warning_backlog"):
        QueueThresholds(warning_backlog=-1)


def test_paths_need_their_placeholder() -> None:
    problems: list[Problem] = []
    build(QueuesSettings, {"replay_path": "/replay"}, "queues", problems)
    build(CampaignsSettings, {"stop_path": "/campaigns/{campaign}/stop"}, "campaigns", problems)
    assert [p.path for p in problems] == ["queues", "campaigns"]
    assert "{queue} is missing" in problems[0].message
    assert "unknown field {campaign}" in problems[1].message


def test_integration_settings_build_from_yaml() -> None:
    problems: list[Problem] = []
    raw = {
        "items": {
            "whatsapp": {"health_path": "/health/whatsapp", "timeout": "5s"},
            "crm": {"fallback": "Log calls by hand."},
        },
        "probe_every": None,
        "fail_after": 5,
    }
    settings = build(IntegrationsSettings, raw, "integrations", problems)
    assert problems == []
    # Listing items replaces the seed list: what is configured is what is checked.
    assert settings.items == {
        "whatsapp": IntegrationSettings("/health/whatsapp", "", timedelta(seconds=5)),
        "crm": IntegrationSettings(fallback="Log calls by hand."),
    }
    assert settings.probe_every is None and settings.fail_after == 5


def test_fail_after_below_one_is_a_problem() -> None:
    problems: list[Problem] = []
    build(IntegrationsSettings, {"fail_after": 0}, "integrations", problems)
    assert [str(p) for p in problems] == ["integrations: fail_after: 0 — use 1 or more checks"]


def test_campaign_ids_follow_the_pattern() -> None:
    campaigns = CampaignsSettings()
    assert campaigns.accepts_id("cmp-1001")
    assert not campaigns.accepts_id("../admin")
    assert not campaigns.accepts_id("cmp-1001\n")
    problems: list[Problem] = []
    build(CampaignsSettings, {"id_pattern": "(["}, "campaigns", problems)
    assert problems and "id_pattern: not a regular expression" in problems[0].message


def test_permissions_build_from_yaml() -> None:
    problems: list[Problem] = []
    rule = build(
        CommandPermission,
        {"users": ["U1"], "usergroups": ["S0ONCALL"], "two_person": True},
        "permissions.replay-deadletter",
        problems,
    )
    assert problems == []
    assert rule == CommandPermission(("U1",), ("S0ONCALL",), True)
    build(CommandPermission, {"users": ["U1"], "two_person": True}, "permissions.x", problems)
    assert [p.path for p in problems] == ["permissions.x"]
