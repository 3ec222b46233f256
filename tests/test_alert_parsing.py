"""Alert normalisation: real Alertmanager payloads, Grafana and PagerDuty samples from their
docs, the observability playbook's queue alert and smoke test, and every malformed shape."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.config.settings import SEVERITIES, AlertSettings
from bot.core.alerts import (
    AlertPayloadError,
    NormalizedAlert,
    labels_fingerprint,
    map_severity,
    parse_alertmanager,
    parse_generic,
    parse_grafana,
)
from tests.payloads import FIRING, GRAFANA, PAGERDUTY, QUEUE, RESOLVED, SMOKE

SETTINGS = AlertSettings()
NOW = datetime(2026, 11, 22, 13, 5, 0, tzinfo=UTC)
GROUP = 'alertmanager:{}:{alertname="QueueBacklogCritical", queue="rentguy"}'
STARTED = datetime(2026, 11, 22, 13, 2, 3, 359140, tzinfo=UTC)
SILENCE = "http://alertmanager.example.com:9093/#/silences/new?filter="

Parser = Callable[[object], list[NormalizedAlert]]
PARSERS: dict[str, Parser] = {
    "alertmanager": lambda body: parse_alertmanager(body, SETTINGS),
    "grafana": lambda body: parse_grafana(body, SETTINGS),
    "generic": lambda body: parse_generic(body, SETTINGS, NOW),
}


def with_change(base: dict[str, Any], change: Callable[[dict[str, Any]], object]) -> Any:
    body = copy.deepcopy(base)
    change(body)
    return body


# --- Alertmanager ---------------------------------------------------------------------


def test_alertmanager_firing_fixture() -> None:
    first, second = parse_alertmanager(FIRING, SETTINGS)
    assert first == NormalizedAlert(
        source="alertmanager",
        fingerprint="alertmanager:a3640f3ab91ac0e4",
        group_key=GROUP,
        status="firing",
        severity="critical",
        summary="RentGuy queue backlog 1,240 jobs (critical > 1,000)",
        description="",
        labels={
            "alertname": "QueueBacklogCritical",
            "instance": "worker-2",
            "queue": "rentguy",
            "service": "mr-dj-backend",
            "severity": "critical",
        },
        links={
            "silence": SILENCE + "%7Balertname%3D%22QueueBacklogCritical%22%2Cinstance%3D%22"
            "worker-2%22%2Cqueue%3D%22rentguy%22%2Cservice%3D%22mr-dj-backend%22%2C"
            "severity%3D%22critical%22%7D"
        },
        starts_at=STARTED,
        ends_at=None,
    )
    assert second.fingerprint == "alertmanager:0fb88d3054227dfa"
    assert second.group_key == GROUP
    assert second.description == "Retry age 612s; dead letters 7"
    assert second.links["generator"] == "http://prometheus.example.com/graph?g0.expr=queue_backlog"
    assert second.links["runbook"] == "https://runbooks.example.com/queues#backlog-critical"
    assert second.kind == "alert" and second.details == {}


def test_alertmanager_resolved_fixture_matches_the_firing_one() -> None:
    firing = parse_alertmanager(FIRING, SETTINGS)
    resolved = parse_alertmanager(RESOLVED, SETTINGS)
    assert [a.status for a in resolved] == ["resolved", "resolved"]
    assert [a.fingerprint for a in resolved] == [a.fingerprint for a in firing]
    assert {a.group_key for a in resolved} == {GROUP}
    stamp = datetime(2026, 11, 22, 13, 2, 3, tzinfo=UTC)
    assert all(a.starts_at == stamp and a.ends_at == stamp for a in resolved)
    assert resolved[0].summary == "x"
    assert "generator" not in resolved[0].links  # generatorURL ""


def test_fingerprints_are_stable_and_derived_like_alertmanager() -> None:
    assert parse_alertmanager(FIRING, SETTINGS) == parse_alertmanager(
        copy.deepcopy(FIRING), SETTINGS
    )
    # Without a fingerprint we compute Alertmanager's own (FNV-1a over the sorted labels).
    body = copy.deepcopy(FIRING)
    for alert in body["alerts"]:
        del alert["fingerprint"]
    derived = [a.fingerprint for a in parse_alertmanager(body, SETTINGS)]
    assert derived == ["alertmanager:a3640f3ab91ac0e4", "alertmanager:0fb88d3054227dfa"]
    assert labels_fingerprint({}) == "cbf29ce484222325"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-22T13:02:03Z", datetime(2026, 11, 22, 13, 2, 3, tzinfo=UTC)),
        ("2026-11-22T13:02:03.35914057Z", STARTED),
        ("2026-11-22T14:02:03.5+01:00", datetime(2026, 11, 22, 13, 2, 3, 500000, tzinfo=UTC)),
        ("2026-11-22T08:02:03-0500", datetime(2026, 11, 22, 13, 2, 3, tzinfo=UTC)),
        ("2026-11-22t13:02:03z", datetime(2026, 11, 22, 13, 2, 3, tzinfo=UTC)),
        ("0001-01-01T00:00:00Z", None),
        ("", None),
        (None, None),
    ],
)
def test_timestamps(text: str | None, expected: datetime | None) -> None:
    body = with_change(FIRING, lambda b: b["alerts"][0].update(startsAt=text))
    starts_at = parse_alertmanager(body, SETTINGS)[0].starts_at
    assert starts_at == expected
    assert starts_at is None or starts_at.tzinfo is UTC


@pytest.mark.parametrize(
    ("value", "severity"),
    [
        ("critical", "critical"),
        ("Page", "critical"),
        ("P4", "info"),
        (" warn ", "warning"),
        ("sev-zero", "warning"),
        (None, "warning"),
    ],
)
def test_severity_mapping(value: str | None, severity: str) -> None:
    def change(body: dict[str, Any]) -> None:
        labels = body["alerts"][0]["labels"]
        labels.pop("severity")
        if value is not None:
            labels["severity"] = value

    assert parse_alertmanager(with_change(FIRING, change), SETTINGS)[0].severity == severity
    assert map_severity(value, SETTINGS) == severity


def test_severity_label_and_map_come_from_settings() -> None:
    custom = AlertSettings(severity_label="priority", severity_map={"high": "critical"})
    body = with_change(FIRING, lambda b: b["alerts"][0]["labels"].update(priority="HIGH"))
    assert parse_alertmanager(body, custom)[0].severity == "critical"
    assert parse_alertmanager(FIRING, custom)[1].severity == "warning"


def test_summary_and_description_fallbacks() -> None:
    def annotations(value: dict[str, str]) -> NormalizedAlert:
        body = with_change(FIRING, lambda b: b["alerts"][0].update(annotations=value))
        return parse_alertmanager(body, SETTINGS)[0]

    only_message = annotations({"message": "m"})
    assert (only_message.summary, only_message.description) == ("m", "")
    only_description = annotations({"description": "d"})
    assert (only_description.summary, only_description.description) == ("d", "")
    nothing = annotations({})
    assert (nothing.summary, nothing.description) == ("QueueBacklogCritical", "")
    body = with_change(FIRING, lambda b: b["alerts"][0].pop("annotations"))
    assert parse_alertmanager(body, SETTINGS)[0].summary == "QueueBacklogCritical"


def test_links_keep_only_http_urls() -> None:
    def change(body: dict[str, Any]) -> None:
        alert = body["alerts"][1]
        alert["generatorURL"] = "javascript:alert(1)"
        alert["annotations"].update(runbook_url="/relative", dashboard="https://g.example.com/d/1")
        body["externalURL"] = "ftp://alertmanager.example.com"

    alert = parse_alertmanager(with_change(FIRING, change), SETTINGS)[1]
    assert alert.links == {"dashboard": "https://g.example.com/d/1"}


def test_untrusted_text_is_kept_but_bounded() -> None:
    def change(body: dict[str, Any]) -> None:
        alert = body["alerts"][0]
        alert["annotations"] = {"summary": "<!channel> a\x00b", "description": "x" * 5000}
        alert["labels"].update(port=8080, ratio=0.5, odd="\ud800")

    alert = parse_alertmanager(with_change(FIRING, change), SETTINGS)[0]
    assert alert.summary == "<!channel> ab"
    assert len(alert.description) == 4000 and alert.description.endswith("[truncated]")
    assert (alert.labels["port"], alert.labels["ratio"], alert.labels["odd"]) == (
        "8080",
        "0.5",
        "\ufffd",
    )


def test_a_thousand_alerts_is_the_limit() -> None:
    body = with_change(FIRING, lambda b: b.update(alerts=b["alerts"][:1] * 1000))
    assert len(parse_alertmanager(body, SETTINGS)) == 1000


# --- Grafana --------------------------------------------------------------------------


def test_grafana_webhook() -> None:
    [alert] = parse_grafana(GRAFANA, SETTINGS)
    assert alert == NormalizedAlert(
        source="grafana",
        fingerprint="grafana:c6eadffa33fcdf37",
        group_key="grafana:" + GRAFANA["groupKey"],
        status="firing",
        severity="critical",
        summary="Sevensa submit queue is failing",
        description="Error rate 34% over 5m",
        labels={
            "alertname": "Sevensa submit errors",
            "grafana_folder": "Queues",
            "queue": "sevensa",
            "severity": "page",
        },
        links={
            "generator": "https://grafana.example.com/alerting/grafana/f1a2/view",
            "runbook": "https://runbooks.example.com/queues#sevensa",
            "dashboard": "https://grafana.example.com/d/queues",
            "panel": "https://grafana.example.com/d/queues?viewPanel=4",
            "silence": "https://grafana.example.com/alerting/silence/new?matcher=queue%3Dsevensa",
        },
        starts_at=datetime(2026, 11, 22, 13, 2, 3, 157076, tzinfo=UTC),
        ends_at=None,
        details={
            "org_id": 1,
            "values": {"B": 0.34, "C": 1},
            "value_string": "[ var='B' labels={queue=sevensa} value=0.34 ]",
        },
    )
    ended = {"status": "resolved", "endsAt": "2026-11-22T14:12:03+01:00"}
    resolved = with_change(GRAFANA, lambda b: b["alerts"][0].update(ended))
    [done] = parse_grafana(resolved, SETTINGS)
    assert (done.status, done.fingerprint) == ("resolved", alert.fingerprint)
    assert done.ends_at == datetime(2026, 11, 22, 13, 12, 3, tzinfo=UTC)


# --- generic --------------------------------------------------------------------------


def test_queue_alert_from_the_playbook() -> None:
    assert parse_generic(QUEUE, SETTINGS, NOW) == [
        NormalizedAlert(
            source="generic",
            fingerprint="queue:rentguy",
            group_key="queue:rentguy",
            status="firing",
            severity="critical",
            summary="queue thresholds exceeded",
            description="backlog 1240 jobs, retry age 612000 ms, 7 dead letters",
            labels={"queue": "rentguy", "severity": "critical"},
            links={},
            starts_at=NOW,
            ends_at=None,
            details={
                "queue": "rentguy",
                "backlog": 1240,
                "retry_age_ms": 612000,
                "dead_letters": 7,
            },
        )
    ]


def test_queue_alert_variants() -> None:
    camel = {"queue": "sevensa", "severity": "warn", "retryAgeMs": 90000.0, "deadLetters": 2}
    [alert] = parse_generic(camel, SETTINGS, NOW)
    assert alert.severity == "warning" and alert.summary == "Queue sevensa alert"
    assert alert.details == {"queue": "sevensa", "retry_age_ms": 90000, "dead_letters": 2}
    legacy = {**QUEUE, "retry_age": 5, "status": "resolved", "dedup_key": "dl-1"}
    del legacy["retry_age_ms"]
    [done] = parse_generic(legacy, SETTINGS, NOW)
    assert (done.status, done.ends_at, done.details["retry_age_ms"]) == ("resolved", NOW, 5)
    assert (done.fingerprint, done.group_key) == ("generic:dl-1", "queue:rentguy")
    labelled = {**QUEUE, "labels": {"env": "prod"}, "timestamp": "2026-11-22T13:00:00.000Z"}
    [with_labels] = parse_generic(labelled, SETTINGS, NOW)
    assert with_labels.labels == {"env": "prod", "queue": "rentguy", "severity": "critical"}
    assert with_labels.starts_at == datetime(2026, 11, 22, 13, 0, tzinfo=UTC)


def test_smoke_test_from_the_playbook() -> None:
    assert parse_generic(SMOKE, SETTINGS, NOW) == [
        NormalizedAlert(
            source="generic",
            fingerprint="smoke",
            group_key="smoke",
            status="firing",
            severity="info",
            summary="alert-test",
            description="",
            labels={},
            links={},
            starts_at=NOW,
            ends_at=None,
            kind="smoke",
        )
    ]


def test_pagerduty_trigger() -> None:
    [alert] = parse_generic(PAGERDUTY, SETTINGS, NOW)
    assert alert == NormalizedAlert(
        source="generic",
        fingerprint="pagerduty:rentguy-backlog",
        group_key="pagerduty:mr-dj-prod",
        status="firing",
        severity="critical",
        summary="RentGuy backlog above 1,000 jobs",
        description="",
        labels={
            "source": "worker-2",
            "component": "rentguy-queue",
            "group": "mr-dj-prod",
            "class": "backlog",
            "severity": "error",
        },
        links={
            "Queue monitor": "https://monitor.example.com/queues",
            "Runbook": "https://runbooks.example.com/queues",
            "image 1": "https://x.example.com",
        },
        starts_at=datetime(2026, 11, 22, 13, 1, 58, 315000, tzinfo=UTC),
        ends_at=None,
        details={
            "event_action": "trigger",
            "custom_details": {"backlog": 1240, "workers": ["w1", "w2"]},
        },
    )
    assert "R0123456789" not in repr(alert)  # the routing key is a credential


def test_pagerduty_acknowledge_and_resolve() -> None:
    [ack] = parse_generic({"event_action": "acknowledge", "dedup_key": "k1"}, SETTINGS, NOW)
    assert (ack.status, ack.details, ack.fingerprint) == (
        "firing",
        {"event_action": "acknowledge", "acknowledged": True},
        "pagerduty:k1",
    )
    [done] = parse_generic({"event_action": "resolve", "dedup_key": "k1"}, SETTINGS, NOW)
    assert (done.status, done.summary, done.group_key) == ("resolved", "k1", "pagerduty:k1")
    assert (done.severity, done.starts_at, done.ends_at) == ("warning", NOW, NOW)


def test_pagerduty_trigger_without_dedup_key_is_stable() -> None:
    body = with_change(PAGERDUTY, lambda b: b.pop("dedup_key"))
    first = parse_generic(body, SETTINGS, NOW)[0]
    assert first.fingerprint == parse_generic(copy.deepcopy(body), SETTINGS, NOW)[0].fingerprint
    assert first.fingerprint.startswith("pagerduty:") and first.fingerprint != "pagerduty:"


# --- malformed ------------------------------------------------------------------------


def _am(change: Callable[[dict[str, Any]], object]) -> Any:
    return with_change(FIRING, change)


def _set(key: str, value: object) -> Callable[[dict[str, Any]], object]:
    return lambda b: b.__setitem__(key, value)


def _alert(i: int, key: str, value: object) -> Callable[[dict[str, Any]], object]:
    return lambda b: b["alerts"][i].__setitem__(key, value)


def _pd(payload: object, **top: object) -> dict[str, Any]:
    return {"event_action": "trigger", "dedup_key": "k", "payload": payload, **top}


def _nested(depth: int) -> object:
    value: object = 1
    for _ in range(depth):
        value = [value]
    return value


def _labels(**labels: object) -> Callable[[dict[str, Any]], object]:
    return lambda b: b["alerts"][0]["labels"].update(labels)


PD_OK = {"summary": "s", "severity": "info", "source": "h"}
DEEP_VALUES = "alerts[0].values" + "[0]" * 33
DEEP_DETAILS = "payload.custom_details.a" + "[0]" * 32
MANY_LABELS = {f"l{i}": "v" for i in range(100)}
MALFORMED: list[tuple[str, object, str]] = [
    ("alertmanager", None, "$"),
    ("alertmanager", [], "$"),
    ("alertmanager", "alert", "$"),
    ("alertmanager", 4, "$"),
    ("alertmanager", _am(_set("version", "3")), "version"),
    ("alertmanager", _am(_set("version", 4)), "version"),
    ("alertmanager", _am(lambda b: b.pop("version")), "version"),
    ("alertmanager", _am(lambda b: b.pop("groupKey")), "groupKey"),
    ("alertmanager", _am(_set("groupKey", "")), "groupKey"),
    ("alertmanager", _am(_set("groupKey", {})), "groupKey"),
    ("alertmanager", _am(_set("status", "pending")), "status"),
    ("alertmanager", _am(_set("alerts", {"0": {}})), "alerts"),
    ("alertmanager", _am(_set("alerts", [])), "alerts"),
    ("alertmanager", _am(lambda b: b.pop("alerts")), "alerts"),
    ("alertmanager", _am(lambda b: b.update(alerts=b["alerts"] * 501)), "alerts"),
    ("alertmanager", _am(lambda b: b["alerts"].append("x")), "alerts[2]"),
    ("alertmanager", _am(_alert(1, "status", "FIRING")), "alerts[1].status"),
    ("alertmanager", _am(lambda b: b["alerts"][0].pop("status")), "alerts[0].status"),
    ("alertmanager", _am(_alert(0, "labels", ["a"])), "alerts[0].labels"),
    ("alertmanager", _am(lambda b: b["alerts"][0].pop("labels")), "alerts[0].labels"),
    ("alertmanager", _am(_alert(0, "labels", {"severity": "x"})), "alerts[0].labels.alertname"),
    ("alertmanager", _am(_labels(x=None)), "alerts[0].labels.x"),
    ("alertmanager", _am(_labels(x=True)), "alerts[0].labels.x"),
    ("alertmanager", _am(_labels(**{"a b": []})), 'alerts[0].labels["a b"]'),
    ("alertmanager", _am(_labels(big=10**30)), "alerts[0].labels.big"),
    ("alertmanager", _am(_labels(**MANY_LABELS)), "alerts[0].labels"),
    ("alertmanager", _am(_alert(0, "annotations", "summary")), "alerts[0].annotations"),
    (
        "alertmanager",
        _am(lambda b: b["alerts"][0]["annotations"].update(summary={})),
        "alerts[0].annotations.summary",
    ),
    ("alertmanager", _am(_alert(0, "startsAt", "yesterday")), "alerts[0].startsAt"),
    ("alertmanager", _am(_alert(0, "startsAt", 1764000000)), "alerts[0].startsAt"),
    ("alertmanager", _am(_alert(0, "startsAt", "2026-13-01T00:00:00Z")), "alerts[0].startsAt"),
    ("alertmanager", _am(_alert(0, "startsAt", "2026-11-22T13:02:03")), "alerts[0].startsAt"),
    ("alertmanager", _am(_alert(0, "startsAt", "2026-11-22T13:02:03+25:00")), "alerts[0].startsAt"),
    ("alertmanager", _am(_alert(1, "endsAt", "0001-01-01T00:00:00+01:00")), "alerts[1].endsAt"),
    ("alertmanager", _am(_alert(0, "generatorURL", 5)), "alerts[0].generatorURL"),
    ("alertmanager", _am(_alert(0, "fingerprint", 42)), "alerts[0].fingerprint"),
    ("grafana", [], "$"),
    ("grafana", with_change(GRAFANA, _set("version", "4")), "version"),
    ("grafana", with_change(GRAFANA, lambda b: b.pop("groupKey")), "groupKey"),
    ("grafana", with_change(GRAFANA, _set("orgId", "1")), "orgId"),
    ("grafana", with_change(GRAFANA, _alert(0, "values", _nested(40))), DEEP_VALUES),
    ("grafana", with_change(GRAFANA, _alert(0, "valueString", 0.3)), "alerts[0].valueString"),
    ("grafana", FIRING, "version"),
    ("generic", None, "$"),
    ("generic", [QUEUE], "$"),
    ("generic", "alert-test", "$"),
    ("generic", 1.5, "$"),
    ("generic", {}, "queue"),
    ("generic", {"type": "test", "message": "alert-test"}, "queue"),
    ("generic", {**QUEUE, "queue": ""}, "queue"),
    ("generic", {**QUEUE, "queue": 7}, "queue"),
    ("generic", {"queue": "q"}, "severity"),
    ("generic", {**QUEUE, "severity": 2}, "severity"),
    ("generic", {**QUEUE, "backlog": "1240"}, "backlog"),
    ("generic", {**QUEUE, "backlog": -1}, "backlog"),
    ("generic", {**QUEUE, "backlog": True}, "backlog"),
    ("generic", {**QUEUE, "backlog": 1.5}, "backlog"),
    ("generic", {**QUEUE, "retryAgeMs": float("nan"), "retry_age_ms": None}, "retryAgeMs"),
    ("generic", {**QUEUE, "dead_letters": 2**64}, "dead_letters"),
    ("generic", {**QUEUE, "status": "ok"}, "status"),
    ("generic", {**QUEUE, "labels": {"x": {}}}, "labels.x"),
    ("generic", {**QUEUE, "message": ["m"]}, "message"),
    ("generic", {**QUEUE, "dedup_key": 3}, "dedup_key"),
    ("generic", {**QUEUE, "timestamp": 1764000000}, "timestamp"),
    ("generic", {**QUEUE, "timestamp": "\u0662\u0660\u0662\u0666-01-01T00:00:00Z"}, "timestamp"),
    ("generic", {**QUEUE, "startsAt": "2026-02-30T00:00:00Z"}, "startsAt"),
    ("generic", {"event_action": "escalate", "dedup_key": "k"}, "event_action"),
    ("generic", {"event_action": None}, "event_action"),
    ("generic", {"event_action": "trigger", "dedup_key": "k"}, "payload"),
    ("generic", _pd("summary"), "payload"),
    ("generic", _pd({"severity": "info", "source": "h"}), "payload.summary"),
    ("generic", _pd({"summary": "", "severity": "info", "source": "h"}), "payload.summary"),
    ("generic", _pd({"summary": "s", "source": "h"}), "payload.severity"),
    ("generic", _pd({"summary": "s", "severity": 1, "source": "h"}), "payload.severity"),
    ("generic", _pd({"summary": "s", "severity": "info"}), "payload.source"),
    ("generic", _pd({**PD_OK, "component": 1}), "payload.component"),
    ("generic", _pd({**PD_OK, "timestamp": "now"}), "payload.timestamp"),
    ("generic", _pd({**PD_OK, "custom_details": {"a": _nested(40)}}), DEEP_DETAILS),
    ("generic", _pd(PD_OK, dedup_key=""), "dedup_key"),
    ("generic", _pd(PD_OK, routing_key=123), "routing_key"),
    ("generic", _pd(PD_OK, links={"href": "https://x"}), "links"),
    ("generic", _pd(PD_OK, links=["https://x"]), "links[0]"),
    ("generic", _pd(PD_OK, links=[{"href": "https://x", "text": 1}]), "links[0].text"),
    ("generic", _pd(PD_OK, images=[{"alt": []}]), "images[0].alt"),
    ("generic", _pd(PD_OK, client=5, client_url="https://x"), "client"),
    ("generic", {"event_action": "resolve"}, "dedup_key"),
    ("generic", {"event_action": "acknowledge", "dedup_key": ["k"]}, "dedup_key"),
    ("generic", {"event_action": "resolve", "dedup_key": "k", "payload": []}, "payload"),
]


@pytest.mark.parametrize(("parser", "body", "field"), MALFORMED)
def test_malformed_payloads_name_the_field(parser: str, body: object, field: str) -> None:
    with pytest.raises(AlertPayloadError) as caught:
        PARSERS[parser](body)
    assert caught.value.field == field
    assert str(caught.value).startswith(f"{field}: ") and caught.value.message


def test_generic_error_says_what_is_expected() -> None:
    with pytest.raises(AlertPayloadError) as caught:
        parse_generic({"hello": "world"}, SETTINGS, NOW)
    assert caught.value.field == "queue"
    assert "smoke" in caught.value.message and "event_action" in caught.value.message


# --- properties -----------------------------------------------------------------------

KEYS = st.sampled_from(
    [
        "version",
        "groupKey",
        "status",
        "alerts",
        "labels",
        "annotations",
        "startsAt",
        "endsAt",
        "fingerprint",
        "queue",
        "severity",
        "type",
        "event_action",
        "dedup_key",
        "payload",
        "summary",
        "source",
        "links",
        "href",
        "backlog",
        "alertname",
        "timestamp",
        "values",
    ]
)
SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(KEYS | st.text(max_size=8), inner, max_size=5)
    ),
    max_leaves=20,
)
SAMPLES = [FIRING, RESOLVED, GRAFANA, QUEUE, SMOKE, PAGERDUTY]


def _paths(value: object, prefix: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, inner in value.items():
            found += _paths(inner, (*prefix, key))
    elif isinstance(value, list):
        for i, inner in enumerate(value):
            found += _paths(inner, (*prefix, i))
    return found


def _mutate(base: object, path: tuple[str | int, ...], delete: bool, value: object) -> object:
    if not path:
        return value
    body = copy.deepcopy(base)
    parent: Any = body
    for step in path[:-1]:
        parent = parent[step]
    if delete:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    return body


def _check(parsed: object) -> None:
    assert isinstance(parsed, list) and parsed
    for alert in parsed:
        assert isinstance(alert, NormalizedAlert)
        assert alert.status in ("firing", "resolved") and alert.severity in SEVERITIES
        texts = [alert.fingerprint, alert.group_key, alert.summary, alert.description]
        texts += [*alert.labels, *alert.labels.values(), *alert.links, *alert.links.values()]
        for text in texts:
            assert isinstance(text, str) and "\x00" not in text and len(text) <= 4000
            text.encode("utf-8")
        assert alert.fingerprint and alert.group_key
        assert all(url.lower().startswith(("http://", "https://")) for url in alert.links.values())
        for stamp in (alert.starts_at, alert.ends_at):
            assert stamp is None or stamp.tzinfo is UTC
        json.dumps(alert.details, allow_nan=False).encode("utf-8")


def _parse_all(body: object) -> None:
    for parse in PARSERS.values():
        try:
            parsed = parse(body)
        except AlertPayloadError as error:
            assert isinstance(error.field, str) and error.message
        else:
            _check(parsed)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(JSON_VALUES)
def test_any_json_gives_alerts_or_a_payload_error(body: object) -> None:
    _parse_all(body)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_any_mutation_of_a_real_payload_gives_alerts_or_a_payload_error(
    data: st.DataObject,
) -> None:
    base = data.draw(st.sampled_from(SAMPLES))
    for _ in range(data.draw(st.integers(min_value=1, max_value=3))):
        path = data.draw(st.sampled_from(_paths(base)))
        delete = bool(path) and data.draw(st.booleans())
        base = _mutate(base, path, delete, None if delete else data.draw(JSON_VALUES))
    _parse_all(base)


def test_samples_all_parse() -> None:
    for body in SAMPLES:
        _parse_all(body)
    _check(parse_alertmanager(FIRING, SETTINGS) + parse_grafana(GRAFANA, SETTINGS))
