"""Drill mode: replay a recorded scenario (alerts over time) into a room marked DRILL, then
report who acknowledged when against the escalation policy.

- `scenario`: the YAML format, parsed and validated (pure); `catalog`: the shipped ones.
- `keys`: how a drill's alerts are kept apart from real ones (pure).
- `player`: replays a scenario on the app's clock through the alert pipeline.
- `report`: the end-of-drill report from the incident's timeline (pure), Markdown and Block Kit.
- `cli`: `warroom drill`; `start`: `/incident drill`.
"""
