"""Errors as JSON: every failure a client sees is `{"error": "..."}` and a status."""

from __future__ import annotations

import json
import logging
import traceback
from collections.abc import Mapping
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from rb.diagnostics import Diagnostic
from rb.engine.secrets import Masker
from rb.errors import RbError, RunbookError, UsageError
from rb.service.definitions import DefinitionRefused, SelfApproval
from rb.service.keys import ConcurrencyBusy, IdempotencyConflict
from rb.store.database import StoreError

log = logging.getLogger("rb.server")


class ApiError(Exception):
    """A request the server cannot serve; `status` is the HTTP status to answer."""

    def __init__(self, status: int, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.extra = extra

    def response(self) -> Response:
        return error_response(self.status, self.message, **self.extra)


class ApiJSON(JSONResponse):
    """JSON with datetimes and other odd values as text, never a 500 over rendering."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=False, default=str).encode("utf-8")


def error_response(
    status_code: int, message: str, *, headers: Mapping[str, str] | None = None, **extra: Any
) -> Response:
    """`{"error": message, ...extra}` with HTTP status `status_code`."""
    return ApiJSON({"error": message, **extra}, status_code=status_code, headers=headers)


def from_rb_error(exc: RbError) -> ApiError:
    """What an error from rb's core means to a client."""
    if isinstance(exc, RunbookError):
        lines = [d.text() if isinstance(d, Diagnostic) else str(d) for d in exc.diagnostics]
        return ApiError(422, str(exc).splitlines()[0], diagnostics=lines)
    if isinstance(exc, SelfApproval):
        return ApiError(403, str(exc))
    if isinstance(exc, IdempotencyConflict | ConcurrencyBusy | DefinitionRefused):
        return ApiError(409, str(exc))
    if isinstance(exc, UsageError):
        return ApiError(400, str(exc))
    if isinstance(exc, StoreError):
        return ApiError(503, str(exc))
    return ApiError(500, str(exc))


def log_bug(exc: BaseException, secrets: Mapping[str, str]) -> None:
    """Log an unexpected error with its traceback, secrets masked."""
    text = "".join(traceback.format_exception(exc))
    log.error("unexpected error (a bug in rb):\n%s", Masker(secrets).text(text))


def exception_handlers(secrets: Mapping[str, str]) -> dict[Any, Any]:
    """Starlette exception handlers turning every failure into a JSON error."""

    async def api_error(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiError)
        return exc.response()

    async def rb_error(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RbError)
        return from_rb_error(exc).response()

    async def http_error(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        return error_response(exc.status_code, str(exc.detail), headers=exc.headers)

    async def bug(_request: Request, exc: Exception) -> Response:
        log_bug(exc, secrets)
        return error_response(500, "internal error (a bug in rb); the server log has details")

    return {ApiError: api_error, RbError: rb_error, HTTPException: http_error, Exception: bug}
