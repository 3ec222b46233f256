"""`/incident export`: the export shared in the war room with Slack's upload v2 pair —
files.getUploadURLExternal, the bytes POSTed to the URL it returns, then
files.completeUploadExternal. An export is small enough to hold for its length."""

from __future__ import annotations

import aiohttp

from bot.db.incidents import channel_of
from bot.exports.formats import ExportError, ExportFormat, export_filename, parse_format
from bot.exports.stream import export_bytes
from bot.runtime.ports import ExportPorts
from bot.slack import blocks
from bot.slack.gateway import SlackCalls, SlackFailure

UPLOAD_TIMEOUT = aiohttp.ClientTimeout(total=60)


class UploadFailed(ExportError):
    """The export was made, but Slack did not take it."""


async def _post_bytes(upload_url: str, content: bytes) -> None:
    headers = {"Content-Type": "application/octet-stream"}
    try:
        async with (
            aiohttp.ClientSession(timeout=UPLOAD_TIMEOUT) as http,
            http.post(upload_url, data=content, headers=headers, allow_redirects=False) as resp,
        ):
            if resp.status != 200:
                raise UploadFailed(f"Slack's upload URL answered HTTP {resp.status}")
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise UploadFailed(f"the upload to Slack failed ({type(exc).__name__})") from exc


async def upload_file(
    slack: SlackCalls, channel_id: str, filename: str, title: str, content: bytes
) -> str:
    """Share `content` as a file in `channel_id`; the file's id."""
    try:
        ticket = await slack.call(
            "files.getUploadURLExternal", filename=filename, length=len(content)
        )
        await _post_bytes(str(ticket["upload_url"]), content)
        file_id = str(ticket["file_id"])
        await slack.call(
            "files.completeUploadExternal",
            files=[{"id": file_id, "title": title}],
            channel_id=channel_id,
        )
    except SlackFailure as exc:
        raise UploadFailed(f"Slack refused the upload ({exc.code})") from exc
    return file_id


async def _room_of(services: ExportPorts, incident_id: int) -> str | None:
    async with services.db.begin() as session:
        return await channel_of(session, incident_id)


async def share_export(
    services: ExportPorts, incident_id: int, fmt: ExportFormat | str, asked_in: str
) -> str:
    """Upload the export to the incident's war room (or, without one, where it was asked
    for); a line for the person who asked. `ExportError` says what went wrong."""
    chosen = parse_format(fmt)
    content = await export_bytes(services.db.sessions, incident_id, chosen, services.settings)
    channel = await _room_of(services, incident_id) or asked_in
    filename = export_filename(incident_id, chosen)
    title = f"Incident #{incident_id} timeline ({chosen.value.upper()})"
    await upload_file(services.slack, channel, filename, title, content)
    return (
        f"Exported incident #{incident_id}'s timeline as `{filename}` "
        f"({len(content):,} bytes) to {blocks.channel_link(channel)}."
    )
