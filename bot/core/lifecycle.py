"""The incident state machine: triggered -> acknowledged -> mitigated -> resolved, reopen.

Pure: the caller passes the incident's state and `now`; the answer says what changes or why
not, in words a person can act on.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bot.errors import WarroomError


class State(StrEnum):
    TRIGGERED = "triggered"
    ACKNOWLEDGED = "acknowledged"
    MITIGATED = "mitigated"
    RESOLVED = "resolved"


class Move(StrEnum):
    ACK = "ack"
    MITIGATE = "mitigated"
    RESOLVE = "resolve"
    REOPEN = "reopen"


OPEN = (State.TRIGGERED, State.ACKNOWLEDGED, State.MITIGATED)
TARGET = {
    Move.ACK: State.ACKNOWLEDGED,
    Move.MITIGATE: State.MITIGATED,
    Move.RESOLVE: State.RESOLVED,
    Move.REOPEN: State.TRIGGERED,
}
ORDER = [State.TRIGGERED, State.ACKNOWLEDGED, State.MITIGATED, State.RESOLVED]


class LifecycleError(WarroomError, ValueError):
    """The move does not apply; the message says why and what to do instead."""


@dataclass(frozen=True)
class Stamps:
    """Which timestamps a move sets (a later state implies the earlier ones)."""

    state: State
    acknowledged: bool
    mitigated: bool
    resolved: bool
    clears_resolution: bool = False


def move(current: str, step: Move, *, incident_id: int) -> Stamps:
    state = State(current)
    if step is Move.REOPEN:
        if state is not State.RESOLVED:
            raise LifecycleError(
                f"incident #{incident_id} is {state}, not resolved — nothing to reopen"
            )
        return Stamps(State.TRIGGERED, False, False, False, clears_resolution=True)
    if state is State.RESOLVED:
        raise LifecycleError(
            f"incident #{incident_id} is resolved — `/incident reopen` first if it is back"
        )
    target = TARGET[step]
    if ORDER.index(state) >= ORDER.index(target):
        raise LifecycleError(f"incident #{incident_id} is already {state}")
    return Stamps(
        target,
        acknowledged=True,
        mitigated=target in (State.MITIGATED, State.RESOLVED),
        resolved=target is State.RESOLVED,
    )
