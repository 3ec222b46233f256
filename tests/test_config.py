"""Config: defaults from the seeds, the example file, every kind of problem, env handling."""

from __future__ import annotations

from datetime import time, timedelta
from pathlib import Path

import pytest

from bot.config.durations import DurationError, format_duration, parse_duration
from bot.config.schema import ConfigError
from bot.infra.config_loader import load_config, redact_url
from tests.cli import run_cli

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "warroom.example.yaml"


def problems_of(tmp_path: Path, text: str, env: dict[str, str] | None = None) -> list[str]:
    path = tmp_path / "warroom.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_config(str(path), env or {})
    return [str(p) for p in caught.value.problems]


def test_builtin_defaults_follow_the_seed_runbooks() -> None:
    runtime = load_config(None, {})
    s = runtime.settings
    critical, warning = s.escalation["critical"], s.escalation["warning"]
    assert critical.ack_within == timedelta(minutes=2) and warning.ack_within == timedelta(
        minutes=5
    )
    assert critical.ic_within == timedelta(minutes=10) and critical.update_every == timedelta(
        minutes=15
    )
    assert critical.team_lead_after == timedelta(minutes=30) and critical.cto_after == timedelta(
        hours=2
    )
    assert critical.dr_plan_after == timedelta(minutes=10) and warning.dr_plan_after is None
    assert critical.ticket_after == timedelta(0) and warning.ticket_after == timedelta(minutes=15)
    assert s.slack.announce_channel == "dr-war-room" and s.slack.alerts_channel == "alerts-queues"
    assert s.alerts.throttle == timedelta(minutes=2)
    [window] = s.maintenance
    assert (window.weekday, window.start, window.end, window.timezone) == (
        "sunday",
        time(2),
        time(4),
        "UTC",
    )
    assert runtime.database_url == "sqlite+aiosqlite:///./warroom.db"
    assert runtime.sandbox and runtime.config_path is None


def test_the_example_file_is_complete_and_equals_the_defaults() -> None:
    from_file = load_config(str(EXAMPLE), {}).settings
    defaults = load_config(None, {}).settings
    # The example only adds bookmarks; every other value documents a default.
    assert from_file.slack.war_room.bookmarks
    assert from_file.escalation == defaults.escalation | {
        "critical": from_file.escalation["critical"]
    }
    assert from_file.escalation["critical"].ack_within == defaults.escalation["critical"].ack_within
    assert from_file.roles == defaults.roles
    assert from_file.alerts == defaults.alerts
    assert from_file.maintenance == defaults.maintenance
    assert from_file.priorities == defaults.priorities
    for section in ("tickets", "backends", "integrations", "queues", "campaigns"):
        assert getattr(from_file, section) == getattr(defaults, section), section
    for section in ("permissions", "statuspage", "post_incident"):
        assert getattr(from_file, section) == getattr(defaults, section), section


def test_issue_example_message(tmp_path: Path) -> None:
    found = problems_of(tmp_path, 'escalation:\n  critical:\n    ack_within: "2 minutes"\n')
    assert found == ['escalation.critical.ack_within: "2 minutes" is not a duration — write 2m']


def test_every_problem_is_listed_at_once(tmp_path: Path) -> None:
    found = problems_of(
        tmp_path,
        "escalation:\n  critical:\n    ack_within: 2 minutes\n    ic_withn: 10m\n  urgent: {}\n"
        "timezone: Mars/Olympus\nslack:\n  announce_channel: DR War Room\n"
        "maintenance:\n  - {weekday: sundae, start: '25:00'}\nserver: {port: eighty}\n"
        "templates_dir: ${NOPE}\nalerts: [1, 2]\n",
    )
    expected = [
        "escalation.critical.ack_within:",
        "escalation.critical.ic_withn: unknown setting — did you mean `ic_within`?",
        "escalation.urgent: unknown severity",
        'timezone: "Mars/Olympus" is not a time zone',
        "slack.announce_channel:",
        'maintenance[0].weekday: "sundae" is not allowed',
        'maintenance[0].start: "25:00" is not a time of day',
        'server.port: "eighty" is not a whole number',
        "templates_dir: ${NOPE} is not set — export NOPE",
        "alerts: expected a mapping of settings, got a list",
    ]
    for prefix in expected:
        assert any(p.startswith(prefix) for p in found), (prefix, found)
    assert len(found) == len(expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("server: [", "not valid YAML"),
        ("- just\n- a list\n", "the file must be a mapping"),
        ("severity: high\n", "severity: unknown setting"),
        ("slack:\n  war_room:\n    prefix: INC\n", "slack.war_room.prefix"),
        ("slack:\n  war_room:\n    invite_users: U123\n", "expected a list"),
        ("escalation:\n  critical:\n    notify:\n      cto: {via: pigeon}\n", "not allowed"),
        ("alerts:\n  severity_map: {sev1: catastrophic}\n", '"catastrophic" is not allowed'),
        ("alerts:\n  throttle: true\n", "True is not a duration"),
        (
            "slack:\n  war_room:\n    name_template: 'inc-{day}-{slug}'\n",
            "slack.war_room: name_template: unknown field {day} — use {date}",
        ),
        ("slack:\n  rate_per_minute: {chat.update: fast}\n", "slack.rate_per_minute.chat.update"),
        ("alerts:\n  group_queues: sometimes\n", '"sometimes" is not true or false'),
        ("slack:\n  war_room:\n    private: yes please\n", "is not true or false"),
        ("templates_dir: /nonexistent/dir\n", "is not a directory"),
        (
            "backends:\n  queues: {base_url: 'http://q.example', auth_env: QUEUES_TOKEN}\n",
            "backends.queues.auth_env: environment variable QUEUES_TOKEN is not set",
        ),
        ("backends:\n  queues: {base_url: 'ftp://q.example'}\n", "backends.queues"),
        ("queues:\n  thresholds: {warning_backlog: 5000}\n", "queues.thresholds"),
        ("permissions:\n  pause-campaign: {users: U1}\n", "expected a list"),
    ],
)
def test_each_bad_value_names_its_path(tmp_path: Path, text: str, expected: str) -> None:
    found = problems_of(tmp_path, text)
    assert any(expected in p for p in found), found


def test_yaml_syntax_error_gives_the_line(tmp_path: Path) -> None:
    [problem] = problems_of(tmp_path, "server:\n  port: 8080\n  host: [unclosed\n")
    assert "warroom.yaml:" in problem and "not valid YAML" in problem


def test_env_interpolation(tmp_path: Path) -> None:
    path = tmp_path / "warroom.yaml"
    path.write_text(
        "timezone: ${TZ_NAME}\nslack:\n  announce_channel: ${DR_CHANNEL:-dr-war-room}\n"
        "server:\n  public_url: https://${HOST}:8443\n"
    )
    runtime = load_config(str(path), {"TZ_NAME": "UTC", "HOST": "warroom.example.com"})
    assert runtime.settings.timezone == "UTC"
    assert runtime.settings.slack.announce_channel == "dr-war-room"
    assert runtime.settings.server.public_url == "https://warroom.example.com:8443"


def test_config_path_resolution(tmp_path: Path) -> None:
    path = tmp_path / "elsewhere.yaml"
    path.write_text("timezone: UTC\n")
    assert load_config(None, {"WARROOM_CONFIG": str(path)}).settings.timezone == "UTC"
    with pytest.raises(ConfigError) as caught:
        load_config(None, {"WARROOM_CONFIG": str(tmp_path / "missing.yaml")})
    assert "file not found" in str(caught.value)


def test_environment_problems() -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(
            None,
            {
                "SLACK_BOT_TOKEN": "not-a-token",
                "SLACK_APP_TOKEN": "xoxb-wrong-kind",
                "DATABASE_URL": "postgresql://warroom:hunter2@db/warroom",
                "SLACK_API_URL": "ftp://slack",
            },
        )
    text = str(caught.value)
    assert "env SLACK_BOT_TOKEN: is not a bot token" in text
    assert "env SLACK_APP_TOKEN: is not an app-level token" in text
    assert "env WARROOM_ALERT_TOKEN: is not set" in text
    assert "write it as postgresql+asyncpg://warroom:***@db/warroom" in text
    assert "hunter2" not in text
    assert "env SLACK_API_URL" in text


def test_production_environment_is_accepted() -> None:
    runtime = load_config(
        None,
        {
            "SLACK_BOT_TOKEN": "xoxb-1-2-abc",
            "SLACK_SIGNING_SECRET": "s3cr3t",
            "WARROOM_ALERT_TOKEN": "alert-token",
            "DATABASE_URL": "postgresql+asyncpg://warroom@db/warroom",
            "SLACK_API_URL": "http://127.0.0.1:9999/api",
        },
    )
    assert not runtime.sandbox
    assert runtime.slack_api_url == "http://127.0.0.1:9999/api/"
    assert "xoxb-1-2-abc" not in repr(runtime)


def test_durations() -> None:
    assert parse_duration("2m") == timedelta(minutes=2)
    assert parse_duration("1h30m") == timedelta(minutes=90)
    assert parse_duration("1d") == timedelta(days=1)
    assert parse_duration(" 45S ") == timedelta(seconds=45)
    assert parse_duration(0) == parse_duration("0") == timedelta(0)
    assert parse_duration(90) == timedelta(seconds=90)
    assert format_duration(timedelta(seconds=5430)) == "1h30m30s"
    for bad, suggestion in (
        ("2 minutes", "2m"),
        ("1 hour 30 mins", "1h30m"),
        ("soon", None),
        ("", None),
        ("-5m", None),
        ("2m3h", "3h2m"),
        ("2m 2m", None),
    ):
        with pytest.raises(DurationError) as caught:
            parse_duration(bad)
        assert caught.value.suggestion == suggestion, bad
    for bad_type in (True, 1.5, None, [1], -3):
        with pytest.raises(DurationError):
            parse_duration(bad_type)


def test_redact_url() -> None:
    assert redact_url("postgresql+asyncpg://u:pw@h/db") == "postgresql+asyncpg://u:***@h/db"
    assert redact_url("postgresql+asyncpg://u@h/db") == "postgresql+asyncpg://u@h/db"
    assert redact_url("sqlite+aiosqlite:///./warroom.db") == "sqlite+aiosqlite:///./warroom.db"


def test_check_config_command(tmp_path: Path) -> None:
    ok = run_cli("check-config", "--config", str(EXAMPLE))
    assert ok.returncode == 0, ok.stderr
    assert "configuration OK" in ok.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text('escalation:\n  critical:\n    ack_within: "2 minutes"\ntimezone: Nowhere\n')
    failed = run_cli("check-config", "--config", str(bad))
    assert failed.returncode == 1
    assert "2 problem(s)" in failed.stderr
    assert (
        'escalation.critical.ack_within: "2 minutes" is not a duration — write 2m' in failed.stderr
    )
    assert "timezone:" in failed.stderr
    with_env = run_cli("check-config", env={"WARROOM_CONFIG": str(bad)})
    assert with_env.returncode == 1


def test_a_relative_templates_dir_is_read_from_the_config_files_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    team = tmp_path / "team"
    (team / "tpl").mkdir(parents=True)
    config = team / "warroom.yaml"
    config.write_text("templates_dir: tpl\n")
    monkeypatch.chdir(tmp_path)  # started from elsewhere
    settings = load_config(str(config), {}).settings
    assert settings.templates_dir == str(team / "tpl")
    (team / "abs.yaml").write_text(f"templates_dir: {team / 'tpl'}\n")
    assert load_config(str(team / "abs.yaml"), {}).settings.templates_dir == str(team / "tpl")
    (team / "missing.yaml").write_text("templates_dir: nowhere\n")
    with pytest.raises(ConfigError) as caught:
        load_config(str(team / "missing.yaml"), {})
    assert "is not a directory" in str(caught.value)
