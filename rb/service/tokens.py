"""Making and revoking API tokens, each recorded in the audit trail."""

from __future__ import annotations

from collections.abc import Sequence

from rb.errors import UsageError
from rb.service.audit import record_action
from rb.service.identity import ROLES, Actor
from rb.store.database import Store
from rb.store.tokens import Token, create, revoke

# The identity of RB_API_TOKEN, the server's bootstrap token (role admin).
BOOTSTRAP_NAME = "api-token"
MAX_NAME_LENGTH = 200


def create_token(
    store: Store, name: str, role: str, groups: Sequence[str], *, actor: Actor
) -> tuple[Token, str]:
    """A new token for `name` with `role`; returns it and its text (shown once)."""
    _check_name("--name", name)
    if role not in ROLES:
        raise UsageError(f"unknown role {role!r}: expected one of {', '.join(ROLES)}")
    for group in groups:
        _check_name("--group", group)
    if name == BOOTSTRAP_NAME:
        raise UsageError(
            f"the name {BOOTSTRAP_NAME!r} is RB_API_TOKEN's (rb serve's bootstrap token); "
            "choose another name"
        )
    unique = tuple(dict.fromkeys(groups))
    token, text = create(store, name, role, unique, created_by=actor.name)
    record_action(
        store,
        actor,
        "token.create",
        subject=token.name,
        details={"role": token.role, "id": token.id, "groups": list(token.groups)},
    )
    return token, text


def revoke_token(store: Store, name_or_id: str, *, actor: Actor) -> Token:
    """Revoke the active token with this name or id; UsageError when there is none."""
    token = revoke(store, name_or_id, revoked_by=actor.name)
    details = {"role": token.role, "id": token.id}
    record_action(store, actor, "token.revoke", subject=token.name, details=details)
    return token


def _check_name(option: str, value: str) -> None:
    if not value.strip() or len(value) > MAX_NAME_LENGTH or not value.isprintable():
        raise UsageError(f"{option} must be 1 to {MAX_NAME_LENGTH} printable characters")
    if value != value.strip():
        raise UsageError(f"{option} {value!r} has spaces around it; leave them out")
