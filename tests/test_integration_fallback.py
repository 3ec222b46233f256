"""An alert about a configured integration shows that integration's runbook fallback, and
the periodic probe raises its alert at the integration's configured severity."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.config.platform import IntegrationSettings, IntegrationsSettings
from bot.config.schema import Problem, build
from bot.core.alerts import NormalizedAlert
from bot.core.integration_fallback import (
    IntegrationFallback,
    alert_fallbacks,
    integration_fallback,
)
from bot.core.integration_health import Transition
from bot.infra.templates import Templates
from bot.operations.integration_probe import internal_alert, probe_tick
from bot.slack.alert_messages import GroupFacts, IncidentFacts, alert_post, war_room_intro
from bot.web.keys import SERVICES
from tests.cli import run_cli
from tests.db_reads import incidents
from tests.harness import eventually, running
from tests.ops_support import demo_backends, ops_settings

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
T0 = datetime(2026, 11, 23, 2, 12, tzinfo=UTC)
HOSTILE_FALLBACK = "<!channel> Switch chat to the PORTAL channel & queue as WHATSAPP_QUEUED"
ESCAPED_FALLBACK = (
    "Fallback: &lt;!channel&gt; Switch chat to the PORTAL channel &amp; queue as WHATSAPP_QUEUED"
)
ITEMS = {
    "whatsapp": IntegrationSettings(fallback="Switch chat to the PORTAL channel."),
    "Insurer": IntegrationSettings(fallback="Mark claims API_PENDING."),
    "pms": IntegrationSettings(),  # no fallback configured
}


def everything(message: Any) -> str:
    return message.text + json.dumps(message.blocks, ensure_ascii=False)


# --- the rule -------------------------------------------------------------------------


def test_the_integration_label_names_it() -> None:
    found = integration_fallback({"integration": "whatsapp", "service": "chat"}, ITEMS)
    assert found == IntegrationFallback("whatsapp", "Switch chat to the PORTAL channel.")


def test_then_the_component_label_as_pagerduty_sets_it() -> None:
    found = integration_fallback({"component": "insurer", "source": "claims-api"}, ITEMS)
    assert found == IntegrationFallback("Insurer", "Mark claims API_PENDING.")  # configured name


def test_the_integration_label_wins_over_the_component() -> None:
    labels = {"integration": "whatsapp", "component": "insurer"}
    assert integration_fallback(labels, ITEMS) == IntegrationFallback(
        "whatsapp", "Switch chat to the PORTAL channel."
    )
    # An integration label naming nothing configured leaves the component to decide.
    labels = {"integration": "crm", "component": "insurer"}
    assert integration_fallback(labels, ITEMS) == IntegrationFallback(
        "Insurer", "Mark claims API_PENDING."
    )


def test_case_and_spaces_do_not_matter() -> None:
    found = integration_fallback({"integration": " WhatsApp "}, ITEMS)
    assert found is not None and found.integration == "whatsapp"


@pytest.mark.parametrize(
    "labels",
    [
        {},
        {"integration": "crm"},  # not configured
        {"integration": "pms"},  # configured, no fallback
        {"service": "whatsapp", "job": "whatsapp", "queue": "whatsapp"},  # other labels: no
        {"alertname": "WhatsAppDown"},
    ],
)
def test_nothing_else_names_an_integration(labels: dict[str, str]) -> None:
    assert integration_fallback(labels, ITEMS) is None


def test_no_integrations_configured() -> None:
    assert integration_fallback({"integration": "whatsapp"}, {}) is None


def test_fallbacks_of_many_alerts_are_distinct_ordered_and_capped() -> None:
    items = {f"i{n}": IntegrationSettings(fallback=f"do {n}") for n in range(5)}
    pairs: list[tuple[dict[str, str], str]] = [
        ({"integration": "i2"}, ""),
        ({"integration": "i0"}, ""),
        ({"integration": "i2"}, "again"),
        ({"integration": "i1"}, ""),
        ({"integration": "i3"}, ""),
    ]
    found = alert_fallbacks(pairs, items)
    assert [f.integration for f in found] == ["i2", "i0", "i1"]
    assert len(alert_fallbacks(pairs, items, limit=10)) == 4


def test_a_fallback_the_description_already_shows_is_not_repeated() -> None:
    """The probe's own alerts begin their description with "Fallback: …"."""
    labels = {"integration": "whatsapp", "origin": "warroom-probe"}
    shown = "Fallback: Switch chat to the PORTAL channel.\nconnection reset"
    assert alert_fallbacks([(labels, shown)], ITEMS) == []
    assert alert_fallbacks([({"integration": "whatsapp"}, "other text")], ITEMS) == [
        IntegrationFallback("whatsapp", "Switch chat to the PORTAL channel.")
    ]


# --- the messages ---------------------------------------------------------------------


def alert(**changes: Any) -> NormalizedAlert:
    base = NormalizedAlert(
        source="alertmanager",
        fingerprint="f1",
        group_key="g1",
        status="firing",
        severity="warning",
        summary="WhatsApp webhooks failing",
        description="5 failed webhooks in 10 minutes",
        labels={"alertname": "WhatsAppWebhookFailures", "integration": "whatsapp"},
        links={},
        starts_at=T0,
        ends_at=None,
    )
    return replace(base, **changes)


INCIDENT = IncidentFacts(7, "WhatsApp webhooks failing", "critical", "open", None, T0)
GROUP = GroupFacts(3, "WhatsApp webhooks failing", "warning", "firing", T0)
HOSTILE_ITEMS = {"whatsapp": IntegrationSettings(fallback=HOSTILE_FALLBACK)}


def test_intro_and_post_show_the_fallback_escaped() -> None:
    templates = Templates()
    intro = war_room_intro(templates, INCIDENT, [alert()], AMSTERDAM, integrations=HOSTILE_ITEMS)
    post = alert_post(templates, GROUP, [alert()], AMSTERDAM, integrations=HOSTILE_ITEMS)
    for message in (intro, post):
        shown = everything(message)
        assert ESCAPED_FALLBACK in shown and "*whatsapp*" in shown
        assert "<!channel>" not in shown
    assert ESCAPED_FALLBACK in post.text  # the notification text too


def test_a_long_fallback_is_cut() -> None:
    items = {"whatsapp": IntegrationSettings(fallback="x" * 2000)}
    post = alert_post(Templates(), GROUP, [alert()], AMSTERDAM, integrations=items)
    assert "x" * 300 not in everything(post) and "x" * 250 in everything(post)


def test_no_fallback_line_without_a_named_integration() -> None:
    templates = Templates()
    other = alert(labels={"alertname": "QueueBacklog", "queue": "rentguy"})
    for integrations in (HOSTILE_ITEMS, None):
        post = alert_post(templates, GROUP, [other], AMSTERDAM, integrations=integrations)
        assert "Fallback:" not in everything(post)
    post = alert_post(templates, GROUP, [alert()], AMSTERDAM)  # no integrations given
    assert "Fallback:" not in everything(post)


def test_an_override_without_fallbacks_still_renders(tmp_path: Path) -> None:
    (tmp_path / "war_room_intro.md.j2").write_text("{{ emoji }} *{{ severity_label }}* intro\n")
    (tmp_path / "alert_post.md.j2").write_text("{{ emoji }} *{{ severity }}* · {{ title }}\n")
    templates = Templates(str(tmp_path))
    intro = war_room_intro(templates, INCIDENT, [alert()], AMSTERDAM, integrations=HOSTILE_ITEMS)
    post = alert_post(templates, GROUP, [alert()], AMSTERDAM, integrations=HOSTILE_ITEMS)
    assert "*CRITICAL* intro" in everything(intro) and "Fallback" not in everything(intro)
    assert "*warning* · WhatsApp" in post.text


# --- the per-integration severity -----------------------------------------------------


def test_severity_defaults_to_critical_and_builds_from_yaml() -> None:
    assert IntegrationSettings().severity == "critical"
    problems: list[Problem] = []
    raw = {"items": {"whatsapp": {"severity": "warning"}, "insurer": {}}}
    settings = build(IntegrationsSettings, raw, "integrations", problems)
    assert problems == []
    assert settings.items["whatsapp"].severity == "warning"
    assert settings.items["insurer"].severity == "critical"


def test_a_bad_severity_names_its_path_and_the_fix() -> None:
    problems: list[Problem] = []
    raw = {"items": {"whatsapp": {"severity": "P2"}}}
    build(IntegrationsSettings, raw, "integrations", problems)
    assert [str(p) for p in problems] == [
        'integrations.items.whatsapp.severity: "P2" is not allowed — use one of: '
        "critical, warning, info"
    ]


def test_check_config_reports_a_bad_severity(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("integrations:\n  items:\n    whatsapp: {severity: high}\n")
    failed = run_cli("check-config", "--config", str(bad))
    assert failed.returncode == 1
    assert (
        'integrations.items.whatsapp.severity: "high" is not allowed — use one of: '
        "critical, warning, info" in failed.stderr
    )


def test_the_probe_alert_takes_the_configured_severity() -> None:
    settings = IntegrationsSettings(
        items={"whatsapp": IntegrationSettings(fallback="Use PORTAL.", severity="warning")}
    )
    raised = internal_alert(Transition("whatsapp", "raise", 3, "boom"), settings, T0)
    resolved = internal_alert(Transition("whatsapp", "resolve", 3, None), settings, T0)
    assert (raised.severity, resolved.severity) == ("warning", "warning")
    assert raised.description.startswith("Fallback: Use PORTAL.")
    default = internal_alert(Transition("pms", "raise", 3, "boom"), IntegrationsSettings(), T0)
    assert default.severity == "critical"


# --- end to end -----------------------------------------------------------------------


def whatsapp_alert(severity: str) -> dict[str, Any]:
    labels = {"alertname": "WhatsAppWebhookFailures", "integration": "whatsapp"}
    return {
        "receiver": "warroom",
        "status": "firing",
        "alerts": [
            {
                "status": "firing",
                "labels": {**labels, "severity": severity},
                "annotations": {"summary": f"WhatsApp webhooks failing ({severity})"},
                "startsAt": "2026-11-23T02:12:00Z",
                "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": "",
                "fingerprint": f"whatsapp-{severity}",
            }
        ],
        "groupLabels": {"alertname": "WhatsAppWebhookFailures"},
        "commonLabels": labels,
        "version": "4",
        "groupKey": f"whatsapp-{severity}",
    }


async def test_an_alertmanager_alert_about_whatsapp_shows_its_fallback(database_url: str) -> None:
    integrations = IntegrationsSettings(
        items={"whatsapp": IntegrationSettings(fallback=HOSTILE_FALLBACK)}, probe_every=None
    )
    settings = replace(ops_settings("http://127.0.0.1:9"), integrations=integrations)
    async with running(database_url, settings=settings) as h:
        status, _ = await h.alert("alertmanager", whatsapp_alert("warning"))
        assert status == 202
        [post] = await eventually(lambda: h.bot_messages("alerts-queues") or None)
        shown = everything(post)
        assert "WhatsApp webhooks failing (warning)" in shown and ESCAPED_FALLBACK in shown
        assert "<!channel>" not in shown

        status, _ = await h.alert("alertmanager", whatsapp_alert("critical"))
        assert status == 202

        async def intro() -> Any:
            for incident in await incidents(database_url):
                room = h.ws.channels.get(incident.channel_id or "")
                if room is not None and room.pins:
                    return next(m for m in room.messages if m.ts == room.pins[0])
            return None

        shown = everything(await eventually(intro, within=20))
        assert "WhatsApp webhooks failing (critical)" in shown
        assert shown.count(ESCAPED_FALLBACK) == 1 and "<!channel>" not in shown


async def test_the_probe_raises_at_the_configured_severity(database_url: str) -> None:
    async with demo_backends() as backend:
        settings = ops_settings(backend.url)
        whatsapp = replace(settings.integrations.items["whatsapp"], severity="warning")
        integrations = replace(
            settings.integrations,
            probe_every=None,
            items={**settings.integrations.items, "whatsapp": whatsapp},
        )
        settings = replace(settings, integrations=integrations)
        async with running(database_url, settings=settings) as h:
            services = h.app[SERVICES]
            backend.state.set_switch("whatsapp", "down")
            for _ in range(2):
                assert await probe_tick(services) == []
            assert [(t.name, t.kind) for t in await probe_tick(services)] == [("whatsapp", "raise")]
            # A warning: posted in the alerts channel with Ack / Open war room, no room.
            [post] = await eventually(lambda: h.bot_messages("alerts-queues") or None)
            shown = everything(post)
            assert "*WARNING*" in shown and "Integration whatsapp is down" in shown
            assert "alert_open_room" in shown
            # The fallback once: the probe's description already carries it.
            assert shown.count("Fallback: Switch chat to the PORTAL channel") == 1
            assert [i for i in await incidents(database_url) if i.channel_id] == []
