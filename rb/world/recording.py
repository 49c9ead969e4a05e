"""The recording world: a live (or fixture) world whose every exchange is kept.

It wraps another world, passes every call through unchanged, and hands each
request with its response (or error) and latency to a sink — the recorder —
masked, so a secret never reaches the store.
"""

from __future__ import annotations

import base64
import dataclasses
import json
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from datetime import datetime
from typing import Any, Protocol, TypeVar

from rb.engine.secrets import Masker
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
    World,
    WorldError,
)

T = TypeVar("T")
R = TypeVar("R")


class ExchangeSink(Protocol):
    def exchange(
        self,
        step_id: str,
        kind: str,
        request: Mapping[str, Any],
        response: Mapping[str, Any] | None,
        error: Mapping[str, str] | None,
        latency: float,
    ) -> None: ...


class RecordingWorld:
    """Every effect of `inner`, passed through and written to `sink`."""

    def __init__(self, inner: World, sink: ExchangeSink) -> None:
        self.inner = inner
        self.sink = sink
        self._mask = Masker(inner.secrets, references=True)
        # Clock, sleep and ids touch nothing outside: the inner world's own
        # methods, bound directly (no wrapper frame on the engine's hot path).
        self.now: Callable[[], datetime] = inner.now
        self.monotonic: Callable[[], float] = inner.monotonic
        self.sleep: Callable[[float], Coroutine[Any, Any, None]] = inner.sleep
        self.new_id: Callable[[], str] = inner.new_id
        self.random: Callable[[], float] = inner.random
        self.inbox = inner.inbox  # answers are read, not exchanged: nothing to record

    # What the run reads of its surroundings is the inner world's.
    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def env(self) -> Mapping[str, str]:
        return self.inner.env

    @property
    def secrets(self) -> Mapping[str, str]:
        return self.inner.secrets

    @property
    def facts(self) -> Mapping[str, Any]:
        return self.inner.facts

    def stub(self, step_id: str) -> Mapping[str, Any] | None:
        result = self.inner.stub(step_id)
        if result is not None:  # kept so a replay can stand the step in again
            self.sink.exchange(step_id, "stub", {"step": step_id}, {"result": result}, None, 0.0)
        return result

    def observe(self, name: str, value: Any) -> Any:
        seen = self.inner.observe(name, value)
        self.sink.exchange("", "observe", {"name": name}, {"value": seen}, None, 0.0)
        return seen

    def run(self, main: Callable[[], Coroutine[Any, Any, T]]) -> T:
        return self.inner.run(main)

    async def notify(self, notification: Notification) -> bool:
        # Not an exchange: a replay must not send again, and the URL holds
        # secret values. The service records each notification, masked.
        return await self.inner.notify(notification)

    async def aclose(self) -> None:
        await self.inner.aclose()

    async def http(self, request: HttpRequest, *, step_id: str) -> HttpResponse:
        return await self._pass(step_id, "http", request, self.inner.http(request, step_id=step_id))

    async def sql(self, request: SqlRequest, *, step_id: str) -> SqlResult:
        return await self._pass(step_id, "sql", request, self.inner.sql(request, step_id=step_id))

    async def shell(self, request: ShellRequest, *, step_id: str) -> ShellResult:
        return await self._pass(
            step_id, "shell", request, self.inner.shell(request, step_id=step_id)
        )

    async def screenshot(self, request: ScreenshotRequest, *, step_id: str) -> Screenshot:
        start = self.inner.monotonic()
        shown = self._mask.data(_plain(request))
        try:
            shot = await self.inner.screenshot(request, step_id=step_id)
        except WorldError as exc:
            error = {"kind": exc.kind, "message": self._mask.text(exc.message)}
            self.sink.exchange(step_id, "screenshot", shown, None, error, 0.0)
            raise
        # The image itself is kept, so a replay compares against it.
        answer = {
            "png_base64": base64.b64encode(shot.png).decode("ascii"),
            "width": shot.width,
            "height": shot.height,
        }
        self.sink.exchange(
            step_id, "screenshot", shown, answer, None, self.inner.monotonic() - start
        )
        return shot

    async def _pass(self, step_id: str, kind: str, request: Any, call: Awaitable[R]) -> R:
        start = self.inner.monotonic()
        shown = self._mask.data(_plain(request))
        if kind == "sql" and "${secrets." not in shown["database_url"]:
            # A password written into a URL is a secret too, even if undeclared.
            from rb.world.live import safe_url

            shown["database_url"] = safe_url(shown["database_url"])
        try:
            response = await call
        except WorldError as exc:
            error = {"kind": exc.kind, "message": self._mask.text(exc.message)}
            self.sink.exchange(step_id, kind, shown, None, error, self.inner.monotonic() - start)
            raise
        answer = self._mask.data(_plain(response))
        self.sink.exchange(step_id, kind, shown, answer, None, self.inner.monotonic() - start)
        return response


def _plain(value: Any) -> dict[str, Any]:
    """A request or response as JSON data, detached from the live objects.

    The row is converted later, when its batch goes to the writer process, so
    it must not share anything a step could still change. A JSON round trip copies it in C, and
    is what the store does to it anyway; `asdict` (a deep copy) is the
    fallback for anything JSON cannot hold.
    """
    shallow = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    try:
        detached: dict[str, Any] = json.loads(json.dumps(shallow))
    except (TypeError, ValueError):
        data = dataclasses.asdict(value)
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in data.items()}
    return detached
