"""The World interface and the values that cross it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

if TYPE_CHECKING:
    from rb.world.inbox import Inbox

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class HttpRequest:
    method: str
    url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    params: Mapping[str, str] = field(default_factory=dict)
    json: Any = None
    body: str | None = None
    has_json: bool = False  # json=None is a valid body ("null")
    timeout_seconds: float | None = None


@dataclass(frozen=True, slots=True)
class HttpResponse:
    status: int
    headers: Mapping[str, str]
    body: Any  # parsed JSON when the response is JSON, else text

    def document(self) -> dict[str, Any]:
        """The result document HTTP steps expose to outputs."""
        return {"status": self.status, "headers": dict(self.headers), "body": self.body}


@dataclass(frozen=True, slots=True)
class SqlRequest:
    database_url: str
    query: str
    params: Mapping[str, Any] = field(default_factory=dict)
    max_rows: int = 10_000
    # Run in a read-only transaction that is rolled back; a query the database
    # will not run there fails with kind "refused_write" (rb replay --live).
    read_only: bool = False


@dataclass(frozen=True, slots=True)
class SqlResult:
    columns: tuple[str, ...]
    rows: tuple[Mapping[str, Any], ...]
    row_count: int  # rows returned, or rows affected by a write

    def document(self) -> dict[str, Any]:
        return {
            "rows": [dict(r) for r in self.rows],
            "row_count": self.row_count,
            "columns": list(self.columns),
        }


@dataclass(frozen=True, slots=True)
class ShellRequest:
    command: str
    args: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    cwd: str | None = None
    stdin: str | None = None


@dataclass(frozen=True, slots=True)
class ShellResult:
    exit_code: int
    stdout: str
    stderr: str


@dataclass(frozen=True, slots=True)
class ScreenshotRequest:
    url: str
    selector: str | None = None  # an element; None for the page
    full_page: bool = False
    viewport: tuple[int, int] = (1280, 800)
    device_scale_factor: float = 1.0
    wait_for: str | None = None  # a selector to wait for first
    wait_for_network_idle: bool = False
    masks: tuple[str, ...] = ()  # selectors painted over
    animations: str = "disabled"  # "disabled" makes shots repeatable
    timeout_seconds: float = 30.0


@dataclass(frozen=True, slots=True)
class Screenshot:
    png: bytes
    width: int
    height: int


@dataclass(frozen=True, slots=True)
class Notification:
    """A message for one target: an apprise URL, its secrets already filled in.

    It holds secret values: it never reaches an event, a record or a log;
    what is kept is the target as written (rb.service.notify).
    """

    url: str
    title: str
    body: str


class WorldError(Exception):
    """An effect failed in a way the step reports (connection refused, no fixture...)."""

    def __init__(self, message: str, *, kind: str = "error", retryable: bool | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.kind = kind  # "timeout", "connection", "unmatched", "refused_write", "error"
        # Trying again helps with timeouts and lost connections, not with a
        # bad query, a missing command or a request no fixture holds.
        self.retryable = kind in ("timeout", "connection") if retryable is None else retryable


class World(Protocol):
    """What a run may do to the outside world. Three implementations share it."""

    @property
    def name(self) -> str:
        """ "live", "fixture" or "replay"."""
        ...

    @property
    def env(self) -> Mapping[str, str]: ...

    @property
    def secrets(self) -> Mapping[str, str]: ...

    @property
    def facts(self) -> Mapping[str, Any]:
        """What the runbook's assumptions are checked against."""
        ...

    # Where approval and wait_event steps read answers (rb/world/inbox.py);
    # None: the run cannot wait for people or events.
    inbox: Inbox | None

    def now(self) -> datetime:
        """Wall-clock time (frozen and virtual under a fixture)."""
        ...

    def monotonic(self) -> float:
        """Seconds on a clock that only moves forward, for durations."""
        ...

    async def sleep(self, seconds: float) -> None: ...

    def new_id(self) -> str:
        """A fresh unique id (seeded under a fixture)."""
        ...

    def random(self) -> float:
        """A number in [0, 1) for jitter (seeded under a fixture)."""
        ...

    async def http(self, request: HttpRequest, *, step_id: str) -> HttpResponse: ...

    async def sql(self, request: SqlRequest, *, step_id: str) -> SqlResult: ...

    async def shell(self, request: ShellRequest, *, step_id: str) -> ShellResult: ...

    async def screenshot(self, request: ScreenshotRequest, *, step_id: str) -> Screenshot: ...

    async def notify(self, notification: Notification) -> bool:
        """Send a notification: True once sent, False when the world only records
        it (a fixture); WorldError when it could not be delivered."""
        ...

    def stub(self, step_id: str) -> Mapping[str, Any] | None:
        """A result document standing in for a whole step, if the world has one."""
        ...

    def observe(self, name: str, value: Any) -> Any:
        """A value the run cannot repeat (its id, start, duration) as expressions see it.

        Live worlds return `value` (and a recording keeps it); a replay returns
        what the original run saw, so its outputs can be compared exactly.
        """
        ...

    def run(self, main: Callable[[], Coroutine[Any, Any, T]]) -> T:
        """Run the coroutine on the event loop this world needs."""
        ...

    async def aclose(self) -> None: ...


def run_on(
    loop_factory: Callable[[], asyncio.AbstractEventLoop] | None,
    main: Callable[[], Coroutine[Any, Any, T]],
) -> T:
    """The one `asyncio` entry point: run `main()` on a fresh loop."""

    async def boxed() -> _Box[T]:
        return _Box(await main())

    with asyncio.Runner(loop_factory=loop_factory) as runner:
        return runner.run(boxed()).value


class _Box(Generic[T]):
    """A result with a constant repr.

    On the way out, `asyncio.Runner` restores the SIGINT handler, and
    `signal.signal` builds the repr of the handler it replaces: a partial
    holding the main task and so the task's result. For a 10,000-step
    `ExecutionResult` that is a 2.8 MB string, built and thrown away.
    """

    __slots__ = ("value",)

    def __init__(self, value: T) -> None:
        self.value = value

    def __repr__(self) -> str:
        return "<result>"
