"""The ticket webhook as a backend of the backends port, and Warroom's one error base."""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from aiohttp import web

from bot.backends.client import BackendClient
from bot.backends.errors import BackendError, Kind
from bot.backends.registry import Backends
from bot.config.backends import BackendSettings
from bot.config.settings import TICKETS_BACKEND, Settings, TicketSettings
from bot.core.errors import CallFailure
from bot.core.retry import retry_delay
from bot.errors import WarroomError
from bot.slack.gateway import SlackFailure
from bot.tickets.webhook import TicketError
from tests.harness import bound_socket, url_of

# --- one error base -------------------------------------------------------------------------


def test_warroom_errors_share_one_base_and_keep_their_own() -> None:
    from bot.cli.export import OutputError
    from bot.config.durations import DurationError
    from bot.config.schema import ConfigError
    from bot.core.alert_fields import AlertPayloadError
    from bot.core.integration_health import IntegrationShapeError
    from bot.core.lifecycle import LifecycleError
    from bot.core.queue_health import MetricsShapeError
    from bot.core.severity import UnknownSeverity
    from bot.drill.scenario import ScenarioError
    from bot.drill.scenario_alerts import NotJson
    from bot.exports.formats import ExportError, UnknownFormat, UnknownIncident
    from bot.exports.slack_upload import UploadFailed
    from bot.incidents.actions import ActionError
    from bot.status_page.drafts import DraftError
    from commands.base import UsageError

    ours = [
        OutputError, ConfigError, ScenarioError, ExportError, UnknownFormat, UnknownIncident,
        UploadFailed, ActionError, DraftError, BackendError, SlackFailure, TicketError,
        CallFailure,
    ]  # fmt: skip
    still_value_errors = [
        DurationError, AlertPayloadError, IntegrationShapeError, LifecycleError,
        MetricsShapeError, UnknownSeverity, NotJson, UsageError,
    ]  # fmt: skip
    for cls in ours + still_value_errors:
        assert issubclass(cls, WarroomError), cls
    for cls in still_value_errors:
        assert issubclass(cls, ValueError), cls  # `except ValueError` sites still catch them
    assert issubclass(SlackFailure, CallFailure) and issubclass(TicketError, CallFailure)


def test_signals_are_not_errors() -> None:
    """Control flow (pacing, a drill handed on) and the sandbox's Slack are not Warroom's
    errors: an `except WarroomError` must never swallow them."""
    from bot.drill.player import HandedOn
    from bot.outbox.worker import Defer
    from bot.sandbox.methods_common import SlackError
    from bot.sandbox.socket_mode import AckTimeout, NotConnected

    for cls in (Defer, HandedOn, SlackError, AckTimeout, NotConnected):
        assert not issubclass(cls, WarroomError), cls


def test_slack_failure_is_the_same_as_before() -> None:
    failure = SlackFailure("chat.postMessage", "ratelimited", status=429, retry_after=3.0)
    assert str(failure) == "Slack chat.postMessage failed: ratelimited"
    assert (failure.method, failure.code, failure.status, failure.retry_after) == (
        "chat.postMessage", "ratelimited", 429, 3.0,
    )  # fmt: skip
    assert failure.transient
    assert not SlackFailure("chat.postMessage", "invalid_blocks", status=200).transient
    assert list(inspect.signature(SlackFailure).parameters) == [
        "method", "code", "status", "retry_after",
    ]  # fmt: skip


# --- the tickets backend ----------------------------------------------------------------------


def test_the_ticket_webhook_is_a_backend_made_from_tickets_url() -> None:
    tickets = TicketSettings(
        url="https://hooks.example.com/automation/abc?token=s%2Bcret&x",
        timeout=timedelta(seconds=3),
    )
    backend = tickets.backend()
    assert backend.base_url == "https://hooks.example.com/automation/abc"
    assert backend.timeout == timedelta(seconds=3)
    # One try per call and a 429 handed on at once: the outbox retries a ticket.
    assert (backend.retries, backend.max_retry_after) == (0, timedelta(0))
    assert tickets.query() == [("token", "s+cret"), ("x", "")]
    settings = Settings(tickets=tickets)
    registry = Backends.of(settings, {})
    assert registry.get(TICKETS_BACKEND).settings == backend
    assert registry.get("queues").settings == settings.backends["queues"]


@pytest.mark.parametrize("url", ["", "https://user:password@hooks.example.com/x", "https://"])
def test_a_url_the_port_cannot_take_leaves_the_backend_unconfigured(url: str) -> None:
    assert TicketSettings(url=url).backend().base_url == ""


@pytest.mark.parametrize(
    ("kind", "status", "code", "transient"),
    [
        ("server_error", 503, "webhook_refused", True),
        ("rate_limited", 429, "webhook_refused", True),
        ("timeout", None, "timeout", True),
        ("refused", None, "connection_error", True),
        ("bad_response", 200, "connection_error", True),
        ("circuit_open", None, "circuit_open", True),
        ("client_error", 400, "webhook_refused", False),
        ("client_error", 404, "webhook_refused", False),
        ("redirect", 302, "redirect_refused", False),
        ("not_configured", None, "ticket_webhook_not_configured", False),
        ("bad_argument", None, "bad_argument", False),
    ],
)
def test_a_ticket_error_says_whether_the_outbox_tries_again(
    kind: Kind, status: int | None, code: str, transient: bool
) -> None:
    error = TicketError.of(
        "ticket.create", BackendError(TICKETS_BACKEND, kind, "said", status=status)
    )
    assert (error.method, error.code, error.status, str(error)) == (
        "ticket.create", code, status, "said",
    )  # fmt: skip
    assert error.transient is transient
    assert (retry_delay(error.failure, 1) is not None) is transient


def test_a_wait_the_webhook_or_the_breaker_asks_for_is_kept() -> None:
    limited = BackendError(TICKETS_BACKEND, "rate_limited", "429", status=429, retry_after=42)
    assert retry_delay(TicketError.of("ticket.create", limited).failure, 1) == 42
    opened = BackendError(TICKETS_BACKEND, "circuit_open", "open", retry_after=12.5)
    assert retry_delay(TicketError.of("ticket.create", opened).failure, 3) == 12.5


@dataclass
class Hook:
    url: str
    answers: list[Callable[[], web.StreamResponse]]
    seen: list[tuple[str, str, str | None]] = field(default_factory=list)  # path, query, key


@pytest.fixture
async def hook() -> AsyncIterator[Hook]:
    sock = bound_socket()
    got = Hook(f"{url_of(sock)}/rest/jira/webhook", [])

    async def answer(request: web.Request) -> web.StreamResponse:
        got.seen.append(
            (request.path, request.query_string, request.headers.get("Idempotency-Key"))
        )
        return got.answers.pop(0)() if got.answers else web.json_response({"key": "OPS-7"})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", answer)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.SockSite(runner, sock).start()
    yield got
    await runner.cleanup()


def client_for(tickets: TicketSettings) -> BackendClient:
    return BackendClient(TICKETS_BACKEND, tickets.backend(), {}, backoff=0.01)


async def post(client: BackendClient, tickets: TicketSettings) -> object:
    response = await client.request(
        "POST", "", query=tickets.query(), json={"event": "created"},
        idempotency_key="warroom-ticket.create-1", expect_json=False,
    )  # fmt: skip
    return response.data


async def test_a_ticket_goes_to_the_webhook_url_itself_with_its_query(hook: Hook) -> None:
    tickets = TicketSettings(url=f"{hook.url}?token=a%2Bb&token=c")
    hook.answers.append(lambda: web.Response(text="OK", status=200))  # not JSON: fine
    async with client_for(tickets) as client:
        assert await post(client, tickets) is None
        assert await post(client, tickets) == {"key": "OPS-7"}
    assert (
        hook.seen == [("/rest/jira/webhook", "token=a%2Bb&token=c", "warroom-ticket.create-1")] * 2
    )


@pytest.mark.parametrize(
    ("answer", "kind", "status", "retry_after"),
    [
        (lambda: web.Response(status=503, headers={"Retry-After": "9"}), "server_error", 503, 9),
        (
            lambda: web.Response(status=429, headers={"Retry-After": "120"}),
            "rate_limited",
            429,
            120,
        ),
        (lambda: web.json_response({"error": "no project"}, status=400), "client_error", 400, None),
        (
            lambda: web.Response(status=302, headers={"Location": "/elsewhere"}),
            "redirect",
            302,
            None,
        ),
    ],
)
async def test_a_refusal_is_one_try_and_leaves_the_retrying_to_the_outbox(
    hook: Hook,
    answer: Callable[[], web.StreamResponse],
    kind: Kind,
    status: int,
    retry_after: float | None,
) -> None:
    tickets = TicketSettings(url=hook.url)
    hook.answers.append(answer)
    async with client_for(tickets) as client:
        with pytest.raises(BackendError) as caught:
            await post(client, tickets)
    assert (caught.value.kind, caught.value.status, caught.value.attempts) == (kind, status, 1)
    assert caught.value.retry_after == retry_after
    assert [path for path, _, _ in hook.seen] == ["/rest/jira/webhook"]  # never redirected


async def test_an_unconfigured_ticket_backend_says_so_without_calling() -> None:
    client = BackendClient(TICKETS_BACKEND, BackendSettings(), {})
    with pytest.raises(BackendError) as caught:
        await post(client, TicketSettings())
    error = TicketError.of("ticket.create", caught.value)
    assert (error.code, error.transient) == ("ticket_webhook_not_configured", False)
