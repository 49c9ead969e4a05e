"""Who asks: an actor's name, whether a token vouches for it, and where from."""

from __future__ import annotations

import socket
from dataclasses import dataclass

from rb.service.request import default_actor

ROLES = ("viewer", "operator", "approver", "admin")  # each may do what those before it may


@dataclass(frozen=True)
class Actor:
    """The identity an action is recorded under.

    `verified` when an API token proved it; a CLI user is who the OS (or
    RB_ACTOR, or --actor) says, and is recorded as unverified.
    """

    name: str
    verified: bool = False
    origin: str = ""  # a client's address, or cli@host
    role: str | None = None  # a token's role; None on the command line
    groups: tuple[str, ...] = ()  # a token's groups, for a runbook's `access:`


def cli_actor(name: str | None = None) -> Actor:
    """The actor of a command: `name` (--actor), else RB_ACTOR, else the OS user."""
    return Actor(name or default_actor(), verified=False, origin=f"cli@{socket.gethostname()}")
