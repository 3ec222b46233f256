"""Which configured integration an alert is about, and so which runbook fallback to show.

The rule, small on purpose: the alert's `integration` label first, then its `component`
label (where a PagerDuty event's `payload.component` lands; other sources may set it too).
The first of the two that names a configured integration (`integrations.items.<name>`,
compared without regard to case or surrounding spaces) with a non-empty `fallback` wins.
Nothing else is guessed: `service`, `job` or the summary never name an integration here.

Pure: labels and settings in, the fallback (or None) out. The caller escapes the text.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from bot.config.platform import IntegrationSettings

FALLBACK_LABELS = ("integration", "component")


@dataclass(frozen=True)
class IntegrationFallback:
    integration: str  # the configured name, not the label's spelling
    text: str


def integration_fallback(
    labels: Mapping[str, str], items: Mapping[str, IntegrationSettings]
) -> IntegrationFallback | None:
    """The fallback of the configured integration the labels name, or None."""
    by_key = {name.strip().casefold(): name for name in items}
    for label in FALLBACK_LABELS:
        value = labels.get(label)
        if not isinstance(value, str):
            continue
        name = by_key.get(value.strip().casefold())
        if name is None:
            continue
        text = items[name].fallback.strip()
        if text:
            return IntegrationFallback(name, text)
    return None


def alert_fallbacks(
    alerts: Iterable[tuple[Mapping[str, str], str]],
    items: Mapping[str, IntegrationSettings],
    *,
    limit: int = 3,
) -> list[IntegrationFallback]:
    """Distinct fallbacks of (labels, description) pairs, in the order given, at most `limit`.

    An integration is left out when one of its alerts' description already begins with
    "Fallback: <its fallback>" (the periodic probe's alerts do): it is shown there already.
    """
    found: dict[str, IntegrationFallback] = {}
    shown: set[str] = set()
    for labels, description in alerts:
        fallback = integration_fallback(labels, items)
        if fallback is None:
            continue
        if (description or "").lstrip().startswith(f"Fallback: {fallback.text}"):
            shown.add(fallback.integration)
        found.setdefault(fallback.integration, fallback)
    return [f for name, f in found.items() if name not in shown][:limit]
