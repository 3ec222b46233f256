"""Every built-in template renders with realistic context; overrides win; values are escaped."""

from __future__ import annotations

from pathlib import Path

import jinja2
import pytest

from bot.config.schema import ConfigError
from bot.infra.button_words import label_problems
from bot.infra.config_loader import load_config
from bot.infra.templates import Templates
from tests.template_contexts import CONTEXTS


def test_every_template_has_a_realistic_context_and_renders() -> None:
    templates = Templates()
    assert set(templates.names()) == set(CONTEXTS)
    for name, context in CONTEXTS.items():
        assert templates.render(name, **context).strip(), name


def test_missing_values_fail_loudly() -> None:
    with pytest.raises(jinja2.UndefinedError):
        Templates().render("announcement.md.j2", severity="critical")


def test_values_are_escaped_but_trusted_mrkdwn_is_not() -> None:
    text = Templates().render(
        "announcement.md.j2",
        **{**CONTEXTS["announcement.md.j2"], "title": "<!channel> & <@U1>"},
    )
    assert "&lt;!channel&gt; &amp; &lt;@U1&gt;" in text and "<#C123>" in text


def test_templates_dir_overrides_by_file_name(tmp_path: Path) -> None:
    (tmp_path / "declare_reply.md.j2").write_text(
        "Oorlogskamer {{ room_link }} is open voor incident #{{ incident_id }}."
    )
    templates = Templates(str(tmp_path))
    text = templates.render("declare_reply.md.j2", **CONTEXTS["declare_reply.md.j2"])
    assert text == "Oorlogskamer <#C123> is open voor incident #7."
    assert "Usage" not in templates.render("incident_help.md.j2", usage_lines=[])


def test_a_teams_labels_yaml_words_the_buttons(tmp_path: Path) -> None:
    (tmp_path / "labels.yaml").write_text("acknowledge: Bevestigen\nresolve: Oplossen\n")
    dutch, english = Templates(str(tmp_path)), Templates()
    assert (dutch.label("acknowledge"), dutch.label("resolve")) == ("Bevestigen", "Oplossen")
    assert dutch.label("take_command") == english.label("take_command")  # not given: built in
    assert english.label("acknowledge") == "Acknowledge"
    assert label_problems(str(tmp_path)) == []


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("acknowlege: Bevestigen\n", "acknowlege: unknown label — did you mean `acknowledge`?"),
        ("resolve: ''\n", "resolve: must be non-empty text"),
        ("resolve: [a, b]\n", "resolve: must be non-empty text"),
        ("resolve: " + "x" * 80 + "\n", "resolve: 80 characters — Slack shows at most 75"),
        ("- a\n- b\n", "labels.yaml: must be a mapping of label: text"),
        ("resolve: [unclosed\n", "labels.yaml: cannot be read (ParserError)"),
    ],
)
def test_a_bad_labels_yaml_is_named_and_the_built_in_word_stays(
    tmp_path: Path, content: str, expected: str
) -> None:
    (tmp_path / "labels.yaml").write_text(content)
    problems = [f"{where}: {what}" for where, what in label_problems(str(tmp_path))]
    assert any(expected in p for p in problems), problems
    assert Templates(str(tmp_path)).label("resolve") == "Resolve"


def test_check_config_names_a_bad_label(tmp_path: Path) -> None:
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "labels.yaml").write_text("acknowlege: Bevestigen\n")
    config = tmp_path / "warroom.yaml"
    config.write_text("templates_dir: templates\n")
    with pytest.raises(ConfigError) as caught:
        load_config(str(config), {})
    assert any("unknown label" in str(p) for p in caught.value.problems)
