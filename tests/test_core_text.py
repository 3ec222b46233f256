"""Pure helpers: channel names by Slack's rules, escaping and truncation of untrusted text."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from bot.config.settings import Severity
from bot.core.severity import UnknownSeverity, parse_severity
from bot.core.slack_text import TRUNCATION_MARKER, escape, safe, truncate
from bot.core.war_room_names import room_name_from_template, slugify, with_suffix

SLACK_NAME = re.compile(r"^[a-z0-9_-]{1,80}$")
PRIORITIES: dict[str, Severity] = {"P1": "critical", "P2": "warning", "P3": "warning", "P4": "info"}


def war_room_name(prefix: str, incident_id: int, title: str, *, drill: bool = False) -> str:
    return room_name_from_template(
        "{prefix}-{id}-{slug}",
        prefix=prefix,
        incident_id=incident_id,
        title=title,
        severity="critical",
        day="20261123",
        drill=drill,
    )


def test_war_room_names() -> None:
    assert war_room_name("inc", 42, "WhatsApp sends failing!") == "inc-42-whatsapp-sends-failing"
    assert war_room_name("inc", 3, "Moskeeën — gebedstijden") == "inc-3-moskeeen-gebedstijden"
    assert war_room_name("inc", 5, "!!!") == "inc-5"
    assert war_room_name("inc", 5, "Drill", drill=True) == "inc-drill-5-drill"
    long = war_room_name("inc", 123456, "word " * 40)
    assert len(long) <= 80 and not long.endswith("-") and long.endswith("word")
    assert with_suffix("a" * 80, 12) == "a" * 77 + "-12"


@given(st.text(), st.integers(min_value=1, max_value=10**12), st.booleans(), st.text())
def test_any_title_gives_a_valid_slack_name(
    title: str, incident_id: int, drill: bool, template: str
) -> None:
    name = war_room_name("inc", incident_id, title, drill=drill)
    assert SLACK_NAME.match(name), name
    custom = room_name_from_template(
        template, prefix="inc", incident_id=incident_id, title=title, severity="info", day="1"
    )
    assert SLACK_NAME.match(custom), (template, custom)
    assert SLACK_NAME.match(name), name
    assert SLACK_NAME.match(with_suffix(name, 99))
    assert SLACK_NAME.match(slugify(title) or "x")


def test_escape_makes_mentions_and_links_inert() -> None:
    assert escape("a & b <c>") == "a &amp; b &lt;c&gt;"
    assert escape("<!channel> <!here> <@U123> <http://x|y>") == (
        "&lt;!channel&gt; &lt;!here&gt; &lt;@U123&gt; &lt;http://x|y&gt;"
    )
    for word in ("@channel", "@here", "@everyone", "@Channel"):
        assert word not in escape(f"ping {word} now")


@given(st.text())
def test_escaped_text_never_contains_markup(text: str) -> None:
    out = escape(text)
    assert "<" not in out and ">" not in out
    assert not re.search(r"@(channel|here|everyone)\b", out, re.IGNORECASE)


def test_truncate_marks_the_cut() -> None:
    assert truncate("short", 10) == "short"
    cut = truncate("x" * 5000, 3000)
    assert len(cut) == 3000 and cut.endswith(TRUNCATION_MARKER)
    assert len(truncate("x" * 50, 5)) == 5
    assert len(safe("<" * 3000, 3000)) == 3000


def test_severity_parsing() -> None:
    assert parse_severity("Critical", PRIORITIES) == "critical"
    assert parse_severity("p1", PRIORITIES) == "critical"
    assert parse_severity("P4", PRIORITIES) == "info"
    try:
        parse_severity("sev0", PRIORITIES)
    except UnknownSeverity as exc:
        assert "critical, warning, info, P1, P2, P3, P4" in str(exc)
    else:
        raise AssertionError("sev0 accepted")
