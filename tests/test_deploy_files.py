"""The deployment files keep their promises: checked as text, no Docker needed."""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.cli.serve import FLUSH_TIMEOUT, SHUTDOWN_TIMEOUT
from bot.web.app import LISTENER_DRAIN_SECONDS, STOP_GRACE_SECONDS

ROOT = Path(__file__).resolve().parents[1]
SECRET_NAME = re.compile(r"TOKEN|SECRET|PASSWORD|PASSWD|DATABASE_URL|_KEY\b", re.IGNORECASE)
INTERPOLATION = re.compile(r"^\$\{[A-Z][A-Z0-9_]*(:?[-?][^}]*)?\}$")
TOKEN_SHAPES = re.compile(r"xox[abposr]-|xapp-|-----BEGIN")


# --- docker-compose.yml -------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert isinstance(loaded, dict)
    return loaded


def _service(compose: dict[str, Any], name: str) -> dict[str, Any]:
    service = compose["services"][name]
    assert isinstance(service, dict)
    return service


def _env(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment", {})
    assert isinstance(env, dict), "write environment as a mapping"
    return {str(k): str(v) for k, v in env.items()}


def _seconds(duration: str) -> float:
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|s|m|h)", duration)
    assert parts and "".join(n + u for n, u in parts) == duration, duration
    return sum(float(n) * units[u] for n, u in parts)


def test_compose_has_the_three_services(compose: dict[str, Any]) -> None:
    assert set(compose["services"]) == {"db", "migrate", "warroom"}


def test_db_is_postgres_16_with_a_healthcheck_and_a_named_volume(compose: dict[str, Any]) -> None:
    db = _service(compose, "db")
    assert db["image"].startswith("postgres:16")
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])
    volume, _, target = db["volumes"][0].partition(":")
    assert target == "/var/lib/postgresql/data"
    assert volume in compose["volumes"], "the data lives in a named volume"


def test_migrate_runs_warroom_migrate_once_the_db_is_healthy(compose: dict[str, Any]) -> None:
    migrate = _service(compose, "migrate")
    assert migrate["command"] == ["migrate"]
    assert migrate["depends_on"]["db"]["condition"] == "service_healthy"
    assert migrate["restart"] == "no"  # the string, not YAML's boolean `no`


def test_warroom_starts_after_migrate_completed(compose: dict[str, Any]) -> None:
    warroom = _service(compose, "warroom")
    assert warroom["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert warroom["depends_on"]["db"]["condition"] == "service_healthy"
    assert warroom["command"][0] == "serve"
    assert any(str(port).endswith(":8080") for port in warroom["ports"])
    assert "replicas" in warroom["deploy"]


def test_migrate_and_serve_use_the_same_image_and_database(compose: dict[str, Any]) -> None:
    migrate, warroom = _service(compose, "migrate"), _service(compose, "warroom")
    assert migrate["image"] == warroom["image"]
    assert migrate.get("build") == warroom.get("build") == "."
    url = _env(warroom)["DATABASE_URL"]
    assert _env(migrate)["DATABASE_URL"] == url
    match = re.fullmatch(r"postgresql\+asyncpg://(\w+):(\$\{[^}]+\})@db:5432/(\w+)", url)
    assert match, url
    db_env = _env(_service(compose, "db"))
    assert match.group(1) == db_env["POSTGRES_USER"]
    assert match.group(3) == db_env["POSTGRES_DB"]
    password_var = re.match(r"\$\{(\w+)", match.group(2))
    assert password_var and password_var.group(1) == "POSTGRES_PASSWORD"


def test_no_literal_secret_in_compose(compose: dict[str, Any]) -> None:
    assert not TOKEN_SHAPES.search((ROOT / "docker-compose.yml").read_text())
    for name, service in compose["services"].items():
        for key, value in _env(service).items():
            if not SECRET_NAME.search(key):
                continue
            if key == "DATABASE_URL":
                password = re.search(r"://[^:/@]+:([^@]*)@", value)
                assert password and INTERPOLATION.match(password.group(1)), (name, key)
            else:
                assert INTERPOLATION.match(value), f"{name}: {key} must be a ${{VAR}}"


def test_slack_secrets_are_required_so_production_never_runs_the_sandbox(
    compose: dict[str, Any],
) -> None:
    env = _env(_service(compose, "warroom"))
    for key in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "WARROOM_ALERT_TOKEN"):
        assert env[key].startswith(f"${{{key}:?"), f"{key}: compose must refuse it unset"


def test_stop_grace_period_covers_the_graceful_shutdown(compose: dict[str, Any]) -> None:
    grace = _seconds(_service(compose, "warroom")["stop_grace_period"])
    worst = SHUTDOWN_TIMEOUT + LISTENER_DRAIN_SECONDS + FLUSH_TIMEOUT + STOP_GRACE_SECONDS
    assert grace >= worst + FLUSH_TIMEOUT


# --- Dockerfile ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Instruction:
    keyword: str
    args: str


def _instructions() -> list[Instruction]:
    """The Dockerfile's instructions, continuation lines joined, comments dropped."""
    text = (ROOT / "Dockerfile").read_text()
    logical: list[str] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        logical.append(pending + line)
        pending = ""
    assert not pending, "a continuation line runs off the end"
    result = []
    for line in logical:
        keyword, _, args = line.partition(" ")
        result.append(Instruction(keyword.upper(), args.strip()))
    return result


def _final_stage() -> list[Instruction]:
    instructions = _instructions()
    start = max(i for i, ins in enumerate(instructions) if ins.keyword == "FROM")
    return instructions[start:]


def _exec_form(args: str) -> list[str]:
    parsed = json.loads(args)
    assert isinstance(parsed, list) and all(isinstance(a, str) for a in parsed)
    return parsed


def test_image_is_python_slim() -> None:
    defaults = dict(ins.args.partition("=")[::2] for ins in _instructions() if ins.keyword == "ARG")
    image = re.sub(r"\$\{(\w+)\}", lambda m: defaults[m.group(1)], _final_stage()[0].args)
    assert re.fullmatch(r"python:3\.1[1-9]-slim(-\w+)?", image), image


def test_non_root_user_before_entrypoint_and_cmd() -> None:
    stage = _final_stage()
    keywords = [ins.keyword for ins in stage]
    users = [i for i, ins in enumerate(stage) if ins.keyword == "USER"]
    assert users, "the image must not run as root"
    user = stage[users[-1]].args.split(":")[0]
    assert user not in ("root", "0")
    assert users[-1] < keywords.index("ENTRYPOINT")
    assert users[-1] < keywords.index("CMD")
    # Nothing after the USER switches back.
    assert all(stage[i].args.split(":")[0] not in ("root", "0") for i in users)


def test_entrypoint_cmd_expose() -> None:
    stage = _final_stage()
    by_keyword = {ins.keyword: ins.args for ins in stage}
    assert _exec_form(by_keyword["ENTRYPOINT"]) == ["warroom"]
    assert _exec_form(by_keyword["CMD"]) == ["serve", "--host", "0.0.0.0"]
    assert "8080" in by_keyword["EXPOSE"].split()


def test_healthcheck_asks_healthz_with_python() -> None:
    (check,) = [ins.args for ins in _final_stage() if ins.keyword == "HEALTHCHECK"]
    options, _, command = check.partition("CMD ")
    argv = _exec_form(command)
    assert argv[:2] == ["python", "-c"]
    assert "http://127.0.0.1:8080/healthz" in argv[2]
    compile(argv[2], "HEALTHCHECK", "exec")  # valid Python
    assert "curl" not in check and "wget" not in check
    assert "--timeout=" in options


def test_no_remote_add_and_no_secret_in_the_image() -> None:
    text = (ROOT / "Dockerfile").read_text()
    assert not TOKEN_SHAPES.search(text)
    for ins in _instructions():
        assert not (ins.keyword == "ADD" and re.search(r"https?://", ins.args)), ins
        if ins.keyword in ("ENV", "ARG"):
            names = re.findall(r"([A-Za-z_][A-Za-z0-9_]*)=", ins.args) or [ins.args.split()[0]]
            assert not any(SECRET_NAME.search(n) for n in names), ins


def test_the_image_contains_every_package_pyproject_ships() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    includes = pyproject["tool"]["setuptools"]["packages"]["find"]["include"]
    copied = {
        ins.args.split()[0]
        for ins in _instructions()
        if ins.keyword == "COPY" and "--" not in ins.args
    }
    for pattern in includes:
        assert pattern.rstrip("*") in copied, f"the build stage does not COPY {pattern}"
    assert any("README.md" in ins.args for ins in _instructions() if ins.keyword == "COPY")


def test_dockerignore_keeps_secrets_and_junk_out() -> None:
    lines = (line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines())
    entries = {line for line in lines if line and not line.startswith("#")}
    for needed in (".git", ".venv", "*.db", ".env", ".pytest_cache", "**/__pycache__"):
        assert needed in entries, needed
    for kept in ("README.md", "pyproject.toml", "bot", "migrations"):
        assert kept not in entries, f"{kept} is needed to build the image"


# --- docs/deploy.md -----------------------------------------------------------------------


def test_deploy_doc_covers_the_essentials() -> None:
    text = (ROOT / "docs" / "deploy.md").read_text()
    for needed in (
        "/readyz",
        "/healthz",
        "warroom migrate",
        "docker compose run --rm migrate",
        "SKIP LOCKED",
        "SQLite is for one process",
        "pg_dump",
        "[Service]",
    ):
        assert needed in text, needed
    # The numbers it states are the code's.
    assert f"up to **{SHUTDOWN_TIMEOUT:g} s**" in text
    assert f"up to {FLUSH_TIMEOUT:g} s" in text
    assert f"up to {STOP_GRACE_SECONDS:g} s" in text
    assert f"up to {LISTENER_DRAIN_SECONDS:g} s (`LISTENER_DRAIN_SECONDS`" in text


def test_deploy_doc_links_resolve() -> None:
    doc = ROOT / "docs" / "deploy.md"
    text = doc.read_text()
    for target in re.findall(r"\]\(([^)#]+\.md)(?:#[^)]*)?\)", text):
        assert (doc.parent / target).resolve().is_file(), target
