"""Server-Sent Events: an execution's events as a `text/event-stream`.

Each event is

    id: 3
    event: step_succeeded
    data: {"type": "step_succeeded", "step_id": "ingest", ...}

numbered from 1 within the execution, so a client that reconnects with
`Last-Event-ID: 3` gets the events after the third. The stream ends with an
`end` event carrying the execution's id and final status. An execution this
server is not running (and did not run recently) is sent as one
`execution` event holding its record, then `end`.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Mapping
from typing import Any

from starlette.responses import StreamingResponse

from rb.server.events.feed import Feed

# A comment line this often keeps proxies from closing a quiet stream, and
# lets the server notice a client that has gone.
KEEPALIVE_SECONDS = 15.0


def message(event: str, data: Mapping[str, Any], event_id: int | None = None) -> bytes:
    """One SSE message (JSON data on a single line)."""
    head = f"id: {event_id}\n" if event_id is not None else ""
    body = json.dumps(data, ensure_ascii=False, default=str, separators=(",", ":"))
    return f"{head}event: {event}\ndata: {body}\n\n".encode()


async def follow(feed: Feed, after: int = 0) -> AsyncIterator[bytes]:
    """Every event of `feed` after number `after`, as they come, then `end`."""
    sent = after
    while True:
        # A snapshot: more events may arrive while each one is sent.
        batch = feed.events[sent:]
        for published in batch:
            yield message(published.type, published.data, published.number)
        sent += len(batch)
        if feed.finished and sent >= len(feed.events):
            break
        try:
            await asyncio.wait_for(feed.wait_beyond(sent), KEEPALIVE_SECONDS)
        except TimeoutError:
            yield b": keep-alive\n\n"
    status = next(
        (p.data.get("status") for p in reversed(feed.events) if p.type == "run_finished"), None
    )
    yield message("end", {"id": feed.execution_id, "status": status or "unknown"})


async def snapshot(record: Mapping[str, Any]) -> AsyncIterator[bytes]:
    """A recorded execution as one `execution` event, then `end`."""
    yield message("execution", record)
    yield message("end", {"id": record["id"], "status": record["status"]})


def last_event_id(header: str | None) -> int:
    """The `Last-Event-ID` a reconnecting client sends (0 when absent or odd)."""
    try:
        return max(int(header or 0), 0)
    except ValueError:
        return 0


def event_stream(events: AsyncIterator[bytes]) -> StreamingResponse:
    """The HTTP response carrying a stream (no caching, no proxy buffering)."""
    return StreamingResponse(
        events,
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
