"""The web view of `rb serve` at `/` (docs/serve.md, "Web view").

Server-rendered pages (jinja2, autoescaped, templates shipped as package
data) over the same services the REST API uses: the runbooks with their DAG
and a start form, the recent executions, and an execution's report with its
live progress and the actions the caller's role allows. A user signs in by
pasting an API token (rb.server.web.sessions); forms carry a CSRF token.
The only script is static/live.js, served from here: it follows a running
execution's event stream.
"""

from __future__ import annotations

from importlib import resources

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from rb.server.web import actions, pages

SCRIPT = "live.js"


async def script(_request: Request) -> Response:
    """GET /web/live.js: the live progress script (same origin: no CDN)."""
    text = resources.files("rb.server.web").joinpath("static", SCRIPT).read_text("utf-8")
    return Response(text, media_type="text/javascript", headers={"Cache-Control": "no-cache"})


def routes() -> list[Route]:
    """The web view's routes (rb.server.auth.is_web_path names their paths)."""
    return [
        Route("/", pages.runbooks, methods=["GET"]),
        Route("/login", actions.login_form, methods=["GET"]),
        Route("/login", actions.login, methods=["POST"]),
        Route("/logout", actions.logout, methods=["POST"]),
        Route("/executions", pages.executions, methods=["GET"]),
        Route("/executions/{execution_id}", pages.execution, methods=["GET"]),
        Route("/executions/{execution_id}/events", pages.execution_events, methods=["GET"]),
        Route("/executions/{execution_id}/approvals", actions.decide, methods=["POST"]),
        Route("/executions/{execution_id}/retry", actions.retry, methods=["POST"]),
        Route("/executions/{execution_id}/{action}", actions.control, methods=["POST"]),
        Route("/runbooks/{runbook_id}/start", actions.start, methods=["POST"]),
        Route(f"/web/{SCRIPT}", script, methods=["GET"]),
    ]
