"""GraphQL at /graphql: the seed's schema (rb/server/sdl.py) over the same
executions as REST, schema-first with Ariadne.

Field names are converted between GraphQL's camelCase and the snake_case of
rb's JSON views, so a RunbookExecution is exactly the REST record.
Errors carry `extensions.code` (BAD_REQUEST, FORBIDDEN, NOT_FOUND, CONFLICT,
INVALID_RUNBOOK, UNAVAILABLE, INTERNAL) and the HTTP status REST would use.
Each field checks the caller's role itself (queries need view, mutations
run or approve), so one request cannot reach more than its token allows.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, TypeVar

from ariadne import MutationType, ObjectType, QueryType, ScalarType, make_executable_schema
from ariadne.asgi import GraphQL
from ariadne.explorer import ExplorerGraphiQL, ExplorerHttp405
from graphql import GraphQLError, GraphQLResolveInfo
from graphql.utilities import value_from_ast_untyped
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from rb.errors import RbError
from rb.server.errors import ApiError, from_rb_error, log_bug
from rb.server.executions import ExecuteRequest
from rb.server.graphql_limits import QueryLimits
from rb.server.keys import idempotency_key
from rb.server.permissions import require
from rb.server.rest import json_type, replay_for, trigger
from rb.server.sdl import SDL
from rb.server.state import Server, server_of
from rb.server.views import GRAPHQL_STATUS, execution_json, runbook_json
from rb.service.keys import AlreadyTriggered

R = TypeVar("R")
Info = GraphQLResolveInfo[Any]
CODES = {
    400: "BAD_REQUEST",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    409: "CONFLICT",
    413: "BAD_REQUEST",
    422: "INVALID_RUNBOOK",
    503: "UNAVAILABLE",
}

query = QueryType()
mutation = MutationType()
execution = ObjectType("RunbookExecution")
datetime_scalar = ScalarType("DateTime")
json_scalar = ScalarType("JSON")


def _errors_as_graphql(
    resolver: Callable[..., Awaitable[R]],
) -> Callable[..., Awaitable[R]]:
    """ApiError and rb errors become GraphQL errors with a code; anything else is
    a bug: logged with secrets masked, and only "internal error" told."""

    @functools.wraps(resolver)
    async def wrapped(obj: Any, info: Info, **kwargs: Any) -> R:
        try:
            return await resolver(obj, info, **kwargs)
        except RbError as exc:
            raise _graphql_error(from_rb_error(exc)) from None
        except ApiError as exc:
            raise _graphql_error(exc) from None
        except Exception as exc:
            log_bug(exc, _server(info).config.secrets)
            raise GraphQLError(
                "internal error (a bug in rb); the server log has details",
                extensions={"code": "INTERNAL", "status": 500},
            ) from None

    return wrapped


def _graphql_error(exc: ApiError) -> GraphQLError:
    code = CODES.get(exc.status, "INTERNAL")
    return GraphQLError(exc.message, extensions={"code": code, "status": exc.status, **exc.extra})


def _server(info: Info) -> Server:
    server = info.context["server"]
    assert isinstance(server, Server)
    return server


@query.field("runbook")
@_errors_as_graphql
async def resolve_runbook(_: Any, info: Info, id: str) -> dict[str, Any] | None:
    require(info.context["request"], "view")
    server = _server(info)
    entry = await run_in_threadpool(server.executions.catalog.get, id)
    if entry is None:
        return None
    if entry.runbook is None:
        raise ApiError(422, f"runbook {id!r} has errors", diagnostics=list(entry.errors))
    return runbook_json(entry, server.config.project)


@query.field("runbookExecution")
@_errors_as_graphql
async def resolve_execution(_: Any, info: Info, id: str) -> dict[str, Any] | None:
    require(info.context["request"], "view")
    run = await _server(info).executions.get(id)
    return None if run is None else execution_json(run)


@mutation.field("executeRunbook")
@_errors_as_graphql
async def resolve_execute(
    _: Any,
    info: Info,
    id: str,
    inputs: Any = None,
    fixture: str | None = None,
    environment: str | None = None,
) -> dict[str, Any]:
    who = require(info.context["request"], "run")
    if inputs is not None and not isinstance(inputs, dict):
        raise ApiError(400, f"inputs must be a JSON object, not {json_type(inputs)}")
    asked = info.context["request"]
    request = ExecuteRequest(
        id,
        inputs or {},
        fixture,
        {},
        who.name,
        idempotency_key=idempotency_key(asked),
        environment=environment,
    )
    server = _server(info)
    executions = server.executions
    try:
        run = await executions.finished((await trigger(server, who, request))[0])
    except AlreadyTriggered as first:  # the Idempotency-Key header was used: its first run
        run = await executions.get(first.execution_id)
    if run is None:
        raise ApiError(500, "the execution was not recorded")
    return execution_json(run)


@mutation.field("replayExecution")
@_errors_as_graphql
async def resolve_replay(_: Any, info: Info, execution_id: str) -> dict[str, Any]:
    who = require(info.context["request"], "run")
    run, _verified = await replay_for(_server(info), who, execution_id)
    return execution_json(run)


@execution.field("status")
def resolve_status(record: dict[str, Any], _info: Info) -> str:
    return GRAPHQL_STATUS[record["status"]]


@datetime_scalar.serializer
def serialize_datetime(value: Any) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)


@json_scalar.serializer
def serialize_json(value: Any) -> Any:
    return value


@json_scalar.value_parser
def parse_json(value: Any) -> Any:
    return value


@json_scalar.literal_parser
def parse_json_literal(node: Any, variables: dict[str, Any] | None = None) -> Any:
    return value_from_ast_untyped(node, variables)


class _ClientErrorLog(logging.LoggerAdapter):  # type: ignore[type-arg]
    """Ariadne logs every GraphQL error with a traceback. What reaches it is the
    client's (a bad query, an unknown id): bugs were logged, masked, where they
    happened. So it goes to debug, without a traceback."""

    def error(self, msg: object, *args: Any, **kwargs: Any) -> None:
        self.logger.debug("GraphQL error: %s", msg)


def graphql_app(*, explorer: bool = False) -> GraphQL:
    """The ASGI GraphQL app: POST queries, bounded by QueryLimits. GET serves the
    GraphiQL explorer only with `explorer` (it loads its scripts from a CDN);
    otherwise a GET is a 405."""
    from rb.server.waits_graphql import waits_mutation  # it imports this module

    schema = make_executable_schema(
        SDL,
        query,
        mutation,
        waits_mutation,
        execution,
        datetime_scalar,
        json_scalar,
        convert_names_case=True,
    )

    def context(request: Request, _data: Any = None) -> dict[str, Any]:
        return {"request": request, "server": server_of(request)}

    return GraphQL(
        schema,
        context_value=context,
        validation_rules=[QueryLimits],
        explorer=ExplorerGraphiQL() if explorer else ExplorerHttp405(),
        logger=_ClientErrorLog(logging.getLogger("rb.server.graphql"), {}),
    )
