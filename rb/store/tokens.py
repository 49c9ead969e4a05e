"""API tokens: who a bearer token says the caller is (docs/security.md).

A token's text is `rb_<id>_<secret>`: the id (12 hex characters) is the
row's public key; only the SHA-256 of the secret is stored, and it is
compared in constant time. The text is shown once, when the token is made,
and cannot be read back. A revoked token never authenticates.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from rb.errors import UsageError
from rb.store.database import Store
from rb.store.records import aware, utc_iso

PREFIX = "rb_"
ID_LENGTH = 12  # hex characters
SECRET_BYTES = 32  # token_urlsafe(32): 43 characters


@dataclass(frozen=True)
class Token:
    """A stored token, without its secret (which is not stored) or hash."""

    id: str
    name: str
    role: str
    groups: tuple[str, ...]
    created_by: str
    created_at: datetime
    revoked_by: str | None = None
    revoked_at: datetime | None = None
    last_used_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def to_json(self) -> dict[str, Any]:
        """The token as `rb tokens list --format json` shows it (never the secret)."""
        return {
            "id": self.id,
            "name": self.name,
            "role": self.role,
            "groups": list(self.groups),
            "created_by": self.created_by,
            "created_at": utc_iso(self.created_at),
            "revoked_by": self.revoked_by,
            "revoked_at": utc_iso(self.revoked_at),
            "last_used_at": utc_iso(self.last_used_at),
        }


def secret_hash(secret: str) -> str:
    """What is stored of a secret: its SHA-256, in hex."""
    return hashlib.sha256(secret.encode()).hexdigest()


def parse(text: str) -> tuple[str, str] | None:
    """A token's (id, secret), or None when `text` is not shaped like a token."""
    if not text.startswith(PREFIX) or len(text) < len(PREFIX) + ID_LENGTH + 2:
        return None
    token_id = text[len(PREFIX) : len(PREFIX) + ID_LENGTH]
    rest = text[len(PREFIX) + ID_LENGTH :]
    if not rest.startswith("_") or any(c not in "0123456789abcdef" for c in token_id):
        return None
    return token_id, rest[1:]


def create(
    store: Store, name: str, role: str, groups: Sequence[str], *, created_by: str
) -> tuple[Token, str]:
    """Store a new token; returns it and its text (the only time the text exists).

    UsageError when an active token already has `name`.
    """
    from rb.store.tables import tokens

    token_id = secrets.token_hex(ID_LENGTH // 2)
    secret = secrets.token_urlsafe(SECRET_BYTES)
    now = datetime.now(UTC)
    with store.begin() as conn:
        if _active_named(conn, name):
            raise UsageError(
                f"an active token is already named {name!r}: revoke it first "
                f"(rb tokens revoke {name}) or choose another name"
            )
        conn.execute(
            tokens.insert().values(
                id=token_id,
                name=name,
                role=role,
                groups=list(groups),
                secret_hash=secret_hash(secret),
                created_by=created_by,
                created_at=now,
            )
        )
    token = Token(token_id, name, role, tuple(groups), created_by, now)
    return token, f"{PREFIX}{token_id}_{secret}"


def list_tokens(store: Store) -> list[Token]:
    """Every token, revoked ones included, oldest first."""
    import sqlalchemy

    from rb.store.tables import tokens

    query = sqlalchemy.select(*_columns()).order_by(tokens.c.created_at, tokens.c.id)
    with store.connect() as conn:
        return [_token(row) for row in conn.execute(query)]


def revoke(store: Store, name_or_id: str, *, revoked_by: str) -> Token:
    """Revoke the active token with this name (or id); UsageError when there is none."""
    import sqlalchemy

    from rb.store.tables import tokens

    now = datetime.now(UTC)
    with store.begin() as conn:
        found = conn.execute(
            sqlalchemy.select(*_columns()).where(
                tokens.c.revoked_at.is_(None),
                sqlalchemy.or_(tokens.c.name == name_or_id, tokens.c.id == name_or_id),
            )
        ).first()
        if found is None:
            raise UsageError(
                f"no active token named {name_or_id!r} (nor with that id): "
                "rb tokens list shows them"
            )
        conn.execute(
            tokens.update()
            .where(tokens.c.id == found.id)
            .values(revoked_by=revoked_by, revoked_at=now)
        )
    return _token(found)


def authenticate(store: Store, text: str) -> Token | None:
    """The active token whose text this is, or None (unknown, wrong secret, revoked)."""
    import sqlalchemy

    from rb.store.tables import tokens

    parsed = parse(text)
    if parsed is None:
        return None
    token_id, secret = parsed
    query = sqlalchemy.select(*_columns(), tokens.c.secret_hash).where(tokens.c.id == token_id)
    with store.connect() as conn:
        row = conn.execute(query).first()
    if row is None or row.revoked_at is not None:
        return None
    if not hmac.compare_digest(secret_hash(secret).encode(), str(row.secret_hash).encode()):
        return None
    return _token(row)


def touch(store: Store, token_id: str, when: datetime | None = None) -> None:
    """Record that the token was used (`last_used_at`)."""
    from rb.store.tables import tokens

    with store.begin() as conn:
        conn.execute(
            tokens.update()
            .where(tokens.c.id == token_id)
            .values(last_used_at=when or datetime.now(UTC))
        )


def any_active(store: Store) -> bool:
    """Whether any token can authenticate."""
    import sqlalchemy

    from rb.store.tables import tokens

    query = sqlalchemy.select(tokens.c.id).where(tokens.c.revoked_at.is_(None)).limit(1)
    with store.connect() as conn:
        return conn.execute(query).first() is not None


def _active_named(conn: Any, name: str) -> bool:
    import sqlalchemy

    from rb.store.tables import tokens

    query = sqlalchemy.select(tokens.c.id).where(
        tokens.c.name == name, tokens.c.revoked_at.is_(None)
    )
    return conn.execute(query).first() is not None


def _columns() -> tuple[Any, ...]:
    """Every column but the secret's hash (the tables module imports SQLAlchemy: lazily)."""
    from rb.store.tables import tokens

    c = tokens.c
    return (
        c.id,
        c.name,
        c.role,
        c.groups,
        c.created_by,
        c.created_at,
        c.revoked_by,
        c.revoked_at,
        c.last_used_at,
    )


def _token(row: Any) -> Token:
    return Token(
        id=row.id,
        name=row.name,
        role=row.role,
        groups=tuple(row.groups or ()),
        created_by=row.created_by,
        created_at=aware(row.created_at),
        revoked_by=row.revoked_by,
        revoked_at=aware(row.revoked_at),
        last_used_at=aware(row.last_used_at),
    )
