"""The backends port against real HTTP servers on 127.0.0.1: no mocks, no patched clients."""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest
from aiohttp import web

from bot.backends.client import BackendClient, BackendError
from bot.backends.http import clean_text
from bot.config.backends import BackendSettings
from bot.config.schema import Problem, build
from bot.core.retry import parse_retry_after

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Serve = Callable[[Handler], Awaitable["Server"]]
QUEUE_REPLAY = "/integrations/{queue}/deadletter/replay"


@dataclass
class Hit:
    method: str
    raw_path: str
    headers: dict[str, str]


@dataclass
class Server:
    url: str
    hits: list[Hit] = field(default_factory=list)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def serve() -> AsyncIterator[Serve]:
    """Start a real aiohttp server on a free port that records every request it gets."""
    runners: list[web.AppRunner] = []

    async def start(handler: Handler) -> Server:
        server = Server("")

        async def record(request: web.Request) -> web.StreamResponse:
            server.hits.append(Hit(request.method, request.raw_path, dict(request.headers)))
            return await handler(request)

        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", record)
        # access_log=None: the test server's own log would show the query it received.
        runner = web.AppRunner(
            app, handler_cancellation=True, shutdown_timeout=0.1, access_log=None
        )
        await runner.setup()
        runners.append(runner)
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        server.url = f"http://127.0.0.1:{runner.addresses[0][1]}"
        return server

    yield start
    for runner in runners:
        await runner.cleanup()


def make_client(
    base_url: str,
    *,
    env: dict[str, str] | None = None,
    clock: Callable[[], float] = time.monotonic,
    **settings: Any,
) -> BackendClient:
    settings.setdefault("timeout", timedelta(seconds=2))
    return BackendClient(
        "queues", BackendSettings(base_url=base_url, **settings), env or {}, clock, backoff=0.01
    )


def answer(data: Any, status: int = 200, **headers: str) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        return web.json_response(data, status=status, headers=headers)

    return handler


def then(*handlers: Handler) -> Handler:
    """Answer with each handler in turn, the last one for ever after."""
    calls = 0

    async def handler(request: web.Request) -> web.StreamResponse:
        nonlocal calls
        calls += 1
        return await handlers[min(calls, len(handlers)) - 1](request)

    return handler


async def fail(client: BackendClient, method: str = "GET", path: str = "/x", **kw: Any) -> Any:
    with pytest.raises(BackendError) as caught:
        await client.request(method, path, **kw)
    return caught.value


async def test_get_returns_parsed_json_and_a_request_line_without_query(serve: Serve) -> None:
    server = await serve(answer({"queues": {"rentguy": {"backlog": 12}}}))
    async with make_client(server.url) as client:
        resp = await client.request("get", "/metrics/queues", query={"force": "true"})
    assert resp.status == 200
    assert resp.data == {"queues": {"rentguy": {"backlog": 12}}}
    assert resp.attempts == 1
    assert resp.elapsed_ms >= 0
    assert resp.request_line == "GET /metrics/queues"
    assert server.hits[0].raw_path == "/metrics/queues?force=true"


async def test_auth_header_comes_from_env_and_is_never_logged(
    serve: Serve, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    server = await serve(answer({"ok": True}))
    env = {"QUEUES_TOKEN": "Bearer s3cret-token-value"}
    async with make_client(server.url, env=env, auth_env="QUEUES_TOKEN") as client:
        await client.request("GET", "/metrics/queues", query={"q": "hidden-query-value"})
    assert server.hits[0].headers["Authorization"] == "Bearer s3cret-token-value"
    [line] = [r for r in caplog.records if r.name == "bot.backends.client"]
    fields = vars(line)
    assert (fields["backend"], fields["method"], fields["path"]) == (
        "queues",
        "GET",
        "/metrics/queues",
    )
    assert (fields["status"], fields["attempts"], fields["outcome"]) == (200, 1, "ok")
    everything = caplog.text + "".join(str(vars(r)) for r in caplog.records)
    assert "s3cret" not in everything
    assert "hidden-query-value" not in everything


async def test_a_custom_auth_header_and_a_missing_env_var(serve: Serve) -> None:
    server = await serve(answer({}))
    settings: dict[str, Any] = {"auth_env": "QUEUES_KEY", "auth_header": "X-Api-Key"}
    async with make_client(server.url, env={"QUEUES_KEY": "k"}, **settings) as client:
        await client.request("GET", "/x")
    assert server.hits[0].headers["X-Api-Key"] == "k"
    async with make_client(server.url, env={}, **settings) as client:
        err = await fail(client)
    assert err.kind == "not_configured"
    assert "QUEUES_KEY" in err.message
    assert len(server.hits) == 1


@pytest.mark.parametrize(
    ("value", "encoded"),
    [
        ("whatsapp-outbound", "whatsapp-outbound"),
        ("a/../b", "a%2F..%2Fb"),
        ("x y", "x%20y"),
        ("%2e%2e", "%252e%252e"),
        ("q?x=1#f", "q%3Fx%3D1%23f"),
        ("http://evil.example", "http%3A%2F%2Fevil.example"),
        ("..%2f", "..%252f"),
    ],
)
async def test_path_params_stay_in_one_segment(serve: Serve, value: str, encoded: str) -> None:
    server = await serve(answer({"replayed": 0}))
    async with make_client(server.url) as client:
        resp = await client.request("POST", QUEUE_REPLAY, path_params={"queue": value})
    path = f"/integrations/{encoded}/deadletter/replay"
    assert server.hits[0].raw_path == path
    assert resp.request_line == f"POST {path}"


@pytest.mark.parametrize(
    ("path", "params"),
    [
        (QUEUE_REPLAY, {"queue": "."}),
        (QUEUE_REPLAY, {"queue": ".."}),
        (QUEUE_REPLAY, {"queue": ""}),
        (QUEUE_REPLAY, {}),
        ("integrations/x", {}),
        ("//evil.example/x", {}),
    ],
)
async def test_bad_arguments_are_refused_before_any_call(
    serve: Serve, path: str, params: dict[str, str]
) -> None:
    server = await serve(answer({}))
    async with make_client(server.url) as client:
        err = await fail(client, "POST", path, path_params=params)
    assert err.kind == "bad_argument"
    assert server.hits == []
    assert not client.breaker.failures


@pytest.mark.parametrize("prefix", ["/api", "/api/"])
async def test_base_url_with_a_path_prefix(serve: Serve, prefix: str) -> None:
    server = await serve(answer({"ok": True}))
    async with make_client(server.url + prefix) as client:
        resp = await client.request("POST", QUEUE_REPLAY, path_params={"queue": "sevensa"})
    assert server.hits[0].raw_path == "/api/integrations/sevensa/deadletter/replay"
    assert resp.request_line == "POST /api/integrations/sevensa/deadletter/replay"


async def test_not_configured_makes_no_call() -> None:
    async with BackendClient("campaigns", BackendSettings(), {}) as client:
        err = await fail(client)
    assert err.kind == "not_configured"
    assert "base_url" in err.message


async def test_timeout_is_retried_and_bounded(serve: Serve) -> None:
    async def slow(request: web.Request) -> web.StreamResponse:
        await asyncio.sleep(5)
        return web.json_response({})

    server = await serve(slow)
    async with make_client(server.url, timeout=timedelta(seconds=0.2), retries=2) as client:
        started = time.perf_counter()
        err = await fail(client)
        took = time.perf_counter() - started
    assert err.kind == "timeout"
    assert err.attempts == 3
    assert "did not answer within 0.2 s" in err.message
    assert len(server.hits) == 3
    assert 0.6 <= took < 3 * 0.2 + 0.03 + 0.5


async def test_connection_refused() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    async with make_client(f"http://127.0.0.1:{port}", retries=1) as client:
        err = await fail(client)
    assert err.kind == "refused"
    assert err.attempts == 2


async def test_connection_closed_without_an_answer(serve: Serve) -> None:
    async def hang_up(request: web.Request) -> web.StreamResponse:
        assert request.transport is not None
        request.transport.close()
        raise web.HTTPServiceUnavailable()

    server = await serve(hang_up)
    async with make_client(server.url, retries=0) as client:
        err = await fail(client)
    assert err.kind == "refused"


@pytest.mark.parametrize(
    ("method", "key", "hits"),
    [("GET", None, 3), ("POST", None, 1), ("POST", "replay-7f3a", 3)],
)
async def test_503_retries_only_what_is_safe_to_repeat(
    serve: Serve, method: str, key: str | None, hits: int
) -> None:
    server = await serve(answer({"error": "service_unavailable"}, 503))
    async with make_client(server.url, retries=2) as client:
        err = await fail(client, method, "/campaigns/c1/stop", idempotency_key=key)
    assert (err.kind, err.status, err.attempts) == ("server_error", 503, hits)
    assert len(server.hits) == hits
    assert [h.headers.get("Idempotency-Key") for h in server.hits] == [key] * hits


async def test_500_is_a_server_error_without_retry(serve: Serve) -> None:
    server = await serve(answer({"error": "internal_error"}, 500))
    async with make_client(server.url, retries=2) as client:
        err = await fail(client)
    assert (err.kind, err.status) == ("server_error", 500)
    assert len(server.hits) == 1
    assert "check its health" in err.message


async def test_a_retried_get_recovers(serve: Serve) -> None:
    server = await serve(then(answer({}, 502), answer({"ok": True})))
    async with make_client(server.url) as client:
        resp = await client.request("GET", "/x")
    assert (resp.data, resp.attempts) == ({"ok": True}, 2)


@pytest.mark.parametrize("retry_after", ["0", "1"])
async def test_429_retry_after_is_honoured(serve: Serve, retry_after: str) -> None:
    limited = answer({"error": "rate_limited"}, 429, **{"Retry-After": retry_after})
    server = await serve(then(limited, answer({"ok": True})))
    async with make_client(server.url) as client:
        started = time.perf_counter()
        resp = await client.request("GET", "/x")
    assert resp.attempts == 2
    assert time.perf_counter() - started >= float(retry_after)


async def test_429_asking_too_long_fails_at_once(serve: Serve) -> None:
    server = await serve(answer({"error": "rate_limited"}, 429, **{"Retry-After": "120"}))
    async with make_client(server.url) as client:
        started = time.perf_counter()
        err = await fail(client)
    assert time.perf_counter() - started < 0.5
    assert (err.kind, err.retry_after, err.status) == ("rate_limited", 120, 429)
    assert "try again in 120 s" in err.message
    assert len(server.hits) == 1


async def test_a_redirect_is_refused_and_never_followed(serve: Serve) -> None:
    target = await serve(answer({"ok": True}))
    port = target.url.rsplit(":", 1)[1]
    origin = await serve(answer({}, 302, Location=f"http://localhost:{port}/x"))
    async with make_client(origin.url) as client:
        err = await fail(client, "POST", "/campaigns/c1/stop", idempotency_key="k")
    assert (err.kind, err.status) == ("redirect", 302)
    assert "redirect to localhost" in err.message
    assert "fix its base_url" in err.message
    assert target.hits == []
    assert len(origin.hits) == 1


async def test_non_json_success_is_a_bad_response_and_empty_is_none(serve: Serve) -> None:
    async def html(request: web.Request) -> web.StreamResponse:
        if request.path == "/empty":
            return web.Response(status=204)
        return web.Response(text="<html>login</html>", content_type="text/html")

    server = await serve(html)
    async with make_client(server.url) as client:
        assert (await client.request("POST", "/empty")).data is None
        err = await fail(client)
    assert (err.kind, err.status) == ("bad_response", 200)


async def test_client_error_shows_the_backends_words_safely(serve: Serve) -> None:
    said = "unknown queue \x1b[31mfoo\n" + "x" * 300
    server = await serve(answer({"error": said}, 404))
    async with make_client(server.url) as client:
        for _ in range(4):
            err = await fail(client)
    assert (err.kind, err.status) == ("client_error", 404)
    assert "HTTP 404): unknown queue \\x1b[31mfoo\\n" in err.message
    assert "\x1b" not in err.message and "\n" not in err.message
    assert len(err.message) < 300
    assert len(server.hits) == 4  # not retried, and the breaker stays closed


async def test_breaker_opens_after_3_failures_then_lets_one_trial_through(serve: Serve) -> None:
    state = {"status": 500}

    async def flaky(request: web.Request) -> web.StreamResponse:
        return web.json_response({}, status=state["status"])

    server = await serve(flaky)
    clock = FakeClock()
    async with make_client(server.url, clock=clock, retries=0) as client:
        for _ in range(3):
            assert (await fail(client)).kind == "server_error"
        err = await fail(client)
        assert err.kind == "circuit_open"
        assert err.message == (
            "queues backend is failing; not called for 30 s (circuit open after 3 failures)"
        )
        assert len(server.hits) == 3
        clock.now += 30
        assert (await fail(client)).kind == "server_error"  # the trial fails: open again
        clock.now += 29
        assert "not called for 1 s" in (await fail(client)).message
        clock.now += 1
        state["status"] = 200
        assert (await client.request("GET", "/x")).status == 200
        assert (await client.request("GET", "/x")).status == 200
    assert len(server.hits) == 6


def test_retry_after_reads_seconds_and_http_dates() -> None:
    now = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)
    later = format_datetime(now + timedelta(seconds=90), usegmt=True)
    assert parse_retry_after("7", now.timestamp()) == 7
    assert parse_retry_after(later, now.timestamp()) == pytest.approx(90)
    assert parse_retry_after(format_datetime(now, usegmt=True), now.timestamp() + 5) == 0
    for junk in (None, "", "soon", "-3", "inf"):
        assert parse_retry_after(junk, now.timestamp()) is None


def test_clean_text_escapes_and_truncates() -> None:
    assert clean_text("a\x00b\tc") == "a\\x00b\\tc"
    assert clean_text({"code": 7}) == '{"code": 7}'
    assert len(clean_text("y" * 500)) == 200


def test_settings_build_from_yaml_and_explain_mistakes() -> None:
    problems: list[Problem] = []
    raw = {"base_url": "https://queues.internal/api", "timeout": "2s", "retries": 1}
    settings = build(BackendSettings, raw, "backends.queues", problems)
    assert problems == []
    assert settings.timeout == timedelta(seconds=2)
    assert settings.breaker_open_for == timedelta(seconds=30)
    for bad in (
        {"base_url": "ftp://queues"},
        {"base_url": "http://"},
        {"base_url": "http://h/x?token=1"},
        {"base_url": "http://user:pw@h"},
        {"retries": 9},
        {"timeout": 0},
    ):
        problems = []
        build(BackendSettings, bad, "backends.queues", problems)
        assert len(problems) == 1, bad
        assert "pw" not in str(problems[0])
