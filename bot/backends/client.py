"""The backends port: one httpx client per platform backend, with retries and a breaker.

Every failure comes out as `BackendError`, whose `message` a person in Slack can act on.
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType, TracebackType
from typing import Any

import httpx

from bot.backends.errors import BackendError, Kind
from bot.backends.http import (
    clean_text,
    fill_path,
    json_or,
    location_host,
    request_line,
    stays_under,
)
from bot.config.backends import BackendSettings
from bot.core.circuit import CircuitBreaker
from bot.core.retry import parse_retry_after

__all__ = ["BackendClient", "BackendError", "BackendResponse", "Kind"]

log = logging.getLogger(__name__)
# httpx logs every full URL, query values included, at INFO; our own line replaces it.
logging.getLogger("httpx").setLevel(logging.WARNING)

RETRY_STATUSES = frozenset({429, 502, 503, 504})
MAX_BACKOFF_SECONDS = 2.0
_HEADER_SAFE = re.compile(r"^[\x21-\x7e][\x20-\x7e]*$")
_NO_BODY = object()
_NO_PARAMS: Mapping[str, str] = MappingProxyType({})
# A call's query: names to values, or pairs (a name may repeat).
Query = Mapping[str, str] | Sequence[tuple[str, str]]


@dataclass(frozen=True)
class BackendResponse:
    status: int
    data: Any
    elapsed_ms: float
    attempts: int
    # e.g. "POST /integrations/whatsapp-outbound/deadletter/replay": no host, no query.
    request_line: str


def _seconds(n: float) -> str:
    return f"{n:.3g} s"


class BackendClient:
    def __init__(
        self,
        name: str,
        settings: BackendSettings,
        env: Mapping[str, str],
        monotonic: Callable[[], float] = time.monotonic,
        transport: httpx.AsyncBaseTransport | None = None,
        *,
        backoff: float = 0.2,
    ) -> None:
        self.name = name
        self.settings = settings
        self.breaker = CircuitBreaker(
            settings.breaker_failures, settings.breaker_open_for.total_seconds()
        )
        self._monotonic = monotonic
        self._backoff = backoff
        self._timeout = settings.timeout.total_seconds()
        self._auth = env.get(settings.auth_env) if settings.auth_env else None
        self._client: httpx.AsyncClient | None = None
        if settings.base_url:
            self._client = httpx.AsyncClient(
                base_url=settings.base_url,
                follow_redirects=False,
                timeout=httpx.Timeout(self._timeout),
                trust_env=False,
                transport=transport,
                headers={"User-Agent": "warroom"},
            )

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()

    async def __aenter__(self) -> BackendClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def request(
        self,
        method: str,
        path: str,
        *,
        path_params: Mapping[str, str] = _NO_PARAMS,
        query: Query | None = None,
        json: Any = None,
        idempotency_key: str | None = None,
        expect_json: bool = True,
    ) -> BackendResponse:
        """Call `path` under the base_url; `path=""` calls the base_url itself (a backend
        that is one endpoint, like the ticket webhook). With `expect_json=False` a 2xx
        answer need not be JSON (its data is then None)."""
        method, started = method.upper(), time.perf_counter()
        try:
            request = self._build(method, path, path_params, query, json, idempotency_key)
            retryable = method == "GET" or idempotency_key is not None
            tries = 1 + self.settings.retries if retryable else 1
            response = await self._guarded(request, tries, expect_json)
        except BackendError as exc:
            self._log(method, path, exc.status, started, exc.attempts, exc.kind)
            raise
        self._log(method, path, response.status, started, response.attempts, "ok")
        return response

    async def _guarded(
        self, request: httpx.Request, tries: int, expect_json: bool
    ) -> BackendResponse:
        """Ask the breaker, call, and tell the breaker how the backend did."""
        blocked = self.breaker.blocked_for(self._monotonic())
        if blocked is not None:
            raise self._error(
                "circuit_open",
                f"{self.name} backend is failing; not called for {math.ceil(blocked)} s "
                f"(circuit open after {self.breaker.failures} failures)",
                retry_after=blocked,
            )
        started = time.perf_counter()
        try:
            status, data, attempts = await self._attempts(request, tries, expect_json)
        except BackendError as exc:
            # A 4xx is the backend working and saying no: it counts as a healthy answer.
            if exc.kind == "client_error":
                self.breaker.succeeded(self._monotonic())
            else:
                self.breaker.failed(self._monotonic())
            raise
        self.breaker.succeeded(self._monotonic())
        elapsed = (time.perf_counter() - started) * 1000
        return BackendResponse(status, data, elapsed, attempts, request_line(request))

    def _build(
        self,
        method: str,
        path: str,
        path_params: Mapping[str, str],
        query: Query | None,
        body: Any,
        idempotency_key: str | None,
    ) -> httpx.Request:
        client = self._client
        if client is None:
            raise self._error(
                "not_configured",
                f"{self.name} backend is not configured — set its base_url in the Warroom config",
            )
        headers = {}
        if self.settings.auth_env:
            if not self._auth or not _HEADER_SAFE.match(self._auth):
                raise self._error(
                    "not_configured",
                    f"{self.name} backend needs the environment variable "
                    f"{self.settings.auth_env} set to a valid header value — set it and "
                    "restart Warroom",
                )
            headers[self.settings.auth_header] = self._auth
        if idempotency_key is not None:
            if not _HEADER_SAFE.match(idempotency_key):
                raise self._error("bad_argument", "the idempotency key is not a valid header")
            headers["Idempotency-Key"] = idempotency_key
        params = dict(query) if isinstance(query, Mapping) else tuple(query or ())
        try:
            # The base_url as written: httpx's own copy has a "/" added at its end.
            url = fill_path(path, path_params) if path else httpx.URL(self.settings.base_url)
            request = client.build_request(
                method, url, params=params or None, json=body, headers=headers
            )
        except (ValueError, httpx.InvalidURL) as exc:
            raise self._error(
                "bad_argument", f"{clean_text(str(exc))} — check the command"
            ) from exc
        if path and not stays_under(request.url, client.base_url):
            raise self._error("bad_argument", f"{path} leaves the {self.name} backend's base_url")
        return request

    async def _attempts(
        self, request: httpx.Request, tries: int, expect_json: bool
    ) -> tuple[int, Any, int]:
        """Send until an answer that is not worth retrying; (status, data, attempts)."""
        assert self._client is not None
        for attempt in range(1, tries + 1):
            delay = min(self._backoff * 2 ** (attempt - 1), MAX_BACKOFF_SECONDS)
            try:
                response = await self._send(request)
            except BackendError as exc:
                exc.attempts = attempt
                if attempt == tries or exc.kind == "bad_response":
                    raise
                await asyncio.sleep(delay)
                continue
            status = response.status_code
            if status == 429:
                wait = parse_retry_after(response.headers.get("Retry-After"), time.time())
                max_wait = self.settings.max_retry_after.total_seconds()
                if attempt == tries or (wait is not None and wait > max_wait):
                    raise self._rate_limited(wait, attempt)
                await asyncio.sleep(delay if wait is None else wait)
            elif status in RETRY_STATUSES and attempt < tries:
                await asyncio.sleep(delay)
            else:
                return status, self._read(response, attempt, expect_json), attempt
        raise AssertionError("unreachable: the last attempt returns or raises")

    async def _send(self, request: httpx.Request) -> httpx.Response:
        assert self._client is not None
        try:
            async with asyncio.timeout(self._timeout):
                return await self._client.send(request)
        except (httpx.TimeoutException, TimeoutError) as exc:
            raise self._error(
                "timeout",
                f"{self.name} backend did not answer within {_seconds(self._timeout)}; it may "
                "be overloaded — try again, or check its health",
            ) from exc
        except httpx.DecodingError as exc:
            raise self._error("bad_response", f"{self.name} backend sent a garbled body") from exc
        except httpx.TransportError as exc:
            raise self._error(
                "refused",
                f"could not reach the {self.name} backend (connection refused or closed "
                "without an answer) — check that it is running and its base_url is right",
            ) from exc

    def _read(self, response: httpx.Response, attempt: int, expect_json: bool) -> Any:
        status = response.status_code
        data = json_or(response.content, _NO_BODY)
        if 200 <= status < 300:
            if data is _NO_BODY and not expect_json:
                return None
            if data is _NO_BODY:
                raise self._error(
                    "bad_response",
                    f"{self.name} backend answered HTTP {status} with something that is not "
                    f"JSON — check that its base_url points at the {self.name} API",
                    status=status,
                    attempts=attempt,
                )
            return data
        raise self._status_error(response, data, attempt)

    def _status_error(self, response: httpx.Response, data: Any, attempt: int) -> BackendError:
        status = response.status_code
        if 300 <= status < 400:
            target = location_host(response)
            return self._error(
                "redirect",
                f"{self.name} backend answered with a redirect to {target}; Warroom does not "
                "follow redirects — fix its base_url",
                status=status,
                attempts=attempt,
            )
        if 400 <= status < 500:
            said = data.get("error") if isinstance(data, dict) else None
            detail = f": {clean_text(said)}" if said else ""
            fix = "check the command's arguments"
            if status in (401, 403):
                fix = f"check the credentials in {self.settings.auth_env or 'its auth_env'}"
            return self._error(
                "client_error",
                f"{self.name} backend rejected the request (HTTP {status}){detail} — {fix}",
                status=status,
                attempts=attempt,
            )
        tried = f", {attempt} attempts" if attempt > 1 else ""
        return self._error(
            "server_error",
            f"{self.name} backend is failing (HTTP {status}{tried}) — check its health, "
            "then try again",
            # A 503 may say when to come back; a caller retrying later (the outbox) waits it.
            retry_after=parse_retry_after(response.headers.get("Retry-After"), time.time()),
            status=status,
            attempts=attempt,
        )

    def _rate_limited(self, wait: float | None, attempt: int) -> BackendError:
        when = f"in {math.ceil(wait)} s" if wait is not None else "in a minute"
        return self._error(
            "rate_limited",
            f"{self.name} backend is rate limiting Warroom — try again {when}",
            retry_after=wait,
            status=429,
            attempts=attempt,
        )

    def _error(
        self,
        kind: Kind,
        message: str,
        *,
        retry_after: float | None = None,
        status: int | None = None,
        attempts: int = 0,
    ) -> BackendError:
        return BackendError(
            self.name, kind, message, retry_after=retry_after, status=status, attempts=attempts
        )

    def _log(
        self,
        method: str,
        path: str,
        status: int | None,
        started: float,
        attempts: int,
        outcome: str,
    ) -> None:
        log.info(
            "backend call",
            extra={
                "backend": self.name,
                "method": method,
                "path": path,  # the template: no argument values, no query
                "status": status,
                "elapsed_ms": round((time.perf_counter() - started) * 1000, 1),
                "attempts": attempts,
                "outcome": outcome,
            },
        )
