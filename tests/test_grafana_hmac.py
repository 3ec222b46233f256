"""Grafana webhook HMAC signatures: the pure check, the config, and the real intake over HTTP."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.config.schema import ConfigError
from bot.config.settings import AlertSettings, GrafanaHmacSettings, Settings
from bot.db.models import Alert
from bot.infra.config_loader import load_config
from bot.web.grafana_signature import verify_grafana_signature
from tests.db_reads import rows
from tests.harness import ALERT_TOKEN, Harness, running
from tests.payloads import GRAFANA

SECRET = "grafana-hmac-secret-0123456789"
SIGNATURE = "X-Grafana-Alerting-Signature"
TIMESTAMP = "X-Grafana-Alerting-Signature-Timestamp"
NOW = 1_795_000_000.0
BODY = json.dumps(GRAFANA).encode()
BODY_ONLY = GrafanaHmacSettings(secret=SECRET)
WITH_TIMESTAMP = GrafanaHmacSettings(secret=SECRET, timestamp_header=TIMESTAMP)


def sign(body: bytes, stamp: str | None = None, secret: str = SECRET) -> str:
    """What Grafana sends: hex HMAC-SHA256 of the body, or of `<timestamp>:<body>`."""
    message = body if stamp is None else stamp.encode() + b":" + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def verify(
    settings: GrafanaHmacSettings, headers: dict[str, str], body: bytes = BODY
) -> str | None:
    reason = verify_grafana_signature(settings, SECRET, body, headers, NOW)
    if reason is not None:
        assert SECRET not in reason
        assert sign(body) not in reason and sign(body, str(int(NOW))) not in reason
    return reason


def stamped(offset: float = 0, body: bytes = BODY) -> dict[str, str]:
    stamp = str(int(NOW + offset))
    return {SIGNATURE: sign(body, stamp), TIMESTAMP: stamp}


# --- the pure check -------------------------------------------------------------------


def test_a_signed_body_passes() -> None:
    assert verify(BODY_ONLY, {SIGNATURE: sign(BODY)}) is None


def test_a_signed_timestamp_and_body_pass() -> None:
    assert verify(WITH_TIMESTAMP, stamped()) is None
    assert verify(WITH_TIMESTAMP, stamped(-299)) is None
    assert verify(WITH_TIMESTAMP, stamped(+299)) is None


def test_the_body_alone_is_not_enough_when_a_timestamp_is_expected() -> None:
    headers = {SIGNATURE: sign(BODY), TIMESTAMP: str(int(NOW))}
    assert verify(WITH_TIMESTAMP, headers) == f"wrong signature in {SIGNATURE}"


def test_a_wrong_secret_fails() -> None:
    headers = {SIGNATURE: sign(BODY, secret="someone-else")}
    assert verify(BODY_ONLY, headers) == f"wrong signature in {SIGNATURE}"


def test_a_tampered_body_fails() -> None:
    tampered = BODY.replace(b'"firing"', b'"resolved"', 1)
    assert tampered != BODY
    assert verify(BODY_ONLY, {SIGNATURE: sign(BODY)}, tampered) == (
        f"wrong signature in {SIGNATURE}"
    )
    assert verify(WITH_TIMESTAMP, stamped(), tampered) == f"wrong signature in {SIGNATURE}"


def test_a_changed_timestamp_fails() -> None:
    headers = {**stamped(), TIMESTAMP: str(int(NOW) + 1)}
    assert verify(WITH_TIMESTAMP, headers) == f"wrong signature in {SIGNATURE}"


def test_missing_headers_are_named() -> None:
    assert verify(BODY_ONLY, {}) == f"missing {SIGNATURE} header"
    assert verify(BODY_ONLY, {SIGNATURE: "  "}) == f"missing {SIGNATURE} header"
    assert verify(WITH_TIMESTAMP, {SIGNATURE: sign(BODY)}) == f"missing {TIMESTAMP} header"


def test_stale_timestamps_fail_in_both_directions() -> None:
    old = verify(WITH_TIMESTAMP, stamped(-301))
    assert old is not None and TIMESTAMP in old and "too old" in old
    ahead = verify(WITH_TIMESTAMP, stamped(+301))
    assert ahead is not None and TIMESTAMP in ahead and "future" in ahead


def test_the_window_is_configurable() -> None:
    tight = dataclasses.replace(WITH_TIMESTAMP, max_age=timedelta(seconds=30))
    assert verify(tight, stamped(-29)) is None
    assert verify(tight, stamped(-31)) is not None


@pytest.mark.parametrize("stamp", ["soon", "1.795e9", "-1795000000", "", "1795000000.5", "١٢"])
def test_a_timestamp_that_is_not_unix_seconds_fails(stamp: str) -> None:
    headers = {SIGNATURE: sign(BODY, stamp), TIMESTAMP: stamp}
    reason = verify(WITH_TIMESTAMP, headers)
    assert reason is not None and TIMESTAMP in reason


def test_uppercase_hex_and_a_sha256_prefix_are_accepted() -> None:
    digest = sign(BODY)
    for given in (digest.upper(), f"sha256={digest}", f"SHA256={digest.upper()}", f" {digest} "):
        assert verify(BODY_ONLY, {SIGNATURE: given}) is None, given


@pytest.mark.parametrize("given", ["nothex", "ab" * 31, "ab" * 33, "é" * 64, "sha1=" + "a" * 40])
def test_a_malformed_digest_fails(given: str) -> None:
    reason = verify(BODY_ONLY, {SIGNATURE: given})
    assert reason is not None and SIGNATURE in reason


def test_header_names_match_case_insensitively_and_are_configurable() -> None:
    assert verify(BODY_ONLY, {SIGNATURE.lower(): sign(BODY)}) is None
    custom = dataclasses.replace(BODY_ONLY, header="X-Signature")
    assert verify(custom, {"x-signature": sign(BODY)}) is None
    assert verify(custom, {SIGNATURE: sign(BODY)}) == "missing X-Signature header"


# --- configuration ---------------------------------------------------------------------


def test_hmac_is_off_by_default_and_the_secret_stays_out_of_repr() -> None:
    assert AlertSettings().grafana_hmac == GrafanaHmacSettings()
    assert GrafanaHmacSettings().secret == ""
    assert GrafanaHmacSettings().max_age == timedelta(minutes=5)
    assert SECRET not in repr(Settings(alerts=AlertSettings(grafana_hmac=BODY_ONLY)))


def test_the_secret_comes_from_the_environment(tmp_path: Path) -> None:
    path = tmp_path / "warroom.yaml"
    path.write_text(
        "alerts:\n  grafana_hmac:\n    secret: ${GRAFANA_WEBHOOK_SECRET}\n"
        f"    timestamp_header: {TIMESTAMP}\n    max_age: 2m\n"
    )
    loaded = load_config(str(path), {"GRAFANA_WEBHOOK_SECRET": SECRET}).settings
    assert loaded.alerts.grafana_hmac == GrafanaHmacSettings(
        secret=SECRET, timestamp_header=TIMESTAMP, max_age=timedelta(minutes=2)
    )


def test_a_secret_written_in_the_file_is_a_problem(tmp_path: Path) -> None:
    path = tmp_path / "warroom.yaml"
    path.write_text(f"alerts:\n  grafana_hmac:\n    secret: {SECRET}\n")
    with pytest.raises(ConfigError) as caught:
        load_config(str(path), {})
    [problem] = [str(p) for p in caught.value.problems]
    assert problem.startswith("alerts.grafana_hmac.secret: ")
    assert "${GRAFANA_WEBHOOK_SECRET}" in problem and SECRET not in problem


# --- through the real HTTP server ------------------------------------------------------


def settings_with(signing: GrafanaHmacSettings) -> Settings:
    return Settings(alerts=AlertSettings(grafana_hmac=signing))


async def post(h: Harness, headers: dict[str, str], source: str = "grafana") -> tuple[int, Any]:
    sent = {
        "Content-Type": "application/json",
        "Authorization": f"Bearer {ALERT_TOKEN}",
        **headers,
    }
    url = f"{h.bot_url}/alerts/{source}"
    body = BODY if source == "grafana" else json.dumps({"type": "smoke", "message": "x"}).encode()
    async with h.http.post(url, data=body, headers=sent) as response:
        return response.status, await response.json()


def now_stamped() -> dict[str, str]:
    stamp = str(int(time.time()))
    return {SIGNATURE: sign(BODY, stamp), TIMESTAMP: stamp}


async def stored_alerts(database_url: str) -> list[Any]:
    return await rows(database_url, select(Alert.__table__).order_by(Alert.id))


async def rejected_for_auth(h: Harness) -> str:
    async with h.http.get(f"{h.bot_url}/metrics") as response:
        text = await response.text()
    line = 'warroom_alerts_rejected_total{reason="auth",source="grafana"}'
    return next(
        (ln.removeprefix(line).strip() for ln in text.splitlines() if ln.startswith(line)), ""
    )


async def test_a_signed_grafana_alert_is_stored(database_url: str) -> None:
    async with running(database_url, settings=settings_with(WITH_TIMESTAMP)) as h:
        status, answer = await post(h, now_stamped())
        assert status == 202, answer
        assert answer["accepted"] == 1
        [alert] = await stored_alerts(database_url)
        assert alert.source == "grafana" and alert.id == answer["alert_ids"][0]


async def test_a_bad_signature_gets_401_and_stores_nothing(database_url: str) -> None:
    async with running(database_url, settings=settings_with(WITH_TIMESTAMP)) as h:
        good = now_stamped()
        stale = str(int(time.time()) - 600)
        for headers, fault in (
            ({**good, SIGNATURE: sign(BODY, good[TIMESTAMP], secret="wrong")}, SIGNATURE),
            ({TIMESTAMP: good[TIMESTAMP]}, SIGNATURE),
            ({SIGNATURE: good[SIGNATURE]}, TIMESTAMP),
            ({SIGNATURE: sign(BODY, stale), TIMESTAMP: stale}, TIMESTAMP),
        ):
            status, answer = await post(h, headers)
            assert status == 401, answer
            assert fault in answer["error"] and SECRET not in answer["error"]
        assert await stored_alerts(database_url) == []
        assert await rejected_for_auth(h) == "4.0"


async def test_the_bearer_token_is_still_required(database_url: str) -> None:
    async with running(database_url, settings=settings_with(WITH_TIMESTAMP)) as h:
        status, answer = await post(h, {**now_stamped(), "Authorization": "Bearer wrong"})
        assert status == 401 and "bearer token" in answer["error"]
        assert await stored_alerts(database_url) == []


async def test_other_sources_ignore_the_grafana_signature(database_url: str) -> None:
    async with running(database_url, settings=settings_with(BODY_ONLY)) as h:
        status, answer = await post(h, {}, source="generic")
        assert status == 202, answer


async def test_without_a_secret_grafana_alerts_need_no_signature(database_url: str) -> None:
    async with running(database_url) as h:
        status, answer = await post(h, {})
        assert status == 202, answer
        assert len(await stored_alerts(database_url)) == 1
