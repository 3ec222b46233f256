"""Read the YAML file and the environment once, into a RuntimeConfig, or every problem."""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from bot.config.schema import ConfigError, Problem, build
from bot.config.settings import SEVERITIES, RuntimeConfig, Secrets, Settings
from bot.infra.button_words import label_problems

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./warroom.db"
DEFAULT_SLACK_API_URL = "https://slack.com/api/"
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_SLACK_NAME = re.compile(r"^[a-z0-9_-]{1,80}$")


def resolve_config_path(explicit: str | None, env: Mapping[str, str]) -> str | None:
    """`--config`, else WARROOM_CONFIG, else ./warroom.yaml when present, else built-ins."""
    if explicit:
        return explicit
    if env.get("WARROOM_CONFIG"):
        return env["WARROOM_CONFIG"]
    return "warroom.yaml" if Path("warroom.yaml").is_file() else None


def unset_outside_variables(explicit_path: str | None, env: Mapping[str, str]) -> list[str]:
    """The variables the config needs but `env` lacks: every `${NAME}` without a default and
    every backend's `auth_env`. A drill sends nothing outside, so it may run without them."""
    path = resolve_config_path(explicit_path, env)
    raw = _read_yaml(path, []) if path else {}
    names: set[str] = set()

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)
        elif isinstance(value, str):
            names.update(m.group(1) for m in _ENV_REF.finditer(value) if m.group(2) is None)

    try:
        walk(raw)
    except RecursionError:  # an alias inside itself: load_config reports it
        return []
    backends = raw.get("backends") if isinstance(raw, dict) else None
    for backend in (backends or {}).values() if isinstance(backends, dict) else ():
        if isinstance(backend, dict) and isinstance(backend.get("auth_env"), str):
            names.add(backend["auth_env"])
    return sorted(name for name in names if name and name not in env)


def load_config(
    explicit_path: str | None = None, env: Mapping[str, str] | None = None
) -> RuntimeConfig:
    """Load and validate everything; raise ConfigError listing every problem."""
    env = os.environ if env is None else env
    problems: list[Problem] = []
    path = resolve_config_path(explicit_path, env)
    raw = _read_yaml(path, problems) if path else {}
    problems.extend(_check_literal_secret(raw))
    try:
        raw = _interpolate(raw, "", env, problems)
    except RecursionError:  # an alias inside itself (`a: &x [*x]`) never ends
        problems.append(Problem(path or "", "a YAML alias refers to itself — remove the loop"))
        raw = {}
    settings = _anchored(build(Settings, raw, "", problems), path)
    problems.extend(_check_settings(settings))
    problems.extend(_check_backend_env(settings, env))
    secrets = Secrets(
        slack_bot_token=env.get("SLACK_BOT_TOKEN") or None,
        slack_signing_secret=env.get("SLACK_SIGNING_SECRET") or None,
        slack_app_token=env.get("SLACK_APP_TOKEN") or None,
        alert_token=env.get("WARROOM_ALERT_TOKEN") or None,
    )
    problems.extend(_check_secrets(secrets))
    database_url = env.get("DATABASE_URL") or DEFAULT_DATABASE_URL
    problems.extend(_check_database_url(database_url))
    slack_api_url = env.get("SLACK_API_URL") or DEFAULT_SLACK_API_URL
    if not slack_api_url.startswith(("http://", "https://")):
        problems.append(Problem("env SLACK_API_URL", f'"{slack_api_url}" is not an http(s) URL'))
    if problems:
        raise ConfigError(problems)
    return RuntimeConfig(
        settings=settings,
        secrets=secrets,
        database_url=database_url,
        slack_api_url=slack_api_url if slack_api_url.endswith("/") else slack_api_url + "/",
        config_path=path,
        sandbox=not secrets.slack_bot_token,
    )


def _read_yaml(path: str, problems: list[Problem]) -> Any:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        problems.append(Problem(path, "file not found — check the path, or unset WARROOM_CONFIG"))
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(Problem(path, f"cannot read the file ({exc})"))
        return {}
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else path
        reason = getattr(exc, "problem", None) or str(exc)
        problems.append(Problem(where, f"not valid YAML: {reason} — fix the syntax there"))
        return {}
    except ValueError as exc:  # e.g. a date like 2026-02-30, a number of 4,301+ digits
        problems.append(Problem(path, f"a value cannot be read ({exc}) — put it in quotes"))
        return {}
    except RecursionError:
        problems.append(Problem(path, "nested too deeply — flatten the structure"))
        return {}
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        problems.append(Problem(path, "the file must be a mapping of settings (key: value)"))
        return {}
    return raw


def _check_literal_secret(raw: Any) -> list[Problem]:
    """`alerts.grafana_hmac.secret` must come from the environment, written as ${NAME}."""
    alerts = raw.get("alerts") if isinstance(raw, dict) else None
    signing = alerts.get("grafana_hmac") if isinstance(alerts, dict) else None
    secret = signing.get("secret") if isinstance(signing, dict) else None
    if not isinstance(secret, str) or not secret or "${" in secret:
        return []
    return [
        Problem(
            "alerts.grafana_hmac.secret",
            "is written in the file — secrets live in the environment only: "
            "write ${GRAFANA_WEBHOOK_SECRET} and export GRAFANA_WEBHOOK_SECRET",
        )
    ]


def _interpolate(value: Any, path: str, env: Mapping[str, str], problems: list[Problem]) -> Any:
    """Replace `${NAME}` / `${NAME:-default}` in string values with environment values."""
    if isinstance(value, dict):
        return {
            k: _interpolate(v, f"{path}.{k}" if path else str(k), env, problems)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_interpolate(v, f"{path}[{i}]", env, problems) for i, v in enumerate(value)]
    if not isinstance(value, str) or "${" not in value:
        return value

    def substitute(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name in env:
            return env[name]
        if default is not None:
            return default
        problems.append(
            Problem(path, f"${{{name}}} is not set — export {name}, or write ${{{name}:-default}}")
        )
        return ""

    return _ENV_REF.sub(substitute, value)


def _check_settings(settings: Settings) -> list[Problem]:
    problems = [
        *_check_zone("timezone", settings.timezone),
        *(
            problem
            for i, window in enumerate(settings.maintenance)
            for problem in _check_zone(f"maintenance[{i}].timezone", window.timezone)
        ),
    ]
    for severity in settings.escalation:
        if severity not in SEVERITIES:
            problems.append(
                Problem(f"escalation.{severity}", f"unknown severity — use {', '.join(SEVERITIES)}")
            )
    for key in ("announce_channel", "alerts_channel", "oncall_channel"):
        name = getattr(settings.slack, key).lstrip("#")
        if not _SLACK_NAME.match(name):
            problems.append(
                Problem(
                    f"slack.{key}",
                    f'"{name}" is not a Slack channel name — lowercase letters, digits, - and _',
                )
            )
    prefix = settings.slack.war_room.prefix
    if not _SLACK_NAME.match(prefix) or len(prefix) > 20:
        problems.append(
            Problem(
                "slack.war_room.prefix",
                f'"{prefix}" must be 1-20 lowercase letters, digits, - or _ (e.g. inc)',
            )
        )
    for name in ("templates_dir", "drills_dir"):
        folder = getattr(settings, name)
        if folder and not Path(folder).is_dir():
            problems.append(Problem(name, f'"{folder}" is not a directory — create it'))
    problems += [Problem(where, what) for where, what in label_problems(settings.templates_dir)]
    return problems


def _anchored(settings: Settings, path: str | None) -> Settings:
    """A relative `templates_dir` or `drills_dir` is read from the config file's folder,
    wherever Warroom is started from."""
    if not path:
        return settings
    base = os.path.dirname(os.path.abspath(path))

    def anchor(folder: str | None) -> str | None:
        return os.path.join(base, folder) if folder and not os.path.isabs(folder) else folder

    return dataclasses.replace(
        settings,
        templates_dir=anchor(settings.templates_dir),
        drills_dir=anchor(settings.drills_dir),
    )


def _check_backend_env(settings: Settings, env: Mapping[str, str]) -> list[Problem]:
    """A backend's credentials come from the environment; say which variable is missing."""
    return [
        Problem(
            f"backends.{name}.auth_env",
            f"environment variable {backend.auth_env} is not set — export it "
            f"(its value is sent as the {backend.auth_header} header)",
        )
        for name, backend in settings.backends.items()
        if backend.base_url and backend.auth_env and not env.get(backend.auth_env)
    ]


def _check_zone(path: str, zone: str) -> list[Problem]:
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        return [
            Problem(path, f'"{zone}" is not a time zone — use an IANA name like Europe/Amsterdam')
        ]
    return []


def _check_secrets(secrets: Secrets) -> list[Problem]:
    problems = []
    if secrets.slack_bot_token:
        if not secrets.slack_bot_token.startswith("xoxb-"):
            problems.append(
                Problem("env SLACK_BOT_TOKEN", "is not a bot token — it starts with xoxb-")
            )
        if not secrets.slack_signing_secret and not secrets.slack_app_token:
            problems.append(
                Problem(
                    "env SLACK_SIGNING_SECRET",
                    "is not set — copy it from your Slack app's Basic Information page "
                    "(or set SLACK_APP_TOKEN for Socket Mode)",
                )
            )
        if not secrets.alert_token:
            problems.append(
                Problem(
                    "env WARROOM_ALERT_TOKEN",
                    "is not set — alert intake would refuse every alert; set a long random value",
                )
            )
    if secrets.slack_app_token and not secrets.slack_app_token.startswith("xapp-"):
        problems.append(
            Problem("env SLACK_APP_TOKEN", "is not an app-level token — it starts with xapp-")
        )
    return problems


def redact_url(url: str) -> str:
    """The URL with any password replaced, fit for a log line or an error."""
    return re.sub(r"(://[^/:@]*:)[^@/]*@", r"\1***@", url)


def _check_database_url(url: str) -> list[Problem]:
    if url.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
        return []
    fix = "use sqlite+aiosqlite:///./warroom.db or postgresql+asyncpg://user@host/db"
    rest = redact_url(url).split("://", 1)[-1]
    if url.startswith(("postgres://", "postgresql://", "postgresql+psycopg")):
        fix = "write it as postgresql+asyncpg://" + rest
    elif url.startswith("sqlite://"):
        fix = "write it as sqlite+aiosqlite://" + rest
    return [Problem("env DATABASE_URL", f"unsupported driver — {fix}")]
