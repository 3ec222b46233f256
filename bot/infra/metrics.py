"""Prometheus metrics, one registry per app (so tests and replicas never share globals)."""

from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.http_requests = Counter(
            "warroom_http_requests_total",
            "HTTP requests answered, by route and status.",
            ["route", "status"],
            registry=self.registry,
        )
        self.http_latency = Histogram(
            "warroom_http_request_seconds",
            "HTTP request handling time.",
            ["route"],
            registry=self.registry,
        )
        self.commands = Counter(
            "warroom_slash_commands_total",
            "Slash commands handled, by command and outcome.",
            ["command", "outcome"],
            registry=self.registry,
        )
        self.incidents_declared = Counter(
            "warroom_incidents_declared_total",
            "Incidents declared, by severity.",
            ["severity"],
            registry=self.registry,
        )
        self.war_rooms_opened = Counter(
            "warroom_war_rooms_opened_total",
            "War-room channels created.",
            registry=self.registry,
        )
        self.alerts_received = Counter(
            "warroom_alerts_received_total",
            "Alerts committed, by source.",
            ["source"],
            registry=self.registry,
        )
        self.alerts_rejected = Counter(
            "warroom_alerts_rejected_total",
            "Alert requests refused, by source and reason (auth, size, invalid, unavailable).",
            ["source", "reason"],
            registry=self.registry,
        )
        self.alerts_routed = Counter(
            "warroom_alert_groups_routed_total",
            "Alert groups routed, by action (open_incident, update_room, post, update_post, "
            "record).",
            ["action"],
            registry=self.registry,
        )
        self.outbox_sent = Counter(
            "warroom_outbox_calls_total",
            "Outbox rows handled, by method and outcome (sent, retry, failed).",
            ["method", "outcome"],
            registry=self.registry,
        )
        self.outbox_rows = Gauge(
            "warroom_outbox_rows",
            "Outbox rows by state (pending, sending, sent, failed), as of the last tick.",
            ["state"],
            registry=self.registry,
        )
        self.slack_call_seconds = Histogram(
            "warroom_outbox_call_seconds",
            "Time to carry out one outbox row, by method.",
            ["method"],
            registry=self.registry,
        )
        self.war_room_ready_seconds = Histogram(
            "warroom_war_room_ready_seconds",
            "From incident opened to war room ready (created, invited, intro pinned).",
            buckets=(0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600),
            registry=self.registry,
        )
        self.clock_steps = Counter(
            "warroom_clock_steps_total",
            "Escalation steps fired, by step (ack, ic, update, dr_plan, team_lead, cto, ...).",
            ["step"],
            registry=self.registry,
        )
        self.clock_breaches = Counter(
            "warroom_clock_breaches_total",
            "Deadlines people missed (ack, ic, update), by step.",
            ["step"],
            registry=self.registry,
        )
        self.open_incidents = Gauge(
            "warroom_open_incidents",
            "Open incidents by severity, as of the last tick.",
            ["severity"],
            registry=self.registry,
        )
        self.time_to_ack = Histogram(
            "warroom_time_to_acknowledge_seconds",
            "From an incident's opening to its first acknowledgement (MTTA).",
            buckets=(30, 60, 120, 300, 600, 1800, 3600),
            registry=self.registry,
        )
        self.time_to_resolve = Histogram(
            "warroom_time_to_resolve_seconds",
            "From an incident's opening to its resolution (MTTR; the seed goal is 30 min).",
            buckets=(300, 900, 1800, 3600, 7200, 14400, 86400),
            registry=self.registry,
        )
        self.last_tick = Gauge(
            "warroom_scheduler_last_tick_seconds",
            "Unix time of the scheduler's last tick.",
            registry=self.registry,
        )

    def scheduler_tick(self) -> None:
        self.last_tick.set(time.time())
