"""Every message a person reads is a Jinja2 template in incident_templates/.

A config `templates_dir` overrides any template by file name. Values are escaped for Slack
mrkdwn unless the code marks them `Mrkdwn` (text it built itself, such as a channel link).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2

import incident_templates
from bot.core.slack_text import escape
from bot.infra.button_words import load_labels

BUILTIN_DIR = Path(incident_templates.__file__).parent


class Mrkdwn(str):
    """Trusted mrkdwn written by Warroom itself; templates output it unescaped."""

    __slots__ = ()


def _finalize(value: Any) -> Any:
    if isinstance(value, Mrkdwn) or not isinstance(value, str):
        return value
    return escape(value)


class Templates:
    def __init__(self, override_dir: str | None = None) -> None:
        search = [str(override_dir)] if override_dir else []
        self._env = jinja2.Environment(
            loader=jinja2.FileSystemLoader([*search, str(BUILTIN_DIR)]),
            undefined=jinja2.StrictUndefined,
            autoescape=False,  # noqa: S701 - Slack mrkdwn, escaped by _finalize, not HTML
            finalize=_finalize,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
        )

        self._plain = self._env.overlay(finalize=None)
        self._labels = load_labels(override_dir)

    def label(self, key: str) -> str:
        """A button's or a list's word (labels.yaml), in the team's language if it has one."""
        return self._labels[key]

    def render(self, name: str, **context: Any) -> str:
        return self._env.get_template(name).render(**context).strip()

    def render_plain(self, name: str, **context: Any) -> str:
        """For text that leaves Slack (a status page, an e-mail): nothing Slack-escaped."""
        return self._plain.get_template(name).render(**context).strip()

    def names(self) -> list[str]:
        return sorted(n for n in self._env.list_templates() if n.endswith(".j2"))
