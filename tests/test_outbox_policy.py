"""Pacing, retry decisions and war-room names: the outbox's pure parts."""

from __future__ import annotations

import pytest

from bot.config.settings import Link
from bot.core.bookmarks import MAX_BOOKMARKS, room_bookmarks
from bot.core.pacing import Pacer, pacing_key
from bot.core.retry import MAX_BACKOFF_SECONDS, Failure, retry_delay
from bot.core.war_room_names import MAX_CHANNEL_NAME, room_name_from_template


def test_pacer_allows_a_burst_then_settles_at_the_rate() -> None:
    pacer = Pacer({"conversations.create": 20}, burst=3)
    waits = []
    for _ in range(5):
        waits.append(pacer.wait("conversations.create", "conversations.create", 0.0))
        pacer.take("conversations.create", "conversations.create", 0.0)
    assert waits[:3] == [0.0, 0.0, 0.0]
    assert waits[3] == pytest.approx(3.0)  # 20 a minute: one every 3 s
    assert waits[4] == pytest.approx(6.0)  # booked turns stagger, no thundering herd
    assert pacer.wait("conversations.create", "conversations.create", 9.0) == pytest.approx(0.0)


def test_pacer_keys_are_independent_and_unknown_methods_get_the_default() -> None:
    pacer = Pacer({}, burst=1)
    pacer.take("a", "x.y", 0.0)
    assert pacer.wait("a", "x.y", 0.0) == pytest.approx(60 / 50)
    assert pacer.wait("b", "x.y", 0.0) == 0.0


def test_post_message_is_paced_per_channel() -> None:
    assert pacing_key("chat.postMessage", "C1") != pacing_key("chat.postMessage", "C2")
    assert pacing_key("chat.update", "C1") == pacing_key("chat.update", "C2")


@pytest.mark.parametrize(
    ("failure", "attempts", "delay"),
    [
        (Failure("ratelimited", 429, 7.0), 1, 7.0),
        (Failure("ratelimited", 429, 99999.0), 1, MAX_BACKOFF_SECONDS),
        (Failure("http_error", 503), 1, 1.0),
        (Failure("http_error", 500), 4, 8.0),
        (Failure("timeout"), 30, MAX_BACKOFF_SECONDS),
        (Failure("connection_error"), 2, 2.0),
        (Failure("internal_error", 200), 1, 1.0),
        (Failure("invalid_blocks", 200), 1, None),
        (Failure("channel_not_found", 200), 5, None),
        (Failure("not_authed", 200), 1, None),
        (Failure("http_error", 400), 1, None),
        (Failure("http_error", 404), 1, None),
    ],
)
def test_retry_delay(failure: Failure, attempts: int, delay: float | None) -> None:
    assert retry_delay(failure, attempts) == delay


def test_room_names_follow_the_template_and_slack_rules() -> None:
    def name(template: str, title: str, **kw: object) -> str:
        return room_name_from_template(
            template,
            prefix="inc",
            incident_id=42,
            title=title,
            severity="critical",
            day="20261123",
            **kw,  # type: ignore[arg-type]
        )

    assert name("{prefix}-{date}-{slug}", "WhatsApp sends failing!") == (
        "inc-20261123-whatsapp-sends-failing"
    )
    assert name("{prefix}-{date}-{slug}", "") == "inc-20261123"
    assert name("{prefix}-{date}-{slug}", "<!channel> Café") == "inc-20261123-channel-cafe"
    assert name("{prefix}-{id}", "x", drill=True) == "inc-drill-42"
    assert name("War Room {severity} {slug}", "A b") == "war-room-critical-a-b"
    long = name("{prefix}-{date}-{slug}-end", "word " * 40)
    assert len(long) <= MAX_CHANNEL_NAME and long.endswith("-word-end")
    assert name("{slug}", "!!!") == "inc-42"


def test_room_bookmarks_come_from_config_then_the_alerts() -> None:
    configured = [Link("Runbook — integration down", "https://wiki/int"), Link("", "https://d/q")]
    alerts = [
        {"runbook": "https://wiki/int", "dashboard": "https://d/x", "generator": "https://p/g"},
        {"runbook": "https://wiki/queue"},
        {"runbook": "https://wiki/other", "dashboard": "https://d/x"},
    ]
    assert room_bookmarks(configured, alerts) == [
        ("Runbook — integration down", "https://wiki/int"),
        ("https://d/q", "https://d/q"),
        ("Dashboard", "https://d/x"),
        ("Runbook", "https://wiki/queue"),
        ("Runbook 2", "https://wiki/other"),
    ]
    many = [{"runbook": f"https://wiki/{n}"} for n in range(30)]
    assert len(room_bookmarks([], many)) == MAX_BOOKMARKS
