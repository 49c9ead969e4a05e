"""REST: published definitions (docs/definitions.md), as `rb publish` and `rb definitions`.

    POST /api/definitions                                {runbook_id} or {path}
    GET  /api/definitions[?runbook=ID]
    GET  /api/definitions/{runbook_id}/{version}         with its text
    POST /api/definitions/{runbook_id}/{version}/approve
    POST /api/definitions/{runbook_id}/{version}/deprecate
    POST /api/runbooks/{runbook_id}/approve              the newest draft (seed 004)
    POST /api/runbooks/{runbook_id}/deprecate            the newest version not deprecated

Publishing reads a runbook from the server's own folders only: by id from
its runbooks folder, or by a path that must resolve (links followed) inside
the project or runbooks folder. Publishing and deprecating need the admin
permission, approving needs approve, reading needs view
(rb.service.access); the actor is the request's token (rb/server/auth.py),
and the two-person rule holds between tokens' names.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from rb.errors import RbError
from rb.server.errors import ApiError, ApiJSON, from_rb_error
from rb.server.permissions import require
from rb.server.rest import json_object, json_type, known_fields
from rb.server.state import Server, server_of
from rb.service.definitions import NoSuchDefinition
from rb.service.identity import Actor
from rb.store.database import Store
from rb.store.definitions import Definition

PUBLISH_FIELDS = ("runbook_id", "path")


async def publish(request: Request) -> Response:
    """POST /api/definitions: publish a runbook of the project; 201 new, 200 already there."""
    body = await json_object(request)
    known_fields(body, PUBLISH_FIELDS)
    server, who = _allowed(request, "admin")

    def work(store: Store) -> Any:
        from rb.service.definitions import publish as publish_file

        path, shown = _runbook_file(server, body)
        return publish_file(store, path, who, shown=shown)

    done = await _in_store(server, work)
    document = {**done.definition.to_json(), "created": done.created}
    return ApiJSON(document, status_code=201 if done.created else 200)


async def list_definitions(request: Request) -> Response:
    """GET /api/definitions[?runbook=ID]: every published version, without texts."""
    server, _ = _allowed(request, "view")
    runbook_id = request.query_params.get("runbook") or None

    def work(store: Store) -> list[Definition]:
        from rb.store.definitions import versions

        return versions(store, runbook_id)

    found = await _in_store(server, work)
    return ApiJSON({"definitions": [d.to_json() for d in found]})


async def get_definition(request: Request) -> Response:
    """GET /api/definitions/{runbook_id}/{version}: one version with its text."""
    server, _ = _allowed(request, "view")
    runbook_id, version = _ref(request)

    def work(store: Store) -> Definition:
        from rb.service.definitions import get

        return get(store, runbook_id, version)

    return ApiJSON((await _in_store(server, work)).to_json(content=True))


async def approve(request: Request) -> Response:
    """POST /api/definitions/{runbook_id}/{version}/approve: not by its author."""
    return await _change(request, "approve", _ref(request))


async def deprecate(request: Request) -> Response:
    """POST /api/definitions/{runbook_id}/{version}/deprecate."""
    return await _change(request, "deprecate", _ref(request))


async def approve_newest(request: Request) -> Response:
    """POST /api/runbooks/{runbook_id}/approve: the runbook's newest draft."""
    return await _change(request, "approve", None)


async def deprecate_newest(request: Request) -> Response:
    """POST /api/runbooks/{runbook_id}/deprecate: its newest version not yet deprecated."""
    return await _change(request, "deprecate", None)


# Helpers ---------------------------------------------------------------------------


def _allowed(request: Request, permission: str) -> tuple[Server, Actor]:
    """The server and the caller, if its role has `permission`; else 403 saying why."""
    return server_of(request), require(request, permission)


async def _change(request: Request, action: str, ref: tuple[str, int] | None) -> Response:
    server, who = _allowed(request, "approve" if action == "approve" else "admin")
    runbook_id = request.path_params["runbook_id"]

    def work(store: Store) -> Definition:
        from rb.service import definitions as lifecycle

        version = ref[1] if ref is not None else _newest(store, runbook_id, action)
        if action == "approve":
            return lifecycle.approve(store, runbook_id, version, who)
        return lifecycle.deprecate(store, runbook_id, version, who)

    return ApiJSON((await _in_store(server, work)).to_json())


def _newest(store: Store, runbook_id: str, action: str) -> int:
    """The version an alias acts on: the newest draft (approve), or the newest
    version not deprecated (deprecate)."""
    from rb.service.definitions import versions

    wanted = ("draft",) if action == "approve" else ("draft", "approved")
    found = [d for d in versions(store, runbook_id) if d.state in wanted]
    if not found:
        what = "draft" if action == "approve" else "version that is not deprecated"
        raise NoSuchDefinition(f"{runbook_id} has no {what} to {action}")
    return found[-1].version


def _ref(request: Request) -> tuple[str, int]:
    text = request.path_params["version"]
    if not text.isdigit():
        raise ApiError(400, f"version must be a number, not {text!r}")
    return request.path_params["runbook_id"], int(text)


async def _in_store(server: Server, work: Callable[[Store], Any]) -> Any:
    """`work` with the server's store, off the event loop; rb's errors as HTTP ones."""

    def call() -> Any:
        return work(server.store.ready())

    try:
        return await run_in_threadpool(call)
    except NoSuchDefinition as exc:
        raise ApiError(404, str(exc)) from None
    except RbError as exc:
        raise from_rb_error(exc) from None


def _runbook_file(server: Server, body: dict[str, Any]) -> tuple[Path, str]:
    """The runbook file a publish request names, and the path to record (relative
    to the project); ApiError when it is missing or lies outside the server's folders."""
    runbook_id, given = body.get("runbook_id"), body.get("path")
    if (runbook_id is None) == (given is None):
        raise ApiError(400, "send runbook_id (a runbook the server serves) or path, not both")
    project = server.config.project.resolve()
    if runbook_id is not None:
        if not isinstance(runbook_id, str):
            raise ApiError(400, f"runbook_id must be a string, not {json_type(runbook_id)}")
        entry = server.executions.catalog.get(runbook_id)
        if entry is None:
            raise ApiError(404, f"no runbook {runbook_id!r} (GET /api/runbooks lists them)")
        path = Path(os.path.realpath(entry.path))
    else:
        if not isinstance(given, str) or not given or "\0" in given:
            raise ApiError(400, "path must be a runbook file's path inside the project")
        path = Path(os.path.realpath(project / given))
    roots = (project, Path(os.path.realpath(server.config.runbooks)))
    if not any(path.is_relative_to(root) for root in roots):
        raise ApiError(400, "path is outside the project; give a runbook file inside it")
    if not path.is_file():
        raise ApiError(400, f"no runbook file {given or runbook_id!r} in the project")
    shown = os.path.relpath(path, project) if path.is_relative_to(project) else path.name
    return path, shown


def routes() -> list[Route]:
    """The definition routes."""
    base = "/api/definitions/{runbook_id}/{version}"
    return [
        Route("/api/definitions", publish, methods=["POST"]),
        Route("/api/definitions", list_definitions, methods=["GET"]),
        Route(base, get_definition, methods=["GET"]),
        Route(f"{base}/approve", approve, methods=["POST"]),
        Route(f"{base}/deprecate", deprecate, methods=["POST"]),
        Route("/api/runbooks/{runbook_id}/approve", approve_newest, methods=["POST"]),
        Route("/api/runbooks/{runbook_id}/deprecate", deprecate_newest, methods=["POST"]),
    ]
