"""The fixture world: the outside world served from a golden fixture.

Nothing reaches the network, a database or a process. Requests are matched
against the fixture's exchanges; one it does not hold fails the step with the
closest entries and what differs. Time is virtual (see virtual_time.py).
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Coroutine, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit

from rb.browser import Browser, png_size
from rb.world.base import (
    HttpRequest,
    HttpResponse,
    Notification,
    Screenshot,
    ScreenshotRequest,
    ShellRequest,
    ShellResult,
    SqlRequest,
    SqlResult,
    WorldError,
    run_on,
)
from rb.world.clock import ClockAndIds
from rb.world.fixture_format import Exchange, Fixture, normalize_sql, normalize_url
from rb.world.inbox import FixtureInbox, Inbox
from rb.world.virtual_time import VirtualTimeLoop, real_io

T = TypeVar("T")


class FixtureWorld(ClockAndIds):
    """A World whose every effect is answered by a `Fixture`."""

    name = "fixture"

    def __init__(self, fixture: Fixture) -> None:
        self.fixture = fixture
        self.env = dict(fixture.env)
        self.secrets = dict(fixture.secrets)
        self.facts = dict(fixture.facts)
        super().__init__(fixture.clock, fixture.seed)
        self._calls: dict[int, int] = {}  # exchange index -> times answered
        self._observed = {name: list(values) for name, values in fixture.observed.items()}
        self.unmatched: list[tuple[str, str]] = []  # (step id, what no exchange matched)
        self._browser: Browser | None = None
        self.inbox: Inbox | None = FixtureInbox(dict(fixture.approvals), list(fixture.events))

    def observe(self, name: str, value: Any) -> Any:
        """The recorded value, in order, when the fixture holds one (replay)."""
        values = self._observed.get(name)
        if values:
            return values.pop(0) if len(values) > 1 else values[0]
        return value

    def run(self, main: Callable[[], Coroutine[Any, Any, T]]) -> T:
        return run_on(VirtualTimeLoop, main)

    async def aclose(self) -> None:
        if self._browser is not None:
            await self._browser.close()

    # effects -----------------------------------------------------------------
    async def notify(self, notification: Notification) -> bool:
        """Nothing leaves the machine: the notification is only recorded."""
        return False

    def stub(self, step_id: str) -> Mapping[str, Any] | None:
        return self.fixture.stubs.get(step_id)

    async def http(self, request: HttpRequest, *, step_id: str) -> HttpResponse:
        wanted = {
            "method": request.method.upper(),
            "url": normalize_url(request.url, request.params),
            "body": _body_of(request),
        }
        answer = await self._answer("http", wanted, request_text(request), step_id)
        return HttpResponse(
            status=int(answer.get("status", 200)),
            headers={k.lower(): str(v) for k, v in (answer.get("headers") or {}).items()},
            body=answer["json"] if "json" in answer else answer.get("body", ""),
        )

    async def sql(self, request: SqlRequest, *, step_id: str) -> SqlResult:
        wanted = {"query": normalize_sql(request.query), "params": dict(request.params)}
        answer = await self._answer(
            "sql", wanted, f"SQL {request.query!r} {dict(request.params)}", step_id
        )
        rows = tuple(answer.get("rows") or ())
        columns = tuple(answer.get("columns") or (list(rows[0]) if rows else ()))
        return SqlResult(columns, rows, int(answer.get("row_count", len(rows))))

    async def shell(self, request: ShellRequest, *, step_id: str) -> ShellResult:
        wanted = {"command": request.command, "args": list(request.args)}
        text = " ".join([request.command, *request.args])
        answer = await self._answer("shell", wanted, f"command {text!r}", step_id)
        return ShellResult(
            int(answer.get("exit_code", 0)), answer.get("stdout", ""), answer.get("stderr", "")
        )

    async def screenshot(self, request: ScreenshotRequest, *, step_id: str) -> Screenshot:
        """A recorded shot (replay), else the page rendered from the fixture's pages/."""
        wanted = {"url": normalize_url(request.url), "selector": request.selector}
        recorded = [e for e in self.fixture.exchanges if e.kind == "screenshot"]
        if recorded or self.fixture.pages is None:
            if not recorded:
                message = (
                    f"the fixture has no page for {request.url}: give it `pages: FOLDER` "
                    "holding the page's files (docs/fixtures.md), or stub the step"
                )
                self.unmatched.append((step_id, message))
                raise WorldError(message, kind="unmatched")
            answer = await self._answer(
                "screenshot", wanted, f"screenshot of {request.url}", step_id
            )
            png = base64.b64decode(answer["png_base64"])
            return Screenshot(png, *png_size(png))
        if self._browser is None:
            self._browser = Browser()
        with real_io():
            return await self._browser.shoot(request, router=page_server(self.fixture.pages))

    async def _answer(
        self, kind: str, wanted: Mapping[str, Any], shown: str, step_id: str
    ) -> Mapping[str, Any]:
        exchanges = [(i, e) for i, e in enumerate(self.fixture.exchanges) if e.kind == kind]
        for index, exchange in exchanges:
            if exchange.matches(wanted):
                count = self._calls.get(index, 0)
                self._calls[index] = count + 1
                answer = exchange.answers[min(count, len(exchange.answers) - 1)]
                return await self._deliver(answer, shown)
        message = _unmatched(shown, wanted, [e for _, e in exchanges])
        self.unmatched.append((step_id, message))
        raise WorldError(message, kind="unmatched")

    async def _deliver(self, answer: Mapping[str, Any], shown: str) -> Mapping[str, Any]:
        latency = float(answer.get("latency_seconds", 0))
        if latency:
            await self.sleep(latency)
        fault = answer.get("fault")
        if fault == "timeout":
            await self.sleep(float(answer.get("timeout_after_seconds", 3600)))
            raise WorldError(f"{shown}: timed out (fault injected by the fixture)", kind="timeout")
        if fault == "connection_error":
            raise WorldError(
                f"{shown}: connection refused (fault injected by the fixture)", kind="connection"
            )
        if "error" in answer:  # e.g. a database error, as it was recorded
            raise WorldError(str(answer["error"]))
        return answer

    def unused(self) -> list[tuple[Exchange, int]]:
        """Exchanges with answers nothing asked for, and how many were asked for.

        A sign the fixture and the runbook drifted: in a replay, a request the
        original sent three times (a poll) and the replay only twice.
        """
        return [
            (e, self._calls.get(i, 0))
            for i, e in enumerate(self.fixture.exchanges)
            if self._calls.get(i, 0) < len(e.answers)
        ]


def page_server(folder: Path) -> Callable[[Any], Coroutine[Any, Any, None]]:
    """A Playwright route handler answering every request from `folder`.

    Nothing leaves the machine: a file the folder does not have is a 404.
    """
    root = folder.resolve()

    async def serve(route: Any) -> None:
        parts = urlsplit(route.request.url)
        relative = unquote(parts.path).lstrip("/")
        for base in (root / parts.netloc, root):
            candidate = (base / relative).resolve()
            if candidate.is_dir():
                candidate = candidate / "index.html"
            if candidate.is_file() and candidate.is_relative_to(root):
                await route.fulfill(path=str(candidate))
                return
        await route.fulfill(status=404, body=f"not in the fixture's pages: {parts.path}")

    return serve


def request_text(request: HttpRequest) -> str:
    return f"{request.method.upper()} {normalize_url(request.url, request.params)}"


def _body_of(request: HttpRequest) -> Any:
    if request.has_json:
        return {"json": request.json}
    if request.body is not None:
        return {"body": request.body}
    return None


def _unmatched(shown: str, wanted: Mapping[str, Any], candidates: Sequence[Exchange]) -> str:
    if not candidates:
        return f"the fixture holds no exchange of this kind, so nothing answers {shown}"
    scored = sorted(candidates, key=lambda e: -e.similarity(wanted))[:3]
    lines = [f"no fixture exchange matches {shown}; closest:"]
    for e in scored:
        at = f" ({e.where})" if e.where else ""
        lines.append(f"  - {e.describe()}{at}: {e.differences(wanted)}")
    return "\n".join(lines)
