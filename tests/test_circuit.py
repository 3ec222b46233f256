"""The circuit breaker, pure: time is passed in."""

from __future__ import annotations

import pytest

from bot.core.circuit import CircuitBreaker


def test_closed_breaker_allows_calls_until_enough_failures_in_a_row() -> None:
    breaker = CircuitBreaker(failures_to_open=3, open_for=30)
    for now in (0.0, 1.0):
        assert breaker.blocked_for(now) is None
        breaker.failed(now)
    assert breaker.blocked_for(2.0) is None
    breaker.failed(2.0)
    assert breaker.is_open
    assert breaker.blocked_for(2.0) == pytest.approx(30)
    assert breaker.blocked_for(29.0) == pytest.approx(3)


def test_a_success_resets_the_failure_count() -> None:
    breaker = CircuitBreaker(failures_to_open=3, open_for=30)
    breaker.failed(0)
    breaker.failed(1)
    breaker.succeeded(2)
    breaker.failed(3)
    breaker.failed(4)
    assert breaker.blocked_for(5) is None
    assert not breaker.is_open


def test_half_open_lets_exactly_one_trial_through() -> None:
    breaker = CircuitBreaker(failures_to_open=1, open_for=30)
    breaker.failed(0)
    assert breaker.blocked_for(30) is None  # the trial
    second = breaker.blocked_for(31)
    assert second is not None and second > 0  # a concurrent caller still waits
    breaker.succeeded(32)
    assert breaker.blocked_for(32) is None
    assert breaker.blocked_for(32) is None  # closed: everyone again
    assert not breaker.is_open


def test_a_failed_trial_opens_the_circuit_for_another_period() -> None:
    breaker = CircuitBreaker(failures_to_open=3, open_for=30)
    for now in (0, 1, 2):
        breaker.failed(now)
    assert breaker.blocked_for(32) is None
    breaker.failed(33)  # one failure in half-open is enough
    assert breaker.blocked_for(33) == pytest.approx(30)
    assert breaker.blocked_for(62) == pytest.approx(1)
    assert breaker.blocked_for(63) is None


def test_a_trial_that_never_reports_stops_blocking_after_open_for() -> None:
    breaker = CircuitBreaker(failures_to_open=1, open_for=10)
    breaker.failed(0)
    assert breaker.blocked_for(10) is None  # trial let through, its caller was cancelled
    assert breaker.blocked_for(15) == pytest.approx(5)
    assert breaker.blocked_for(20) is None  # a new trial


@pytest.mark.parametrize(("failures", "open_for"), [(0, 30), (3, 0), (3, -1)])
def test_nonsense_settings_are_refused(failures: int, open_for: float) -> None:
    with pytest.raises(ValueError):
        CircuitBreaker(failures, open_for)
