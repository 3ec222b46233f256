"""Timeline exports: each format's content read back, streaming in bounded memory, and the
same bytes from `/incident export`, `warroom export` and GET /incidents/{id}/timeline."""

from __future__ import annotations

import asyncio
import csv
import gc
import io
import json
import tracemalloc
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import markupsafe
import pytest
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import async_sessionmaker

from bot.config.settings import Settings
from bot.db.engine import create_engine, session_factory
from bot.db.models import (
    Alert,
    AuditRecord,
    ChecklistItem,
    Incident,
    RoleAssignment,
    StatusDraft,
    TimelineEvent,
)
from bot.exports import (
    CONTENT_TYPES,
    SCHEMA,
    ExportFormat,
    UnknownFormat,
    UnknownIncident,
    export_bytes,
    export_chunks,
)
from bot.exports.template_export import escape_markdown
from commands.base import UsageError
from commands.incident_args import Targeted, parse
from tests.cli import run_cli
from tests.harness import ALERT_TOKEN, Harness, eventually, running
from tests.settling import settled

T0 = datetime(2026, 3, 2, 3, 12, tzinfo=UTC)
NASTY = "<script>alert('x')</script> | piped =cmd|' /C calc'!A0"
FORMULA = '=HYPERLINK("http://evil.example","click")'
FORMATS = ("md", "json", "csv", "html")
TEXTS = [
    "warning incident declared: WhatsApp sends failing",
    NASTY,
    FORMULA,
    "@here +1 -1 multi\nline",
    "Failover to PORTAL chat done; queue draining (1840 -> 210)",
    "ack overdue by 1m",
    "ünïcødé ✓ and a tab\tinside",
]
SECTIONS = [
    "Key times",
    "Roles",
    "Alerts",
    "Status updates",
    "Status-page drafts",
    "Commands",
    "Clock breaches",
    "Post-incident checklist",
    "Timeline",
]
KINDS = ["incident.declared", "note", "note", "note", "incident.status_update", "clock.breach"]


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[async_sessionmaker[Any]]:
    engine = create_engine(database_url)
    yield session_factory(engine)
    await engine.dispose()


async def seed(sessions: async_sessionmaker[Any]) -> int:
    """An incident with one of everything; events 2 and 3 share a moment (id breaks the tie)."""
    async with sessions.begin() as session:
        incident = Incident(
            title="WhatsApp | sends <failing>",
            severity="critical",
            state="resolved",
            created_at=T0,
            updated_at=T0,
            declared_by="U0ONCALL",
            channel_name="dr-wa",
            acknowledged_at=T0 + timedelta(seconds=95),
            acknowledged_by="U0ONCALL",
            resolved_at=T0 + timedelta(minutes=41),
            resolved_by="U0IC",
            resolution="rotated",
        )
        session.add(incident)
        await session.flush()
        iid = incident.id
        session.add_all(
            [
                RoleAssignment(
                    incident_id=iid,
                    role="commander",
                    user_id="U0IC",
                    assigned_at=T0 + timedelta(minutes=6),
                ),
                Alert(
                    incident_id=iid,
                    source="generic",
                    fingerprint="fp",
                    group_key="gk",
                    status="firing",
                    severity="critical",
                    summary="RentGuy backlog 1,240",
                    labels={"queue": "rentguy"},
                    starts_at=T0,
                    received_at=T0,
                    updated_at=T0,
                ),
                ChecklistItem(
                    incident_id=iid,
                    position=0,
                    text="Timeline exported",
                    done_at=T0 + timedelta(hours=1),
                    done_by="U0IC",
                ),
                ChecklistItem(incident_id=iid, position=1, text="Post-mortem scheduled"),
                StatusDraft(
                    incident_id=iid,
                    version=1,
                    status="identified",
                    impact="major",
                    name="WhatsApp delayed",
                    body="We know.",
                    created_by="U0IC",
                    created_at=T0 + timedelta(minutes=9),
                ),
                AuditRecord(
                    at=T0 + timedelta(minutes=3),
                    actor="U0ONCALL",
                    command="/queue-status",
                    args="rentguy",
                    decision="allowed",
                    incident_id=iid,
                    status=200,
                    duration_ms=12,
                    outcome="ok",
                ),
            ]
        )
        for i, text in enumerate(TEXTS):
            at = T0 + timedelta(seconds=min(i, 2) if i < 3 else i)
            session.add(
                TimelineEvent(
                    incident_id=iid,
                    occurred_at=at,
                    recorded_at=at,
                    kind=KINDS[min(i, len(KINDS) - 1)],
                    actor="U0ONCALL" if i % 2 else None,
                    source="slack",
                    text=text,
                    data={"n": i, "why": "=1+1"},
                )
            )
    return iid


async def export(sessions: async_sessionmaker[Any], iid: int, fmt: str, size: int = 2) -> bytes:
    """Batches of two, so the keyset paging crosses the tie between events 2 and 3."""
    chunks = export_chunks(sessions, iid, fmt, Settings(), batch_size=size)
    return b"".join([chunk async for chunk in chunks])


async def test_json_parses_back_with_every_event_in_order(
    sessions: async_sessionmaker[Any],
) -> None:
    iid = await seed(sessions)
    doc = json.loads(await export(sessions, iid, "json"))
    assert doc["schema"] == SCHEMA == "warroom.timeline/1"
    assert [e["text"] for e in doc["events"]] == TEXTS and doc["event_count"] == len(TEXTS)
    assert [e["id"] for e in doc["events"]] == sorted(e["id"] for e in doc["events"])
    assert doc["incident"]["title"] == "WhatsApp | sends <failing>"
    assert doc["times"]["created"] == {
        "utc": "2026-03-02T03:12:00Z",
        "local": "2026-03-02T04:12:00+01:00",
    }
    assert doc["times"]["timezone"] == "Europe/Amsterdam"
    assert doc["durations"] == {
        "mtta_seconds": 95,
        "time_to_ic_seconds": 360,
        "time_to_mitigate_seconds": None,
        "mttr_seconds": 2460,
    }
    assert doc["roles"][0]["title"] == "Incident Commander"
    assert doc["alerts"][0]["labels"] == {"queue": "rentguy"}
    assert [i["done"] for i in doc["checklist"]] == [True, False]
    assert doc["status_drafts"][0]["name"] == "WhatsApp delayed"
    assert doc["commands"][0]["command"] == "/queue-status"
    assert [u["text"] for u in doc["status_updates"]] == [TEXTS[4]]
    assert [b["text"] for b in doc["clock_breaches"]] == TEXTS[5:]
    event = doc["events"][3]
    assert set(event) == {"id", "time_utc", "time_local", "kind", "actor", "source", "text", "data"}
    assert event["data"] == {"n": 3, "why": "=1+1"} and event["actor"] == "U0ONCALL"


async def test_csv_has_one_row_per_event_and_no_formulas(
    sessions: async_sessionmaker[Any],
) -> None:
    iid = await seed(sessions)
    data = await export(sessions, iid, "csv")
    assert data.startswith(b"event_id,time_utc,time_local,kind,actor,source,text,data\r\n")
    rows = list(csv.reader(io.StringIO(data.decode())))
    body = rows[1:]
    assert len(body) == len(TEXTS)
    texts = [row[6] for row in body]
    assert texts[1] == NASTY and texts[4] == TEXTS[4] and texts[6] == TEXTS[6]
    assert texts[2] == "'" + FORMULA and texts[3] == "'" + TEXTS[3]
    assert all(not cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)
    assert json.loads(body[0][7]) == {"n": 0, "why": "=1+1"}
    assert body[0][1] == "2026-03-02T03:12:00Z" and body[0][2] == "2026-03-02T04:12:00+01:00"


async def test_markdown_and_html_show_every_event_escaped(
    sessions: async_sessionmaker[Any],
) -> None:
    iid = await seed(sessions)
    md = (await export(sessions, iid, "md")).decode()
    html = (await export(sessions, iid, "html")).decode()
    for text in TEXTS:
        assert escape_markdown(text) in md, text
        assert str(markupsafe.escape(text)) in html, text
    assert "<script>" not in md and "<script>" not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html
    assert "&lt;script&gt;" in md and r"\| piped =cmd\|" in md
    assert md.count("\n| ") - md.count("\n| # |") >= len(TEXTS)
    assert "7 timeline events" in md and "7 timeline events" in html
    assert html.startswith("<!DOCTYPE html>") and html.rstrip().endswith("</html>")
    assert "<style>" in html and not any(s in html for s in ("<link", "src=", "@import"))
    for section in SECTIONS:
        assert f"## {section}" in md and f"<h2>{section}</h2>" in html


async def test_a_templates_dir_overrides_the_export(
    sessions: async_sessionmaker[Any], tmp_path: Path
) -> None:
    iid = await seed(sessions)
    (tmp_path / "export.md.j2").write_text(
        "{% macro header(doc) %}Incident {{ doc.incident.id }}\n{% endmacro %}"
        "{% macro event(e) %}* {{ e.text }}\n{% endmacro %}"
        "{% macro footer(doc, count) %}{{ count }} gebeurtenissen\n{% endmacro %}"
    )
    settings = Settings(templates_dir=str(tmp_path))
    text = (await export_bytes(sessions, iid, "md", settings)).decode()
    assert text.startswith(f"Incident {iid}\n* ") and text.endswith("7 gebeurtenissen\n")


async def test_unknown_incident_and_format_raise_before_any_byte(
    sessions: async_sessionmaker[Any],
) -> None:
    with pytest.raises(UnknownIncident, match="no incident #424242"):
        await export_bytes(sessions, 424242, "md", Settings())
    with pytest.raises(UnknownFormat, match="md, json, csv, html"):
        await export_bytes(sessions, 1, "xml", Settings())


async def test_exports_stream_in_bounded_memory(sessions: async_sessionmaker[Any]) -> None:
    iid = await seed(sessions)

    async def add_events(count: int) -> None:
        rows = [
            {
                "incident_id": iid,
                "occurred_at": T0 + timedelta(minutes=5, milliseconds=n),
                "recorded_at": T0,
                "kind": "note",
                "actor": "U0ONCALL",
                "source": "slack",
                "text": f"note {n} " + "x" * 200,
                "data": {"n": n},
            }
            for n in range(count)
        ]
        async with sessions.begin() as session:
            await session.execute(insert(TimelineEvent), rows)

    async def peak(fmt: str) -> tuple[int, int]:
        size = 0
        gc.collect()  # garbage left by earlier work is not this export's
        tracemalloc.start()
        async for chunk in export_chunks(sessions, iid, fmt, Settings(), batch_size=100):
            size += len(chunk)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return size, peak

    await add_events(200)
    small = {fmt: await peak(fmt) for fmt in ("json", "html")}  # warms SQL and template caches
    small = {fmt: await peak(fmt) for fmt in ("json", "html")}
    await add_events(2800)
    for fmt, (small_size, small_peak) in small.items():
        await peak(fmt)  # warmed as the small one was: caches sized for the bigger run
        size, big_peak = await peak(fmt)
        assert size > 1_000_000 and size > 10 * small_size, fmt
        # 15 times the events: the peak grows by far less than the output (a buffered export
        # would hold all of it). Alone the growth is ~140 kB of ~1.1 MB more output; within the
        # full suite (tracemalloc sees every thread) up to ~340 kB was seen: bound at half.
        assert big_peak - small_peak < (size - small_size) / 2, (fmt, small_peak, big_peak)


def test_the_slash_command_parses_format_and_incident() -> None:
    priorities = Settings().priorities
    assert parse("export", priorities) == Targeted("export", None, text="md")
    assert parse("export CSV", priorities) == Targeted("export", None, text="csv")
    assert parse("export #42 html", priorities) == Targeted("export", 42, text="html")
    assert parse("export json 7", priorities) == Targeted("export", 7, text="json")
    for bad in ("export xml", "export md csv"):
        with pytest.raises(UsageError, match=r"/incident export \[md\|json\|csv\|html\]"):
            parse(bad, priorities)


# ------------------------------------------------------------------ the three ways out


async def war_room(h: Harness, database_url: str) -> tuple[int, str]:
    await h.slash("/incident declare critical WhatsApp sends failing")
    engine = create_engine(database_url)

    async def room() -> tuple[int, str] | None:
        async with session_factory(engine)() as session:
            found = (await session.scalars(select(Incident))).first()
        if found is None or found.channel_id is None or not h.ws.channels[found.channel_id].pins:
            return None
        return found.id, h.ws.channels[found.channel_id].name

    try:
        return await eventually(room, within=20)
    finally:
        await engine.dispose()


async def via_slack(h: Harness, room: str, iid: int, fmt: str) -> bytes:
    await h.slash(f"/incident export {fmt}", user="U0IC", channel=room)
    name = f"incident-{iid}-timeline.{fmt}"
    record = await eventually(
        lambda: [f for f in h.ws.files.values() if f["name"] == name and f["completed"]]
    )
    assert h.channel(room).id in record[0]["channels"]
    content: bytes = record[0]["content"]
    return content


async def via_http(h: Harness, iid: int, fmt: str) -> tuple[bytes, dict[str, str]]:
    headers = {"Authorization": f"Bearer {ALERT_TOKEN}"}
    url = f"{h.bot_url}/incidents/{iid}/timeline?format={fmt}"
    async with h.http.get(url, headers=headers) as resp:
        assert resp.status == 200, await resp.text()
        return await resp.read(), dict(resp.headers)


async def via_cli(database_url: str, iid: int, fmt: str, out: Path) -> bytes:
    args = ("export", f"#{iid}", "--format", fmt, "-o", str(out))
    done = await asyncio.to_thread(run_cli, *args, env={"DATABASE_URL": database_url})
    assert done.returncode == 0, done.stderr
    return await asyncio.to_thread(out.read_bytes)


async def test_slack_cli_and_http_give_the_same_bytes(database_url: str, tmp_path: Path) -> None:
    async with running(database_url) as h:
        iid, room = await war_room(h, database_url)
        await h.slash(f"/incident note {NASTY}", channel=room)
        await h.slash(f"/incident note {FORMULA}", channel=room)
        await h.slash("/incident ack", channel=room)
        await h.slash("/incident update Failover done\nqueue draining", user="U0IC", channel=room)
        await eventually(lambda: any("Failover done" in m.text for m in h.channel(room).messages))
        await settled(h)
        by_slack = {fmt: await via_slack(h, room, iid, fmt) for fmt in FORMATS}
        replies = await eventually(lambda: [t for t in h.ephemerals("U0IC") if "Exported" in t])
        assert f"as `incident-{iid}-timeline.md`" in replies[0]
        by_cli = await asyncio.gather(
            *(via_cli(database_url, iid, fmt, tmp_path / f"export.{fmt}") for fmt in FORMATS)
        )
        for fmt, cli in zip(FORMATS, by_cli, strict=True):
            http, headers = await via_http(h, iid, fmt)
            assert by_slack[fmt] == http == cli, fmt
            assert f'filename="incident-{iid}-timeline.{fmt}"' in headers["Content-Disposition"]
            assert headers["Content-Type"] == CONTENT_TYPES[ExportFormat(fmt)]
        doc = json.loads(by_slack["json"])
        texts = [e["text"] for e in doc["events"]]
        assert NASTY in texts and FORMULA in texts and doc["incident"]["state"] == "acknowledged"
        stdout = await asyncio.to_thread(
            run_cli, "export", str(iid), env={"DATABASE_URL": database_url}
        )
        assert stdout.returncode == 0 and stdout.stdout.startswith(f"# Incident #{iid}:")


async def test_the_http_endpoint_refuses_bad_requests(database_url: str) -> None:
    async with running(database_url) as h:
        url = f"{h.bot_url}/incidents/1/timeline"
        good = {"Authorization": f"Bearer {ALERT_TOKEN}"}
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": ALERT_TOKEN}):
            async with h.http.get(url, headers=headers) as resp:
                assert resp.status == 401
        async with h.http.get(url + "?format=xml", headers=good) as resp:
            body = await resp.json()
            assert resp.status == 400 and body["field"] == "format"
            assert body["error"].startswith("format:") and "md, json, csv, html" in body["error"]
        async with h.http.get(url, headers=good) as resp:
            assert resp.status == 404 and "no incident #1" in (await resp.json())["error"]
        await h.slash("/incident export #77 csv")
        await eventually(lambda: [t for t in h.ephemerals("U0ONCALL") if "no incident #77" in t])


async def test_the_cli_explains_what_it_cannot_export(database_url: str, tmp_path: Path) -> None:
    env = {"DATABASE_URL": database_url}
    out = tmp_path / "never.md"
    done = await asyncio.to_thread(run_cli, "export", "424242", "-o", str(out), env=env)
    assert done.returncode == 1 and "no incident #424242" in done.stderr
    assert not out.exists() and not (tmp_path / "never.md.part").exists()


def test_the_cli_needs_a_migrated_database(tmp_path: Path) -> None:
    missing = tmp_path / "missing.db"
    done = run_cli("export", "1", env={"DATABASE_URL": f"sqlite+aiosqlite:///{missing}"})
    assert done.returncode == 1 and "no database at" in done.stderr and not missing.exists()
    empty = tmp_path / "empty.db"
    empty.touch()
    done = run_cli("export", "1", env={"DATABASE_URL": f"sqlite+aiosqlite:///{empty}"})
    assert done.returncode == 1 and "warroom migrate" in done.stderr, done.stderr
    helped = run_cli("export", "--help")
    assert helped.returncode == 0 and "{md,json,csv,html}" in helped.stdout
