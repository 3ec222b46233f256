"""A circuit breaker: stop calling a backend that keeps failing, then try it once again.

Pure: the caller passes `now` (monotonic seconds) to every method.
Closed -> open after `failures_to_open` failures in a row; open for `open_for` seconds;
then half-open: one trial call is let through (others still wait), its success closes
the circuit and its failure opens it again for `open_for`.
"""

from __future__ import annotations


class CircuitBreaker:
    def __init__(self, failures_to_open: int, open_for: float) -> None:
        if failures_to_open < 1 or open_for <= 0:
            raise ValueError("failures_to_open must be 1 or more and open_for above 0")
        self.failures_to_open = failures_to_open
        self.open_for = open_for
        self.failures = 0
        self._open_until: float | None = None
        # When the half-open trial call was let through; None when no trial is out.
        self._trial_since: float | None = None

    @property
    def is_open(self) -> bool:
        return self._open_until is not None

    def blocked_for(self, now: float) -> float | None:
        """None: call now (and report the outcome). Otherwise seconds until it may be tried."""
        if self._open_until is None:
            return None
        if now < self._open_until:
            return self._open_until - now
        if self._trial_since is not None:
            # A trial whose caller never reported (cancelled) stops blocking after open_for.
            trial_ends = self._trial_since + self.open_for
            if now < trial_ends:
                return trial_ends - now
        self._trial_since = now
        return None

    def succeeded(self, now: float) -> None:
        self.failures = 0
        self._open_until = None
        self._trial_since = None

    def failed(self, now: float) -> None:
        self.failures += 1
        if self._open_until is not None or self.failures >= self.failures_to_open:
            self._open_until = now + self.open_for
            self._trial_since = None
