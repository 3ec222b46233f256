"""Fuzzing: whatever arrives, the answer is a result or a clear error — never a crash, never a
5xx, never a traceback.

Pure parts run under hypothesis: the alert parsers (with the hostile values that
tests/test_alert_parsing.py's own property tests do not reach: huge strings, control
characters, lone surrogates, odd keys, deep nesting, out-of-range numbers), every slash
command's `parse`, and the config loader. The HTTP level uses a seeded mutator over real
payloads (a fixed, reproducible list per run) against one running bot per dialect: the three
alert intakes, and signed slash commands, `block_actions`, `view_submission` and events with
garbage fields on /slack/events.
"""

from __future__ import annotations

import copy
import json
import math
import os
import random
import re
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.config.schema import ConfigError
from bot.config.settings import SEVERITIES, AlertSettings, RuntimeConfig, Settings
from bot.core.alerts import (
    AlertPayloadError,
    NormalizedAlert,
    parse_alertmanager,
    parse_generic,
    parse_grafana,
)
from bot.infra.config_loader import load_config
from bot.sandbox.slack_requests import FORM, JSON_CONTENT
from commands.base import UsageError
from commands.campaign_switch import CampaignArgs
from commands.integration_status import IntegrationStatusArgs
from commands.queue_status import QueueStatusArgs
from commands.registry import build_registry
from commands.replay_deadletter import ReplayArgs
from tests.harness import ALERT_TOKEN, Harness, eventually, running
from tests.payloads import FIRING, GRAFANA, PAGERDUTY, QUEUE, RESOLVED, SMOKE
from tests.settling import settled

ALERT_SETTINGS = AlertSettings()
NOW = datetime(2026, 11, 22, 13, 5, 0, tzinfo=UTC)
SAMPLES: list[tuple[str, dict[str, Any]]] = [
    ("alertmanager", FIRING),
    ("alertmanager", RESOLVED),
    ("grafana", GRAFANA),
    ("generic", QUEUE),
    ("generic", SMOKE),
    ("generic", PAGERDUTY),
]
PARSERS: dict[str, Callable[[object], list[NormalizedAlert]]] = {
    "alertmanager": lambda body: parse_alertmanager(body, ALERT_SETTINGS),
    "grafana": lambda body: parse_grafana(body, ALERT_SETTINGS),
    "generic": lambda body: parse_generic(body, ALERT_SETTINGS, NOW),
}
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
KEY_COLUMN = 255  # fingerprints and group keys are stored in VARCHAR(255)


# --- hostile values -------------------------------------------------------------------


def nested(depth: int, as_object: bool) -> object:
    value: object = "leaf"
    for _ in range(depth):
        value = {"a": value} if as_object else [value]
    return value


LONG_TEXT = st.builds(
    lambda piece, times: piece * times,
    st.text(min_size=1, max_size=3),
    st.integers(min_value=1400, max_value=3000),
)
CONTROL = st.text(st.characters(max_codepoint=0x1F), min_size=1, max_size=8)
SURROGATES = st.text(st.characters(categories=["Cs"]), min_size=1, max_size=3)
SPECIAL = st.sampled_from(
    [
        "<!channel>",
        "<!here> <@U123> <https://evil.example|click> @everyone &amp;",
        "\u202egnp.exe",
        "\ufeff",
        "\U0001d518\U0001d52b\U0001d526",  # fraktur letters
        "0001-01-01T00:00:00Z",
        "9999-12-31T23:59:59.999999999-23:59",
        "10000-01-01T00:00:00Z",
        "2026-02-29T00:00:00Z",
        "firing",
        "resolved",
        "critical",
        "4",
        "1",
        "trigger",
        "resolve",
        "smoke",
        "javascript:alert(1)",
        "https://evil.example/a>b|c",
        "http://[::1",
        "../../etc/passwd",
        "%2e%2e%2f",
        "",
        " ",
    ]
)
HOSTILE_TEXT = st.one_of(LONG_TEXT, CONTROL, SURROGATES, SPECIAL, st.text(max_size=30))
HOSTILE_NUMBER = st.sampled_from(
    [2**63 - 1, 2**63, -(2**63) - 1, 10**40, -1, 0.5, -0.0, 1e308, math.inf, -math.inf, math.nan]
)
DEEP = st.builds(nested, st.integers(min_value=28, max_value=70), st.booleans())
HOSTILE_VALUE = st.one_of(
    HOSTILE_TEXT,
    HOSTILE_NUMBER,
    DEEP,
    st.none(),
    st.booleans(),
    st.just([]),
    st.just({}),
    st.lists(HOSTILE_TEXT, max_size=3),
    st.dictionaries(HOSTILE_TEXT, HOSTILE_TEXT, max_size=3),
)


def _paths(value: object, prefix: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, inner in value.items():
            found += _paths(inner, (*prefix, key))
    elif isinstance(value, list):
        for i, inner in enumerate(value):
            found += _paths(inner, (*prefix, i))
    return found


def _at(body: Any, path: tuple[str | int, ...]) -> Any:
    for step in path:
        body = body[step]
    return body


def mutate(body: Any, path: tuple[str | int, ...], how: str, value: object, key: str = "k") -> Any:
    """`body` with the node at `path` replaced by `value`, deleted, or given a new `key`."""
    if not path:
        return value if how == "replace" else body
    out = copy.deepcopy(body)
    parent, last = _at(out, path[:-1]), path[-1]
    node = parent[last]
    if how == "delete":
        del parent[last]
    elif how == "add_key" and isinstance(node, dict):
        node[key] = value
    else:
        parent[last] = value
    return out


def check_outcome(source: str, body: object) -> None:
    """Normalized alerts within every bound, or an AlertPayloadError naming a field."""
    try:
        parsed = PARSERS[source](body)
    except AlertPayloadError as error:
        assert isinstance(error.field, str) and error.field
        assert isinstance(error.message, str) and error.message
        # A clear error: it names the field, and never echoes a huge input back.
        assert len(str(error)) <= 600, str(error)[:200]
        str(error).encode("utf-8")
        return
    assert isinstance(parsed, list) and parsed
    for alert in parsed:
        assert isinstance(alert, NormalizedAlert)
        assert alert.status in ("firing", "resolved") and alert.severity in SEVERITIES
        assert 0 < len(alert.fingerprint) <= KEY_COLUMN and 0 < len(alert.group_key) <= KEY_COLUMN
        texts = [alert.fingerprint, alert.group_key, alert.summary, alert.description]
        texts += [*alert.labels, *alert.labels.values(), *alert.links, *alert.links.values()]
        for text in texts:
            assert isinstance(text, str) and "\x00" not in text and len(text) <= 4000
            text.encode("utf-8")
        for url in alert.links.values():
            assert url.lower().startswith(("http://", "https://"))
            assert not re.search(r"[\s<>|]", url)
        json.dumps(alert.details, allow_nan=False).encode("utf-8")


# --- the alert parsers ----------------------------------------------------------------


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_hostile_values_in_real_payloads_give_alerts_or_a_payload_error(
    data: st.DataObject,
) -> None:
    source, body = data.draw(st.sampled_from(SAMPLES))
    for _ in range(data.draw(st.integers(min_value=1, max_value=4))):
        path = data.draw(st.sampled_from(_paths(body)))
        how = data.draw(st.sampled_from(["replace", "delete", "add_key"]))
        if how == "delete" and not path:
            how = "replace"
        key = data.draw(HOSTILE_TEXT)
        body = mutate(body, path, how, data.draw(HOSTILE_VALUE), key)
    check_outcome(source, body)
    # A payload sent to the wrong intake is an error too, never a crash.
    for other in PARSERS:
        check_outcome(other, body)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(SAMPLES),
    st.sampled_from(["groupKey", "fingerprint", "queue", "dedup_key", "labels.queue"]),
    st.integers(min_value=1, max_value=5000),
    st.sampled_from(["k", "é", "🙂", "\ud800", "a\x00"]),
)
def test_identifiers_of_any_length_fit_their_columns(
    sample: tuple[str, dict[str, Any]], where: str, length: int, piece: str
) -> None:
    """Keys are stored in 255-character columns (PostgreSQL enforces them): a long one is
    cut keeping its identity, or refused with a 400 — never a database error and a 503."""
    source, body = sample
    body = copy.deepcopy(body)
    text = (piece * length)[:length]
    target = body["alerts"][0] if "alerts" in body and where == "fingerprint" else body
    if where == "labels.queue":
        for alert in body.get("alerts", []):
            alert.setdefault("labels", {})["queue"] = text
    else:
        target[where] = text
    check_outcome(source, body)


def test_long_keys_keep_their_identity() -> None:
    a, b = copy.deepcopy(FIRING), copy.deepcopy(FIRING)
    a["groupKey"], b["groupKey"] = "g" * 1000 + "a", "g" * 1000 + "b"
    key_a = parse_alertmanager(a, ALERT_SETTINGS)[0].group_key
    key_b = parse_alertmanager(b, ALERT_SETTINGS)[0].group_key
    assert key_a != key_b and len(key_a) == len(key_b) == KEY_COLUMN
    assert key_a == parse_alertmanager(copy.deepcopy(a), ALERT_SETTINGS)[0].group_key
    with pytest.raises(AlertPayloadError) as caught:
        parse_generic({**QUEUE, "queue": "q" * 129}, ALERT_SETTINGS, NOW)
    assert caught.value.field == "queue" and "128" in caught.value.message


# --- slash-command parsers ------------------------------------------------------------

REGISTRY = build_registry(Settings())
WORDS = st.sampled_from(
    [
        "<!channel>",
        "<!here>",
        "<@U123>",
        "<@U123|ana>",
        "<#C123|general>",
        "<https://evil.example|click>",
        "@everyone",
        "&amp;",
        "../",
        "..%2f",
        "%2e%2e",
        "%00",
        "\x00",
        "\u202e",
        "\ud800",
        "\U0001d518",
        "--limit",
        "--limit=5",
        "--dry-run",
        "--force",
        "-",
        "--",
        "#1",
        "#0",
        "#-1",
        "#99999999999999999999999",
        "99999999999999999999",
        "1e3",
        "NaN",
        "10000",
        "10001",
        "declare",
        "critical",
        "warning",
        "P1",
        "P9",
        "ack",
        "ic",
        "role",
        "comms",
        "severity",
        "update",
        "note",
        "mitigated",
        "resolve",
        "reopen",
        "status",
        "timeline",
        "stats",
        "export",
        "md",
        "html",
        "drill",
        "help",
        "investigating",
        "whatsapp",
        "whatsapp-outbound",
        "cmp-1001",
        "x" * 200,
    ]
)
COMMAND_TEXT = st.one_of(
    st.text(max_size=60),
    st.lists(WORDS | st.text(max_size=8), max_size=8).map(" ".join),
    st.lists(WORDS, min_size=1, max_size=4).map("\t\n\u3000".join),
    LONG_TEXT,
)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(sorted(REGISTRY)), COMMAND_TEXT)
def test_every_slash_command_parses_or_says_how_to_use_it(name: str, text: str) -> None:
    command = REGISTRY[name]
    try:
        args = command.parse(text)
    except UsageError as error:
        assert isinstance(error.message, str) and error.message.strip()
        return
    # What reaches a backend was checked first: names fill one path slot, limits are bounded.
    if isinstance(args, QueueStatusArgs) and args.queue is not None:
        assert NAME.match(args.queue)
    if isinstance(args, IntegrationStatusArgs) and args.name is not None:
        assert NAME.match(args.name)
    if isinstance(args, ReplayArgs):
        assert NAME.match(args.queue) and 1 <= args.limit <= 10_000
    if isinstance(args, CampaignArgs):
        assert re.match(Settings().campaigns.id_pattern, args.campaign_id)


# --- the config loader ----------------------------------------------------------------

TOP_KEYS = [
    "server",
    "slack",
    "timezone",
    "priorities",
    "escalation",
    "roles",
    "maintenance",
    "alerts",
    "tickets",
    "statuspage",
    "post_incident",
    "backends",
    "integrations",
    "queues",
    "campaigns",
    "permissions",
    "templates_dir",
]
SUB_KEYS = [
    "host",
    "port",
    "max_body_bytes",
    "announce_channel",
    "alerts_channel",
    "war_room",
    "prefix",
    "name_template",
    "bookmarks",
    "rate_per_minute",
    "critical",
    "warning",
    "info",
    "P1",
    "ack_within",
    "notify",
    "users",
    "usergroups",
    "two_person",
    "weekday",
    "start",
    "end",
    "severity_map",
    "throttle",
    "grafana_hmac",
    "secret",
    "base_url",
    "auth_env",
    "auth_header",
    "timeout",
    "retries",
    "items",
    "health_path",
    "thresholds",
    "warning_backlog",
    "per_queue",
    "known",
    "id_pattern",
    "checklist",
    "queues",
    "pause-campaign",
    "url",
    "components",
]
CONFIG_SCALAR = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.sampled_from(
        [
            "5m",
            "0s",
            "-1m",
            "2 minutes",
            "999999999999d",
            "02:00",
            "25:61",
            "sunday",
            "Europe/Amsterdam",
            "../../etc/passwd",
            "${WARROOM_FUZZ}",
            "${WARROOM_UNSET}",
            "${WARROOM_UNSET:-5m}",
            "${",
            "critical",
            "http://127.0.0.1:1",
            "ftp://x",
            "{queue}",
            "(unclosed",
            "inc",
        ]
    ),
)
CONFIG_VALUE = st.recursive(
    CONFIG_SCALAR,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(SUB_KEYS) | st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=15,
)
CONFIG_DOC = st.dictionaries(st.sampled_from(TOP_KEYS) | st.text(max_size=6), CONFIG_VALUE)


def load_text(text: str | bytes) -> RuntimeConfig | ConfigError:
    """Load `text` as the config file: a RuntimeConfig, or the ConfigError raised."""
    with tempfile.NamedTemporaryFile("wb", suffix=".yaml", delete=False) as file:
        file.write(text.encode() if isinstance(text, str) else text)
    try:
        return load_config(file.name, {"WARROOM_FUZZ": "fuzz"})
    except ConfigError as error:
        return error
    finally:
        os.unlink(file.name)


def assert_clear(outcome: RuntimeConfig | ConfigError) -> None:
    if isinstance(outcome, ConfigError):
        assert outcome.problems
        assert all(p.message.strip() for p in outcome.problems)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(CONFIG_DOC)
def test_any_config_structure_loads_or_lists_its_problems(doc: dict[str, Any]) -> None:
    assert_clear(load_text(yaml.safe_dump(doc, allow_unicode=True)))


HOSTILE_YAML: list[tuple[str, str | bytes]] = [
    ("a huge number", "server: {port: " + "1" * 5000 + "}\n"),
    ("a date that does not exist", "maintenance: [{weekday: sunday, start: 2026-02-30}]\n"),
    ("nested too deeply", "roles: " + "[" * 3000 + "\n"),
    ("an alias inside itself", "maintenance: &loop [*loop]\n"),
    ("a mapping alias inside itself", "priorities: &loop {P1: *loop}\n"),
    ("a python tag", "server: !!python/object/apply:os.system [id]\n"),
    ("not UTF-8", b"\xff\xfe\x00server: 1"),
    ("a BOM", "\ufeffserver: {port: 8080}\n"),
    ("a list at the top", "- server\n- slack\n"),
    ("a scalar at the top", "just text\n"),
    ("tabs", "server:\n\tport: 1\n"),
    ("duplicate keys", "timezone: UTC\ntimezone: Mars/Olympus\n"),
    ("a NUL in a value", 'templates_dir: "a\\0b"\n'),
    ("an unterminated string", 'timezone: "Europe/Amsterdam\n'),
    ("a key that is a list", "? [a, b]\n: 1\n"),
]


@pytest.mark.parametrize("text", [t for _, t in HOSTILE_YAML], ids=[n for n, _ in HOSTILE_YAML])
def test_hostile_yaml_files_give_config_errors(text: str | bytes) -> None:
    outcome = load_text(text)
    assert_clear(outcome)


def test_broken_yaml_errors_say_what_to_do() -> None:
    for text, expected in (
        ("server: {port: " + "1" * 5000 + "}\n", "put it in quotes"),
        ("roles: " + "[" * 3000 + "\n", "nested too deeply"),
        ("maintenance: &loop [*loop]\n", "refers to itself"),
    ):
        outcome = load_text(text)
        assert isinstance(outcome, ConfigError), text[:40]
        assert expected in str(outcome)


# --- over HTTP ------------------------------------------------------------------------

TRACEBACK = re.compile(r"Traceback \(most recent call last\)|File \"/")


def _json_values(rng: random.Random) -> object:
    return rng.choice(
        [
            None,
            True,
            0,
            -1,
            2**64,
            1.5,
            "",
            "x" * 5000,
            "<!channel>",
            "\x00\x07",
            "\ud800",
            "../../etc",
            "%2e%2e",
            [],
            [None],
            {},
            {"id": 5},
            nested(40, True),
        ]
    )


def random_mutation(rng: random.Random, body: Any, rounds: int = 3) -> Any:
    for _ in range(rng.randint(1, rounds)):
        path = rng.choice(_paths(body))
        how = rng.choice(["replace", "replace", "delete", "add_key"])
        if how == "delete" and not path:
            how = "replace"
        body = mutate(body, path, how, _json_values(rng), rng.choice(["k", "\ud800", "é" * 70]))
    return body


def _surrogate_safe_dumps(body: object) -> bytes:
    # json.dumps keeps lone surrogates as \\udxxx escapes: valid JSON, like a hostile sender's.
    return json.dumps(body).encode()


RAW_BODIES: list[tuple[bytes, str]] = [
    (b"", JSON_CONTENT),
    (b"null", JSON_CONTENT),
    (b"{not json", JSON_CONTENT),
    (b"\xff\xfe\x00garbage", JSON_CONTENT),
    ('{"type":"smoke","message":"alert-test"}'.encode("utf-16"), JSON_CONTENT),
    (b'\xef\xbb\xbf{"type":"smoke"}', JSON_CONTENT),
    (b'{"queue":"q","severity":"critical","backlog":' + b"1" * 5000 + b"}", JSON_CONTENT),
    (b"[" * 100_000 + b"]" * 100_000, JSON_CONTENT),
    (b'{"a":' * 50_000 + b"1" + b"}" * 50_000, JSON_CONTENT),
    (b'{"queue":"q","severity":"critical","backlog":NaN}', JSON_CONTENT),
    (b'{"queue":"q","severity":"critical","backlog":1e999}', JSON_CONTENT),
    (b'{"type":"smoke","type":"smoke"}', "text/plain"),
    (b'{"type":"smoke"}', "multipart/form-data; boundary=x"),
]


async def _post_alert(h: Harness, source: str, data: bytes, content_type: str) -> tuple[int, str]:
    headers = {"Content-Type": content_type, "Authorization": f"Bearer {ALERT_TOKEN}"}
    async with h.http.post(f"{h.bot_url}/alerts/{source}", data=data, headers=headers) as resp:
        return resp.status, await resp.text()


async def _healthy(h: Harness) -> None:
    async with h.http.get(f"{h.bot_url}/healthz") as response:
        assert response.status == 200


async def test_the_intake_answers_every_fuzzed_body_with_202_or_a_clear_4xx(
    database_url: str,
) -> None:
    rng = random.Random(20261122)
    cases = [(source, data, ctype) for source in PARSERS for data, ctype in RAW_BODIES]
    for _ in range(60):
        source, body = rng.choice(SAMPLES)
        target = source if rng.random() < 0.8 else rng.choice(list(PARSERS))
        cases.append((target, _surrogate_safe_dumps(random_mutation(rng, body)), JSON_CONTENT))
    async with running(database_url) as h:
        for source, data, content_type in cases:
            status, text = await _post_alert(h, source, data, content_type)
            assert status in (202, 400, 413), (source, data[:300], status, text[:300])
            assert not TRACEBACK.search(text), text[:300]
            answer = json.loads(text)
            if status == 400:
                assert answer["error"] and isinstance(answer["field"], str), answer
        await _healthy(h)
        await settled(h)


INTERACTIVE_ACTIONS = [
    "alert_ack",
    "alert_open_room",
    "incident_ack",
    "incident_ic",
    "incident_resolve",
    "incident_update",
    "checklist_tick",
    "op_confirm",
    "op_approve",
    "op_cancel",
    "sp_edit",
    "sp_approve",
    "sp_discard",
    "sp_new",
    "unknown_action",
]
VIEWS = ["incident_update_modal", "status_draft_edit", "unknown_view"]


def _block_actions(rng: random.Random, h: Harness) -> dict[str, Any]:
    channel = h.channel("general").id
    return {
        "type": "block_actions",
        "user": {"id": "U0ONCALL", "username": "oncall", "team_id": h.ws.team_id},
        "api_app_id": h.ws.app_id,
        "token": "t",
        "container": {
            "type": "message",
            "message_ts": "1.2",
            "channel_id": channel,
            "is_ephemeral": False,
        },
        "trigger_id": h.trigger(),
        "team": {"id": h.ws.team_id, "domain": h.ws.domain},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel, "name": "general"},
        "state": {"values": {}},
        "response_url": f"{h.sandbox_url}/response/none",
        "message": {"type": "message", "ts": "1.2", "text": "t", "blocks": []},
        "actions": [
            {
                "action_id": rng.choice(INTERACTIVE_ACTIONS),
                "block_id": "b",
                "type": "button",
                "value": rng.choice(["1", "x", "op-1", "1:2", "", "9" * 30]),
                "action_ts": "1.2",
            }
        ],
    }


def _view_submission(rng: random.Random, h: Harness) -> dict[str, Any]:
    return {
        "type": rng.choice(["view_submission", "view_closed"]),
        "team": {"id": h.ws.team_id, "domain": h.ws.domain},
        "user": {"id": "U0ONCALL", "team_id": h.ws.team_id},
        "api_app_id": h.ws.app_id,
        "token": "t",
        "trigger_id": h.trigger(),
        "view": {
            "id": "V1",
            "type": "modal",
            "callback_id": rng.choice(VIEWS),
            "private_metadata": rng.choice(["1", "x", "", "9" * 30]),
            "team_id": h.ws.team_id,
            "state": {
                "values": {
                    "update": {"text": {"type": "plain_text_input", "value": "fuzzed"}},
                    "status": {"status_value": {"selected_option": {"value": "monitoring"}}},
                }
            },
            "blocks": [],
        },
        "response_urls": [],
        "is_enterprise_install": False,
        "enterprise": None,
    }


def _event(rng: random.Random, h: Harness) -> dict[str, Any]:
    return {
        "token": "t",
        "team_id": h.ws.team_id,
        "api_app_id": h.ws.app_id,
        "type": "event_callback",
        "event_id": "Ev1",
        "event_time": 1,
        "event": {
            "type": rng.choice(["reaction_added", "reaction_removed", "app_mention"]),
            "user": "U0ONCALL",
            "reaction": rng.choice(["pushpin", "pin", "x"]),
            "item": {"type": "message", "channel": h.channel("general").id, "ts": "1.2"},
            "event_ts": "1.2",
        },
        "authorizations": [{"team_id": h.ws.team_id, "user_id": h.ws.bot_user_id}],
    }


def _slash_form(rng: random.Random, h: Harness) -> dict[str, Any]:
    return {
        "token": "t",
        "team_id": h.ws.team_id,
        "channel_id": h.channel("general").id,
        "channel_name": "general",
        "user_id": "U0ONCALL",
        "user_name": "oncall",
        "command": rng.choice(sorted(REGISTRY)),
        "text": rng.choice(["help", "status", "", "<!channel>", "../x", "%2e", "x" * 3000]),
        "api_app_id": h.ws.app_id,
        "is_enterprise_install": "false",
        "response_url": f"{h.sandbox_url}/response/none",
        "trigger_id": h.trigger(),
    }


def _form_value(value: object) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def fuzzed_slack_request(rng: random.Random, h: Harness) -> tuple[bytes, str]:
    kind = rng.choice(["actions", "actions", "view", "view", "event", "slash"])
    if kind == "slash":
        form = random_mutation(rng, _slash_form(rng, h), rounds=2)
        if not isinstance(form, dict):
            form = {"text": _form_value(form)}
        fields = {k: _form_value(v) for k, v in form.items()}
        return urlencode(fields, errors="surrogatepass").encode(), FORM
    build = {"actions": _block_actions, "view": _view_submission, "event": _event}[kind]
    payload = random_mutation(rng, build(rng, h))
    if kind == "event":
        return _surrogate_safe_dumps(payload), JSON_CONTENT
    return urlencode({"payload": json.dumps(payload)}).encode(), FORM


async def test_slack_events_answer_every_fuzzed_signed_request_below_500(
    database_url: str,
) -> None:
    rng = random.Random(31415)
    async with running(database_url) as h:
        await h.alert("generic", {**QUEUE, "severity": "warning"})  # something to press on
        raw = [
            (b"payload=" + b"%5B" * 50_000, FORM),
            (b"payload=null", FORM),
            (b"payload=%22text%22", FORM),
            (b"payload=" + b"1" * 5000, FORM),
            (b'{"type":"event_callback","event":' * 20_000 + b"1" + b"}" * 20_000, JSON_CONTENT),
            (b"[]", JSON_CONTENT),
            (b"\xff\xfe", JSON_CONTENT),
            (b"command=%2Fincident&text=%00%ff", FORM),
        ]
        requests = raw + [fuzzed_slack_request(rng, h) for _ in range(120)]
        for body, content_type in requests:
            ack = await h.post_signed(body, content_type, timestamp=int(time.time()))
            assert ack.status < 500, (body[:400], ack)
            assert not TRACEBACK.search(ack.text), ack.text[:300]
        await _healthy(h)
        # Still fully working: a real command after the garbage is answered as usual.
        assert (await h.slash("/incident help")).status == 200
        await eventually(lambda: h.ephemerals("U0ONCALL"))
        await settled(h)
