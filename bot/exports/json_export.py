"""JSON: the `warroom.timeline/1` document, written as it goes — the header's keys, then
`events` one at a time, then `event_count`. Pure."""

from __future__ import annotations

import json
from collections.abc import AsyncIterable, AsyncIterator

from bot.exports.document import Doc


def _dumps(value: object, indent: int | None = None) -> str:
    return json.dumps(value, ensure_ascii=False, indent=indent)


async def json_chunks(head: Doc, events: AsyncIterable[Doc]) -> AsyncIterator[str]:
    # An indented object ends in "\n}": open the events array in its place.
    yield _dumps(head, indent=2)[:-2] + ',\n  "events": ['
    count = 0
    async for event in events:
        yield ("," if count else "") + "\n    " + _dumps(event)
        count += 1
    yield ("\n  ]" if count else "]") + f',\n  "event_count": {count}\n}}\n'
