"""Who may do what: a role's permissions, narrowed by a runbook's `access:`.

Roles are ordered (`ROLES`): each may do what the roles before it may.
A runbook's `access:` (or its environment's) can narrow running and
approving to named tokens or groups; it never widens a role.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rb.errors import UsageError
from rb.model import Runbook
from rb.service.identity import ROLES, Actor

if TYPE_CHECKING:
    from rb.store.database import Store

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


def require(
    actor: Actor, permission: str, runbook: Runbook | None = None, environment: str | None = None
) -> None:
    """`refusal`, as an error: UsageError (exit 2) with the reason."""
    reason = refusal(actor, permission, runbook, environment)
    if reason is not None:
        raise UsageError(reason)


def require_on_run(store: Store, execution_id: str, actor: Actor, permission: str) -> None:
    """`require` against the runbook a recorded run ran (its text as it ran), in the
    environment it was started for."""
    from rb.loader import load_text
    from rb.store.inbox import execution_info
    from rb.store.queries import runbook_and_environment

    info, ran = execution_info(store, execution_id), runbook_and_environment(store, execution_id)
    if info is None or ran is None:
        return  # unknown: the action itself says so
    loaded = load_text(info[2])
    if loaded.runbook is not None:
        require(actor, permission, loaded.runbook, ran[1])
