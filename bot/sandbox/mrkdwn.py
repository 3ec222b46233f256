"""Slack mrkdwn as the sandbox page shows it: a pure function from message text to safe HTML.

Slack's text arrives with ``&``, ``<`` and ``>`` escaped as entities, and ``<...>`` marks
mentions and links. :func:`render` first cuts out what formatting must not touch (code, code
blocks, mentions, links and bare URLs) as opaque tokens, HTML-escapes everything else, and only
then applies ``*bold*``, ``_italic_``, ``~strike~``, ``> quotes``, line breaks and ``:emoji:``
to that escaped text, so nothing in a message can ever become markup of its own.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from markupsafe import Markup, escape

# (sigil, id) -> display name, or None when unknown: ("@", "U0ONCALL") -> "oncall".
Names = Callable[[str, str], str | None]

MENTION = re.compile(r"<([@#!])([^>|]+)(?:\|([^>]*))?>|<((?:https?|mailto):[^>|]+)(?:\|([^>]*))?>")
# Code first, then <mentions|links>, then bare URLs: the order in which they win.
_TOKEN = re.compile(
    r"```(?P<block>.+?)```"
    r"|`(?P<code>[^`\n]+)`"
    rf"|(?P<mention>{MENTION.pattern})"
    # A bare URL never ends in punctuation or a formatting marker: "see https://x/a_b_."
    r"|(?P<bare>https?://(?:[^\s<>&`]|&amp;)*(?:[^\s<>&`.,;:!?)\]'\"*_~]|&amp;))",
    re.DOTALL,
)
_ENTITY = re.compile(r"&(amp|lt|gt);")
_ENTITIES = {"amp": "&", "lt": "<", "gt": ">"}
# Private-use characters mark the tokens; any in the input are neutralised first.
_OPEN, _CLOSE = "\ue000", "\ue001"
_PLACEHOLDER = re.compile(f"{_OPEN}(\\d+){_CLOSE}")
# *bold*, _italic_, ~strike~: not inside a word, no space just inside the markers, one line
# (of at most 500 characters, which keeps a hostile "*a *a *a ..." from taking seconds).
_EMPHASIS = re.compile(r"(?<!\w)([*_~])(?=[^\s*_~])([^\n]{0,500}?[^\s])\1(?!\w)")
_TAGS = {"*": "b", "_": "i", "~": "s"}
_MAX_DEPTH = 3
_SHORTCODE = re.compile(r":([a-z0-9_+-]+):")
_QUOTE = "&gt;"  # a line starting with ">" once escaped

EMOJI = {
    "+1": "👍",
    "-1": "👎",
    "adhesive_bandage": "🩹",
    "alarm_clock": "⏰",
    "arrow_forward": "▶️",
    "bell": "🔔",
    "bookmark": "🔖",
    "busts_in_silhouette": "👥",
    "bust_in_silhouette": "👤",
    "calendar": "📆",
    "chart_with_upwards_trend": "📈",
    "clipboard": "📋",
    "construction": "🚧",
    "double_vertical_bar": "⏸️",
    "eyes": "👀",
    "fire": "🔥",
    "grey_question": "❔",
    "heavy_check_mark": "✔️",
    "hourglass": "⌛",
    "hourglass_flowing_sand": "⏳",
    "information_source": "\u2139\ufe0f",
    "large_blue_circle": "🔵",
    "large_green_circle": "🟢",
    "large_orange_circle": "🟠",
    "large_yellow_circle": "🟡",
    "leftwards_arrow_with_hook": "↩️",
    "link": "🔗",
    "lock": "🔒",
    "loudspeaker": "📢",
    "mag": "🔍",
    "mega": "📣",
    "memo": "📝",
    "no_entry": "⛔",
    "performing_arts": "🎭",
    "pray": "🙏",
    "pushpin": "📌",
    "recycle": "♻️",
    "red_circle": "🔴",
    "rotating_light": "🚨",
    "speech_balloon": "💬",
    "stopwatch": "⏱️",
    "tada": "🎉",
    "test_tube": "🧪",
    "thumbsup": "👍",
    "ticket": "🎫",
    "warning": "⚠️",
    "wastebasket": "🗑️",
    "white_check_mark": "✅",
    "white_circle": "⚪",
    "wrench": "🔧",
    "x": "❌",
}


def unescape(text: str) -> str:
    """Slack's three entities back to characters, in one pass (``&amp;lt;`` stays ``&lt;``)."""
    return _ENTITY.sub(lambda m: _ENTITIES[m.group(1)], text)


def emojize(text: str) -> str:
    """Known ``:shortcodes:`` as Unicode; unknown ones (``:12:`` in a time) stay as they are."""
    return _SHORTCODE.sub(lambda m: EMOJI.get(m.group(1), m.group(0)), text)


def mention_text(match: re.Match[str], names: Names | None = None) -> tuple[str, str | None]:
    """A ``MENTION`` match as (text shown, link target or None): ``@oncall``, ``#general``."""
    sigil, ident, label, url, url_label = match.groups()
    if url:
        return url_label or url, url
    if sigil == "!":
        return label or "@" + ident.split("^")[0].replace("subteam", "group"), None
    return sigil + (label or (names(sigil, ident) if names else None) or ident), None


def plain(text: str, names: Names | None = None) -> str:
    """Readable plain text, never HTML: mentions resolved, links as ``label (url)``, emoji."""

    def repl(m: re.Match[str]) -> str:
        shown, url = mention_text(m, names)
        return f"{shown} ({url})" if url and shown != url else shown

    return emojize(unescape(MENTION.sub(repl, text)))


def render(text: str, names: Names | None = None, *, inline: bool = False) -> Markup:
    """``text`` (Slack mrkdwn) as HTML; ``inline``: one line, for a pin or a preview."""
    tokens: list[str] = []

    def token(m: re.Match[str]) -> str:
        tokens.append(_token_html(m, names, inline))
        return f"{_OPEN}{len(tokens) - 1}{_CLOSE}"

    text = text.replace(_OPEN, "\ufffd").replace(_CLOSE, "\ufffd")
    html = str(escape(unescape(_TOKEN.sub(token, text))))
    html = emojize(_emphasis(html))
    html = " ".join(html.splitlines()) if inline else _lines(html)
    html = _PLACEHOLDER.sub(lambda m: tokens[int(m.group(1))], html)
    # Safe: the text was escaped above; only this module's own tags were added since.
    return Markup(html.replace("</pre><br>", "</pre>"))  # noqa: S704


def _token_html(m: re.Match[str], names: Names | None, inline: bool) -> str:
    if m.group("block") is not None:
        code = escape(unescape(m.group("block").strip("\n")))
        return f"<code>{code}</code>" if inline else f'<pre class="code">{code}</pre>'
    if m.group("code") is not None:
        return f"<code>{escape(unescape(m.group('code')))}</code>"
    if m.group("mention") is not None:
        mention = MENTION.fullmatch(m.group("mention"))
        assert mention is not None  # the same pattern, inside _TOKEN
        shown, url = mention_text(mention, names)
        if url is None:
            return f'<span class="mention">{escape(emojize(unescape(shown)))}</span>'
        return _link(unescape(url), emojize(unescape(shown)))
    url = unescape(m.group("bare"))
    return _link(url, url)


def _link(url: str, shown: str) -> str:
    return f'<a href="{escape(url)}" rel="noopener noreferrer" target="_blank">{escape(shown)}</a>'


def _emphasis(html: str, depth: int = 0) -> str:
    """Leftmost first, then inside it, so tags always nest: ``*a _b* c_`` → ``<b>a _b</b> c_``."""
    out, pos = [], 0
    for m in _EMPHASIS.finditer(html):
        tag = _TAGS[m.group(1)]
        inner = _emphasis(m.group(2), depth + 1) if depth < _MAX_DEPTH else m.group(2)
        out.append(f"{html[pos : m.start()]}<{tag}>{inner}</{tag}>")
        pos = m.end()
    return "".join(out) + html[pos:]


def _lines(html: str) -> str:
    """Newlines as ``<br>``; runs of lines starting with ``>`` as one blockquote."""
    out: list[str] = []
    quote: list[str] = []
    for line in html.split("\n"):
        if line.startswith(_QUOTE):
            quote.append(line[len(_QUOTE) :].removeprefix(" "))
            continue
        if quote:
            out.append("<blockquote>" + "<br>".join(quote) + "</blockquote>")
            quote = []
        out.append(line + "<br>")
    if quote:
        out.append("<blockquote>" + "<br>".join(quote) + "</blockquote>")
    return "".join(out).removesuffix("<br>")
