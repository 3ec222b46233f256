"""Integration health answers parsed, and the periodic probe's streaks: pure."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from bot.core.integration_health import (
    IntegrationShapeError,
    ProbeResult,
    Status,
    Streaks,
    Transition,
    from_aggregate,
    from_single,
    unreachable,
)

NOW = datetime(2026, 11, 23, 3, 12, tzinfo=UTC)
# What the demo backends' GET /api/integrations/status answers with WhatsApp down.
AGGREGATE: dict[str, Any] = {
    "status": "down",
    "forced": True,
    "checked_at": "2026-11-23T03:12:00+00:00",
    "integrations": [
        {
            "name": "mawaqit",
            "status": "up",
            "latency_ms": 120,
            "last_error": None,
            "last_success": "2026-11-23T03:12:00+00:00",
        },
        {
            "name": "whatsapp",
            "status": "down",
            "latency_ms": 120,
            "last_error": "connection reset by peer",
            "last_success": "2026-11-23T02:12:00+00:00",
        },
        {
            "name": "insurer",
            "status": "degraded",
            "latency_ms": 5000,
            "last_error": "timeout after 5000 ms",
            "last_success": "2026-11-23T02:12:00Z",
        },
    ],
}


def test_the_aggregate_parses() -> None:
    results = from_aggregate(AGGREGATE, NOW)
    assert list(results) == ["mawaqit", "whatsapp", "insurer"]
    assert results["whatsapp"] == ProbeResult(
        name="whatsapp",
        status="down",
        latency_ms=120.0,
        last_error="connection reset by peer",
        last_success=datetime(2026, 11, 23, 2, 12, tzinfo=UTC),
        checked_at=NOW,
    )
    assert results["insurer"].status == "degraded" and results["mawaqit"].last_error is None


def test_integrations_keyed_by_name_parse_too() -> None:
    keyed = {
        i["name"]: {k: v for k, v in i.items() if k != "name"} for i in AGGREGATE["integrations"]
    }
    assert from_aggregate({"integrations": keyed}, NOW) == from_aggregate(AGGREGATE, NOW)


def test_a_single_health_url_parses() -> None:
    item = {"status": "UP", "latency_ms": 80.5}
    assert from_single(item, "pms", NOW) == ProbeResult("pms", "up", 80.5, None, None, NOW)
    traffic_light = from_single({"name": "x", "status": "amber"}, "voucher-preview", NOW)
    assert (traffic_light.name, traffic_light.status) == ("voucher-preview", "degraded")


def test_unreachable_is_down() -> None:
    assert unreachable("waha", "timeout", NOW) == ProbeResult(
        "waha", "down", None, "timeout", None, NOW
    )


def _item(**changes: object) -> dict[str, Any]:
    item: dict[str, Any] = {"name": "pms", "status": "up", "latency_ms": 1, "last_error": None}
    item.update(changes)
    return {"integrations": [item]}


@pytest.mark.parametrize(
    ("data", "field", "words"),
    [
        ([], "", "got array"),
        ({"status": "up"}, "integrations", "is required"),
        ({"integrations": "pms"}, "integrations", "got string"),
        ({"integrations": [1]}, "integrations[0]", "got number"),
        (_item(name=None), "integrations[0].name", "is required"),
        (_item(status="sideways"), "integrations.pms.status", "'sideways'"),
        (_item(status=None), "integrations.pms.status", "is required"),
        (_item(latency_ms="fast"), "integrations.pms.latency_ms", "got string"),
        (_item(latency_ms=-1), "integrations.pms.latency_ms", "0 or more"),
        (_item(last_error=500), "integrations.pms.last_error", "got number"),
        (_item(last_success="noon"), "integrations.pms.last_success", "RFC 3339"),
    ],
)
def test_a_malformed_aggregate_says_which_field(data: object, field: str, words: str) -> None:
    with pytest.raises(IntegrationShapeError) as caught:
        from_aggregate(data, NOW)
    assert caught.value.field == field and words in str(caught.value)
    assert isinstance(caught.value, ValueError)


def test_a_malformed_single_answer_says_which_field() -> None:
    with pytest.raises(IntegrationShapeError, match="status"):
        from_single({"latency_ms": 3}, "pms", NOW)
    with pytest.raises(IntegrationShapeError, match="expected an object"):
        from_single("OK", "pms", NOW)


def test_an_integration_listed_twice_is_refused() -> None:
    twice = {"integrations": AGGREGATE["integrations"][:1] * 2}
    with pytest.raises(IntegrationShapeError, match='"mawaqit" appears twice'):
        from_aggregate(twice, NOW)


# --- streaks --------------------------------------------------------------------------


def round_of(**statuses: Status) -> dict[str, ProbeResult]:
    return {
        name: ProbeResult(name, status, None, None if status == "up" else "boom", None, NOW)
        for name, status in statuses.items()
    }


def run(
    rounds: list[dict[str, ProbeResult]], fail_after: int = 3
) -> tuple[Streaks, list[list[Transition]]]:
    streaks, seen = Streaks(), []
    for results in rounds:
        streaks, transitions = streaks.observe(results, fail_after)
        seen.append(transitions)
    return streaks, seen


def test_raises_exactly_once_at_fail_after() -> None:
    streaks, seen = run([round_of(pms="down")] * 5)
    assert seen[:2] == [[], []]
    assert seen[2] == [Transition("pms", "raise", 3, "boom")]
    assert seen[3:] == [[], []]  # no second raise while it stays down
    assert streaks.failures_of("pms") == 5 and streaks.raised == {"pms"}


def test_resolves_once_when_up_again() -> None:
    down, up = round_of(pms="down"), round_of(pms="up")
    streaks, seen = run([down, down, down, down, up, up])
    assert seen[4] == [Transition("pms", "resolve", 4, None)] and seen[5] == []
    assert streaks.failures_of("pms") == 0 and not streaks.raised


def test_up_before_fail_after_ends_the_row_quietly() -> None:
    down, up = round_of(pms="down"), round_of(pms="up")
    _, seen = run([down, down, up, down, down])
    assert all(t == [] for t in seen)


def test_degraded_does_not_count_nor_end_the_row() -> None:
    down, degraded = round_of(pms="down"), round_of(pms="degraded")
    streaks, seen = run([degraded] * 4)
    assert all(t == [] for t in seen) and streaks.failures_of("pms") == 0
    _, seen = run([down, degraded, down, degraded, down])
    assert seen[4] == [Transition("pms", "raise", 3, "boom")]


def test_degraded_does_not_resolve_a_raised_alert() -> None:
    down = round_of(pms="down")
    streaks, seen = run([down, down, down, round_of(pms="degraded")])
    assert seen[3] == [] and streaks.raised == {"pms"}


def test_an_absent_integration_keeps_its_streak() -> None:
    _, seen = run(
        [round_of(pms="down"), round_of(pms="down"), round_of(waha="up"), round_of(pms="down")]
    )
    assert seen[3] == [Transition("pms", "raise", 3, "boom")]


def test_integrations_are_counted_apart() -> None:
    both_down = round_of(pms="down", waha="down")
    streaks, seen = run([both_down, round_of(pms="down", waha="up"), both_down], fail_after=2)
    assert seen[1] == [Transition("pms", "raise", 2, "boom")]
    assert seen[2] == []
    assert streaks.failures_of("waha") == 1


def test_observe_leaves_the_old_streaks_alone() -> None:
    before = Streaks()
    after, _ = before.observe(round_of(pms="down"), 1)
    assert before.failures_of("pms") == 0 and not before.raised
    assert after.raised == {"pms"}


def test_fail_after_must_be_positive() -> None:
    with pytest.raises(ValueError, match="fail_after"):
        Streaks().observe({}, 0)
