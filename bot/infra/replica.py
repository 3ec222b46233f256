"""This process among the replicas that share one database."""

from __future__ import annotations

import os
import socket
import uuid


def replica_id() -> str:
    """Host, pid and a random part (pids are reused): who holds a lease or a claim."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
