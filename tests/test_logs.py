"""Log lines are JSON with request and incident ids; secrets never appear in them."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from bot.infra.logs import (
    REDACTED,
    JsonFormatter,
    Redactor,
    bind_context,
    new_context,
    reset_context,
)
from tests.harness import ALERT_TOKEN, SIGNING_SECRET, running


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(
        JsonFormatter(Redactor(["xoxb-sandbox-token", SIGNING_SECRET, ALERT_TOKEN]))
    )
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield stream
    root.removeHandler(handler)
    root.setLevel(previous)


def test_context_fields_and_extras_are_in_the_line(captured: io.StringIO) -> None:
    token = new_context(request_id="req-1")
    bind_context(incident_id=42)
    logging.getLogger("warroom.test").info("hello %s", "there", extra={"channel": "C1"})
    reset_context(token)
    logging.getLogger("warroom.test").info("after")
    first, second = (json.loads(line) for line in captured.getvalue().splitlines())
    assert first["message"] == "hello there" and first["level"] == "info"
    assert (
        first["request_id"] == "req-1" and first["incident_id"] == 42 and first["channel"] == "C1"
    )
    assert "request_id" not in second


def test_known_secrets_and_token_shapes_are_redacted(captured: io.StringIO) -> None:
    log = logging.getLogger("warroom.test")
    log.warning("token xoxb-sandbox-token and %s", SIGNING_SECRET)
    log.warning("header", extra={"authorization": f"Bearer {ALERT_TOKEN}"})
    log.warning("other tokens xoxb-1-2-3abc xapp-1-A0-99 xoxp-9-9")
    try:
        raise RuntimeError(f"failed with {ALERT_TOKEN}")
    except RuntimeError:
        log.exception("boom")
    text = captured.getvalue()
    for secret in (
        "xoxb-sandbox-token",
        SIGNING_SECRET,
        ALERT_TOKEN,
        "xoxb-1-2-3abc",
        "xapp-1-A0-99",
    ):
        assert secret not in text
    assert text.count(REDACTED) >= 6


async def test_a_whole_declare_logs_no_secret(database_url: str, captured: io.StringIO) -> None:
    async with running(database_url) as h:
        await h.slash("/incident declare critical Logging check")
        await h.slash("/incident nonsense")
        import asyncio

        for _ in range(200):
            if "war room created" in captured.getvalue():
                break
            await asyncio.sleep(0.05)
    lines = [json.loads(line) for line in captured.getvalue().splitlines()]
    created = [r for r in lines if r["message"] == "war room created"]
    # The room is built by the outbox worker: its lines carry the incident and the outbox row.
    assert created and created[0]["incident_id"] > 0 and created[0]["outbox_id"] > 0
    text = captured.getvalue()
    for secret in ("xoxb-sandbox-token", SIGNING_SECRET, ALERT_TOKEN):
        assert secret not in text
