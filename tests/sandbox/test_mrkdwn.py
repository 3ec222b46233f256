"""The sandbox page's mrkdwn: Slack's formatting as HTML, and never HTML from the text itself."""

from __future__ import annotations

import re
import time

import pytest
from markupsafe import Markup

from bot.sandbox.mrkdwn import EMOJI, emojize, plain, render, unescape

NAMES = {("@", "U0ONCALL"): "oncall", ("#", "C0GEN"): "general"}


def names(sigil: str, ident: str) -> str | None:
    return NAMES.get((sigil, ident))


def html(text: str, *, inline: bool = False) -> str:
    out = render(text, names, inline=inline)
    assert isinstance(out, Markup)
    return str(out)


def tags(text: str) -> list[str]:
    """The HTML tags in `text`'s rendering, by name."""
    return re.findall(r"<(/?[a-z]+)", html(text))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("*bold*", "<b>bold</b>"),
        ("_italic_", "<i>italic</i>"),
        ("~strike~", "<s>strike</s>"),
        ("`code`", "<code>code</code>"),
        ("a *b _c_ d* e", "a <b>b <i>c</i> d</b> e"),
        ("*Incident #1 acknowledged*.", "<b>Incident #1 acknowledged</b>."),
        ("_Updated 23:12 CET._", "<i>Updated 23:12 CET.</i>"),
        ("(*x*)", "(<b>x</b>)"),
        ("one\ntwo", "one<br>two"),
    ],
)
def test_formatting(text: str, expected: str) -> None:
    assert html(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "2 * 3 * 4",  # spaces inside the markers
        "*unbalanced",
        "unbalanced*",
        "snake_case_name and file_name_",  # inside words
        "a*b*c",
        "* not a list*",
        "*two\nlines*",
        "**",
        "~ ~",
    ],
)
def test_no_formatting_where_slack_does_none(text: str) -> None:
    assert html(text) == text.replace("\n", "<br>")


def test_tags_always_nest() -> None:
    assert html("*a _b* c_") == "<b>a _b</b> c_"
    assert tags("*a _b_ ~c~* _d_") == ["b", "i", "/i", "s", "/s", "/b", "i", "/i"]


def test_code_and_code_blocks_are_verbatim() -> None:
    assert html("run `make *all* _now_`") == "run <code>make *all* _now_</code>"
    assert html("```\nSELECT *\nFROM t_a_b\n```") == '<pre class="code">SELECT *\nFROM t_a_b</pre>'
    assert html("before\n```x```\nafter") == 'before<br><pre class="code">x</pre>after'
    assert html("`a &lt; b`") == "<code>a &lt; b</code>"


def test_quotes() -> None:
    assert html("> first *line*\n> second\nafter") == (
        "<blockquote>first <b>line</b><br>second</blockquote>after"
    )
    assert html("&gt; escaped quote") == "<blockquote>escaped quote</blockquote>"
    assert html("a > b") == "a &gt; b"


def test_mentions_and_links() -> None:
    assert html("<@U0ONCALL> in <#C0GEN>") == (
        '<span class="mention">@oncall</span> in <span class="mention">#general</span>'
    )
    assert html("<@U0GONE> <@U0X|label> <!here> <!subteam^S1|@ops>") == (
        '<span class="mention">@U0GONE</span> <span class="mention">@label</span> '
        '<span class="mention">@here</span> <span class="mention">@ops</span>'
    )
    assert html("<https://example.com/a?x=1&amp;y=2|the runbook>") == (
        '<a href="https://example.com/a?x=1&amp;y=2" rel="noopener noreferrer" '
        'target="_blank">the runbook</a>'
    )
    assert html("<mailto:oncall@example.com|mail>").startswith('<a href="mailto:oncall@')


def test_underscores_and_stars_in_urls_are_not_formatting() -> None:
    url = "https://grafana.example.com/d/queue_backlog/*all*_dash_?var_q=a_b"
    for text in (f"<{url}>", f"<{url}|see _it_>", url):
        out = html(text)
        assert f'href="{url}"' in out, out
        assert "<i>" not in out and "<b>" not in out, out
    out = html(f"*see <{url}|the dashboard>* and _{url}_")
    assert out.startswith("<b>see <a href=")
    assert out.endswith(f">{url}</a></i>")
    assert out.count(f'href="{url}"') == 2


def test_bare_url_leaves_trailing_punctuation_outside() -> None:
    out = html("see https://example.com/x_y. Then")
    assert '<a href="https://example.com/x_y" ' in out and "</a>. Then" in out


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;"),
        ("&lt;script&gt;", "&lt;script&gt;"),  # Slack's escaping: shows as "<script>"
        ("&amp;lt;", "&amp;lt;"),  # shows as "&lt;", not "<"
        ("*<b>x</b>*", "<b>&lt;b&gt;x&lt;/b&gt;</b>"),
        ('<img src=x onerror="alert(1)">', "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;"),
        ("<javascript:alert(1)|click>", "&lt;javascript:alert(1)|click&gt;"),
        ("`</code><script>`", "<code>&lt;/code&gt;&lt;script&gt;</code>"),
        ("```</pre><script>```", '<pre class="code">&lt;/pre&gt;&lt;script&gt;</pre>'),
        ("\ue0000\ue001", "\ufffd0\ufffd"),  # no forged token
    ],
)
def test_message_text_never_becomes_html(text: str, shown: str) -> None:
    assert html(text) == shown


def test_link_and_mention_labels_are_escaped() -> None:
    out = html('<https://e.com/"onmouseover=x|<b>hi</b>> <@U0X|<i>me</i>>')
    assert "<b>hi" not in out and "<i>me" not in out
    assert 'href="https://e.com/&#34;onmouseover=x"' in out
    assert set(tags('<https://e.com/"onmouseover=x|<b>hi</b>>')) == {"a", "/a"}


def test_emoji_shortcodes() -> None:
    assert html(":eyes: *ack* :stopwatch:") == "👀 <b>ack</b> ⏱️"
    assert html(":no_such_emoji: at 10:12:00 :12:") == ":no_such_emoji: at 10:12:00 :12:"
    assert html("`:eyes:`") == "<code>:eyes:</code>"
    assert emojize(":+1: :white_check_mark:") == "👍 ✅"


def test_every_emoji_the_bot_sends_is_known() -> None:
    used = {
        "eyes", "stopwatch", "busts_in_silhouette", "white_check_mark", "warning", "red_circle",
        "large_orange_circle", "large_blue_circle", "rotating_light", "alarm_clock",
        "adhesive_bandage", "leftwards_arrow_with_hook", "construction", "double_vertical_bar",
        "arrow_forward", "memo", "mega", "loudspeaker", "wrench", "hourglass_flowing_sand",
    }  # fmt: skip
    assert used <= EMOJI.keys()


def test_inline_is_one_line() -> None:
    text = ":stopwatch: *Clock*\n• status update: due 23:27 CET\n```x```"
    assert html(text, inline=True) == (
        "⏱️ <b>Clock</b> • status update: due 23:27 CET <code>x</code>"
    )


def test_plain_is_text_not_html() -> None:
    assert plain("<@U0ONCALL> :eyes: <https://e.com|doc> &lt;b&gt;", names) == (
        "@oncall 👀 doc (https://e.com) <b>"
    )
    assert unescape("&amp;lt; &lt; &gt; &amp;") == "&lt; < > &"


def test_hostile_sizes_stay_fast() -> None:
    started = time.perf_counter()
    for text in ("*a* " * 5000, "*a " * 13000, "*_~" * 13000, "*a _b ~c " * 4000, "`" * 40000):
        assert html(text)
    assert time.perf_counter() - started < 2
