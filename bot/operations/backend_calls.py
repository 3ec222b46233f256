"""One backend call as a command makes it: the answer or the error, and its audit record."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.backends.client import BackendResponse
from bot.backends.errors import BackendError
from bot.operations.command_log import Call
from bot.runtime.ports import OperationPorts


@dataclass(frozen=True)
class Answer:
    response: BackendResponse | None
    error: BackendError | None
    call: Call

    @property
    def data(self) -> Any:
        return self.response.data if self.response else None


async def call_backend(
    services: OperationPorts,
    backend: str,
    method: str,
    path: str,
    *,
    path_params: Mapping[str, str] | None = None,
    json: Any = None,
    idempotency_key: str | None = None,
    query: Mapping[str, str] | None = None,
    breaker: str | None = None,
) -> Answer:
    started = time.perf_counter()
    try:
        response = await services.backends.get(backend, breaker).request(
            method,
            path,
            path_params=path_params or {},
            json=json,
            idempotency_key=idempotency_key,
            query=query,
        )
    except BackendError as exc:
        took = int((time.perf_counter() - started) * 1000)
        request = f"{method.upper()} {path}"
        return Answer(None, exc, Call(backend, request, exc.status, took, exc.kind))
    took = int(response.elapsed_ms)
    call = Call(backend, response.request_line, response.status, took, "ok")
    return Answer(response, None, call)
