"""CSV: a header row, then one row per timeline event. Pure.

Event text is untrusted (alerts, Slack messages), so a cell that a spreadsheet would run
as a formula (= + - @, tab, carriage return first) gets a leading single quote.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterable, AsyncIterator, Sequence

from bot.exports.document import Doc

COLUMNS = ("event_id", "time_utc", "time_local", "kind", "actor", "source", "text", "data")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: str) -> str:
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def _row(cells: Sequence[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerow([safe_cell(cell) for cell in cells])
    return buffer.getvalue()


def event_cells(event: Doc) -> list[str]:
    data = json.dumps(event["data"], ensure_ascii=False, separators=(",", ":"))
    return [
        str(event["id"]),
        event["time_utc"],
        event["time_local"],
        event["kind"],
        event["actor"] or "",
        event["source"],
        event["text"],
        data,
    ]


async def csv_chunks(events: AsyncIterable[Doc]) -> AsyncIterator[str]:
    yield _row(COLUMNS)
    async for event in events:
        yield _row(event_cells(event))
