"""GraphQL mutations answering waiting runs: decideApproval and sendEvent.

The same checks and answers as the REST routes (rb/server/waits.py).
"""

from __future__ import annotations

from typing import Any

from ariadne import MutationType

from rb.server.graphql import Info, _errors_as_graphql, _server
from rb.server.permissions import require
from rb.server.waits import answer_approval, answer_event

waits_mutation = MutationType()


@waits_mutation.field("decideApproval")
@_errors_as_graphql
async def resolve_decide(
    _: Any,
    info: Info,
    execution_id: str,
    decision: str,
    step: str | None = None,
    comment: str | None = None,
) -> dict[str, Any]:
    who = require(info.context["request"], "approve")
    return await answer_approval(
        _server(info), execution_id, who, decision=decision, step=step, comment=comment
    )


@waits_mutation.field("sendEvent")
@_errors_as_graphql
async def resolve_send_event(
    _: Any,
    info: Info,
    name: str,
    key: str,
    data: Any = None,
    keep_seconds: float | None = None,
) -> dict[str, Any]:
    who = require(info.context["request"], "run")
    return await answer_event(
        _server(info), who, name=name, key=key, data=data, keep_seconds=keep_seconds
    )
