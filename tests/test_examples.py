"""The example configs in examples/: one per seed runbook, each passing `warroom check-config`.

Every example is checked as a user would check it: `warroom check-config --config FILE` run
from the repository root (a relative `templates_dir` is read from the config file's folder), with
the environment variables the file names set to dummy values. Spot checks compare the loaded
settings with the runbook, and the Dutch template overrides render with the same contexts as
the built-in templates.
"""

from __future__ import annotations

import re
from datetime import time, timedelta
from pathlib import Path

import jinja2
import jinja2.meta
import pytest

from bot.config.schema import ConfigError
from bot.config.settings import Settings
from bot.infra.button_words import builtin_labels, label_problems
from bot.infra.config_loader import load_config
from bot.infra.templates import BUILTIN_DIR, Templates
from tests.cli import run_cli
from tests.example_configs import EXAMPLES, dummy, env_for, env_names, raw_config
from tests.template_contexts import CONTEXTS

FILES = sorted(EXAMPLES.glob("*.yaml"))

# example -> (the seed runbook's title, as its header names it; Dutch template overrides?)
SEEDS = {
    "funeral-platform.yaml": ("Runbook: Integratie Down", True),
    "hotel-pms-automation.yaml": ('"Operational Runbook"', False),
    "dj-booking-queues.yaml": ("Observability & Alerting Playbook", True),
    "online-learning.yaml": ("Runbook: Arabisch Online Leren", True),
    "voucher-campaigns.yaml": ('"Incident Runbooks"', False),
}
# Words that only a Dutch text has (none is an English word).
DUTCH = frozenset(
    {
        "het",
        "een",
        "niet",
        "geen",
        "voor",
        "wordt",
        "bevestig",
        "bevestigd",
        "opgelost",
        "oorzaak",
        "storing",
        "statusupdate",
        "beste",
        "ingelicht",
        "geopend",
        "gewijzigd",
        "uitgenodigd",
        "leiding",
        "onderzoeken",
        "gevonden",
        "volgende",
        "begonnen",
        "groet",
        "uiterlijk",
        "excuses",
        "incidentkanaal",
        "nog",
    }
)


@pytest.fixture
def in_examples(monkeypatch: pytest.MonkeyPatch) -> None:
    """Load as `cd examples && warroom …` does: relative templates_dir from examples/."""
    monkeypatch.chdir(EXAMPLES)


def settings_of(name: str) -> Settings:
    path = EXAMPLES / name
    return load_config(str(path), env_for(path)).settings


def test_there_is_one_example_per_seed_runbook() -> None:
    assert [p.name for p in FILES] == sorted(SEEDS)
    for path in FILES:
        title, _ = SEEDS[path.name]
        header = path.read_text(encoding="utf-8").split("\nserver:", 1)[0]
        assert title in header and "seed 00" in header, path.name
    assert (EXAMPLES / "README.md").is_file()


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_check_config_passes(path: Path) -> None:
    result = run_cli("check-config", "--config", str(path), env=env_for(path))
    assert result.returncode == 0, result.stderr
    assert f"configuration OK ({path};" in result.stdout


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_a_missing_variable_fails_check_config_and_is_named(path: Path) -> None:
    names = env_names(path)
    assert names, f"{path.name} names no environment variable for its secrets"
    missing = names[0]
    env = {k: v for k, v in env_for(path).items() if k != missing}
    result = run_cli("check-config", "--config", str(path), env=env)
    assert result.returncode == 1
    assert missing in result.stderr and "is not set" in result.stderr, result.stderr


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_variable_is_needed(path: Path, in_examples: None) -> None:
    for missing in env_names(path):
        env = {k: v for k, v in env_for(path).items() if k != missing}
        with pytest.raises(ConfigError) as caught:
            load_config(str(path), env)
        assert any(missing in str(p) for p in caught.value.problems), missing


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_secrets_are_only_environment_references(path: Path) -> None:
    raw = raw_config(path)
    text = path.read_text(encoding="utf-8")
    assert not re.search(r"xox[bpa]-|xapp-|Bearer [A-Za-z0-9]|OAuth [A-Za-z0-9]", text)
    secret_like = [
        (raw.get("tickets") or {}).get("url", ""),
        ((raw.get("alerts") or {}).get("grafana_hmac") or {}).get("secret", ""),
    ]
    for value in secret_like:
        assert value == "" or re.fullmatch(r"\$\{[A-Z_][A-Z0-9_]*\}", value), value
    for name, backend in (raw.get("backends") or {}).items():
        assert backend["base_url"].startswith("https://"), name
        assert re.fullmatch(r"[A-Z][A-Z0-9_]*", backend["auth_env"]), name


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_integration_has_the_runbooks_fallback(path: Path, in_examples: None) -> None:
    settings = settings_of(path.name)
    assert settings.integrations.items
    for name, item in settings.integrations.items.items():
        assert len(item.fallback) > 20, name


def test_dj_booking_queues_follow_the_observability_playbook(in_examples: None) -> None:
    s = settings_of("dj-booking-queues.yaml")
    critical, warning = s.escalation["critical"], s.escalation["warning"]
    assert (critical.ack_within, critical.ic_within, critical.update_every) == (
        timedelta(minutes=2),
        timedelta(minutes=10),
        timedelta(minutes=15),
    )
    assert critical.dr_plan_after == timedelta(minutes=10)
    assert critical.product_owner_after == timedelta(minutes=30)
    assert critical.ticket_after == timedelta(0) and critical.cto_after is None
    assert warning.ack_within == timedelta(minutes=5)
    assert warning.ticket_after == timedelta(minutes=15) and warning.ic_within is None
    assert (s.slack.announce_channel, s.slack.alerts_channel, s.slack.oncall_channel) == (
        "dr-war-room",
        "alerts-queues",
        "oncall-ops",
    )
    t = s.queues.thresholds
    assert (t.warning_backlog, t.critical_backlog, t.dead_letter_warning) == (250, 1000, 1)
    assert (t.warning_retry_age, t.critical_retry_age) == (
        timedelta(minutes=1),
        timedelta(minutes=5),
    )
    assert s.queues.known == ("rentguy", "sevensa")
    assert s.queues.replay_path == "/integrations/{queue}/deadletter/replay"
    assert s.alerts.throttle == timedelta(minutes=2) and s.alerts.group_queues
    assert s.alerts.resolve_quiet_period == timedelta(minutes=10)
    assert s.tickets.url == dummy("ALERT_JIRA_ENDPOINT") and s.tickets.project == "OPS"
    assert s.alerts.grafana_hmac.secret == dummy("GRAFANA_WEBHOOK_SECRET")
    assert "QUEUE_REDIS_ENABLED=false" in s.integrations.items["redis"].fallback
    assert s.permissions["replay-deadletter"].usergroups
    assert s.maintenance == ()
    assert s.roles["commander"].title == "Incident Commander (DR-lead)"


def test_funeral_platform_follows_the_integration_runbook(in_examples: None) -> None:
    s = settings_of("funeral-platform.yaml")
    assert s.priorities == {"P1": "critical", "P2": "warning", "P3": "warning", "P4": "info"}
    for severity in ("critical", "warning"):
        policy = s.escalation[severity]
        assert policy.team_lead_after == timedelta(minutes=30), severity
        assert policy.cto_after == timedelta(hours=2), severity
    assert s.escalation["critical"].dr_plan_after is None
    items = s.integrations.items
    assert set(items) == {"mawaqit", "whatsapp", "insurer"}
    assert "mosque_availability" in items["mawaqit"].fallback
    assert (
        "PORTAL" in items["whatsapp"].fallback and "WHATSAPP_QUEUED" in items["whatsapp"].fallback
    )
    assert "API_PENDING" in items["insurer"].fallback and "MANUAL" in items["insurer"].fallback
    # Severity Levels: "P2 - High: Eén integratie down" — P2 is a warning.
    assert {item.severity for item in items.values()} == {s.priorities["P2"]}
    assert s.integrations.probe_every == timedelta(minutes=5)
    backend = s.backends["integrations"]
    assert (backend.retries, backend.breaker_failures, backend.breaker_open_for) == (
        3,
        3,
        timedelta(seconds=30),
    )
    assert set(s.backends) == {"integrations"}
    assert "Incident tijdlijn gedocumenteerd" in s.post_incident.checklist
    assert s.tickets.url == "" and s.permissions == {} and s.maintenance == ()
    assert s.timezone == "Europe/Amsterdam"


def test_hotel_pms_automation_follows_the_operational_runbook(in_examples: None) -> None:
    s = settings_of("hotel-pms-automation.yaml")
    assert s.escalation["critical"].ack_within == timedelta(minutes=5)
    assert s.escalation["warning"].ack_within == timedelta(minutes=5)
    [window] = s.maintenance
    assert (window.weekday, window.start, window.end, window.timezone) == (
        "sunday",
        time(2),
        time(4),
        "UTC",
    )
    items = s.integrations.items
    assert {"pms", "waha"} <= set(items)
    assert "manual sync" in items["pms"].fallback
    assert "QR" in items["waha"].fallback and "dead-letter" in items["waha"].fallback
    assert s.permissions["replay-deadletter"].usergroups
    assert s.statuspage.page_id == dummy("STATUSPAGE_PAGE_ID")
    assert s.queues.thresholds_for("inbound-events").critical_backlog == 1000
    assert s.queues.thresholds_for("whatsapp-outbound").critical_backlog == 500
    assert s.templates_dir is None


def test_online_learning_follows_its_p0_p2_response_times(in_examples: None) -> None:
    s = settings_of("online-learning.yaml")
    assert s.priorities == {"P0": "critical", "P1": "warning", "P2": "info"}
    assert s.escalation["critical"].ack_within == timedelta(minutes=5)
    assert s.escalation["warning"].ack_within == timedelta(minutes=30)
    info = s.escalation["info"]
    assert info.ack_within == timedelta(hours=2) and info.ticket_after == timedelta(0)
    assert s.alerts.severity_label == "level" and s.alerts.severity_map["fatal"] == "critical"
    assert s.alerts.warning_promote_after == timedelta(minutes=10)
    assert s.slack.alerts_channel == "db-alerts"
    assert s.tickets.url == dummy("ISSUE_TRACKER_WEBHOOK_URL")


def test_voucher_campaigns_follow_the_incident_runbooks(in_examples: None) -> None:
    s = settings_of("voucher-campaigns.yaml")
    assert s.escalation["critical"].ack_within == timedelta(minutes=5)
    assert s.escalation["warning"].team_lead_after == timedelta(minutes=15)
    assert s.alerts.warning_promote_after == timedelta(minutes=15)
    assert s.slack.announce_channel == "ops"
    preview = s.integrations.items["voucher-preview"]
    assert "Voucher previews unavailable; fallback to code view." in preview.fallback
    assert all(not item.health_path for item in s.integrations.items.values())
    assert s.integrations.aggregate_path == "/api/integrations/status"
    c = s.campaigns
    assert (c.stop_path, c.start_path, c.status_path) == (
        "/campaigns/{id}/stop",
        "/campaigns/{id}/start",
        "/campaigns/{id}/status",
    )
    assert c.accepts_id("3f2b8c1e-9d4a-4c7b-8e21-5a6f0b9c1d2e")
    assert not c.accepts_id("../admin")
    assert s.permissions["pause-campaign"].usergroups
    assert s.permissions["resume-campaign"].two_person
    assert "replay-deadletter" not in s.permissions


# --- template overrides ---------------------------------------------------------------------


def _override_dirs() -> list[tuple[str, Path]]:
    found = []
    for path in FILES:
        templates_dir = raw_config(path).get("templates_dir")
        if templates_dir:
            found.append((path.name, EXAMPLES / templates_dir))
    return found


OVERRIDES = [
    (example, file) for example, folder in _override_dirs() for file in sorted(folder.glob("*.j2"))
]


def test_the_dutch_runbooks_have_template_overrides() -> None:
    with_overrides = {example for example, _ in _override_dirs()}
    assert with_overrides == {name for name, (_, dutch) in SEEDS.items() if dutch}
    for example, folder in _override_dirs():
        assert folder.is_dir() and list(folder.glob("*.j2")), example
        # A misspelt file name would override nothing, silently.
        assert {f.name for f in folder.iterdir()} <= {*CONTEXTS, "labels.yaml"}, example


def test_the_dutch_rooms_word_every_button_in_dutch() -> None:
    """Where the team's rooms speak Dutch (funeral, DJ); online-learning keeps English
    rooms and translates only what students read."""
    english = Templates()
    rooms_in_dutch = {"funeral-platform.yaml", "dj-booking-queues.yaml"}
    for example, folder in _override_dirs():
        assert label_problems(str(folder)) == [], example
        if example not in rooms_in_dutch:
            assert not (folder / "labels.yaml").exists(), example
            continue
        dutch = Templates(str(folder))
        for key in builtin_labels():
            assert dutch.label(key) != english.label(key) or key == "take_command", (example, key)


def _variables(source: str) -> set[str]:
    return jinja2.meta.find_undeclared_variables(jinja2.Environment(autoescape=True).parse(source))


def _dutch_words(text: str) -> set[str]:
    return set(re.findall(r"[a-zë]+", text.lower())) & DUTCH


@pytest.mark.parametrize(("example", "file"), OVERRIDES, ids=lambda v: getattr(v, "name", v))
def test_an_override_takes_the_same_variables_and_renders_dutch(example: str, file: Path) -> None:
    builtin = (BUILTIN_DIR / file.name).read_text(encoding="utf-8")
    assert _variables(file.read_text(encoding="utf-8")) == _variables(builtin)
    context = CONTEXTS[file.name]
    text = Templates(str(file.parent)).render(file.name, **context)
    assert text and text != Templates().render(file.name, **context)
    assert _dutch_words(text), text


# Every branch of the overrides with control structure: each step, each status.
STATUSES = ["investigating", "identified", "monitoring", "resolved"]
BRANCHES = {
    "clock_step.md.j2": ("step", ["ack", "ic", "update", "dr_plan", "team_lead", "cto"]),
    "statuspage_draft.txt.j2": ("status", STATUSES),
    "customer_email.txt.j2": ("status", STATUSES),
}


@pytest.mark.parametrize(
    ("example", "file"),
    [(e, f) for e, f in OVERRIDES if f.name in BRANCHES],
    ids=lambda v: getattr(v, "name", v),
)
def test_every_branch_of_an_override_is_dutch(example: str, file: Path) -> None:
    key, values = BRANCHES[file.name]
    templates = Templates(str(file.parent))
    seen = set()
    for value in values:
        text = templates.render_plain(file.name, **{**CONTEXTS[file.name], key: value})
        assert _dutch_words(text), (value, text)
        seen.add(text)
    assert len(seen) == len(values)  # no branch fell through to another's text


def test_clock_step_names_the_escalation_step_in_dutch() -> None:
    folder = EXAMPLES / "dj-booking-queues" / "templates"
    context = {**CONTEXTS["clock_step.md.j2"], "step": "team_lead", "step_title": "the team lead"}
    text = Templates(str(folder)).render("clock_step.md.j2", **context)
    assert "de teamleider wordt ingelicht" in text and "the team lead" not in text
