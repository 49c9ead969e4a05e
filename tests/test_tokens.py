"""`rb tokens create|list|revoke` and the tokens table: shown once, stored as a
hash only, revoked for good; in SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import io
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from rb.cli.commands.tokens import tokens_create, tokens_list, tokens_revoke
from rb.errors import UsageError
from rb.store.audit import records
from rb.store.database import Store, open_store
from rb.store.tokens import authenticate, list_tokens, parse

from .conftest import run_rb
from .rb_server import config_for, make_project, serving

TOKEN = re.compile(r"rb_[0-9a-f]{12}_[A-Za-z0-9_-]{43}")


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    opened = open_store(store_url)
    yield opened
    opened.dispose()


def _create(store_url: str, name: str, role: str = "operator", *groups: str) -> str:
    out = io.StringIO()
    tokens_create(db=store_url, name=name, role=role, groups=groups, out=out)
    (text,) = TOKEN.findall(out.getvalue())
    return text


def test_create_shows_the_token_once_and_list_never_shows_it(store_url: str, store: Store) -> None:
    created = run_rb(
        *("tokens", "create", "--name", "ci", "--role", "operator"),
        *("--group", "deployers", "--group", "dbas", "--db", store_url),
    )
    assert created.returncode == 0, created.stderr
    (text,) = TOKEN.findall(created.stdout)
    assert "it will not be shown again" in created.stdout
    token_id, secret = parse(text) or ("", "")
    listed = run_rb("tokens", "list", "--db", store_url)
    as_json = run_rb("tokens", "list", "--format", "json", "--db", store_url)
    for shown in (listed, as_json):
        assert shown.returncode == 0, shown.stderr
        assert secret not in shown.stdout
        assert hashlib.sha256(secret.encode()).hexdigest() not in shown.stdout
    header, row, total = listed.stdout.splitlines()
    assert header.split() == [
        *("NAME", "ID", "ROLE", "GROUPS", "CREATED", "BY", "REVOKED", "LAST", "USED")
    ]
    assert row.split()[:4] == ["ci", token_id, "operator", "deployers,dbas"]
    assert total == "1 token, 1 active"
    (doc,) = json.loads(as_json.stdout)
    assert set(doc) == {
        *("id", "name", "role", "groups", "created_by", "created_at"),
        *("revoked_by", "revoked_at", "last_used_at"),
    }
    assert (doc["name"], doc["groups"], doc["revoked_at"]) == ("ci", ["deployers", "dbas"], None)


def test_only_the_secrets_hash_is_stored(store_url: str, store: Store) -> None:
    import sqlalchemy

    from rb.store.tables import tokens

    text = _create(store_url, "ci")
    token_id, secret = parse(text) or ("", "")
    with store.connect() as conn:
        (row,) = conn.execute(sqlalchemy.select(tokens)).mappings().all()
    assert row["id"] == token_id
    assert row["secret_hash"] == hashlib.sha256(secret.encode()).hexdigest()
    for value in row.values():
        assert secret not in str(value) and text not in str(value)


def test_a_token_authenticates_until_it_is_revoked(store_url: str, store: Store) -> None:
    text = _create(store_url, "ci", "approver", "dbas")
    found = authenticate(store, text)
    assert found is not None
    assert (found.name, found.role, found.groups) == ("ci", "approver", ("dbas",))
    token_id, secret = parse(text) or ("", "")
    changed = secret[:-1] + ("y" if secret.endswith("x") else "x")
    for wrong in (
        f"rb_{token_id}_{changed}",
        f"rb_ffffffffffff_{secret}",
        secret,
        "",
        "rb_short",
    ):
        assert authenticate(store, wrong) is None, wrong
    out = io.StringIO()
    tokens_revoke(db=store_url, name_or_id=token_id, out=out)
    assert out.getvalue().startswith(f"revoked token ci (id {token_id})")
    assert authenticate(store, text) is None
    (listed,) = list_tokens(store)
    assert listed.revoked_at is not None and not listed.active
    # The name is free again; the revoked token stays revoked.
    again = _create(store_url, "ci")
    assert authenticate(store, again) is not None and authenticate(store, text) is None


def test_creating_and_revoking_are_audited(
    store_url: str, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RB_ACTOR", "root-admin")
    text = _create(store_url, "ci", "viewer")
    tokens_revoke(db=store_url, name_or_id="ci", out=io.StringIO())
    token_id = (parse(text) or ("", ""))[0]
    trail = [r.entry for r in records(store)]
    assert [(e.action, e.subject, e.actor, e.verified) for e in trail] == [
        ("token.create", "ci", "root-admin", False),
        ("token.revoke", "ci", "root-admin", False),
    ]
    assert trail[0].details == {"role": "viewer", "id": token_id, "groups": []}
    assert trail[1].details == {"role": "viewer", "id": token_id}
    assert trail[0].origin.startswith("cli@")
    assert text not in json.dumps([r.to_json() for r in records(store)])


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (("create", "--name", "ci", "--role", "boss"), "unknown role 'boss': expected one of"),
        (("create", "--name", "api-token", "--role", "admin"), "is RB_API_TOKEN's"),
        (("create", "--name", " ci", "--role", "admin"), "has spaces around it"),
        (("revoke", "nobody"), "no active token named 'nobody'"),
    ],
)
def test_bad_requests_are_usage_errors(tmp_path: Path, args: tuple[str, ...], error: str) -> None:
    result = run_rb("tokens", *args, "--db", f"sqlite:///{tmp_path}/rb.db")
    assert result.returncode == 2
    assert error in result.stderr
    assert "Traceback" not in result.stderr


def test_a_second_active_token_with_one_name_is_refused(store_url: str, store: Store) -> None:
    _create(store_url, "ci")
    with pytest.raises(UsageError, match="an active token is already named 'ci'"):
        _create(store_url, "ci", "admin")
    assert len(list_tokens(store)) == 1
    assert len(list(records(store))) == 1


def test_the_server_records_when_a_token_was_last_used(tmp_path: Path) -> None:
    project = make_project(tmp_path / "project")
    config = config_for(project)
    text = _create(config.db, "ci", "viewer")
    out = io.StringIO()
    tokens_list(db=config.db, out=out)
    assert out.getvalue().splitlines()[1].endswith(" -")  # never used
    with serving(config, headers={"Authorization": f"Bearer {text}"}) as api:
        assert api.client.get("/api/runbooks").status_code == 200
        assert api.client.get("/api/runbooks").status_code == 200
    (token,) = list_tokens(open_store(config.db))
    assert token.last_used_at is not None


class Clock:
    """A clock the test moves (the cache's expiry is compared with it)."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_the_servers_cache_believes_a_token_for_its_time_only(store_url: str) -> None:
    from rb.server.auth import Authenticator
    from rb.server.database import ServerStore

    server_store = ServerStore(store_url, workers=1)
    clock = Clock()
    auth = Authenticator(server_store, bootstrap=None, cache_seconds=5, clock=clock)
    text = _create(store_url, "ci", "operator", "dbas")
    actor = auth.resolve(text)
    assert actor is not None
    assert (actor.name, actor.role, actor.groups, actor.verified) == (
        "ci",
        "operator",
        ("dbas",),
        True,
    )
    tokens_revoke(db=store_url, name_or_id="ci", out=io.StringIO())
    assert auth.resolve(text) == actor  # remembered: revoked elsewhere, not yet seen
    clock.now = 5.0
    assert auth.resolve(text) is None  # the cache time is over: the store says revoked
    again = _create(store_url, "ops", "viewer")
    assert auth.resolve(again) is not None
    tokens_revoke(db=store_url, name_or_id="ops", out=io.StringIO())
    auth.forget()  # what a revocation in the server's own process would do
    assert auth.resolve(again) is None
    server_store.close()


def test_the_bootstrap_token_is_admin_and_needs_no_store() -> None:
    from rb.server.auth import Authenticator
    from rb.server.database import ServerStore

    from .servers import closed_port

    # A store that cannot be reached: the bootstrap token is checked in memory.
    unreachable = ServerStore(f"postgresql://rb@127.0.0.1:{closed_port()}/rb", workers=1)
    auth = Authenticator(unreachable, bootstrap="b" * 40, cache_seconds=0)
    actor = auth.cached("b" * 40)
    assert actor is not None and (actor.name, actor.role) == ("api-token", "admin")
    assert auth.cached("b" * 39) is None
