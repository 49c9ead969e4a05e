"""Who may do what: a role's permissions, narrowed by a runbook's `access:`.

Roles are ordered (`ROLES`): each may do what the roles before it may.
A runbook's `access:` (or its environment's) can narrow running and
approving to named tokens or groups; it never widens a role.
"""

from __future__ import annotations

from rb.model import Runbook
from rb.service.identity import ROLES, Actor

# The least role for each permission.
LEAST_ROLE = {
    "view": "viewer",  # read runbooks, executions, events, metrics
    "run": "operator",  # trigger, cancel, pause, resume, retry, replay, send events
    "approve": "approver",  # decide approval steps; approve definitions
    "admin": "admin",  # tokens; publish and deprecate definitions
}


def role_allows(role: str | None, permission: str) -> bool:
    """Whether `role` carries `permission` (an unknown role carries none)."""
    if role not in ROLES:
        return False
    return ROLES.index(role) >= ROLES.index(LEAST_ROLE[permission])


def refusal(
    actor: Actor, permission: str, runbook: Runbook | None = None, environment: str | None = None
) -> str | None:
    """Why `actor` may not use `permission` (on `runbook` in `environment`); None when it may.

    A command-line actor has no role: the OS let them reach the store, so
    only a runbook's `access:` lists apply to them (by name, unverified).
    """
    if actor.role is not None and not role_allows(actor.role, permission):
        least = LEAST_ROLE[permission]
        return f"{actor.name} has role {actor.role}; this needs {least} or higher"
    if runbook is None or permission not in ("run", "approve"):
        return None
    access = runbook.access_in(environment)
    allowed = getattr(access, permission, None) if access is not None else None
    if allowed is None or {actor.name, *actor.groups} & set(allowed):
        return None
    where = f" in environment {environment}" if environment else ""
    return (
        f"runbook {runbook.id} lets only {', '.join(allowed)} {permission}{where}; "
        f"{actor.name} is not one of them"
    )
