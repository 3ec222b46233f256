"""Markdown and HTML: incident_templates/export.{md,html}.j2, streamed macro by macro. Pure.

Each template defines three macros — `header(doc)`, `event(e)`, `footer(doc, count)` — and
renders a whole export from `doc` and `events` when used as a plain template. A config
`templates_dir` overrides them by file name, as it does every template. HTML is
autoescaped; Markdown gets its values escaped here before the template sees them.
"""

from __future__ import annotations

import functools
import html
from collections.abc import AsyncIterable, AsyncIterator, Callable
from typing import Any

import jinja2

from bot.exports.document import Doc, human_seconds
from bot.infra.templates import BUILTIN_DIR

_MD_SPECIAL = str.maketrans({c: "\\" + c for c in "\\`*_[]|~"})


def escape_markdown(text: str) -> str:
    """Text for one line of a Markdown table or list: no pipes, markup, HTML or newlines."""
    text = html.escape(text.translate(_MD_SPECIAL), quote=False)
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "<br>")


def _keep(text: str) -> str:
    return text


def _view(value: Any, escape: Callable[[str], str]) -> Any:
    """`value` for a template: strings escaped, None as "" (so `x or "—"` reads well)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return escape(value)
    if isinstance(value, dict):
        return {key: _view(item, escape) for key, item in value.items()}
    if isinstance(value, list):
        return [_view(item, escape) for item in value]
    return value


@functools.lru_cache(maxsize=8)
def export_environment(override_dir: str | None) -> jinja2.Environment:
    search = [str(override_dir)] if override_dir else []
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader([*search, str(BUILTIN_DIR)]),
        undefined=jinja2.StrictUndefined,
        autoescape=jinja2.select_autoescape(["html.j2"], default_for_string=False),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def _macro(module: jinja2.environment.TemplateModule, name: str, macro: str) -> Callable[..., Any]:
    found = getattr(module, macro, None)
    if not callable(found):
        raise jinja2.TemplateError(f"{name} must define the macro `{macro}` (see export.md.j2)")
    return found


def header_view(head: Doc, escape: Callable[[str], str]) -> Doc:
    durations = {key: human_seconds(value) for key, value in head["durations"].items()}
    view: Doc = _view(head, escape)
    view["durations_text"] = durations
    return view


async def template_chunks(
    env: jinja2.Environment,
    name: str,
    head: Doc,
    events: AsyncIterable[Doc],
    escape: Callable[[str], str],
) -> AsyncIterator[str]:
    doc = header_view(head, escape)
    module = env.get_template(name).make_module({"doc": doc, "events": []})
    header, event_row, footer = (_macro(module, name, m) for m in ("header", "event", "footer"))
    yield str(header(doc))
    count = 0
    async for event in events:
        # `data` stays raw: the templates show the event's own fields; escaping its nested
        # values for every event would cost more than the rendering.
        shown = _view({k: v for k, v in event.items() if k != "data"}, escape)
        shown["data"] = event.get("data")
        yield str(event_row(shown))
        count += 1
    yield str(footer(doc, count))


def markdown_chunks(
    templates_dir: str | None, head: Doc, events: AsyncIterable[Doc]
) -> AsyncIterator[str]:
    env = export_environment(templates_dir)
    return template_chunks(env, "export.md.j2", head, events, escape_markdown)


def html_chunks(
    templates_dir: str | None, head: Doc, events: AsyncIterable[Doc]
) -> AsyncIterator[str]:
    env = export_environment(templates_dir)
    return template_chunks(env, "export.html.j2", head, events, _keep)
