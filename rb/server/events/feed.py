"""Each execution's events, kept in memory for any number of stream readers.

The recorder tells a feed of each event once the event is committed to the
store (on the thread that reads the writer's acknowledgements, or the run's
own for its first and last events); the feed hands it to the server's event loop,
where readers wait. So a client streaming an execution never sees a step the
store does not hold yet, and every reader sees the same events in the same
order, from the first one, however late it connects.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import re
from collections import OrderedDict
from typing import Any

from rb.engine.events import Event, RunFinished, RunStarted

_TYPES: dict[type, str] = {}


def event_type(event: Event) -> str:
    """`StepSucceeded` -> `step_succeeded`: the SSE event name and JSON `type`."""
    cls = type(event)
    name = _TYPES.get(cls)
    if name is None:
        name = _TYPES[cls] = re.sub(r"(?<!^)(?=[A-Z])", "_", cls.__name__).lower()
    return name


def event_json(event: Event) -> dict[str, Any]:
    """An event as JSON-ready data (payloads are already masked by the engine)."""
    return {"type": event_type(event), **dataclasses.asdict(event)}


@dataclasses.dataclass(frozen=True)
class Published:
    """One event as readers get it: its number in the execution (from 1)."""

    number: int
    type: str
    data: dict[str, Any]


class Feed:
    """The events of one execution. It is a run listener, called on the recorder's
    threads; everything else runs on the server's event loop.

    Most runs are never streamed: an event only wakes the loop while a reader
    waits (and for the run's start and end), and becomes JSON when read.
    """

    def __init__(self, registry: FeedRegistry, loop: asyncio.AbstractEventLoop) -> None:
        self._registry = registry
        self._loop = loop
        # Appended on the recorder's threads (list.append is atomic), read on the loop.
        self._received: list[Event] = []
        self._published: list[Published] = []
        self._readers = 0  # readers waiting in wait_beyond
        self.finished = False
        # Set by the recorder as soon as the run is recorded, so the
        # worker that ran it can read it back without waiting for the loop.
        self.execution_id: str | None = None
        self.started: asyncio.Future[str] = loop.create_future()
        self._changed = asyncio.Event()

    @property
    def events(self) -> list[Published]:
        """The events received so far, numbered (on the loop)."""
        published = self._published
        for event in self._received[len(published) :]:
            data = event_json(event)
            published.append(Published(len(published) + 1, str(data["type"]), data))
        return published

    def __call__(self, event: Event) -> None:
        """A run listener (recorder's downstream): keep the event, and tell the
        loop when it matters (a start, an end, a reader waiting)."""
        cls = type(event)
        if isinstance(event, RunStarted):
            self.execution_id = event.execution_id
        self._received.append(event)
        # A reader that starts waiting after this read has seen the event
        # (it counts itself before it looks; both sides hold the GIL).
        if cls is RunStarted or cls is RunFinished or self._readers:
            # RuntimeError: the server's loop has closed (shutdown); nobody listens.
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(self._publish, event)

    def _publish(self, event: Event) -> None:
        if isinstance(event, RunStarted) and not self.started.done():
            self._registry.started(event.execution_id, self)
            self.started.set_result(event.execution_id)
        if isinstance(event, RunFinished):
            self.close()
        self._wake()

    def close(self) -> None:
        """No more events will come (the run finished, or never started)."""
        if self.finished:
            return
        self.finished = True
        if self.execution_id is not None:
            self._registry.finished(self.execution_id, self)
        self._wake()

    def _wake(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def wait_beyond(self, count: int) -> None:
        """Return once there are more than `count` events, or the feed is finished."""
        self._readers += 1
        try:
            while len(self._received) <= count and not self.finished:
                await self._changed.wait()
        finally:
            self._readers -= 1


class FeedRegistry:
    """Feeds by execution id: running ones, and a few recently finished.

    Used only on the server's event loop, so it needs no lock.
    """

    def __init__(self, retained: int) -> None:
        self._retained = retained
        self._running: dict[str, Feed] = {}
        self._recent: OrderedDict[str, Feed] = OrderedDict()
        self._a_run_started = asyncio.Event()  # set, and replaced, whenever a run starts

    def open(self, loop: asyncio.AbstractEventLoop) -> Feed:
        """A feed for a run about to start; it registers itself when the run does."""
        return Feed(self, loop)

    def get(self, execution_id: str) -> Feed | None:
        return self._running.get(execution_id) or self._recent.get(execution_id)

    def is_running(self, execution_id: str) -> bool:
        """True while this server runs the execution."""
        return execution_id in self._running

    def started(self, execution_id: str, feed: Feed) -> None:
        self._running[execution_id] = feed
        self._a_run_started.set()
        self._a_run_started = asyncio.Event()

    async def next_start(self, execution_id: str, timeout: float) -> Feed | None:
        """The feed of the execution once this server runs it (a parked run resumed),
        or None when `timeout` seconds pass first."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while (feed := self._running.get(execution_id)) is None:
            remaining = deadline - loop.time()
            if remaining <= 0:
                return None
            try:
                await asyncio.wait_for(self._a_run_started.wait(), remaining)
            except TimeoutError:
                return None
        return feed

    def finished(self, execution_id: str, feed: Feed) -> None:
        self._running.pop(execution_id, None)
        self._recent[execution_id] = feed
        while len(self._recent) > self._retained:
            self._recent.popitem(last=False)
