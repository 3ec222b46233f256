"""The operational commands' replies: valid Block Kit, worst first, and nothing a backend or
a person typed can ping, mention or link."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.backends.errors import BackendError
from bot.config.platform import IntegrationSettings, IntegrationsSettings, QueueThresholds
from bot.core.integration_health import ProbeResult, Status
from bot.core.queue_health import QueueReading, judge
from bot.operations.messages import (
    Rendered,
    approval_request,
    backend_failed,
    campaign_result,
    confirm_prompt,
    denied,
    integration_status,
    operation_closed,
    queue_not_found,
    queue_status,
    replay_result,
)
from bot.sandbox.methods_blocks import block_errors

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
NOW = datetime(2026, 3, 10, 13, 2, 30, tzinfo=UTC)  # 14:02 CET
HOSTILE = "<!channel> & <https://evil|click>"
BROADCAST = re.compile(r"<!(channel|here|everyone)|@(channel|here|everyone)\b", re.IGNORECASE)
SETTINGS = IntegrationsSettings()


def everything(rendered: Rendered) -> str:
    return rendered.text + "\n" + json.dumps(rendered.blocks, ensure_ascii=False)


def assert_valid(rendered: Rendered) -> None:
    assert block_errors(rendered.blocks) == []
    assert rendered.text
    assert not BROADCAST.search(everything(rendered))


def probe(
    name: str,
    status: Status = "up",
    *,
    latency_ms: float | None = 120.0,
    last_error: str | None = None,
    last_success: datetime | None = NOW - timedelta(minutes=5),
) -> ProbeResult:
    return ProbeResult(name, status, latency_ms, last_error, last_success, NOW)


def status_of(
    results: list[ProbeResult], *, cached_at: datetime | None = None, only: str | None = None
) -> Rendered:
    rendered = integration_status(
        results, SETTINGS, now=NOW, tz=AMSTERDAM, cached_at=cached_at, only=only
    )
    assert_valid(rendered)
    return rendered


SIX = [
    probe("pms"),
    probe("whatsapp", "down", latency_ms=None, last_error=HOSTILE, last_success=None),
    probe("insurer", "degraded", latency_ms=2400.0, last_error="slow"),
    probe("mawaqit", "down", last_error="timeout"),
    probe("waha"),
    probe("voucher-preview"),
]


# --- integration status ----------------------------------------------------------------


def test_integration_headline_counts_and_order() -> None:
    rendered = status_of(SIX)
    assert rendered.text == ":red_circle: *2 of 6 integrations down*, 1 degraded"
    listing = rendered.blocks[1]["text"]["text"]
    order = [listing.index(f"*{name}*") for name in ("mawaqit", "whatsapp", "insurer", "pms")]
    assert order == sorted(order)
    assert "*mawaqit* down · 120 ms · last success 13:57" in listing
    assert "*whatsapp* down · — · last success —" in listing
    assert "*insurer* degraded · 2,400 ms" in listing


def test_integration_last_error_is_escaped() -> None:
    text = everything(status_of(SIX))
    assert "<!channel>" not in text and "<https://evil" not in text
    assert "&lt;!channel&gt; &amp; &lt;https://evil|click&gt;" in text


def test_long_last_error_is_cut() -> None:
    rendered = status_of([probe("pms", "down", last_error="x" * 500)])
    assert "x" * 200 not in rendered.blocks[1]["text"]["text"]
    assert "[truncated]" in rendered.blocks[1]["text"]["text"]


def test_fallback_only_for_down_and_degraded() -> None:
    listing = status_of(SIX).blocks[1]["text"]["text"]
    assert "Fallback: Switch chat to the PORTAL channel" in listing  # whatsapp, down
    assert "Fallback: Mark submitted claims API_PENDING" in listing  # insurer, degraded
    assert "Webhooks retry by themselves" not in listing  # pms, up
    assert listing.count("Fallback:") == 3


def test_all_up_and_empty() -> None:
    assert (
        status_of([probe("pms"), probe("waha")]).text
        == ":large_green_circle: *All 2 integrations up*"
    )
    assert "No integrations reported" in status_of([]).text


def test_checked_context_line() -> None:
    cached = status_of(SIX, cached_at=NOW - timedelta(seconds=12))
    notes = [el["text"] for el in cached.blocks[-1]["elements"]]
    assert notes[0] == "Checked 14:02 (cached 12 s ago — add --force to check now)"
    fresh = status_of(SIX)
    assert fresh.blocks[-1]["elements"][0]["text"] == "Checked 14:02"


def test_configured_integrations_missing_from_answer_are_named() -> None:
    notes = [el["text"] for el in status_of([probe("pms")]).blocks[-1]["elements"]]
    assert notes[1].startswith("Not in the answer: insurer, mawaqit")


def test_last_success_on_another_day_shows_the_date() -> None:
    old = probe("pms", "down", last_success=NOW - timedelta(days=2))
    assert "last success 2026-03-08 14:02" in status_of([old]).blocks[1]["text"]["text"]


def test_only_one_integration() -> None:
    rendered = status_of(SIX, only="WhatsApp")
    assert rendered.text == ":red_circle: *whatsapp* is down"
    assert "*pms*" not in everything(rendered)
    missing = status_of(SIX, only="whatsap")
    assert "No integration named *whatsap*" in missing.text
    assert "Did you mean *whatsapp*?" in missing.text


def test_many_integrations_stay_valid() -> None:
    many = [probe(f"svc-{i:02}", "down", last_error="e" * 300) for i in range(25)]
    rendered = status_of(many)
    assert len(rendered.blocks) <= 50
    assert all(f"*svc-{i:02}*" in everything(rendered) for i in range(25))
    huge = [probe(f"svc-{i:04}", "down", last_error=HOSTILE * 20) for i in range(2000)]
    rendered = status_of(huge)
    assert len(rendered.blocks) <= 50
    assert "more integrations not shown" in rendered.blocks[-2]["text"]["text"]


def test_hostile_integration_name_and_fallback() -> None:
    settings = IntegrationsSettings(items={"<!here>": IntegrationSettings(fallback="<!channel>")})
    rendered = integration_status(
        [probe("<!here>", "down")], settings, now=NOW, tz=AMSTERDAM, cached_at=None
    )
    assert_valid(rendered)
    assert "Fallback: &lt;!channel&gt;" in everything(rendered)


# --- queue status ----------------------------------------------------------------------


def reading(name: str, backlog: int, age_s: float = 0, dead: int = 0) -> QueueReading:
    return QueueReading(name, backlog, 3, timedelta(seconds=age_s), dead)


def test_queue_status_worst_first_with_reasons() -> None:
    readings = [
        reading("billing", 10),
        reading("whatsapp-outbound", 1840, age_s=420, dead=12),
        reading("emails", 420, age_s=45),
    ]
    judgements = [judge(r, QueueThresholds()) for r in readings]
    rendered = queue_status(
        readings, judgements, now=NOW, tz=AMSTERDAM, generated_at=NOW - timedelta(seconds=40)
    )
    assert_valid(rendered)
    assert rendered.text == ":red_circle: *1 of 3 queues critical*, 1 warning"
    listing = rendered.blocks[1]["text"]["text"]
    assert listing.index("whatsapp-outbound") < listing.index("emails") < listing.index("billing")
    assert "backlog 1,840 · 3 active · retry age 7m · 12 dead letters" in listing
    assert "retry age 45s" in listing
    assert "backlog 1,840 ≥ critical 1,000" in listing
    assert "retry age 7m ≥ critical 5m" in listing
    context = rendered.blocks[-1]["elements"][0]["text"]
    assert context == "Metrics from 14:01 (40 s old) · checked 14:02"


def test_queue_status_all_ok_without_generated_at() -> None:
    readings = [reading("a", 1), reading("b", 2)]
    rendered = queue_status(readings, [], now=NOW, tz=AMSTERDAM, generated_at=None)
    assert_valid(rendered)
    assert rendered.text == ":large_green_circle: *All 2 queues ok*"
    assert rendered.blocks[-1]["elements"][0]["text"] == "Checked 14:02"


def test_queue_not_found() -> None:
    rendered = queue_not_found("<!here> whatsap", ["whatsapp-outbound", "emails"])
    assert_valid(rendered)
    assert "&lt;!here&gt;" in rendered.text
    assert "Known queues: whatsapp-outbound, emails" in rendered.text
    assert "Did you mean" in queue_not_found("email", ["emails"]).text


# --- confirmation flow -----------------------------------------------------------------

SUMMARY = [
    "Pause campaign *cmp-1001* (Ramadan reminders): calls `POST /campaigns/cmp-1001/stop` "
    "on the campaigns backend"
]


def buttons_of(rendered: Rendered) -> list[dict[str, object]]:
    return [el for b in rendered.blocks if b["type"] == "actions" for el in b["elements"]]


def test_confirm_prompt() -> None:
    token = "t" * 64
    rendered = confirm_prompt(SUMMARY, token, needs_second=False, expires_in=timedelta(minutes=10))
    assert_valid(rendered)
    body = everything(rendered)
    assert SUMMARY[0] in body and "Expires in 10 min" in body
    assert "second allowed person" not in body
    assert [(b["action_id"], b["value"], b.get("style")) for b in buttons_of(rendered)] == [
        ("op_confirm", token, "primary"),
        ("op_cancel", token, None),
    ]


def test_confirm_prompt_second_person_and_danger() -> None:
    rendered = confirm_prompt(
        [*SUMMARY, "Then nothing else"], "tok", needs_second=True,
        expires_in=timedelta(seconds=90), danger=True,
    )  # fmt: skip
    assert_valid(rendered)
    assert "a second allowed person must approve" in everything(rendered)
    assert "Expires in 1 min 30 s" in everything(rendered)
    assert "• Then nothing else" in everything(rendered)
    assert buttons_of(rendered)[0]["style"] == "danger"


def test_confirm_prompt_rejects_bad_tokens() -> None:
    with pytest.raises(ValueError):
        confirm_prompt(SUMMARY, "t" * 65, needs_second=False, expires_in=timedelta(minutes=1))
    with pytest.raises(ValueError):
        approval_request("U1", SUMMARY, "")


def test_approval_request_mentions_the_requester() -> None:
    rendered = approval_request("U0123ABC", SUMMARY, "tok")
    assert_valid(rendered)
    assert rendered.text.startswith("<@U0123ABC> asks to")
    assert "a second allowed person must approve" in rendered.text
    assert [(b["action_id"], b["value"], b.get("style")) for b in buttons_of(rendered)] == [
        ("op_approve", "tok", "primary"),
        ("op_cancel", "tok", None),
    ]
    assert "<!here>" not in everything(approval_request("<!here>", SUMMARY, "tok"))


def test_operation_closed() -> None:
    rendered = operation_closed("Cancelled by <@U1>.")
    assert_valid(rendered)
    assert rendered.text == "Cancelled by <@U1>." and buttons_of(rendered) == []
    assert_valid(operation_closed("  "))


# --- results ---------------------------------------------------------------------------


def test_campaign_paused() -> None:
    before = {"id": "cmp-1001", "name": "<!here>", "status": "running"}
    after = {**before, "status": "paused", "targets": {"sent": 1200, "pending": 300, "failed": 4}}
    rendered = campaign_result("paused", "cmp-1001", before, after)
    assert_valid(rendered)
    body = rendered.blocks[0]["text"]["text"]
    assert rendered.text == ":double_vertical_bar: Paused campaign *cmp-1001* (&lt;!here&gt;)."
    assert "Status now: *paused* (was running)" in body
    assert "Targets: 1,200 sent · 300 pending · 4 failed" in body
    assert ":warning:" not in body


def test_campaign_status_not_as_expected() -> None:
    after = {"status": "running", "targets": {"sent": 1}}
    body = everything(campaign_result("paused", "cmp-1", None, after))
    assert ":warning: Expected it to be paused" in body


@pytest.mark.parametrize(
    "after",
    [
        None,
        [],
        "oops",
        {"status": 3, "name": 7},
        {"status": "resumed" * 50, "targets": "many"},
        {"targets": {"sent": "12", "pending": -1, "failed": True}},
        {"targets": {"sent": float("nan"), "pending": 1e300}},
    ],
)
def test_malformed_campaign_json_does_not_crash(after: object) -> None:
    rendered = campaign_result("resumed", "cmp-1", {"status": None}, after)
    assert_valid(rendered)
    assert "Resumed campaign *cmp-1*" in rendered.text


def test_replay_dry_run_and_real() -> None:
    dry = replay_result(
        "q", {"queue": "q", "dry_run": True, "would_replay": 12}, dry_run=True, limit=100
    )
    assert_valid(dry)
    assert (
        "Dry run: 12 dead letters would be replayed from *q* (limit 100). "
        "Run without --dry-run to replay them."
    ) in dry.text
    real = replay_result("q", {"dry_run": False, "replayed": 12, "remaining": 0}, dry_run=False)
    assert_valid(real)
    assert "Replayed 12 dead letters from *q*; 0 remain." in real.text
    one = replay_result("q", {"replayed": 1, "remaining": 1}, dry_run=False)
    assert "Replayed 1 dead letter from *q*; 1 remains." in one.text


def test_replay_odd_answers() -> None:
    ignored = replay_result("q", {"dry_run": False, "replayed": 3}, dry_run=True)
    assert "ignored --dry-run" in ignored.text and "Replayed 3" in ignored.text
    for data in (None, {"would_replay": "x"}, {"dry_run": "yes"}):
        assert_valid(replay_result("<!channel>", data, dry_run=True))
    assert "&lt;!channel&gt;" in replay_result("<!channel>", {}, dry_run=False).text


def test_denied() -> None:
    rendered = denied("Only the on-call may run /replay.")
    assert_valid(rendered)
    assert rendered.text == ":no_entry: Only the on-call may run /replay."


def test_backend_failed_with_retry_after() -> None:
    error = BackendError("campaigns", "rate_limited", "429 <!channel>", retry_after=4.2, status=429)
    rendered = backend_failed(error, what="pause campaign cmp-1001")
    assert_valid(rendered)
    assert rendered.text == (
        ":warning: Could not pause campaign cmp-1001: 429 &lt;!channel&gt; Try again in 5 s."
    )
    assert rendered.blocks[-1]["elements"][0]["text"] == "campaigns backend · HTTP 429"
    timeout = backend_failed(BackendError("q", "timeout", "slow", retry_after=3), what="x")
    assert "Try again" not in timeout.text
    opened = backend_failed(BackendError("q", "circuit_open", "open", retry_after=90), what="x")
    assert "Try again in 1 min 30 s." in opened.text
