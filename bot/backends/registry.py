"""The configured backends, one client each, opened with the app and closed with it."""

from __future__ import annotations

from collections.abc import Mapping

from bot.backends.client import BackendClient
from bot.config.backends import BackendSettings
from bot.config.settings import TICKETS_BACKEND, Settings


class Backends:
    """Backend clients by name; a name missing from the config gets an unconfigured client,
    which answers every call with a `not_configured` error that says what to set."""

    def __init__(self, settings: Mapping[str, BackendSettings], env: Mapping[str, str]) -> None:
        self._env = dict(env)
        self._clients = {name: BackendClient(name, s, self._env) for name, s in settings.items()}

    @classmethod
    def none(cls) -> Backends:
        return cls({}, {})

    @classmethod
    def of(cls, settings: Settings, env: Mapping[str, str]) -> Backends:
        """The configured `backends`, and the ticket webhook (`tickets.url`) as the
        `tickets` backend: one shared client, its breaker, redirects refused."""
        return cls({**settings.backends, TICKETS_BACKEND: settings.tickets.backend()}, env)

    def get(self, name: str, breaker: str | None = None) -> BackendClient:
        """The backend's client; with `breaker`, a client of the same backend with its own
        circuit breaker (one integration's health URL hanging must not stop the others)."""
        key = f"{name}#{breaker}" if breaker else name
        client = self._clients.get(key)
        if client is None:
            settings = self._clients[name].settings if name in self._clients else BackendSettings()
            client = self._clients[key] = BackendClient(name, settings, self._env)
        return client

    async def aclose(self) -> None:
        for client in self._clients.values():
            await client.aclose()
