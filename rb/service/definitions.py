"""The definition lifecycle: publish, approve (two people), deprecate; and environments.

`rb publish` stores a runbook file's exact text as a version (a draft);
someone other than its author approves it; anyone may deprecate it. A
runbook's `environments:` may say `require: approved`: a live run there
starts only from a file whose text is an approved version, checked when the
run is asked for and again when it starts (a queued run, a resumed one).
Every change is an audit record. See docs/definitions.md.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from rb.errors import EXIT_FAILED, RbError, UsageError
from rb.service.identity import Actor
from rb.store.definitions import Definition

if TYPE_CHECKING:
    from rb.model import Runbook
    from rb.policies import Environment
    from rb.service.request import RunRequest
    from rb.store.database import Store

_REF = re.compile(r"(?P<id>[^@\s]+)@(?P<version>\d+)\Z")


class DefinitionRefused(RbError):
    """A lifecycle rule says no: the two-person rule, a state that cannot change, or a
    run whose file is not an approved version (exit 1, API 409; 403 for self-approval)."""

    exit_code = EXIT_FAILED


class SelfApproval(DefinitionRefused):
    """The approver published the version (two-person rule)."""


class NoSuchDefinition(UsageError):
    """No such published version (exit 2, API 404)."""


@dataclass(frozen=True)
class Published:
    """What `publish` did: the version, and whether it is new (False: the same text
    was already published as that version)."""

    definition: Definition
    created: bool


def parse_ref(ref: str) -> tuple[str, int]:
    """`ID@VERSION` as (id, version); UsageError otherwise."""
    match = _REF.match(ref.strip())
    if match is None:
        raise UsageError(f"{ref!r} is not ID@VERSION (e.g. restart-api@3)")
    return match["id"], int(match["version"])


def publish(store: Store, path: str | Path, actor: Actor, *, shown: str | None = None) -> Published:
    """Store the runbook file at `path` as its next version, a draft.

    The file is loaded and validated first: one with errors is refused with
    them (RunbookError). `shown` is the path to record (default: `path`).
    """
    from rb.loader import load_file
    from rb.service.runbooks import require_valid
    from rb.store import definitions

    runbook = require_valid(load_file(path))
    shown = shown or str(path)
    definition, created = definitions.publish(
        store,
        runbook.id,
        runbook.source.text,
        runbook.definition_hash,
        path=shown,
        author=actor.name,
    )
    if created:
        _audit(store, actor, "publish", definition, runbook.legal_basis, path=shown)
    return Published(definition, created)


def approve(store: Store, runbook_id: str, version: int, actor: Actor) -> Definition:
    """Approve a draft; refused for its own author (two-person rule)."""
    found = get(store, runbook_id, version)
    if found.author == actor.name:
        raise SelfApproval(
            f"{found.ref} was published by {actor.name}: someone other than its author "
            "must approve it (two-person rule)"
        )
    return _change(store, found, "approved", actor, "definition.approve")


def deprecate(store: Store, runbook_id: str, version: int, actor: Actor) -> Definition:
    """Deprecate a draft or approved version: it no longer runs where approval is required."""
    return _change(
        store, get(store, runbook_id, version), "deprecated", actor, "definition.deprecate"
    )


def get(store: Store, runbook_id: str, version: int) -> Definition:
    """One published version; NoSuchDefinition naming the versions there are."""
    from rb.store import definitions

    found = definitions.get(store, runbook_id, version)
    if found is not None:
        return found
    known = definitions.versions(store, runbook_id)
    if not known:
        raise NoSuchDefinition(
            f"{runbook_id} has no published versions: publish one with rb publish FILE"
        )
    numbers = ", ".join(str(d.version) for d in known)
    raise NoSuchDefinition(f"{runbook_id} has no version {version} (its versions: {numbers})")


def versions(store: Store, runbook_id: str | None = None) -> list[Definition]:
    """Every published version (of one runbook), by runbook id and version."""
    from rb.store import definitions

    found = definitions.versions(store, runbook_id)
    if runbook_id is not None and not found:
        raise NoSuchDefinition(
            f"{runbook_id} has no published versions: publish one with rb publish FILE"
        )
    return found


def diff(store: Store, left: str, right: str) -> str:
    """A unified diff from version `left` (ID@V) to `right`: ID@V, or a runbook file."""
    a = get(store, *parse_ref(left))
    if _REF.match(right.strip()) and not Path(right).is_file():
        b = get(store, *parse_ref(right))
        text, label = b.content, b.ref
    else:
        try:
            text = Path(right).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"cannot read {right}: {exc}; give ID@VERSION or a file") from None
        label = right
    lines = difflib.unified_diff(
        a.content.splitlines(), text.splitlines(), fromfile=a.ref, tofile=label, lineterm=""
    )
    return "".join(line + "\n" for line in lines)


# Environments -------------------------------------------------------------------------


def declared(runbook: Runbook, environment: str | None) -> Environment | None:
    """The runbook's rules for `environment` (None: no environment named); UsageError
    for a name it does not declare, with those it does (a typo must not run unchecked)."""
    if environment is None:
        return None
    env = runbook.environment(environment)
    if env is None:
        raise UsageError(_undeclared(runbook, environment))
    return env


def check_environment(store: Store, runbook: Runbook, environment: str) -> str | None:
    """Why `runbook` (this file) may not run live in `environment`; None when it may.

    Where the environment says `require: approved`, the file's text must be an
    approved version of the runbook (not a draft, not deprecated).
    """
    from rb.store import definitions

    env = runbook.environment(environment)
    if env is None:
        return _undeclared(runbook, environment)
    if env.require != "approved":
        return None
    digest = runbook.definition_hash
    this = definitions.with_hash(store, runbook.id, digest)
    if this is not None and this.state == "approved":
        return None
    lines = [
        f"runbook {runbook.id}: {environment} requires an approved definition; this file "
        f"(sha256 {_short(digest)}) is not one."
    ]
    approved = definitions.newest_approved(store, runbook.id)
    if approved is None:
        lines.append(f"No version of {runbook.id} is approved yet.")
    else:
        lines.append(
            f"The approved version is {approved.version} (sha256 {_short(approved.content_hash)}"
            f"), approved by {approved.approved_by} on {_day(approved)}."
        )
    if this is None:
        number = definitions.next_version(store, runbook.id)
        lines.append(
            f"Publish it with `rb publish {runbook.source.path}` and have someone other than "
            f"the author run `rb definitions approve {runbook.id}@{number}`."
        )
    elif this.state == "draft":
        lines.append(
            f"It is version {this.version}, a draft by {this.author}: have someone other than "
            f"the author run `rb definitions approve {this.ref}`."
        )
    else:
        lines.append(
            f"It is version {this.version}, deprecated by {this.deprecated_by}: run an "
            "approved version, or publish and approve a new one."
        )
    return " ".join(lines)


def require_approved(store: Store, runbook: Runbook, environment: str) -> None:
    """DefinitionRefused (UsageError for an undeclared name) unless `runbook` may run
    live in `environment`; for a run that starts from a recorded or queued request."""
    declared(runbook, environment)
    refusal = check_environment(store, runbook, environment)
    if refusal is not None:
        raise DefinitionRefused(refusal)


def require_environment(request: RunRequest) -> None:
    """Check a run request's environment before it starts (see `require_approved`).

    Runs against a fixture only have the name checked: approval is for live runs.
    """
    env = declared(request.runbook, request.environment)
    if env is None or env.require != "approved" or request.world_kind != "live":
        return
    if request.recording is None:
        raise UsageError(
            f"{env.name} requires an approved definition, and a run there is recorded: "
            "drop --no-record"
        )
    store = request.recording.store
    if store is None:
        from rb.store.database import open_store

        store = open_store(request.recording.db)
    require_approved(store, request.runbook, env.name)


# Internals --------------------------------------------------------------------------------


def _change(store: Store, found: Definition, state: str, actor: Actor, action: str) -> Definition:
    from rb.store import definitions

    done, now = definitions.change_state(
        store, found.runbook_id, found.version, state, actor=actor.name
    )
    if not done or now is None:
        now = now or found
        raise DefinitionRefused(
            f"{found.ref} is {now.state}{_who(now)}: only a "
            f"{' or '.join(definitions.LEAVES[state])} version can be {state}"
        )
    _audit(store, actor, action, now, _legal_basis(now), previous=found.state)
    return now


def _who(definition: Definition) -> str:
    if definition.state == "approved":
        return f" (approved by {definition.approved_by})"
    if definition.state == "deprecated":
        return f" (deprecated by {definition.deprecated_by})"
    return ""


def _audit(
    store: Store,
    actor: Actor,
    action: str,
    definition: Definition,
    legal_basis: str | None,
    **details: str,
) -> None:
    from rb.service.audit import record_action

    record_action(
        store,
        actor,
        action,
        definition.ref,
        legal_basis=legal_basis,
        details={"content_hash": definition.content_hash, **details},
    )


def _legal_basis(definition: Definition) -> str | None:
    """The legal basis the version's text declares (None when it cannot be read)."""
    from rb.loader import load_text

    runbook = load_text(definition.content, definition.path).runbook
    return runbook.legal_basis if runbook is not None else None


def _undeclared(runbook: Runbook, environment: str) -> str:
    names = ", ".join(e.name for e in runbook.environments)
    where = f"it declares {names}" if names else "it declares no environments: block"
    return f"runbook {runbook.id} has no environment {environment!r} ({where})"


def _short(digest: str) -> str:
    return f"{digest[:8]}…"


def _day(definition: Definition) -> str:
    at = definition.approved_at
    return at.date().isoformat() if at is not None else "an unknown day"
